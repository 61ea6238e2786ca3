//! authlake-analytics: DataFusion SQL over the lake.
//!
//! - [`context`]: a session with the lake's tables registered (`events`,
//!   `dead_letters`), partition-pruned on `category` and `event_date`.
//! - [`writes`]: what a query may write (never the lake's tables; with
//!   `--allow-writes`, `COPY ... TO` a path outside the lake).
//! - [`output`]: rendering results as a table, JSON or CSV.
//! - [`export`]: compliance exports (Parquet, CSV, JSON lines, OCSF) with
//!   a verifiable manifest.
//! - [`maintain`]: retention, erasure (`forget`) and compaction by commit.
//! - [`named`]: the named queries of `queries/` with typed parameters.
//! - [`catalog`]: DDL for Athena, Glue, Spark and DuckDB over the lake.
//! - [`coalesce`]: `COALESCE` of a column and constants filled in one pass
//!   (DataFusion's own rewrite to `CASE` filters and merges every batch).
//! - [`runs`]: partial aggregation run by run when a query groups by
//!   partition columns (a physical optimizer rule of the session).
//! - [`keys`]: partial aggregation by per-column codes when a query
//!   groups by strings (another rule); [`partial`] is what both share,
//!   [`codes`] the lookups of [`keys`], [`view_eq`] the string `=` both
//!   evaluate view to view.
//! - [`known_schema`]: the `events` files' schema handed to the Parquet
//!   reader (no per-file decoding of the embedded schema, twice).
//! - [`local_reads`]: local lake files read on the query's threads
//!   (no hand-off to tokio's blocking pool per read).
//! - [`verify`]: the live files checked against the commit log before a
//!   query (missing or truncated files are named, never read as empty).

pub mod codes;
pub mod coalesce;
pub mod context;
pub mod catalog;
pub mod export;
pub mod maintain;
pub mod named;
pub mod keys;
pub mod known_schema;
pub mod local_reads;
pub mod output;
pub mod partial;
pub mod runs;
pub mod side_tables;
pub mod verify;
pub mod view_eq;
pub mod writes;

pub use context::{lake_context, lake_context_utf8, run_sql, run_sql_with, QueryError};
pub use writes::Writes;
