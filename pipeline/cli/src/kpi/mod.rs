//! `authlake metrics`, `authlake alarms`, `authlake dashboards`: the KPIs
//! of the lake, delivered to CloudWatch. `metrics` and the pusher of
//! `ingest --push-metrics` are here; [`alarms`] and [`dashboards`] beside.

mod alarms;
mod dashboards;

pub use alarms::{run_alarms, AlarmsArgs};
pub use dashboards::{run_dashboards, write_report, DashboardsArgs};

use authlake_lake::Lake;
use authlake_kpi::cloudwatch::{client, ClientOptions};
use authlake_kpi::metrics::catalogue::{DEFAULT_LATENESS_MINUTES, DEFAULT_MAX_CLIENTS_PER_POOL};
use authlake_kpi::metrics::push::{push, CloudWatchSink, PushOptions, PushReport, DEFAULT_RECONCILE_AFTER_SECS};
use authlake_kpi::metrics::{compute, emf, render, CatalogueOptions, Window};
use chrono::{DateTime, Duration, Utc};
use clap::{Args, ValueEnum};

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
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
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
    /// Only these metrics (names as in CloudWatch, comma-separated or repeated).
    #[arg(long, value_delimiter = ',', conflicts_with = "push")]
    pub metric: Vec<String>,
    /// Only this user pool's metrics (and none of the lake-wide ones).
    #[arg(long, conflicts_with = "push")]
    pub pool: Option<String>,
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
    crate::time::parse_time(s, now, false)
}

/// The lateness allowance: the given duration, or the default 15 minutes.
fn lateness(given: Option<&str>) -> anyhow::Result<Duration> {
    match given {
        Some(l) => Ok(Duration::from_std(parse_duration(l)?)?),
        None => Ok(Duration::minutes(DEFAULT_LATENESS_MINUTES)),
    }
}

/// The metrics table of docs/metrics.md (the one place metrics are
/// defined), as `metrics --help` shows it.
pub fn definitions() -> String {
    const DOC: &str = include_str!("../../../../docs/metrics.md");
    let mut out = String::from("Metrics (definitions from docs/metrics.md; S = rows with event_type sign_in or federated_sign_in):\n");
    for line in DOC.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if let [name, unit, meaning] = cells.as_slice() {
            out.push_str(&format!("  {} ({unit}): {}\n", name.replace('`', ""), meaning.replace('`', "")));
        }
    }
    out
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
    let lateness = lateness(args.lateness.as_deref().or(config.lateness.as_deref()))?;
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
    let lake = Lake::open(crate::cli::lake(&args.lake)?, false)?;
    let opts = catalogue_options(&args, config, now)?;
    let namespace = args.namespace.clone().or(config.namespace.clone()).unwrap_or_else(|| authlake_kpi::DEFAULT_NAMESPACE.into());
    let mut points = compute(&lake, &opts).await?;
    if !args.metric.is_empty() {
        let known: Vec<&str> = authlake_kpi::metrics::CATALOGUE.iter().map(|m| m.name).collect();
        for m in &args.metric {
            if !known.contains(&m.as_str()) {
                return Err(crate::exit::coded(crate::exit::Exit::Usage, format!("no metric {m:?}; the catalogue has {}", known.join(", "))));
            }
        }
        points.retain(|p| args.metric.contains(&p.metric));
    }
    if let Some(pool) = &args.pool {
        points.retain(|p| p.dimensions.iter().any(|(k, v)| k == "UserPoolId" && v == pool));
    }
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
        tracing::warn!(
            "{} windows from {first} to {last} not pushed: CloudWatch takes data from the last two weeks up to two hours ahead only",
            r.windows_out_of_range.len()
        );
    }
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
                    tracing::info!("pushed {} closed windows ({} data) to CloudWatch {}", r.windows_pushed, r.data_sent, self.namespace);
                }
            }
            Ok(r) => tracing::warn!("metrics push incomplete, retried later: {}", r.failed.unwrap_or_default()),
            Err(e) => tracing::warn!("metrics push failed, retried later: {e:#}"),
        }
    }
}

impl MetricsPusher {
    pub async fn start(lake: Lake, window: Option<&str>, config: &MetricsConfig, every: std::time::Duration) -> anyhow::Result<Self> {
        let window = Window::parse(window.or(config.window.as_deref()).unwrap_or("1h")).map_err(anyhow::Error::msg)?;
        let lateness = lateness(config.lateness.as_deref())?;
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

