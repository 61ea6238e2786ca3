//! authlake-core: the parts every stage shares and nothing heavy.
//!
//! - [`event`]: the normalized [`AuthEvent`] row and its value vocabularies
//!   (event types, categories, outcomes).
//! - [`schema`]: the Arrow schema of the `events` and `dead_letters` tables and
//!   the conversion of rows into record batches.
//! - [`columns`]: borrowed rows appended straight to per-partition Arrow
//!   column builders (the decoders' output).
//! - [`partition`]: Hive partition paths, built and parsed in one place.
//! - [`position`]: source positions (`file:`, `kafka:`, `kinesis:`) and stable
//!   event ids for records that carry none.

pub mod columns;
pub mod event;
pub mod partition;
pub mod position;
pub mod schema;

pub use event::{AuthEvent, DeadLetter};
pub use partition::PartitionKey;

/// Version of the on-disk layout and column set written into every commit.
pub const SCHEMA_VERSION: u32 = 1;
