//! `authlake demo`: generate → ingest → KPIs, all local.

use std::path::PathBuf;

use anyhow::Context;
use authlake_ingest::source::file;
use authlake_ingest::{IngestOptions};
use authlake_lake::Lake;
use authlake_kpi::metrics::catalogue::{DEFAULT_LATENESS_MINUTES, DEFAULT_MAX_CLIENTS_PER_POOL};
use authlake_kpi::metrics::{compute, CatalogueOptions, Window};
use chrono::{DateTime, Duration, Utc};
use clap::Args;

use crate::cli::OutputFormat;
use crate::generate::GenerateArgs;

/// The KPI queries the demo prints: named queries of `queries/`.
const DEMO_QUERIES: &[(&str, &str)] = &[
    ("Events by type and outcome", "events_by_type"),
    ("MFA completion per day (last 7 days)", "mfa_completion_daily"),
    ("Risk mix of sign-ins", "risk_mix"),
    ("Throttle rate per day (last 7 days)", "throttle_rate_daily"),
    ("Migration progress per week (Auth0 → Cognito)", "migration_progress"),
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Events to generate.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Days of traffic.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Working directory for the generated input and the lake.
    #[arg(long, default_value = "authlake-demo")]
    pub dir: PathBuf,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let input = args.dir.join("events.ndjson");
    let lake_dir = args.dir.join("lake");
    if lake_dir.exists() {
        std::fs::remove_dir_all(&lake_dir).with_context(|| format!("cannot reset {}", lake_dir.display()))?;
    }

    tracing::info!("[1/5] generating {} events over {} days (mixed Cognito formats) -> {}", args.events, args.days, input.display());
    let gen = GenerateArgs {
        events: args.events,
        days: args.days,
        seed: args.seed,
        end: None,
        format: "mixed".into(),
        out: input.clone(),
        truth: Some(args.dir.join("truth.json")),
        threads: None,
        no_incidents: false,
    };
    let truth = crate::generate::write(&gen)?;

    tracing::info!("[2/5] ingesting into {}", lake_dir.display());
    let lake = Lake::open(&lake_dir.display().to_string(), true)?;
    let opts = IngestOptions { writer_id: "demo".into(), ..Default::default() };
    let summary = crate::ingest::ingest_files(&lake, file::resolve(&input.display().to_string())?, &opts, Default::default(), crate::shutdown::signal()).await?;
    println!("{}", crate::ingest::summary_line(&summary, &lake));

    tracing::info!("[3/5] KPIs over the lake (named queries of queries/)");
    for (title, name) in DEMO_QUERIES {
        let sql = authlake_analytics::named::find(name, None)?.bind(&Default::default())?;
        let sql = if title.contains("last 7 days") {
            format!("SELECT * FROM ({sql}) ORDER BY event_date DESC LIMIT 7")
        } else if title.contains("per week") {
            format!(
                "SELECT CAST(date_trunc('week', event_date) AS DATE) AS week, SUM(lazy_migrated) AS lazy_migrated,
                        SUM(bulk_imported) AS bulk_imported, MAX(cumulative_migrated) AS cumulative_migrated
                 FROM ({sql}) GROUP BY 1 ORDER BY 1"
            )
        } else {
            sql
        };
        println!("\n== {title}");
        print!("{}", crate::query::query_text(&lake, &sql, OutputFormat::Table, false).await?);
    }
    println!(
        "\nLegacy users to migrate: {} (about 80% lazily on sign-in, {} by the final bulk import).",
        truth.legacy_users, truth.bulk_imports
    );

    tracing::info!("[4/5] detections and the metrics catalogue (daily windows, all user pools)");
    println!("\n== Detections (the Sigma rule pack, detections/rules; findings written once to the findings table)");
    let pack = authlake_detect::Pack::load(None, &authlake_detect::Mapping::builtin())?;
    let detected = authlake_detect::run::detect(&lake, &pack, authlake_detect::Range::ALL, "detect").await?;
    if let Some(e) = detected.failed.into_iter().next() {
        return Err(e.into());
    }
    let runs = detected.runs;
    for r in runs.iter().filter(|r| !r.findings.is_empty()) {
        println!("{:<8} {:>4} found   {}", r.rule.level, r.findings.len(), r.rule.title);
    }
    let quiet = runs.iter().filter(|r| r.findings.is_empty()).count();
    println!("{quiet} more rules found nothing. authlake detect --lake {} --list", lake_dir.display());
    println!("Findings: authlake query --lake {} \"SELECT rule_title, window_start, user_key, ip_address, event_count FROM findings_latest\"", lake_dir.display());
    let now = chrono::Utc::now();
    let daily = demo_points(&lake, "1d", now, truth.legacy_users).await?;
    println!("\n== KPIs per day (last 7 closed days; CloudWatch metric names)");
    print!("{}", daily_summary(&daily, 7));
    let hourly = demo_points(&lake, "1h", now, truth.legacy_users).await?;
    let emf_path = args.dir.join("metrics.emf");
    let emf = authlake_kpi::metrics::emf::render(&hourly, authlake_kpi::DEFAULT_NAMESPACE);
    std::fs::write(&emf_path, &emf).with_context(|| format!("cannot write {}", emf_path.display()))?;
    println!(
        "\nEmbedded Metric Format: {} lines (hourly windows) -> {} (what `authlake metrics --format emf` prints for the CloudWatch agent)",
        emf.lines().count(),
        emf_path.display()
    );

    tracing::info!("[5/5] HTML dashboard");
    let report = args.dir.join("report.html");
    crate::kpi::write_report(&lake, &report, Some(truth.legacy_users)).await?;
    println!("HTML dashboard (security, MFA, risk, throttling, migration progress) -> {}", report.display());
    println!("Try: authlake query --lake {} \"SELECT event_type, COUNT(*) FROM events GROUP BY 1\"", lake_dir.display());
    Ok(())
}

/// Closed windows of the whole lake, for the demo.
pub async fn demo_points(lake: &Lake, window: &str, now: DateTime<Utc>, legacy_users: u64) -> anyhow::Result<Vec<authlake_kpi::metrics::MetricPoint>> {
    let window = Window::parse(window).map_err(anyhow::Error::msg)?;
    let opts = CatalogueOptions {
        window,
        since: DateTime::from_timestamp(0, 0).expect("epoch"),
        until: now,
        lateness: Duration::minutes(DEFAULT_LATENESS_MINUTES),
        include_open: false,
        now,
        max_clients_per_pool: DEFAULT_MAX_CLIENTS_PER_POOL,
        legacy_users: Some(legacy_users),
    };
    Ok(compute(lake, &opts).await?)
}

/// The last `days` windows with counts summed over pools and rates
/// recomputed from them.
pub fn daily_summary(points: &[authlake_kpi::metrics::MetricPoint], days: usize) -> String {
    use std::collections::BTreeMap;
    let mut by_day: BTreeMap<DateTime<Utc>, BTreeMap<&str, f64>> = BTreeMap::new();
    for p in points.iter().filter(|p| p.dimensions.len() == 1 && p.dimensions[0].0 == "UserPoolId") {
        let slot = by_day.entry(p.window_start).or_default().entry(p.metric.as_str()).or_default();
        *slot = if p.metric == "MigrationProgress" { slot.max(0.0) + p.value } else { *slot + p.value };
    }
    let pct = |m: &BTreeMap<&str, f64>, num: &[&str], den: &[&str]| {
        let s = |names: &[&str]| names.iter().map(|n| m.get(n).copied().unwrap_or(0.0)).sum::<f64>();
        if s(den) > 0.0 { format!("{:.1}", 100.0 * s(num) / s(den)) } else { "-".into() }
    };
    let mut out = format!(
        "{:<10} {:>14} {:>17} {:>17} {:>12} {:>15} {:>13} {:>15}\n",
        "day", "SignInAttempts", "SignInSuccessRate", "MfaCompletionRate", "ThrottleRate", "HighRiskSignIns", "UsersMigrated", "UsersBulkImported"
    );
    let skip = by_day.len().saturating_sub(days);
    for (day, m) in by_day.iter().skip(skip) {
        let n = |k: &str| m.get(k).copied().unwrap_or(0.0);
        out.push_str(&format!(
            "{:<10} {:>14} {:>17} {:>17} {:>12} {:>15} {:>13} {:>15}\n",
            day.format("%Y-%m-%d"),
            n("SignInAttempts"),
            pct(m, &["SignInSuccesses"], &["SignInSuccesses", "SignInFailures", "SignInThrottles"]),
            pct(m, &["MfaCompletions"], &["MfaChallenges"]),
            pct(m, &["ThrottledRequests"], &["Requests"]),
            n("HighRiskSignIns"),
            n("UsersMigrated"),
            n("UsersBulkImported")
        ));
    }
    out
}
