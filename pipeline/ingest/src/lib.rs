//! authlake-ingest: from sources to committed lake files.
//!
//! - [`source`]: where payloads come from (files; positions per file), and
//!   the ordered hand-off that lets stream readers decode off their thread.
//! - [`decode`]: format detection and normalization into `AuthEvent` rows,
//!   dead letters for what cannot be read.
//! - [`secrets`]: removal of passwords, codes, sessions and tokens.
//! - [`dedupe`]: exactly once per event: rows whose event the lake already
//!   holds are dropped.
//! - [`occurrence`]: identical records in one object told apart.
//! - [`sink`]: partitioned Parquet files in the writer's staging area.
//! - [`run`]: the run loop tying them together, committing to the lake
//!   (`authlake-lake`) exactly once per position.
//! - [`telemetry`]: stream consumers' lag, rates and commit latency, logged
//!   and written as Prometheus text.

pub mod decode;
pub mod dedupe;
pub mod occurrence;
pub mod run;
pub mod secrets;
pub mod sink;
pub mod source;
pub mod telemetry;

pub use run::{run_files, run_s3, run_source, IngestError, IngestOptions, IngestSummary, Progress};
pub use source::SourceEvent;
