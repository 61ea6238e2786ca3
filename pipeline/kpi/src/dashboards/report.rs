//! The HTML report: one self-contained file (inline CSS and SVG, no
//! script, no network) with the security and migration dashboards.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use authlake_analytics::named;
use authlake_analytics::output::{render, Format};
use authlake_analytics::run_sql;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use datafusion::prelude::SessionContext;

use super::svg::{bar_chart, line_chart, Series, PALETTE};
use super::DashboardError;
use crate::metrics::catalogue::Rows;

/// Report settings.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub title: String,
    /// Users in the legacy system (remaining users, projected completion).
    pub legacy_users: Option<u64>,
    pub now: DateTime<Utc>,
    /// Where the lake is, for the header.
    pub lake: String,
}

async fn rows(ctx: &SessionContext, sql: &str) -> Result<Rows, DashboardError> {
    let (_, batches) = run_sql(ctx, sql).await.map_err(crate::metrics::MetricsError::from)?;
    Ok(Rows::collect(batches)?)
}

async fn named_rows(ctx: &SessionContext, name: &str) -> Result<Rows, DashboardError> {
    let sql = named::find(name, None).and_then(|q| q.bind(&BTreeMap::new())).map_err(crate::metrics::MetricsError::from)?;
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
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn day(r: &crate::metrics::catalogue::Row) -> Option<String> {
    r.text("event_date")
}

/// Builds the report over the lake's session.
pub async fn render_report(ctx: &SessionContext, opts: &ReportOptions) -> Result<String, DashboardError> {
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>
body{{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:960px;color:#222;background:#fff}}
h1{{font-size:24px;margin-bottom:4px}} h2{{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}}
.meta{{color:#666;font-size:13px}} .kpis{{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}}
.kpi{{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px}} .kpi b{{display:block;font-size:22px}}
.legend{{font-size:12px;margin:4px 0 12px 64px}} .legend span{{margin-right:14px}} .legend i{{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}}
pre{{font-size:11px;background:#f7f7f7;padding:8px;overflow-x:auto}} svg.chart{{max-width:100%;height:auto}}
</style></head><body><h1>{title}</h1><p class="meta">Lake {lake} · generated {now}</p>"#,
        title = esc(&opts.title),
        lake = esc(&opts.lake),
        now = opts.now.format("%Y-%m-%d %H:%M UTC")
    );

    // Headline numbers.
    let totals = rows(
        ctx,
        "SELECT COUNT(*) AS events, MIN(event_date) AS first_day, MAX(event_date) AS last_day,
                SUM(CASE WHEN event_type IN ('sign_in','federated_sign_in') THEN 1 ELSE 0 END) AS sign_ins
         FROM events",
    )
    .await?;
    let t = totals.0.first();
    let num = |c: &str| t.and_then(|r| r.number(c)).unwrap_or(0.0);
    let txt = |c: &str| t.and_then(|r| r.text(c)).unwrap_or_else(|| "-".into());
    let _ = write!(
        html,
        r#"<div class="kpis"><div class="kpi">Events<b>{:.0}</b></div><div class="kpi">Sign-ins<b>{:.0}</b></div><div class="kpi">From<b>{}</b></div><div class="kpi">To<b>{}</b></div></div>"#,
        num("events"),
        num("sign_ins"),
        txt("first_day"),
        txt("last_day")
    );

    // MFA completion trend by method.
    let mfa = named_rows(ctx, "mfa_completion_by_method").await?;
    let days: Vec<String> = mfa.0.iter().filter_map(day).collect::<BTreeSet<_>>().into_iter().collect();
    let methods: BTreeSet<String> = mfa.0.iter().filter_map(|r| r.text("mfa_method")).collect();
    let series: Vec<Series> = methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let by_day: BTreeMap<String, f64> =
                mfa.0.iter().filter(|r| r.text("mfa_method").as_ref() == Some(m)).filter_map(|r| Some((day(r)?, r.number("completion_rate")?))).collect();
            Series { label: m.clone(), color: PALETTE[i % PALETTE.len()], values: days.iter().map(|d| by_day.get(d).copied()).collect() }
        })
        .collect();
    html.push_str(r#"<h2 id="mfa">MFA completion by method (% of challenges completed, per day)</h2>"#);
    html.push_str(&line_chart(&days, &series, "%", Some(100.0)));

    // Risk mix per day.
    let risk = rows(
        ctx,
        "SELECT event_date, SUM(CASE WHEN risk_level = 'high' THEN 1 ELSE 0 END) AS high,
                SUM(CASE WHEN risk_level = 'medium' THEN 1 ELSE 0 END) AS medium,
                SUM(CASE WHEN risk_level = 'low' THEN 1 ELSE 0 END) AS low
         FROM events WHERE category = 'auth' AND event_type IN ('sign_in', 'federated_sign_in')
         GROUP BY event_date ORDER BY event_date",
    )
    .await?;
    let days: Vec<String> = risk.0.iter().filter_map(day).collect();
    let series: Vec<Series> = [("high", "#d62728"), ("medium", "#ff7f0e"), ("low", "#2ca02c")]
        .iter()
        .map(|(level, color)| Series { label: format!("{level} risk"), color, values: risk.0.iter().map(|r| r.number(level)).collect() })
        .collect();
    html.push_str(r#"<h2 id="risk">Risk mix of sign-ins (per day, by Cognito risk level)</h2>"#);
    html.push_str(&bar_chart(&days, &series, ""));
    let (_, mix) = named_table(ctx, "risk_mix", 20).await?;
    let _ = write!(html, "<pre>{}</pre>", esc(&mix));

    // Throttle rate.
    let throttle = named_rows(ctx, "throttle_rate_daily").await?;
    let days: Vec<String> = throttle.0.iter().filter_map(day).collect();
    let series = vec![Series { label: "throttled requests (%)".into(), color: "#9467bd", values: throttle.0.iter().map(|r| r.number("throttle_rate")).collect() }];
    html.push_str(r#"<h2 id="throttle">Throttle rate (% of requests, per day)</h2>"#);
    html.push_str(&line_chart(&days, &series, "%", None));

    migration(ctx, opts, &mut html).await?;

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
        let _ = write!(html, "<h3>{} ({n} found; `authlake query --named {name}`)</h3><pre>{}</pre>", esc(title), esc(&table));
    }
    html.push_str("</body></html>\n");
    Ok(html)
}

/// The migration-progress dashboard.
async fn migration(ctx: &SessionContext, opts: &ReportOptions, html: &mut String) -> Result<(), DashboardError> {
    let m = named_rows(ctx, "migration_progress").await?;
    let days: Vec<String> = m.0.iter().filter_map(day).collect();
    let cumulative: Vec<Option<f64>> = m.0.iter().map(|r| r.number("cumulative_migrated")).collect();
    let migrated = cumulative.last().copied().flatten().unwrap_or(0.0);
    html.push_str(r#"<h2 id="migration">Migration progress</h2><div class="kpis">"#);
    let _ = write!(html, r#"<div class="kpi">Users migrated<b>{migrated:.0}</b></div>"#);
    let mut series = vec![Series { label: "cumulative migrated users".into(), color: "#1f77b4", values: cumulative.clone() }];
    match opts.legacy_users {
        Some(total) if total > 0 => {
            let remaining = (total as f64 - migrated).max(0.0);
            // Projection from the pace of the last 14 days with data.
            let recent: Vec<(NaiveDate, f64)> =
                m.0.iter().filter_map(|r| Some((NaiveDate::parse_from_str(&day(r)?, "%Y-%m-%d").ok()?, r.number("cumulative_migrated")?))).collect();
            let projection = match (recent.get(recent.len().saturating_sub(15)).copied(), recent.last()) {
                _ if remaining == 0.0 => "complete".to_string(),
                (Some((d0, c0)), Some((d1, c1))) if c1 > &c0 => {
                    let per_day = (c1 - c0) / (*d1 - d0).num_days().max(1) as f64;
                    let days_left = (remaining / per_day).ceil() as i64;
                    format!("{} ({per_day:.0} users/day)", *d1 + Duration::days(days_left))
                }
                _ => "no recent progress".to_string(),
            };
            let _ = write!(
                html,
                r#"<div class="kpi">Legacy users<b>{total}</b></div><div class="kpi">Remaining<b>{remaining:.0}</b></div><div class="kpi">Progress<b>{:.1}%</b></div><div class="kpi">Projected completion<b>{}</b></div>"#,
                100.0 * migrated / total as f64,
                esc(&projection)
            );
            series.push(Series {
                label: "remaining legacy users".into(),
                color: "#d62728",
                values: cumulative.iter().map(|c| c.map(|c| (total as f64 - c).max(0.0))).collect(),
            });
        }
        _ => html.push_str(r#"<div class="kpi">Remaining<b>?</b>set --legacy-users</div>"#),
    }
    html.push_str("</div><h3>Cumulative migrated and remaining users</h3>");
    html.push_str(&line_chart(&days, &series, "", None));
    html.push_str("<h3>Users migrated per day: lazily (on sign-in) vs bulk import</h3>");
    let stacked = vec![
        Series { label: "lazy (user migration trigger)".into(), color: "#2ca02c", values: m.0.iter().map(|r| r.number("lazy_migrated")).collect() },
        Series { label: "bulk import".into(), color: "#ff7f0e", values: m.0.iter().map(|r| r.number("bulk_imported")).collect() },
    ];
    html.push_str(&bar_chart(&days, &stacked, ""));
    html.push_str("<h3>Failed lazy migrations per day</h3>");
    let failures = vec![Series { label: "failed migrations".into(), color: "#d62728", values: m.0.iter().map(|r| r.number("failures")).collect() }];
    html.push_str(&bar_chart(&days, &failures, ""));
    Ok(())
}
