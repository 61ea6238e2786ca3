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
//! Not here yet (issue 5): the GetRecords reader on `aws-sdk-kinesis`, the
//! lake positions (`kinesis:<stream>/<shard>` → sequence and sub-sequence
//! number), the DynamoDB lease table. CloudWatch Logs subscription
//! payloads need nothing Kinesis-specific: the decoder unpacks them.

pub mod api;
pub mod client;
#[cfg(test)]
mod fake;
pub mod kpl;
pub mod lineage;
pub mod reader;
#[cfg(test)]
mod reader_tests;
pub mod record;
pub mod source;
