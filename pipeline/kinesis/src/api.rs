//! The three Kinesis calls the reader needs, behind a trait: the SDK
//! client in production, fault-injecting fakes in tests (emulators never
//! expire iterators or throttle).

use std::future::Future;

use crate::lineage::Shard;

/// Where a shard iterator starts.
#[derive(Debug, Clone, PartialEq)]
pub enum StartFrom {
    TrimHorizon,
    Latest,
    /// Seconds since the epoch.
    AtTimestamp(f64),
    AfterSequence(String),
}

/// One record as GetRecords returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct KinesisRecord {
    pub sequence: String,
    pub data: Vec<u8>,
    /// `ApproximateArrivalTimestamp`, µs.
    pub arrival_micros: Option<i64>,
}

/// A GetRecords answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordsPage {
    pub records: Vec<KinesisRecord>,
    /// None: the shard is closed and everything in it was returned.
    pub next_iterator: Option<String>,
    pub millis_behind_latest: Option<i64>,
}

/// Why a call failed, as far as the reader cares.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("shard iterator expired")]
    ExpiredIterator,
    #[error("throughput exceeded (throttled)")]
    Throttled,
    #[error("stream {0:?} not found")]
    StreamNotFound(String),
    #[error("{0}")]
    Other(String),
}

pub trait KinesisApi: Send + Sync {
    /// Every shard of the stream (all ListShards pages).
    fn list_shards(&self, stream: &str) -> impl Future<Output = Result<Vec<Shard>, ApiError>> + Send;
    fn shard_iterator(&self, stream: &str, shard: &str, from: &StartFrom) -> impl Future<Output = Result<String, ApiError>> + Send;
    fn get_records(&self, iterator: &str, limit: i32) -> impl Future<Output = Result<RecordsPage, ApiError>> + Send;
}
