//! The metrics catalogue (docs/metrics.md), computed from committed lake
//! data by the named query `kpi_catalogue` plus three small queries (links
//! per provider, cumulative migration, dead letters).

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use authlake_analytics::named;
use authlake_analytics::{lake_context, run_sql};
use authlake_lake::Lake;
use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use super::window::Window;
use super::MetricsError;

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    Count,
    Percent,
    Seconds,
}

/// How a metric re-aggregates over longer periods (alarms, backtests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    Sum,
    Maximum,
    /// The smallest: `IngestLagSeconds` (the freshest event read), so one
    /// pool's backfill does not hide that the others are live.
    Minimum,
}

impl Statistic {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "Sum",
            Self::Maximum => "Maximum",
            Self::Minimum => "Minimum",
        }
    }
}

/// What a metric is made of.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A column of `kpi_catalogue`.
    Column(&'static str),
    /// `100 * numerator / denominator`, over counts (sums of metrics).
    Rate { numerator: &'static [&'static str], denominator: &'static [&'static str] },
    /// Computed by its own query (per provider, cumulative, dead letters).
    Special,
}

/// One metric of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    pub name: &'static str,
    pub unit: Unit,
    pub statistic: Statistic,
    pub source: Source,
}

const fn count(name: &'static str, column: &'static str) -> MetricDef {
    MetricDef { name, unit: Unit::Count, statistic: Statistic::Sum, source: Source::Column(column) }
}

const fn rate(name: &'static str, numerator: &'static [&'static str], denominator: &'static [&'static str]) -> MetricDef {
    MetricDef { name, unit: Unit::Percent, statistic: Statistic::Sum, source: Source::Rate { numerator, denominator } }
}

/// The catalogue. Counts first: rates are derived from them, and alarms
/// over other periods use metric math on the counts, so every count
/// behind a rate is pushed too (`Requests`, `ThrottledRequests`,
/// `TokenRefreshes`, `TokenRefreshSuccesses` beside the documented ones in docs/metrics.md).
pub const CATALOGUE: &[MetricDef] = &[
    count("SignInAttempts", "sign_in_attempts"),
    count("SignInSuccesses", "sign_in_successes"),
    count("SignInFailures", "sign_in_failures"),
    count("SignInThrottles", "sign_in_throttles"),
    count("MfaChallenges", "mfa_challenges"),
    count("MfaCompletions", "mfa_completions"),
    count("Requests", "requests"),
    count("ThrottledRequests", "throttled_requests"),
    count("HighRiskSignIns", "high_risk_sign_ins"),
    count("MediumRiskSignIns", "medium_risk_sign_ins"),
    count("AccountTakeoverDecisions", "account_takeover_decisions"),
    count("BlockedSignIns", "blocked_sign_ins"),
    count("CompromisedCredentialDetections", "compromised_credential_detections"),
    count("TokenRefreshes", "token_refreshes"),
    count("TokenRefreshSuccesses", "token_refresh_successes"),
    count("OversizeTokens", "oversize_tokens"),
    count("UsersMigrated", "users_migrated"),
    count("UsersBulkImported", "users_bulk_imported"),
    count("MigrationFailures", "migration_failures"),
    count("FederationLinks", "federation_links"),
    count("EventsIngested", "events_ingested"),
    MetricDef { name: "IngestLagSeconds", unit: Unit::Seconds, statistic: Statistic::Minimum, source: Source::Special },
    rate("SignInSuccessRate", &["SignInSuccesses"], &["SignInSuccesses", "SignInFailures", "SignInThrottles"]),
    rate("MfaCompletionRate", &["MfaCompletions"], &["MfaChallenges"]),
    rate("ThrottleRate", &["ThrottledRequests"], &["Requests"]),
    rate("TokenRefreshSuccessRate", &["TokenRefreshSuccesses"], &["TokenRefreshes"]),
    MetricDef { name: "MigrationProgress", unit: Unit::Percent, statistic: Statistic::Maximum, source: Source::Special },
    count("DeadLetters", "dead_letters"),
    // Detection findings (the latest revision of each) by the window their
    // events fell in, per rule and level.
    MetricDef { name: "Findings", unit: Unit::Count, statistic: Statistic::Sum, source: Source::Special },
];

/// The definition of metric `name`.
pub fn metric(name: &str) -> Option<&'static MetricDef> {
    CATALOGUE.iter().find(|m| m.name == name)
}

/// One value: a metric for one window and one dimension combination.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricPoint {
    pub window_start: DateTime<Utc>,
    pub window: String,
    /// Dimensions in the order they are pushed (empty for lake-wide metrics).
    pub dimensions: Vec<(String, String)>,
    pub metric: String,
    pub unit: Unit,
    pub value: f64,
    /// The window was still open (end plus lateness not yet passed).
    pub provisional: bool,
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct CatalogueOptions {
    pub window: Window,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Time after a window's end before it counts as closed.
    pub lateness: Duration,
    /// Also return windows that are still open (marked provisional).
    pub include_open: bool,
    pub now: DateTime<Utc>,
    /// Keep `[UserPoolId, ClientId]` metrics for at most this many clients
    /// per pool (the busiest): every combination is a billed custom metric.
    pub max_clients_per_pool: usize,
    /// Users in the legacy system, for `MigrationProgress`; none, no metric.
    pub legacy_users: Option<u64>,
}

/// Default lateness allowance: CloudTrail and the log export arrive late.
pub const DEFAULT_LATENESS_MINUTES: i64 = 15;
/// Default cap on client ids per pool.
pub const DEFAULT_MAX_CLIENTS_PER_POOL: usize = 20;

/// Computes the catalogue over `[since, until)` in `opts.window` windows.
pub async fn compute(lake: &Lake, opts: &CatalogueOptions) -> Result<Vec<MetricPoint>, MetricsError> {
    let ctx = lake_context(lake).await?;
    compute_with(&ctx, opts).await
}

/// The rows of `sql` (`window_start`, `n` and the columns of `dims`) as
/// (window start, dimensions, count).
async fn counted(ctx: &SessionContext, sql: &str, dims: &[(&str, &str)]) -> Result<Vec<(DateTime<Utc>, Vec<(String, String)>, f64)>, MetricsError> {
    let mut out = Vec::new();
    for r in Rows::collect(run_sql(ctx, sql).await?.1)?.0 {
        let d = dims.iter().map(|(name, col)| (name.to_string(), r.text(col).unwrap_or_default())).collect();
        out.push((r.time("window_start")?, d, r.number("n").unwrap_or(0.0)));
    }
    Ok(out)
}

/// [`compute`] over an existing session.
pub async fn compute_with(ctx: &SessionContext, opts: &CatalogueOptions) -> Result<Vec<MetricPoint>, MetricsError> {
    let label = opts.window.label();
    let keep = |start: DateTime<Utc>| opts.include_open || opts.window.is_closed(start, opts.lateness, opts.now);
    let provisional = |start: DateTime<Utc>| !opts.window.is_closed(start, opts.lateness, opts.now);
    let mut points = Vec::new();
    let mut push = |start: DateTime<Utc>, dimensions: Vec<(String, String)>, def: &MetricDef, value: f64| {
        if keep(start) && value.is_finite() {
            points.push(MetricPoint {
                window_start: start,
                window: label.clone(),
                dimensions,
                metric: def.name.to_string(),
                unit: def.unit,
                value,
                provisional: provisional(start),
            });
        }
    };

    // The counts per window, per pool and per (pool, client).
    let mut params = BTreeMap::new();
    params.insert("window".to_string(), opts.window.interval());
    params.insert("since".to_string(), opts.since.to_rfc3339());
    params.insert("until".to_string(), opts.until.to_rfc3339());
    let sql = named::find("kpi_catalogue", None)?.bind(&params)?;
    let rows = Rows::collect(run_sql(ctx, &sql).await?.1)?;
    let clients = busiest_clients(&rows, opts.max_clients_per_pool);
    for r in &rows.0 {
        let start = r.time("window_start")?;
        let pool = r.text("user_pool_id").unwrap_or_default();
        let mut dims = vec![("UserPoolId".to_string(), pool.clone())];
        if r.text("dimension_set").as_deref() == Some("pool_client") {
            match r.text("client_id") {
                Some(c) if clients.get(&pool).is_some_and(|set| set.contains(&c)) => dims.push(("ClientId".to_string(), c)),
                _ => continue,
            }
        }
        let mut counts: HashMap<&str, f64> = HashMap::new();
        for def in CATALOGUE {
            if let Source::Column(col) = def.source {
                if let Some(v) = r.number(col) {
                    counts.insert(def.name, v);
                    push(start, dims.clone(), def, v);
                }
            }
        }
        for def in CATALOGUE {
            if let Source::Rate { numerator, denominator } = def.source {
                let sum = |names: &[&str]| names.iter().map(|n| counts.get(n).copied().unwrap_or(0.0)).sum::<f64>();
                let den = sum(denominator);
                if den > 0.0 {
                    push(start, dims.clone(), def, 100.0 * sum(numerator) / den);
                }
            }
        }
    }

    // Federation links per identity provider.
    let links = metric("FederationLinks").expect("catalogue");
    let sql = format!(
        "SELECT date_bin(INTERVAL '{}', event_time, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start,
                COALESCE(user_pool_id, 'unknown') AS user_pool_id, provider_name, COUNT(*) AS n
         FROM events
         WHERE category = 'federation' AND event_type = 'federation_link' AND outcome = 'success' AND provider_name IS NOT NULL
           AND event_time >= TIMESTAMP '{}' AND event_time < TIMESTAMP '{}'
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        opts.window.interval(),
        opts.since.to_rfc3339(),
        opts.until.to_rfc3339()
    );
    for (start, dims, n) in counted(ctx, &sql, &[("UserPoolId", "user_pool_id"), ("ProviderName", "provider_name")]).await? {
        push(start, dims, links, n);
    }

    // Migration progress: users migrated (lazily, first success per user,
    // or bulk-imported) up to each window's end, over all history.
    if let Some(total) = opts.legacy_users.filter(|t| *t > 0) {
        let progress = metric("MigrationProgress").expect("catalogue");
        let sql = format!(
            "WITH firsts AS (
               SELECT COALESCE(user_pool_id, 'unknown') AS user_pool_id, MIN(event_time) AS t
               FROM events WHERE category = 'migration' AND event_type = 'user_migration' AND outcome = 'success'
               GROUP BY COALESCE(user_pool_id, 'unknown'), COALESCE(username, user_sub)
               UNION ALL
               SELECT COALESCE(user_pool_id, 'unknown'), event_time
               FROM events WHERE category = 'migration' AND event_type = 'bulk_import' AND outcome = 'success')
             SELECT date_bin(INTERVAL '{}', t, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start, user_pool_id, COUNT(*) AS n
             FROM firsts WHERE t < TIMESTAMP '{}' GROUP BY 1, 2 ORDER BY 1, 2",
            opts.window.interval(),
            opts.until.to_rfc3339()
        );
        let mut cumulative: BTreeMap<String, f64> = BTreeMap::new();
        let mut by_window: BTreeMap<(DateTime<Utc>, String), f64> = BTreeMap::new();
        for r in Rows::collect(run_sql(ctx, &sql).await?.1)?.0 {
            by_window.insert((r.time("window_start")?, r.text("user_pool_id").unwrap_or_default()), r.number("n").unwrap_or(0.0));
        }
        // Every window with data for a pool gets a value, even one with no
        // migrations of its own, so the progress line has no gaps.
        let mut windows: BTreeMap<DateTime<Utc>, Vec<String>> = BTreeMap::new();
        for r in &rows.0 {
            if r.text("dimension_set").as_deref() == Some("pool") {
                windows.entry(r.time("window_start")?).or_default().push(r.text("user_pool_id").unwrap_or_default());
            }
        }
        let mut pending = by_window.into_iter().peekable();
        for (start, pools) in windows {
            while let Some(((s, pool), n)) = pending.next_if(|((s, _), _)| *s <= start) {
                let _ = s;
                *cumulative.entry(pool).or_default() += n;
            }
            for pool in pools {
                let done = cumulative.get(&pool).copied().unwrap_or(0.0);
                push(start, vec![("UserPoolId".to_string(), pool)], progress, (100.0 * done / total as f64).min(100.0));
            }
        }
    }

    // Findings per rule and level, by the window their first event fell
    // in (`findings` is empty until `detect` or `ingest --detect` ran).
    let found = metric("Findings").expect("catalogue");
    let sql = format!(
        "SELECT date_bin(INTERVAL '{}', first_seen, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start, rule_id, rule_level, COUNT(*) AS n
         FROM findings_latest WHERE first_seen >= TIMESTAMP '{}' AND first_seen < TIMESTAMP '{}'
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        opts.window.interval(),
        opts.since.to_rfc3339(),
        opts.until.to_rfc3339()
    );
    for (start, dims, n) in counted(ctx, &sql, &[("Rule", "rule_id"), ("Level", "rule_level")]).await? {
        push(start, dims, found, n);
    }

    // How far behind the pipeline is, by the time rows were read: the
    // freshest event each ingest window brought (a backfill beside live
    // traffic reads as live; after it ends nothing old arrives). Rows
    // timed by their ingest have no lag to tell.
    let lag = metric("IngestLagSeconds").expect("catalogue");
    let sql = format!(
        "SELECT date_bin(INTERVAL '{}', ingest_time, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start,
                COALESCE(user_pool_id, 'unknown') AS user_pool_id,
                MIN(CAST(date_part('epoch', ingest_time) - date_part('epoch', event_time) AS DOUBLE)) AS lag
         FROM events WHERE event_time_source <> 'ingest' AND ingest_time >= TIMESTAMP '{}' AND ingest_time < TIMESTAMP '{}'
         GROUP BY 1, 2 ORDER BY 1, 2",
        opts.window.interval(),
        opts.since.to_rfc3339(),
        opts.until.to_rfc3339()
    );
    for r in Rows::collect(run_sql(ctx, &sql).await?.1)?.0 {
        let dims = vec![("UserPoolId".to_string(), r.text("user_pool_id").unwrap_or_default())];
        push(r.time("window_start")?, dims, lag, r.number("lag").unwrap_or(0.0).max(0.0));
    }

    // Dead letters have no user pool: lake-wide, by the time they were read.
    let dead = metric("DeadLetters").expect("catalogue");
    let sql = format!(
        "SELECT date_bin(INTERVAL '{}', ingest_time, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start, COUNT(*) AS n
         FROM dead_letters WHERE ingest_time >= TIMESTAMP '{}' AND ingest_time < TIMESTAMP '{}' GROUP BY 1 ORDER BY 1",
        opts.window.interval(),
        opts.since.to_rfc3339(),
        opts.until.to_rfc3339()
    );
    for r in Rows::collect(run_sql(ctx, &sql).await?.1)?.0 {
        push(r.time("window_start")?, vec![], dead, r.number("n").unwrap_or(0.0));
    }

    points.sort_by(|a, b| (a.window_start, &a.dimensions, &a.metric).cmp(&(b.window_start, &b.dimensions, &b.metric)));
    Ok(points)
}

/// The busiest `cap` client ids of each pool, by sign-in attempts.
fn busiest_clients(rows: &Rows, cap: usize) -> HashMap<String, Vec<String>> {
    let mut totals: HashMap<(String, String), f64> = HashMap::new();
    for r in &rows.0 {
        if let (Some("pool_client"), Some(c)) = (r.text("dimension_set").as_deref(), r.text("client_id")) {
            *totals.entry((r.text("user_pool_id").unwrap_or_default(), c)).or_default() += r.number("requests").unwrap_or(0.0);
        }
    }
    let mut by_pool: HashMap<String, Vec<(f64, String)>> = HashMap::new();
    for ((pool, client), n) in totals {
        by_pool.entry(pool).or_default().push((n, client));
    }
    by_pool
        .into_iter()
        .map(|(pool, mut v)| {
            v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            (pool, v.into_iter().take(cap).map(|(_, c)| c).collect())
        })
        .collect()
}

/// Query results as rows of named, loosely typed cells.
pub(crate) struct Rows(pub Vec<Row>);

pub(crate) struct Row(HashMap<String, Cell>);

#[derive(Debug, Clone)]
enum Cell {
    Null,
    Text(String),
    Number(f64),
    Time(DateTime<Utc>),
}

impl Rows {
    pub(crate) fn collect(batches: Vec<RecordBatch>) -> Result<Self, MetricsError> {
        let mut rows = Vec::new();
        for batch in batches {
            let schema = batch.schema();
            let mut columns = Vec::new();
            for (field, col) in schema.fields().iter().zip(batch.columns()) {
                let cells: Vec<Cell> = match col.data_type() {
                    DataType::Timestamp(_, _) => {
                        let micros = cast(&cast(col, &DataType::Timestamp(TimeUnit::Microsecond, None))?, &DataType::Int64)?;
                        let a = micros.as_any().downcast_ref::<arrow::array::Int64Array>().expect("int64");
                        (0..a.len())
                            .map(|i| if a.is_null(i) { Cell::Null } else { DateTime::from_timestamp_micros(a.value(i)).map_or(Cell::Null, Cell::Time) })
                            .collect()
                    }
                    t if t.is_numeric() => {
                        let f = cast(col, &DataType::Float64)?;
                        let a = f.as_any().downcast_ref::<arrow::array::Float64Array>().expect("float64");
                        (0..a.len()).map(|i| if a.is_null(i) { Cell::Null } else { Cell::Number(a.value(i)) }).collect()
                    }
                    _ => {
                        let s = cast(col, &DataType::Utf8)?;
                        let a = s.as_any().downcast_ref::<arrow::array::StringArray>().expect("utf8");
                        (0..a.len()).map(|i| if a.is_null(i) { Cell::Null } else { Cell::Text(a.value(i).to_string()) }).collect()
                    }
                };
                columns.push((field.name().clone(), cells));
            }
            for i in 0..batch.num_rows() {
                rows.push(Row(columns.iter().map(|(n, c)| (n.clone(), c[i].clone())).collect()));
            }
        }
        Ok(Self(rows))
    }
}

impl Row {
    pub(crate) fn text(&self, col: &str) -> Option<String> {
        match self.0.get(col)? {
            Cell::Text(s) => Some(s.clone()),
            Cell::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub(crate) fn number(&self, col: &str) -> Option<f64> {
        match self.0.get(col)? {
            Cell::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn time(&self, col: &str) -> Result<DateTime<Utc>, MetricsError> {
        match self.0.get(col) {
            Some(Cell::Time(t)) => Ok(*t),
            _ => Err(MetricsError::Shape(format!("column {col} is not a timestamp"))),
        }
    }
}
