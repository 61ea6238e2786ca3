//! authlake-kafka: the Kafka source (librdkafka through `rdkafka`).
//!
//! - [`spec`]: `kafka://BROKERS/TOPIC[,TOPIC2]` and the consumer settings.
//! - [`consumer`]: the reader thread: assignment, seeking to the lake's
//!   positions, copying messages into raw chunks, end offsets for backfills.
//! - [`raw`]: messages as read; a raw chunk decodes on the blocking pool,
//!   several at once, and reaches the run loop in reading order
//!   (`authlake_ingest::source::ordered`).
//! - [`resume`]: checking that a partition resumed where the lake said
//!   (a gap, or a broker that started at the next batch).
//! - [`msk`]: Amazon MSK IAM tokens (OAUTHBEARER signed with SigV4).
//! - [`lag`]: lag per partition for the telemetry (`authlake_ingest::telemetry`),
//!   logged and written as a Prometheus text file.
//! - [`context`]: consumer-group rebalances: revoked partitions are
//!   flushed and committed to the lake before they go; assigned ones start
//!   from the lake's positions.
//!
//! Positions live in the lake's commit log (`kafka:<topic>/<partition>` →
//! next offset), committed with the data they cover; the consumer group's
//! offsets are committed after each lake commit so lag tools see real lag.

pub mod consumer;
pub mod context;
pub mod error;
pub mod resume;
pub mod msk;
pub mod spec;
pub mod lag;
pub mod raw;

pub use consumer::run_kafka;
pub use spec::{KafkaOptions, KafkaSpec, StartAt};
