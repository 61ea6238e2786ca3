//! authlake-ingest: from sources to committed lake files.
//!
//! - [`source`]: where payloads come from (files; positions per file), and
//!   the ordered hand-off that lets stream readers decode off their thread.
//! - [`decode`]: format detection and normalization into `AuthEvent` rows,
//!   dead letters for what cannot be read.
//! - [`secrets`]: removal of passwords, codes, sessions and tokens.
//! - [`sink`]: partitioned Parquet files in the writer's staging area.
//! - [`lake`]: the object store, the commit log, recovery.
//! - [`run`]: the run loop tying them together, exactly once per position.
//! - [`telemetry`]: stream consumers' lag, rates and commit latency, logged
//!   and written as Prometheus text.

pub mod decode;
pub mod lake;
pub mod run;
pub mod secrets;
pub mod sink;
pub mod source;
pub mod telemetry;

pub use lake::Lake;
pub use run::{run_files, run_source, IngestError, IngestOptions, IngestSummary, Progress};
pub use source::SourceEvent;
