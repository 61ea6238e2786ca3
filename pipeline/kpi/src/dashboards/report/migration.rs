//! The migration-progress dashboard and its completion projection.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use datafusion::prelude::SessionContext;

use super::super::svg::{bar_chart, grouped, line_chart, Series};
use super::super::DashboardError;
use super::timeline::{parse_day, Timeline};
use super::{esc, named_rows, ReportOptions};

/// Days of recent pace the projection extrapolates.
const PACE_DAYS: i64 = 14;

/// When the remaining users will have migrated, at the recent pace.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Projection {
    Complete,
    /// At `per_day` users a day (the last [`PACE_DAYS`] days), done on `date`.
    On { date: NaiveDate, per_day: f64 },
    /// Nobody migrated in the last [`PACE_DAYS`] days; the last did on `since`.
    Stalled { since: NaiveDate },
    NotStarted,
}

/// Projects from the users migrated per day up to `as_of`. The pace is
/// measured over the time the window really covers, so a partial last day
/// neither inflates nor dilutes it, and the date counts from the report
/// date: it cannot fall in the past while users remain.
pub(super) fn project(migrated_per_day: &BTreeMap<NaiveDate, f64>, remaining: f64, first_day: NaiveDate, as_of: DateTime<Utc>) -> Projection {
    if remaining <= 0.0 {
        return Projection::Complete;
    }
    let report_date = as_of.date_naive();
    let start = (report_date - Duration::days(PACE_DAYS - 1)).max(first_day);
    let recent: f64 = migrated_per_day.range(start..=report_date).map(|(_, v)| v).sum();
    let covered = start.and_hms_opt(0, 0, 0).map_or(1.0, |t| (as_of - t.and_utc()).num_seconds() as f64 / 86_400.0).max(1.0);
    let per_day = recent / covered;
    if per_day > 0.0 {
        let days_left = (remaining / per_day).ceil() as i64;
        return Projection::On { date: report_date + Duration::days(days_left.max(1)), per_day };
    }
    match migrated_per_day.iter().rev().find(|(d, v)| **v > 0.0 && **d <= report_date) {
        Some((since, _)) => Projection::Stalled { since: *since },
        None => Projection::NotStarted,
    }
}

/// The migration-progress section.
pub(super) async fn section(ctx: &SessionContext, opts: &ReportOptions, tl: &Timeline, html: &mut String) -> Result<(), DashboardError> {
    let m = named_rows(ctx, "migration_progress").await?;
    let column = |c: &str| -> BTreeMap<NaiveDate, f64> {
        m.0.iter().filter_map(|r| Some((parse_day(&r.text("event_date")?)?, r.number(c).unwrap_or(0.0)))).filter(|(d, _)| *d <= tl.report_date).collect()
    };
    let (lazy, bulk, failures, cumulative) = (column("lazy_migrated"), column("bulk_imported"), column("failures"), column("cumulative_migrated"));
    let migrated = cumulative.values().next_back().copied().unwrap_or(0.0);
    let per_day: BTreeMap<NaiveDate, f64> =
        lazy.keys().chain(bulk.keys()).map(|d| (*d, lazy.get(d).unwrap_or(&0.0) + bulk.get(d).unwrap_or(&0.0))).collect();
    let running = tl.running(&cumulative);
    html.push_str(r#"<h2 id="migration">Migration progress</h2><div class="kpis">"#);
    let _ = write!(html, r#"<div class="kpi">Users migrated<b>{}</b></div>"#, grouped(migrated, 0));
    let mut series = vec![Series { label: "cumulative migrated users".into(), color: "#1f77b4", values: running.clone() }];
    match opts.legacy_users {
        Some(total) if total > 0 => {
            let total = total as f64;
            let remaining = (total - migrated).max(0.0);
            let first_day = tl.days.first().copied().unwrap_or(tl.report_date);
            let (value, note) = match project(&per_day, remaining, first_day, tl.as_of) {
                Projection::Complete => ("complete".to_string(), String::new()),
                Projection::On { date, per_day } => {
                    (date.format("%Y-%m-%d").to_string(), format!("at {} users/day (last {PACE_DAYS} days)", grouped(per_day, if per_day < 10.0 { 1 } else { 0 })))
                }
                Projection::Stalled { since } => (
                    format!("stalled since {}", since.format("%Y-%m-%d")),
                    format!("no users migrated in the last {PACE_DAYS} days; {} left", grouped(remaining, 0)),
                ),
                Projection::NotStarted => ("not started".to_string(), String::new()),
            };
            let _ = write!(
                html,
                r#"<div class="kpi">Legacy users<b>{}</b></div><div class="kpi">Remaining<b id="remaining">{}</b></div><div class="kpi">Progress<b>{:.1}%</b></div><div class="kpi" id="projection">Projected completion<b>{}</b><small>{}</small></div>"#,
                grouped(total, 0),
                grouped(remaining, 0),
                100.0 * migrated / total,
                esc(&value),
                esc(&note)
            );
            series.push(Series {
                label: "remaining legacy users".into(),
                color: "#d62728",
                values: running.iter().map(|c| c.map(|c| (total - c).max(0.0))).collect(),
            });
        }
        _ => html.push_str(r#"<div class="kpi">Remaining<b>?</b>set --legacy-users</div>"#),
    }
    let axis = tl.axis();
    html.push_str("</div><h3>Cumulative migrated and remaining users</h3>");
    html.push_str(&line_chart(&axis, &series, "", None));
    html.push_str("<h3>Users migrated per day: lazily (on sign-in) vs bulk import</h3>");
    let stacked = vec![
        Series { label: "lazy (user migration trigger)".into(), color: "#2ca02c", values: tl.counts(&lazy) },
        Series { label: "bulk import".into(), color: "#ff7f0e", values: tl.counts(&bulk) },
    ];
    html.push_str(&bar_chart(&axis, &stacked, ""));
    html.push_str("<h3>Failed lazy migrations per day</h3>");
    let failed = vec![Series { label: "failed migrations".into(), color: "#d62728", values: tl.counts(&failures) }];
    html.push_str(&bar_chart(&axis, &failed, ""));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_projection_follows_the_recent_pace() {
        // 100 a day for 60 days, then 10 a day: the old pace would promise too much.
        let per_day: BTreeMap<_, _> = d("2026-09-01").iter_days().take(74).enumerate().map(|(i, d)| (d, if i < 60 { 100.0 } else { 10.0 })).collect();
        match project(&per_day, 200.0, d("2026-09-01"), t("2026-11-13T23:59:00Z")) {
            Projection::On { date, per_day } => {
                assert!((per_day - 10.0).abs() < 0.1, "{per_day}");
                assert_eq!(date, d("2026-12-03"));
            }
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn a_migration_that_stopped_is_stalled_not_finished_in_the_past() {
        let per_day: BTreeMap<_, _> = d("2026-08-01").iter_days().take(60).map(|d| (d, 50.0)).collect();
        let p = project(&per_day, 101.0, d("2026-08-01"), t("2026-10-30T00:26:00Z"));
        assert_eq!(p, Projection::Stalled { since: d("2026-09-29") });
        assert_eq!(project(&BTreeMap::new(), 101.0, d("2026-08-01"), t("2026-10-30T00:26:00Z")), Projection::NotStarted);
        assert_eq!(project(&per_day, 0.0, d("2026-08-01"), t("2026-10-30T00:26:00Z")), Projection::Complete);
    }

    #[test]
    fn a_partial_day_counts_for_the_time_it_covers() {
        // 13 full days at 24 a day, then 1 user in the first hour of today.
        let mut per_day: BTreeMap<_, _> = d("2026-11-07").iter_days().take(13).map(|d| (d, 24.0)).collect();
        per_day.insert(d("2026-11-20"), 1.0);
        match project(&per_day, 240.0, d("2026-11-01"), t("2026-11-20T01:00:00Z")) {
            Projection::On { date, per_day } => {
                assert!((per_day - 24.0).abs() < 0.01, "{per_day}");
                assert_eq!(date, d("2026-11-30"));
            }
            p => panic!("{p:?}"),
        }
    }
}
