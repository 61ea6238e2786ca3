//! Metrics: the catalogue per closed window, its renderings, and the
//! exactly-once push to CloudWatch.

pub mod catalogue;
pub mod emf;
pub mod ledger;
pub mod push;
pub mod render;
pub mod window;

pub use catalogue::{compute, CatalogueOptions, MetricPoint, Unit, CATALOGUE};
pub use window::Window;

/// Why metrics could not be computed or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("query failed: {0}")]
    Query(#[from] authlake_analytics::QueryError),
    #[error("{0}")]
    Named(#[from] authlake_analytics::named::NamedError),
    #[error("cannot read query result: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("unexpected query result: {0}")]
    Shape(String),
    #[error("metrics ledger {path}: {reason}")]
    Ledger { path: String, reason: String },
    #[error("CloudWatch {operation} failed: {reason}")]
    CloudWatch { operation: &'static str, reason: String },
}
