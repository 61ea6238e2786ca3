//! `authlake metrics`, `authlake alarms`, `authlake dashboards`: the KPIs
//! of the lake, delivered to CloudWatch.

use std::path::PathBuf;

use anyhow::Context;
use authlake_analytics::lake_context;
use authlake_ingest::Lake;
use authlake_kpi::alarms::{backtest, spec::AlarmSpec, sync as alarm_sync, AlarmConfig};
use authlake_kpi::cloudwatch::{client, ClientOptions};
use authlake_kpi::dashboards::{report, sync as dash_sync};
use authlake_kpi::metrics::catalogue::{DEFAULT_LATENESS_MINUTES, DEFAULT_MAX_CLIENTS_PER_POOL};
use authlake_kpi::metrics::push::{push, CloudWatchSink, PushOptions, PushReport, DEFAULT_RECONCILE_AFTER_SECS};
use authlake_kpi::metrics::{compute, emf, render, CatalogueOptions, Window};
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Subcommand, ValueEnum};

use crate::config::{parse_duration, MetricsConfig};

/// Output of `authlake metrics`.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum MetricsFormat {
    #[default]
    Table,
    Json,
    /// CloudWatch Embedded Metric Format, one JSON line per window and dimensions.
    Emf,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Lake: a directory or s3://bucket/prefix.
    #[arg(long)]
    pub lake: String,
    /// Window length: 1m, 5m, 1h, 1d [default: 1h, or [metrics] window].
    #[arg(long)]
    pub window: Option<String>,
    /// First window: RFC 3339 time, a date, or an age such as 7d [default: 14d with --push, else all history].
    #[arg(long)]
    pub since: Option<String>,
    /// End of the last window (exclusive): RFC 3339 time, a date, or an age [default: now].
    #[arg(long)]
    pub until: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: MetricsFormat,
    /// Push closed windows to CloudWatch (PutMetricData), each exactly once.
    #[arg(long)]
    pub push: bool,
    /// Also include windows still open (pushed as provisional to <namespace>/Provisional).
    #[arg(long)]
    pub include_open: bool,
    /// Time after a window's end before it counts as closed [default: 15m].
    #[arg(long)]
    pub lateness: Option<String>,
    /// CloudWatch namespace [default: Authlake].
    #[arg(long)]
    pub namespace: Option<String>,
    /// Users in the legacy system, for MigrationProgress.
    #[arg(long)]
    pub legacy_users: Option<u64>,
    /// Clients per pool with their own [UserPoolId, ClientId] metrics (the busiest) [default: 20].
    #[arg(long)]
    pub max_clients_per_pool: Option<usize>,
    /// Wait this long before looking up a request of unknown outcome in CloudWatch [default: 3m].
    #[arg(long)]
    pub reconcile_after: Option<String>,
}

/// Parses an instant: RFC 3339, `YYYY-MM-DD`, or an age (`30d`, `12h`) before `now`.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    let age = parse_duration(s).with_context(|| format!("invalid time {s:?}: use RFC 3339, YYYY-MM-DD or an age like 7d"))?;
    Ok(now - Duration::from_std(age)?)
}

/// The catalogue options from flags and config.
fn catalogue_options(args: &MetricsArgs, config: &MetricsConfig, now: DateTime<Utc>) -> anyhow::Result<CatalogueOptions> {
    let window = args.window.clone().or(config.window.clone()).unwrap_or_else(|| "1h".into());
    let window = Window::parse(&window).map_err(anyhow::Error::msg)?;
    let since = match &args.since {
        Some(s) => parse_time(s, now)?,
        None if args.push => window.floor(now - Duration::days(14)) + Duration::seconds(window.seconds),
        None => DateTime::from_timestamp(0, 0).expect("epoch"),
    };
    let until = args.until.as_deref().map(|s| parse_time(s, now)).transpose()?.unwrap_or(now);
    let lateness = match args.lateness.clone().or(config.lateness.clone()) {
        Some(l) => Duration::from_std(parse_duration(&l)?)?,
        None => Duration::minutes(DEFAULT_LATENESS_MINUTES),
    };
    Ok(CatalogueOptions {
        window,
        since: window.floor(since),
        until,
        lateness,
        include_open: args.include_open,
        now,
        max_clients_per_pool: args.max_clients_per_pool.or(config.max_clients_per_pool).unwrap_or(DEFAULT_MAX_CLIENTS_PER_POOL),
        legacy_users: args.legacy_users.or(config.legacy_users),
    })
}

pub async fn run_metrics(args: MetricsArgs, config: &MetricsConfig) -> anyhow::Result<()> {
    let now = Utc::now();
    let lake = Lake::open(&args.lake, false)?;
    let opts = catalogue_options(&args, config, now)?;
    let namespace = args.namespace.clone().or(config.namespace.clone()).unwrap_or_else(|| authlake_kpi::DEFAULT_NAMESPACE.into());
    let points = compute(&lake, &opts).await?;
    if args.push {
        let reconcile_after = match args.reconcile_after.as_deref() {
            Some(s) => Duration::from_std(parse_duration(s)?)?,
            None => Duration::seconds(DEFAULT_RECONCILE_AFTER_SECS),
        };
        let sink = CloudWatchSink(client(&ClientOptions::default()).await);
        let report = push(&lake, &sink, &points, &PushOptions { namespace: namespace.clone(), reconcile_after, now }).await?;
        print_push_report(&report, &namespace, args.format == MetricsFormat::Json);
        if let Some(e) = report.failed {
            anyhow::bail!("push stopped: {e}; the windows not pushed are pushed by the next run");
        }
        return Ok(());
    }
    let text = match args.format {
        MetricsFormat::Table => render::table(&points),
        MetricsFormat::Json => render::json(&points),
        MetricsFormat::Emf => emf::render(&points, &namespace),
    };
    print!("{text}");
    Ok(())
}

pub fn print_push_report(r: &PushReport, namespace: &str, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
        return;
    }
    println!(
        "pushed {} windows ({} data in {} requests) to {namespace}; {} already pushed; {} deferred; {} requests found already in CloudWatch",
        r.windows_pushed, r.data_sent, r.requests_sent, r.windows_already_pushed, r.windows_deferred, r.requests_reconciled
    );
    if r.provisional_data_sent > 0 {
        println!("pushed {} provisional data of open windows to {namespace}/Provisional", r.provisional_data_sent);
    }
    if let (Some(first), Some(last)) = (r.windows_out_of_range.first(), r.windows_out_of_range.last()) {
        eprintln!(
            "authlake: {} windows from {first} to {last} not pushed: CloudWatch takes data from the last two weeks up to two hours ahead only",
            r.windows_out_of_range.len()
        );
    }
}

#[derive(Debug, Args)]
pub struct AlarmsArgs {
    #[command(subcommand)]
    pub action: AlarmsAction,
}

#[derive(Debug, Subcommand)]
pub enum AlarmsAction {
    /// Create, update and delete CloudWatch alarms to match the declared ones.
    Sync(AlarmsCommon),
    /// Show the declared and the deployed alarms side by side.
    List(AlarmsList),
    /// Replay the declared alarms over lake history and print when each would have fired.
    Backtest(AlarmsBacktest),
}

#[derive(Debug, Args)]
pub struct AlarmsCommon {
    /// Lake (its user pools are the alarms' dimensions).
    #[arg(long)]
    pub lake: String,
}

#[derive(Debug, Args)]
pub struct AlarmsList {
    #[command(flatten)]
    pub common: AlarmsCommon,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: MetricsFormat,
}

#[derive(Debug, Args)]
pub struct AlarmsBacktest {
    #[command(flatten)]
    pub common: AlarmsCommon,
    /// Replay from: RFC 3339 time, a date, or an age such as 30d.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Replay until [default: now].
    #[arg(long)]
    pub until: Option<String>,
    /// Output format (table or json).
    #[arg(long, value_enum, default_value_t)]
    pub format: MetricsFormat,
}

/// The user pools of the lake.
async fn lake_pools(lake: &Lake) -> anyhow::Result<Vec<String>> {
    Ok(authlake_kpi::lake_pools(lake).await?)
}

pub async fn run_alarms(args: AlarmsArgs, file: Option<PathBuf>) -> anyhow::Result<()> {
    let path = file.unwrap_or_else(|| PathBuf::from("dashboards/alarms.toml"));
    let config = AlarmConfig::load(&path)?;
    match args.action {
        AlarmsAction::Sync(c) => {
            let lake = Lake::open(&c.lake, false)?;
            let specs = specs(&config, &lake).await?;
            let cw = client(&ClientOptions::default()).await;
            let r = alarm_sync::sync(&cw, &config.prefix, &specs).await?;
            for (what, names) in [("created", &r.created), ("updated", &r.updated), ("unchanged", &r.unchanged), ("deleted", &r.deleted)] {
                for n in names {
                    println!("{what:<9} {n}");
                }
            }
            println!(
                "alarms: {} created, {} updated, {} unchanged, {} deleted",
                r.created.len(),
                r.updated.len(),
                r.unchanged.len(),
                r.deleted.len()
            );
        }
        AlarmsAction::List(l) => {
            let lake = Lake::open(&l.common.lake, false)?;
            let specs = specs(&config, &lake).await?;
            let cw = client(&ClientOptions::default()).await;
            let deployed = alarm_sync::deployed(&cw, &config.prefix).await?;
            let mut names: Vec<String> = specs.iter().map(|s| s.name.clone()).chain(deployed.iter().map(|d| d.name.clone())).collect();
            names.sort();
            names.dedup();
            let rows: Vec<serde_json::Value> = names
                .iter()
                .map(|n| {
                    let s = specs.iter().find(|s| &s.name == n);
                    let d = deployed.iter().find(|d| &d.name == n);
                    let in_sync = matches!((s, d), (Some(s), Some(d)) if d.fingerprint.as_deref() == Some(s.fingerprint().as_str()));
                    serde_json::json!({"name": n, "declared": s, "deployed": d, "in_sync": in_sync, "state": d.map(|d| d.state.clone())})
                })
                .collect();
            if l.format == MetricsFormat::Json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<40} {:<9} {:<9} {:<8} state", "alarm", "declared", "deployed", "in sync");
                for r in &rows {
                    println!(
                        "{:<40} {:<9} {:<9} {:<8} {}",
                        r["name"].as_str().unwrap_or_default(),
                        !r["declared"].is_null(),
                        !r["deployed"].is_null(),
                        r["in_sync"].to_string(),
                        r["state"].as_str().unwrap_or("-")
                    );
                }
            }
        }
        AlarmsAction::Backtest(b) => {
            let now = Utc::now();
            let lake = Lake::open(&b.common.lake, false)?;
            let since = parse_time(&b.since, now)?;
            let until = b.until.as_deref().map(|s| parse_time(s, now)).transpose()?.unwrap_or(now);
            let ctx = lake_context(&lake).await?;
            let mut results = Vec::new();
            for a in &config.alarms {
                eprintln!("authlake: replaying {} over {since} .. {until}", a.name);
                results.push(backtest::backtest(&ctx, a, since, until).await?);
            }
            if b.format == MetricsFormat::Json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                for r in &results {
                    println!(
                        "{}: fired {} times ({} of {} periods breaching, {} with data)",
                        r.name,
                        r.firings.len(),
                        r.breaching_periods,
                        r.periods,
                        r.periods_with_data
                    );
                    for f in &r.firings {
                        let until = f.until.map(|u| u.format("%Y-%m-%dT%H:%MZ").to_string()).unwrap_or_else(|| "still firing".into());
                        let worst = f.worst.map(|w| format!(" (worst {w:.2})")).unwrap_or_default();
                        println!("  ALARM {} -> {until}{worst}", f.from.format("%Y-%m-%dT%H:%MZ"));
                    }
                }
            }
        }
    }
    Ok(())
}

async fn specs(config: &AlarmConfig, lake: &Lake) -> anyhow::Result<Vec<AlarmSpec>> {
    let pools = lake_pools(lake).await?;
    Ok(config.alarms.iter().map(|a| AlarmSpec::build(config, a, &pools)).collect::<Result<_, _>>()?)
}

#[derive(Debug, Args)]
pub struct DashboardsArgs {
    #[command(subcommand)]
    pub action: DashboardsAction,
}

#[derive(Debug, Subcommand)]
pub enum DashboardsAction {
    /// Put the dashboards of dashboards/*.json to CloudWatch, filled in for the lake's user pools.
    Sync(DashboardsSync),
    /// Write a self-contained HTML report with the KPI charts.
    Render(DashboardsRender),
}

#[derive(Debug, Args)]
pub struct DashboardsSync {
    /// Lake (its user pools fill in the dimensions).
    #[arg(long)]
    pub lake: String,
    /// Directory of dashboard bodies [default: the built-in ones].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Dashboard name prefix.
    #[arg(long, default_value = "authlake-")]
    pub prefix: String,
    /// CloudWatch namespace of the metrics [default: Authlake].
    #[arg(long)]
    pub namespace: Option<String>,
}

#[derive(Debug, Args)]
pub struct DashboardsRender {
    /// Lake to report on.
    #[arg(long)]
    pub lake: String,
    /// Output HTML file.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// Users in the legacy system (remaining users, projected completion).
    #[arg(long)]
    pub legacy_users: Option<u64>,
}

pub async fn run_dashboards(args: DashboardsArgs, config: &MetricsConfig) -> anyhow::Result<()> {
    match args.action {
        DashboardsAction::Sync(s) => {
            let lake = Lake::open(&s.lake, false)?;
            let pools = lake_pools(&lake).await?;
            let namespace = s.namespace.or(config.namespace.clone()).unwrap_or_else(|| authlake_kpi::DEFAULT_NAMESPACE.into());
            let region = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).unwrap_or_else(|_| "us-east-1".into());
            let bodies = dash_sync::templates(s.dir.as_deref())?
                .into_iter()
                .map(|(n, t)| Ok((n.clone(), dash_sync::fill(&n, &t, &namespace, &region, &pools)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let cw = client(&ClientOptions::default()).await;
            let r = dash_sync::sync(&cw, &lake, &s.prefix, &bodies).await?;
            for (what, names) in [("created", &r.created), ("updated", &r.updated), ("unchanged", &r.unchanged), ("deleted", &r.deleted)] {
                for n in names {
                    println!("{what:<9} {n}");
                }
            }
            println!(
                "dashboards: {} created, {} updated, {} unchanged, {} deleted ({} user pools)",
                r.created.len(),
                r.updated.len(),
                r.unchanged.len(),
                r.deleted.len(),
                pools.len()
            );
        }
        DashboardsAction::Render(r) => {
            let lake = Lake::open(&r.lake, false)?;
            write_report(&lake, &r.out, r.legacy_users.or(config.legacy_users)).await?;
            println!("wrote {}", r.out.display());
        }
    }
    Ok(())
}

/// Writes the HTML report of `lake` to `out`.
pub async fn write_report(lake: &Lake, out: &std::path::Path, legacy_users: Option<u64>) -> anyhow::Result<()> {
    let ctx = lake_context(lake).await?;
    let opts = report::ReportOptions { title: "authlake: Cognito sign-in security and migration".into(), legacy_users, now: Utc::now(), lake: lake.display() };
    let html = report::render_report(&ctx, &opts).await?;
    std::fs::write(out, html).with_context(|| format!("cannot write {}", out.display()))
}

/// Pushes closed windows in the background while an ingest runs.
pub struct MetricsPusher {
    task: tokio::task::JoinHandle<()>,
    push: std::sync::Arc<PushOnce>,
}

/// One push of every closed window of the last two weeks.
struct PushOnce {
    lake: Lake,
    window: Window,
    lateness: Duration,
    namespace: String,
    legacy_users: Option<u64>,
    sink: CloudWatchSink,
}

impl PushOnce {
    async fn run(&self) -> anyhow::Result<PushReport> {
        let now = Utc::now();
        let opts = CatalogueOptions {
            window: self.window,
            since: self.window.floor(now - Duration::days(14)) + Duration::seconds(self.window.seconds),
            until: now,
            lateness: self.lateness,
            include_open: false,
            now,
            max_clients_per_pool: DEFAULT_MAX_CLIENTS_PER_POOL,
            legacy_users: self.legacy_users,
        };
        let points = compute(&self.lake, &opts).await?;
        let push_opts = PushOptions { namespace: self.namespace.clone(), reconcile_after: Duration::seconds(DEFAULT_RECONCILE_AFTER_SECS), now };
        Ok(push(&self.lake, &self.sink, &points, &push_opts).await?)
    }

    /// Pushes, saying what happened; a failure is a warning (the next push
    /// sends what this one could not).
    async fn run_logged(&self) {
        match self.run().await {
            Ok(r) if r.failed.is_none() => {
                if r.windows_pushed > 0 {
                    eprintln!("authlake: pushed {} closed windows ({} data) to CloudWatch {}", r.windows_pushed, r.data_sent, self.namespace);
                }
            }
            Ok(r) => eprintln!("authlake: metrics push incomplete, retried later: {}", r.failed.unwrap_or_default()),
            Err(e) => eprintln!("authlake: metrics push failed, retried later: {e:#}"),
        }
    }
}

impl MetricsPusher {
    pub async fn start(lake: Lake, window: Option<&str>, config: &MetricsConfig, every: std::time::Duration) -> anyhow::Result<Self> {
        let window = Window::parse(window.or(config.window.as_deref()).unwrap_or("1h")).map_err(anyhow::Error::msg)?;
        let lateness = match &config.lateness {
            Some(l) => Duration::from_std(parse_duration(l)?)?,
            None => Duration::minutes(DEFAULT_LATENESS_MINUTES),
        };
        let push = std::sync::Arc::new(PushOnce {
            lake,
            window,
            lateness,
            namespace: config.namespace.clone().unwrap_or_else(|| authlake_kpi::DEFAULT_NAMESPACE.into()),
            legacy_users: config.legacy_users,
            sink: CloudWatchSink(client(&ClientOptions::default()).await),
        });
        let p = push.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                p.run_logged().await;
            }
        });
        Ok(Self { task, push })
    }

    /// Stops the periodic pushes and pushes once more.
    pub async fn finish(self) {
        self.task.abort();
        self.push.run_logged().await;
    }
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
