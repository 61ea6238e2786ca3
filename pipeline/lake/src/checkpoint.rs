//! Source positions as the lake records them.

use serde::{Deserialize, Serialize};

/// How far one source partition (a file, a Kafka partition, a Kinesis
/// shard) has been read: everything before this point is in the lake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Next byte offset (files) or next message offset (Kafka).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Last sequence number read (Kinesis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// Last sub-sequence number read inside an aggregated record (Kinesis KPL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_sequence: Option<u64>,
}

impl Checkpoint {
    pub fn offset(next: u64) -> Self {
        Self { offset: Some(next), ..Default::default() }
    }
}
