//! Week over week, for the lake and for each user pool, from the daily
//! counts of the metrics catalogue (`kpi_catalogue`), so the report and
//! the CloudWatch metrics agree on what a sign-in or a completion is.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::ops::AddAssign;

use chrono::{Duration, NaiveDate};
use datafusion::prelude::SessionContext;

use super::super::svg::grouped;
use super::super::DashboardError;
use super::timeline::Timeline;
use super::{esc, rows_of};

/// The counts of one day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Counts {
    pub events: f64,
    pub sign_ins: f64,
    pub mfa_challenges: f64,
    pub mfa_completions: f64,
    pub requests: f64,
    pub throttled: f64,
    pub high_risk: f64,
    pub migrated: f64,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.events += o.events;
        self.sign_ins += o.sign_ins;
        self.mfa_challenges += o.mfa_challenges;
        self.mfa_completions += o.mfa_completions;
        self.requests += o.requests;
        self.throttled += o.throttled;
        self.high_risk += o.high_risk;
        self.migrated += o.migrated;
    }
}

fn pct(n: f64, d: f64) -> Option<f64> {
    (d > 0.0).then(|| 100.0 * n / d)
}

/// Daily counts per user pool.
pub(super) type ByPool = BTreeMap<String, BTreeMap<NaiveDate, Counts>>;

pub(super) async fn daily_by_pool(ctx: &SessionContext) -> Result<ByPool, DashboardError> {
    let rows = rows_of(ctx, "kpi_catalogue", &[("window", "1 day")]).await?;
    let mut out = ByPool::new();
    for r in rows.0.iter().filter(|r| r.text("dimension_set").as_deref() == Some("pool")) {
        let (Some(pool), Ok(start)) = (r.text("user_pool_id"), r.time("window_start")) else { continue };
        let n = |c: &str| r.number(c).unwrap_or(0.0);
        let counts = Counts {
            events: n("events_ingested"),
            sign_ins: n("sign_in_attempts"),
            mfa_challenges: n("mfa_challenges"),
            mfa_completions: n("mfa_completions"),
            requests: n("requests"),
            throttled: n("throttled_requests"),
            high_risk: n("high_risk_sign_ins"),
            migrated: n("users_migrated") + n("users_bulk_imported"),
        };
        *out.entry(pool).or_default().entry(start.date_naive()).or_default() += counts;
    }
    Ok(out)
}

/// The sum over the days in `from..=to`.
fn sum(days: &BTreeMap<NaiveDate, Counts>, from: NaiveDate, to: NaiveDate) -> Counts {
    let mut c = Counts::default();
    for (_, v) in days.range(from..=to) {
        c += *v;
    }
    c
}

/// The two weeks compared: the last 7 complete days and the 7 before.
pub(super) fn weeks(tl: &Timeline) -> [(NaiveDate, NaiveDate); 2] {
    let last = tl.last_complete();
    [(last - Duration::days(13), last - Duration::days(7)), (last - Duration::days(6), last)]
}

/// One row of the comparison: counts change in percent, rates in points.
fn row(html: &mut String, label: &str, prev: Option<f64>, last: Option<f64>, is_rate: bool) {
    let show = |v: Option<f64>| match v {
        Some(v) if is_rate => format!("{v:.2}%"),
        Some(v) => grouped(v, 0),
        None => "n/a".into(),
    };
    let change = match (prev, last) {
        (Some(p), Some(l)) if is_rate => format!("{:+.2} pp", l - p),
        (Some(p), Some(l)) if p > 0.0 => format!("{:+.1}%", 100.0 * (l - p) / p),
        _ => "n/a".into(),
    };
    let _ = write!(html, "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>", esc(label), show(prev), show(last), esc(&change));
}

/// The week-over-week table over `days` (one pool, or the sum of all).
pub(super) fn wow_table(html: &mut String, tl: &Timeline, days: &BTreeMap<NaiveDate, Counts>, scope: &str) {
    let [(p0, p1), (l0, l1)] = weeks(tl);
    let first = days.keys().next().copied();
    // A week the lake does not wholly cover is not compared: a part of a week
    // would read as a drop.
    let covered = |from: NaiveDate| first.is_some_and(|f| f <= from);
    let (prev, last) = (covered(p0).then(|| sum(days, p0, p1)), covered(l0).then(|| sum(days, l0, l1)));
    let _ = write!(
        html,
        r#"<table class="wow" data-scope="{}"><thead><tr><th></th><th>{} – {}</th><th>{} – {}</th><th>change</th></tr></thead><tbody>"#,
        esc(scope),
        p0.format("%b %d"),
        p1.format("%b %d"),
        l0.format("%b %d"),
        l1.format("%b %d")
    );
    row(html, "Sign-ins", prev.map(|c| c.sign_ins), last.map(|c| c.sign_ins), false);
    row(html, "MFA completion", prev.and_then(|c| pct(c.mfa_completions, c.mfa_challenges)), last.and_then(|c| pct(c.mfa_completions, c.mfa_challenges)), true);
    row(html, "Throttle rate", prev.and_then(|c| pct(c.throttled, c.requests)), last.and_then(|c| pct(c.throttled, c.requests)), true);
    row(html, "High-risk sign-ins", prev.map(|c| c.high_risk), last.map(|c| c.high_risk), false);
    row(html, "High-risk share", prev.and_then(|c| pct(c.high_risk, c.sign_ins)), last.and_then(|c| pct(c.high_risk, c.sign_ins)), true);
    html.push_str("</tbody></table>");
}

/// All pools summed, day by day.
pub(super) fn total(by_pool: &ByPool) -> BTreeMap<NaiveDate, Counts> {
    let mut out: BTreeMap<NaiveDate, Counts> = BTreeMap::new();
    for days in by_pool.values() {
        for (d, c) in days {
            *out.entry(*d).or_default() += *c;
        }
    }
    out
}

/// What `kpi_catalogue` calls the pool of events without a user pool id.
const UNKNOWN: &str = "unknown";

/// A section per user pool: its totals and its week over week.
pub(super) fn sections(html: &mut String, tl: &Timeline, by_pool: &ByPool) {
    // Events without a pool come last: they are not a pool of their own.
    let mut order: Vec<_> = by_pool.iter().collect();
    order.sort_by_key(|(pool, _)| (pool.as_str() == UNKNOWN, pool.as_str()));
    for (pool, days) in order {
        let all = sum(days, NaiveDate::MIN, tl.report_date);
        let note = if pool == UNKNOWN { " <small>(events without a user pool id)</small>" } else { "" };
        let id = pool.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "-");
        let _ = write!(
            html,
            r#"<section class="pool" id="pool-{id}" data-pool="{pool}"><h2>User pool {pool}{note}</h2><div class="kpis"><div class="kpi">Events<b>{}</b></div><div class="kpi">Sign-ins<b>{}</b></div><div class="kpi">MFA completion<b>{}</b></div><div class="kpi">Throttle rate<b>{}</b></div><div class="kpi">Users migrated<b>{}</b></div></div>"#,
            grouped(all.events, 0),
            grouped(all.sign_ins, 0),
            pct(all.mfa_completions, all.mfa_challenges).map_or("n/a".into(), |v| format!("{v:.1}%")),
            pct(all.throttled, all.requests).map_or("n/a".into(), |v| format!("{v:.2}%")),
            grouped(all.migrated, 0),
            pool = esc(pool),
        );
        html.push_str("<h3>Week over week (complete days)</h3>");
        wow_table(html, tl, days, pool);
        html.push_str("</section>");
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::dashboards::report::timeline::parse_day;

    #[test]
    fn weeks_skip_the_partial_day_and_need_the_whole_week() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T00:26:00Z").unwrap().with_timezone(&Utc);
        let tl = Timeline::new(parse_day("2026-11-01"), Some(now), now);
        let [(p0, p1), (l0, l1)] = weeks(&tl);
        assert_eq!((p0, p1, l0, l1), (parse_day("2026-11-06").unwrap(), parse_day("2026-11-12").unwrap(), parse_day("2026-11-13").unwrap(), parse_day("2026-11-19").unwrap()));
        let one = Counts { sign_ins: 1_000.0, mfa_challenges: 10.0, mfa_completions: 9.0, ..Counts::default() };
        let days: BTreeMap<_, _> = parse_day("2026-11-08").unwrap().iter_days().take(13).map(|d| (d, one)).collect();
        let mut html = String::new();
        wow_table(&mut html, &tl, &days, "all");
        assert!(html.contains("<th>Sign-ins</th><td>n/a</td><td>7,000</td><td>n/a</td>"), "{html}");
        assert!(html.contains("<th>MFA completion</th><td>n/a</td><td>90.00%</td>"), "{html}");
    }
}
