//! authlake-kpi: security KPIs from the lake, delivered to CloudWatch.
//!
//! - [`metrics`]: the metrics catalogue of docs/metrics.md, computed per
//!   closed window from committed data ([`metrics::catalogue`]), printed
//!   as a table, JSON or Embedded Metric Format ([`metrics::emf`]), and
//!   pushed with PutMetricData exactly once per window
//!   ([`metrics::push`], with the record of pushed windows in
//!   [`metrics::ledger`]).
//! - [`alarms`]: alarms as code (`dashboards/alarms.toml`): sync to
//!   CloudWatch, list, and backtest over lake history.
//! - [`dashboards`]: CloudWatch dashboard bodies filled in for the lake's
//!   user pools, and a self-contained HTML report.
//! - [`cloudwatch`]: the CloudWatch client from the standard AWS
//!   configuration chain.

pub mod alarms;
pub mod cloudwatch;
pub mod dashboards;
pub mod metrics;

/// Default CloudWatch namespace.
pub const DEFAULT_NAMESPACE: &str = "Authlake";

/// The user pools of the lake, sorted: the dimensions of alarms and
/// dashboards.
pub async fn lake_pools(lake: &authlake_lake::Lake) -> Result<Vec<String>, metrics::MetricsError> {
    let ctx = authlake_analytics::lake_context(lake).await?;
    let sql = "SELECT DISTINCT user_pool_id FROM events WHERE user_pool_id IS NOT NULL ORDER BY 1";
    let (_, batches) = authlake_analytics::run_sql(&ctx, sql).await?;
    Ok(metrics::catalogue::Rows::collect(batches)?.0.iter().filter_map(|r| r.text("user_pool_id")).collect())
}
