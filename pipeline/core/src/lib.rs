//! authlake-core: the parts every stage shares and nothing heavy.
//!
//! - [`columns`]: the one declaration of the `events` columns, and what
//!   derives from it: the owned row [`AuthEvent`], borrowed rows appended
//!   straight to per-partition Arrow column builders (the decoders' output).
//! - [`event`]: the value vocabularies as enums (event types, categories,
//!   outcomes) and the dead-letter row.
//! - [`schema`]: the Arrow schemas of the `events` and `dead_letters` tables
//!   and the conversion of rows into record batches.
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
/// Version 2 added `event_name` and `identity_pool_id`; files of version 1
/// are read with those columns null.
pub const SCHEMA_VERSION: u32 = 2;
