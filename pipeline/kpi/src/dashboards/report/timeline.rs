//! The report's days: from the first day of data to the report date, which
//! is the day of the lake's last event, not the wall clock's: a historical
//! lake is reported as of its own end, and a live one ends minutes before
//! the clock anyway.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::super::svg::Axis;

/// The longest x axis drawn; older days stay in the lake and the totals.
const MAX_DAYS: i64 = 366;

/// A day counts as complete when the lake has data within its last hour:
/// sparser lakes may then show a quiet evening as partial, which says no
/// more than the data does.
const COMPLETE_WITHIN: Duration = Duration::hours(1);

#[derive(Debug, Clone)]
pub(super) struct Timeline {
    /// The last event in the lake (the wall clock if the lake is empty).
    pub as_of: DateTime<Utc>,
    pub report_date: NaiveDate,
    /// The report date is still running, or the lake stops well before its end.
    pub partial: bool,
    /// Every day of the x axis, ending at the report date.
    pub days: Vec<NaiveDate>,
    /// Days before the axis that the lake holds too (axis capped at [`MAX_DAYS`]).
    pub days_cut: i64,
}

impl Timeline {
    pub fn new(first_day: Option<NaiveDate>, last_event: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        let as_of = last_event.unwrap_or(now);
        let report_date = as_of.date_naive();
        let day_end = report_date.succ_opt().unwrap_or(report_date).and_hms_opt(0, 0, 0).map_or(as_of, |t| t.and_utc());
        let partial = now < day_end || as_of < day_end - COMPLETE_WITHIN;
        let first = first_day.unwrap_or(report_date).min(report_date);
        let axis_first = first.max(report_date - Duration::days(MAX_DAYS - 1));
        let days = axis_first.iter_days().take_while(|d| *d <= report_date).collect();
        Self { as_of, report_date, partial, days, days_cut: (axis_first - first).num_days() }
    }

    /// The last day whose data is complete.
    pub fn last_complete(&self) -> NaiveDate {
        if self.partial {
            self.report_date - Duration::days(1)
        } else {
            self.report_date
        }
    }

    pub fn axis(&self) -> Axis {
        Axis {
            labels: self.days.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect(),
            partial: self.partial.then(|| (self.days.len() - 1, format!("partial day: data to {} UTC", self.as_of.format("%H:%M")))),
        }
    }

    /// Counts per day of the axis; a day without rows counted nothing.
    pub fn counts(&self, by_day: &BTreeMap<NaiveDate, f64>) -> Vec<Option<f64>> {
        self.days.iter().map(|d| Some(by_day.get(d).copied().unwrap_or(0.0))).collect()
    }

    /// Rates per day of the axis: none where nothing was measured, and none
    /// on the partial day, whose few events would read as a swing.
    pub fn rates(&self, by_day: &BTreeMap<NaiveDate, f64>) -> Vec<Option<f64>> {
        self.days.iter().map(|d| if self.partial && *d == self.report_date { None } else { by_day.get(d).copied() }).collect()
    }

    /// A running total per day of the axis, carried over days without rows.
    pub fn running(&self, by_day: &BTreeMap<NaiveDate, f64>) -> Vec<Option<f64>> {
        let mut last = by_day.range(..self.days.first().copied().unwrap_or(self.report_date)).next_back().map_or(0.0, |(_, v)| *v);
        self.days
            .iter()
            .map(|d| {
                if let Some(v) = by_day.get(d) {
                    last = *v;
                }
                Some(last)
            })
            .collect()
    }
}

/// `2026-11-19` as a date.
pub(super) fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn a_day_still_running_is_partial() {
        let tl = Timeline::new(Some(d("2026-11-01")), Some(t("2026-11-20T00:25:00Z")), t("2026-11-20T00:26:00Z"));
        assert_eq!(tl.report_date, d("2026-11-20"));
        assert!(tl.partial);
        assert_eq!(tl.last_complete(), d("2026-11-19"));
        assert_eq!(tl.days.len(), 20);
        assert!(tl.axis().partial.unwrap().1.contains("00:25"));
    }

    #[test]
    fn a_historical_lake_is_reported_as_of_its_last_event() {
        let full = Timeline::new(Some(d("2026-10-21")), Some(t("2026-11-19T23:59:17Z")), t("2026-12-07T02:00:00Z"));
        assert_eq!((full.report_date, full.partial), (d("2026-11-19"), false));
        assert_eq!(full.last_complete(), d("2026-11-19"));
        assert_eq!(*full.days.last().unwrap(), d("2026-11-19"));
        let cut = Timeline::new(Some(d("2026-10-21")), Some(t("2026-11-19T12:00:00Z")), t("2026-12-07T02:00:00Z"));
        assert!(cut.partial, "a lake that stops at noon has half a day");
    }

    #[test]
    fn days_are_filled_to_the_report_date() {
        let tl = Timeline::new(Some(d("2026-11-01")), Some(t("2026-11-05T10:00:00Z")), t("2026-11-05T10:01:00Z"));
        let by_day: BTreeMap<_, _> = [(d("2026-11-02"), 3.0), (d("2026-11-05"), 1.0)].into_iter().collect();
        assert_eq!(tl.counts(&by_day), vec![Some(0.0), Some(3.0), Some(0.0), Some(0.0), Some(1.0)]);
        assert_eq!(tl.rates(&by_day), vec![None, Some(3.0), None, None, None]);
        let cumulative: BTreeMap<_, _> = [(d("2026-10-30"), 5.0), (d("2026-11-02"), 8.0)].into_iter().collect();
        assert_eq!(tl.running(&cumulative), vec![Some(5.0), Some(8.0), Some(8.0), Some(8.0), Some(8.0)]);
    }

    #[test]
    fn the_axis_is_capped() {
        let tl = Timeline::new(Some(d("2020-01-01")), Some(t("2026-11-19T23:59:00Z")), t("2026-12-01T00:00:00Z"));
        assert_eq!(tl.days.len() as i64, MAX_DAYS);
        assert!(tl.days_cut > 0);
    }
}
