//! Alarms as code: `dashboards/alarms.toml` declares alarms on the metrics
//! catalogue; [`sync`] makes CloudWatch match it, [`backtest`] replays the
//! rules over lake history.

pub mod backtest;
pub mod config;
pub mod expr;
pub mod spec;
pub mod sync;

pub use config::{AlarmConfig, AlarmDef};

/// Why alarms could not be read, synced or backtested.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    #[error("cannot read {path}: {reason}")]
    Config { path: String, reason: String },
    #[error("alarm {name:?}: {reason}")]
    Invalid { name: String, reason: String },
    #[error("CloudWatch {operation} failed: {reason}")]
    CloudWatch { operation: &'static str, reason: String },
    #[error("{0}")]
    Metrics(#[from] crate::metrics::MetricsError),
}
