//! Dashboards: CloudWatch dashboard bodies (`dashboards/*.json`) filled in
//! for the lake's user pools ([`sync`]), and a self-contained HTML report
//! ([`report`], charts drawn by [`svg`]).

pub mod report;
pub mod svg;
pub mod sync;

/// Why a dashboard could not be built or put.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("cannot read {path}: {reason}")]
    Template { path: String, reason: String },
    #[error("CloudWatch {operation} failed for dashboard {name}: {reason}")]
    CloudWatch { operation: &'static str, name: String, reason: String },
    #[error("{0}")]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}
