//! authlake-kinesis: the Kinesis Data Streams source, in parts.
//!
//! - [`kpl`]: KPL aggregated records (magic `F3 89 9A C2`, protobuf, MD5
//!   trailer) taken apart into their user records, and built (for tests
//!   and producers of test streams).
//! - [`lineage`]: which shards may be read now: a child only after its
//!   parents are drained, from ListShards answers as AWS gives them.
//! - [`record`]: one Kinesis record (plain, KPL aggregate, CloudWatch Logs
//!   subscription payload) into rows and dead letters with their `source`.
//!
//! - [`reader`]: GetRecords over the shards this process reads (every
//!   shard, or those it leases), within the service limits, into chunks
//!   for the run loop; the lake's commits hold `kinesis:<stream>/<shard>`
//!   → last sequence number.
//! - [`lease`]: the DynamoDB lease table that spreads shards over several
//!   processes (`--lease-table`).
//! - [`source`]: `kinesis://STREAM[?start=...]` and the ingest entry point.
//!
//! CloudWatch Logs subscription payloads need nothing Kinesis-specific:
//! the decoder unpacks them.

pub mod api;
pub mod client;
pub mod error;
#[cfg(test)]
mod fake;
pub mod kpl;
pub mod lease;
pub mod lineage;
pub mod reader;
#[cfg(test)]
mod reader_tests;
pub mod record;
pub mod source;
