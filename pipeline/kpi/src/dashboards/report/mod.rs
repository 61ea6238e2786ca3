//! The HTML report: one self-contained file (inline CSS and SVG, no
//! script, no network) with the security and migration dashboards, a
//! week-over-week comparison and a section per user pool. Every chart
//! spans the same days, up to the report date ([`timeline`]).

mod migration;
mod pools;
mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use authlake_analytics::named;
use authlake_analytics::output::{render, Format};
use authlake_analytics::run_sql;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;

use super::svg::{bar_chart, grouped, line_chart, Series, PALETTE};
use super::DashboardError;
use crate::metrics::catalogue::Rows;
use timeline::{parse_day, Timeline};

/// Report settings.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub title: String,
    /// Users in the legacy system (remaining users, projected completion).
    pub legacy_users: Option<u64>,
    /// The wall clock: it tells whether the last day of data is still running.
    pub now: DateTime<Utc>,
    /// Where the lake is, for the header.
    pub lake: String,
}

async fn rows(ctx: &SessionContext, sql: &str) -> Result<Rows, DashboardError> {
    let (_, batches) = run_sql(ctx, sql).await.map_err(crate::metrics::MetricsError::from)?;
    Ok(Rows::collect(batches)?)
}

async fn named_rows(ctx: &SessionContext, name: &str) -> Result<Rows, DashboardError> {
    rows_of(ctx, name, &[]).await
}

async fn rows_of(ctx: &SessionContext, name: &str, params: &[(&str, &str)]) -> Result<Rows, DashboardError> {
    let params: BTreeMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let sql = named::find(name, None).and_then(|q| q.bind(&params)).map_err(crate::metrics::MetricsError::from)?;
    rows(ctx, &sql).await
}

async fn named_table(ctx: &SessionContext, name: &str, limit: usize) -> Result<(usize, String), DashboardError> {
    let sql = named::find(name, None).and_then(|q| q.bind(&BTreeMap::new())).map_err(crate::metrics::MetricsError::from)?;
    let (schema, batches) = run_sql(ctx, &sql).await.map_err(crate::metrics::MetricsError::from)?;
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut kept = Vec::new();
    let mut left = limit;
    for b in batches {
        if left == 0 {
            break;
        }
        let take = b.num_rows().min(left);
        kept.push(b.slice(0, take));
        left -= take;
    }
    let text = render(&schema, &kept, Format::Table).map_err(|e| crate::metrics::MetricsError::Shape(e.to_string()))?;
    Ok((total, text))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn day(r: &crate::metrics::catalogue::Row) -> Option<NaiveDate> {
    parse_day(&r.text("event_date")?)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:960px;color:#222;background:#fff}
h1{font-size:24px;margin-bottom:4px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:13px} .kpis{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px} .kpi b{display:block;font-size:22px} .kpi small{display:block;color:#666}
.legend{font-size:12px;margin:4px 0 12px 64px} .legend span{margin-right:14px} .legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right} th:first-child{text-align:left}
.partial{color:#8a5a00} pre{font-size:11px;background:#f7f7f7;padding:8px;overflow-x:auto} svg.chart{max-width:100%;height:auto}";

/// Builds the report over the lake's session.
pub async fn render_report(ctx: &SessionContext, opts: &ReportOptions) -> Result<String, DashboardError> {
    // Sign-ins as the catalogue's SignInAttempts (docs/metrics.md), like
    // each pool's section.
    let totals = rows(
        ctx,
        "SELECT COUNT(*) AS events, MIN(event_date) AS first_day, MAX(event_time) AS last_event,
                SUM(CASE WHEN event_type IN ('sign_in','federated_sign_in','mfa_response') AND outcome IN ('success','failure','throttled') THEN 1
                         WHEN event_type IN ('sign_in','federated_sign_in') AND outcome = 'in_progress' THEN 1 ELSE 0 END) AS sign_ins
         FROM events",
    )
    .await?;
    let t = totals.0.first();
    let num = |c: &str| t.and_then(|r| r.number(c)).unwrap_or(0.0);
    let tl = Timeline::new(t.and_then(|r| parse_day(&r.text("first_day")?)), t.and_then(|r| r.time("last_event").ok()), opts.now);

    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1><p class="meta">Lake {lake} · report date <time id="report-date" datetime="{date}">{date}</time>, as of the lake's last event, <time id="as-of" datetime="{as_of}">{as_of_text}</time> · generated {now}</p>"#,
        title = esc(&opts.title),
        lake = esc(&opts.lake),
        date = tl.report_date.format("%Y-%m-%d"),
        as_of = tl.as_of.format("%Y-%m-%dT%H:%M:%SZ"),
        as_of_text = tl.as_of.format("%Y-%m-%d %H:%M UTC"),
        now = opts.now.format("%Y-%m-%d %H:%M UTC")
    );
    if tl.partial {
        let _ = write!(
            html,
            r#"<p class="partial" id="partial-day">{} is a partial day (data to {} UTC): its bars are pale, its rates are left out, and week-over-week uses complete days only.</p>"#,
            tl.report_date.format("%Y-%m-%d"),
            tl.as_of.format("%H:%M")
        );
    }
    if tl.days_cut > 0 {
        let _ = write!(html, r#"<p class="meta">Charts show the last {} days; {} earlier days count in the totals only.</p>"#, tl.days.len(), tl.days_cut);
    }
    let _ = write!(
        html,
        r#"<div class="kpis"><div class="kpi">Events<b id="kpi-events">{}</b></div><div class="kpi">Sign-ins<b id="kpi-sign-ins">{}</b></div><div class="kpi">From<b>{}</b></div><div class="kpi">To<b>{}</b>{}</div></div>"#,
        grouped(num("events"), 0),
        grouped(num("sign_ins"), 0),
        t.and_then(|r| r.text("first_day")).unwrap_or_else(|| "-".into()),
        tl.report_date.format("%Y-%m-%d"),
        if tl.partial { "<small>partial day</small>" } else { "" }
    );

    let by_pool = pools::daily_by_pool(ctx).await?;
    html.push_str(r#"<h2 id="wow">Week over week (all user pools, complete days)</h2>"#);
    pools::wow_table(&mut html, &tl, &pools::total(&by_pool), "all");

    let axis = tl.axis();
    // MFA completion trend by method.
    let mfa = named_rows(ctx, "mfa_completion_by_method").await?;
    let methods: BTreeSet<String> = mfa.0.iter().filter_map(|r| r.text("mfa_method")).collect();
    let series: Vec<Series> = methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let by_day: BTreeMap<NaiveDate, f64> =
                mfa.0.iter().filter(|r| r.text("mfa_method").as_ref() == Some(m)).filter_map(|r| Some((day(r)?, r.number("completion_rate")?))).collect();
            Series { label: m.clone(), color: PALETTE[i % PALETTE.len()], values: tl.rates(&by_day) }
        })
        .collect();
    html.push_str(r#"<h2 id="mfa">MFA completion by method (% of challenges completed, per day)</h2>"#);
    html.push_str(&line_chart(&axis, &series, "%", Some(100.0)));

    risk(ctx, &tl, &mut html).await?;

    // Throttle rate.
    let throttle = named_rows(ctx, "throttle_rate_daily").await?;
    let by_day: BTreeMap<NaiveDate, f64> = throttle.0.iter().filter_map(|r| Some((day(r)?, r.number("throttle_rate")?))).collect();
    let series = vec![Series { label: "throttled requests (%)".into(), color: "#9467bd", values: tl.rates(&by_day) }];
    html.push_str(r#"<h2 id="throttle">Throttle rate (% of requests, per day)</h2>"#);
    html.push_str(&line_chart(&axis, &series, "%", None));

    migration::section(ctx, opts, &tl, &mut html).await?;
    pools::sections(&mut html, &tl, &by_pool);

    // Detections.
    html.push_str(r#"<h2 id="detections">Detections</h2>"#);
    for (name, title) in [
        ("credential_stuffing", "Credential stuffing: one IP failing against many users"),
        ("mfa_fatigue", "MFA fatigue: users challenged many times without completing"),
        ("impossible_travel", "Impossible travel: two countries too close in time"),
        ("new_device_high_risk", "New device followed by a high-risk sign-in"),
        ("duplicate_identities", "Duplicate identities after federation (one email, several identities)"),
    ] {
        let (n, table) = named_table(ctx, name, 10).await?;
        let _ = write!(html, "<h3>{} ({} found; `authlake query --named {name}`)</h3><pre>{}</pre>", esc(title), grouped(n as f64, 0), esc(&table));
    }
    html.push_str("</body></html>\n");
    Ok(html)
}

/// Risk levels in the order they stack, lowest on the axis; sign-ins
/// without a risk assessment are `none`, most of them.
const RISK_LEVELS: &[(&str, &str)] = &[("high", "#d62728"), ("medium", "#ff7f0e"), ("low", "#2ca02c"), ("none", "#c7c7c7")];

/// The risk mix per day, and in all.
async fn risk(ctx: &SessionContext, tl: &Timeline, html: &mut String) -> Result<(), DashboardError> {
    let risk = rows(
        ctx,
        "SELECT event_date, LOWER(COALESCE(risk_level, 'none')) AS risk_level, COUNT(*) AS sign_ins
         FROM events WHERE category = 'auth' AND event_type IN ('sign_in', 'federated_sign_in')
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .await?;
    let mut levels: Vec<(String, &'static str)> = RISK_LEVELS.iter().map(|(l, c)| (l.to_string(), *c)).collect();
    // A level outside Cognito's three still shows, in a colour of its own.
    for l in risk.0.iter().filter_map(|r| r.text("risk_level")).collect::<BTreeSet<_>>() {
        if !levels.iter().any(|(k, _)| *k == l) {
            levels.push((l, PALETTE[(4 + levels.len()) % PALETTE.len()]));
        }
    }
    let series: Vec<Series> = levels
        .iter()
        .map(|(level, color)| {
            let by_day: BTreeMap<NaiveDate, f64> = risk
                .0
                .iter()
                .filter(|r| r.text("risk_level").as_deref() == Some(level.as_str()))
                .filter_map(|r| Some((day(r)?, r.number("sign_ins")?)))
                .collect();
            Series { label: format!("{level} risk"), color, values: tl.counts(&by_day) }
        })
        .collect();
    html.push_str(r#"<h2 id="risk">Risk mix of sign-ins (per day, by Cognito risk level; none = not assessed)</h2>"#);
    html.push_str(&bar_chart(&tl.axis(), &series, ""));

    let mix = named_rows(ctx, "risk_mix").await?;
    let all: f64 = mix.0.iter().filter_map(|r| r.number("sign_ins")).sum();
    html.push_str(r#"<table class="risk-mix"><thead><tr><th>risk level</th><th>risk decision</th><th>sign-ins</th><th>share</th><th>compromised credentials</th></tr></thead><tbody>"#);
    for r in &mix.0 {
        let n = r.number("sign_ins").unwrap_or(0.0);
        let _ = write!(
            html,
            r#"<tr data-level="{level}"><th>{level}</th><td>{}</td><td>{}</td><td>{:.1}%</td><td>{}</td></tr>"#,
            esc(&r.text("risk_decision").unwrap_or_default()),
            grouped(n, 0),
            if all > 0.0 { 100.0 * n / all } else { 0.0 },
            grouped(r.number("compromised").unwrap_or(0.0), 0),
            level = esc(&r.text("risk_level").unwrap_or_default()),
        );
    }
    html.push_str("</tbody></table>");
    Ok(())
}
