//! Replays the declared alarms over lake history: the catalogue per alarm
//! period, the rule evaluated as CloudWatch would ("M out of N" periods,
//! missing data treated as declared), and the intervals in ALARM.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use super::config::AlarmDef;
use super::AlarmError;
use crate::metrics::catalogue::{compute_with, metric, CatalogueOptions, Statistic};

/// One stretch of time an alarm would have spent in ALARM.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Firing {
    pub from: DateTime<Utc>,
    /// None: still firing at the end of the range.
    pub until: Option<DateTime<Utc>>,
    /// The value furthest past the threshold while firing (None when only
    /// missing data breached).
    pub worst: Option<f64>,
}

/// An alarm's backtest.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    pub name: String,
    pub periods: usize,
    pub periods_with_data: usize,
    pub breaching_periods: usize,
    pub firings: Vec<Firing>,
    /// Times it went to ALARM in each week of the range (weeks start on
    /// the range's start), so noise reads as a rate.
    pub firings_per_week: Vec<usize>,
}

impl Backtest {
    /// The most times it went to ALARM in any one week.
    pub fn most_in_a_week(&self) -> usize {
        self.firings_per_week.iter().copied().max().unwrap_or(0)
    }
}

/// Replays `alarm` over `[since, until)`.
pub async fn backtest(
    ctx: &SessionContext,
    alarm: &AlarmDef,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Backtest, AlarmError> {
    let window = alarm.window()?;
    let expr = alarm.expr()?;
    let opts = CatalogueOptions {
        window,
        since: window.floor(since),
        until,
        lateness: Duration::zero(),
        include_open: true,
        now: until,
        max_clients_per_pool: 0,
        legacy_users: None,
    };
    // The metric per period, summed (or maximised) over the watched pools.
    let points = compute_with(ctx, &opts).await?;
    let mut names = expr.identifiers();
    if let Some((volume, _)) = alarm.volume()? {
        names.push(volume);
    }
    let mut values: BTreeMap<DateTime<Utc>, HashMap<String, f64>> = BTreeMap::new();
    for p in points {
        let pool = p.dimensions.iter().find(|(k, _)| k == "UserPoolId").map(|(_, v)| v.as_str());
        let pool_level = p.dimensions.len() == 1 && pool.is_some() || p.dimensions.is_empty();
        let watched = alarm.user_pool_id.as_deref().is_none_or(|want| pool == Some(want) || pool.is_none());
        if !pool_level || !watched || !names.contains(&p.metric) {
            continue;
        }
        let slot = values.entry(p.window_start).or_default().entry(p.metric.clone()).or_insert(f64::NAN);
        let stat = metric(&p.metric).map(|m| m.statistic).unwrap_or(Statistic::Sum);
        *slot = match (slot.is_nan(), stat) {
            (true, _) => p.value,
            (false, Statistic::Sum) => *slot + p.value,
            (false, Statistic::Maximum) => slot.max(p.value),
            (false, Statistic::Minimum) => slot.min(p.value),
        };
    }
    let mut series = Vec::new();
    let mut t = opts.since;
    while t < until {
        let v = values.get(&t).and_then(|m| alarm.value(&expr, &|n| m.get(n).copied()));
        series.push((t, v));
        t += Duration::seconds(window.seconds);
    }
    Ok(evaluate(alarm, &series))
}

/// The CloudWatch evaluation over a series of (period start, datapoint).
pub fn evaluate(alarm: &AlarmDef, series: &[(DateTime<Utc>, Option<f64>)]) -> Backtest {
    let n = alarm.evaluation_periods as usize;
    let m = alarm.datapoints() as usize;
    let mut firings: Vec<Firing> = Vec::new();
    let mut firing = false;
    let mut breaching_periods = 0;
    for i in 0..series.len() {
        if series[i].1.is_some_and(|v| alarm.breaches(v)) {
            breaching_periods += 1;
        }
        let recent = &series[i.saturating_sub(n - 1)..=i];
        let present: Vec<f64> = recent.iter().filter_map(|(_, v)| *v).collect();
        let missing = recent.len() - present.len();
        let breaching = present.iter().filter(|v| alarm.breaches(**v)).count()
            + match alarm.missing_data.as_str() {
                "breaching" => missing,
                _ => 0,
            };
        let alarm_now = match alarm.missing_data.as_str() {
            // ignore: the state is kept while no data arrives.
            "ignore" if present.is_empty() => firing,
            _ => breaching >= m,
        };
        // The state is judged at the end of the period.
        let at = series[i].0 + Duration::seconds(alarm.window().map(|w| w.seconds).unwrap_or(3600));
        let worse = |a: f64, b: f64| if alarm.comparison.starts_with('>') { a.max(b) } else { a.min(b) };
        if alarm_now && !firing {
            // The breaching values that tipped it count towards its worst.
            let worst = present.iter().copied().filter(|v| alarm.breaches(*v)).reduce(worse);
            firings.push(Firing { from: at, until: None, worst });
        } else if !alarm_now && firing {
            if let Some(f) = firings.last_mut() {
                f.until = Some(at);
            }
        }
        if alarm_now {
            if let (Some(f), Some(v)) = (firings.last_mut(), series[i].1.filter(|v| alarm.breaches(*v))) {
                f.worst = Some(f.worst.map_or(v, |w| worse(w, v)));
            }
        }
        firing = alarm_now;
    }
    let week = Duration::days(7);
    let weeks = match (series.first(), series.last()) {
        (Some((first, _)), Some((last, _))) => ((*last - *first).num_seconds() / week.num_seconds() + 1) as usize,
        _ => 0,
    };
    let mut firings_per_week = vec![0; weeks];
    if let Some((first, _)) = series.first() {
        for f in &firings {
            let w = (((f.from - *first).num_seconds() / week.num_seconds()) as usize).min(weeks.saturating_sub(1));
            firings_per_week[w] += 1;
        }
    }
    Backtest {
        name: alarm.name.clone(),
        periods: series.len(),
        periods_with_data: series.iter().filter(|(_, v)| v.is_some()).count(),
        breaching_periods,
        firings,
        firings_per_week,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_of_five_with_missing_as_breaching() {
        let a: AlarmDef = toml::from_str(
            r#"name = "x"
               metric = "EventsIngested"
               comparison = "<"
               threshold = 1
               evaluation_periods = 5
               datapoints_to_alarm = 3
               missing_data = "breaching""#,
        )
        .unwrap();
        let t0 = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let h = |i: i64| t0 + Duration::hours(i);
        let mut series: Vec<_> = (0..12).map(|i| (h(i), Some(10.0))).collect();
        series[3].1 = None;
        series[4].1 = Some(0.0);
        series[6].1 = None;
        let r = evaluate(&a, &series);
        assert_eq!(r.firings.len(), 1, "{r:?}");
        assert_eq!(r.firings[0].from, h(7));
        assert_eq!(r.firings[0].until, Some(h(9)));
        assert_eq!(r.firings[0].worst, Some(0.0));
        assert_eq!(r.breaching_periods, 1);
        assert_eq!(r.firings_per_week, vec![1]);
        let quiet: Vec<_> = (0..12).map(|i| (h(i), Some(10.0))).collect();
        assert!(evaluate(&a, &quiet).firings.is_empty());
    }
}

#[cfg(test)]
mod volume_tests {
    use super::*;

    #[test]
    fn a_rate_below_the_minimum_volume_has_no_datapoint() {
        let a: AlarmDef = toml::from_str(
            r#"name = "ratio"
               expression = "100 * SignInFailures / SignInAttempts"
               comparison = ">"
               threshold = 30
               min_volume = 20
               volume_metric = "SignInAttempts""#,
        )
        .unwrap();
        let expr = a.expr().unwrap();
        let get = |attempts: f64, failures: f64| move |n: &str| match n {
            "SignInAttempts" => Some(attempts),
            "SignInFailures" => Some(failures),
            _ => None,
        };
        assert_eq!(a.value(&expr, &get(2.0, 1.0)), None, "1 failure of 2 sign-ins is no datapoint");
        assert_eq!(a.value(&expr, &get(40.0, 20.0)), Some(50.0));
        let bad: Result<AlarmDef, _> = toml::from_str(r#"name = "x"
            metric = "SignInFailures"
            comparison = ">"
            threshold = 1
            min_volume = 5"#);
        assert!(bad.unwrap().volume().is_err(), "min_volume without volume_metric");
    }
}
