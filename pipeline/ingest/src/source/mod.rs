//! Sources: where payloads come from and how far a commit has read them.

pub mod file;
pub mod ordered;
pub mod split;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::decode::Decoded;

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

/// Decoded payloads and the positions they bring each source partition to.
#[derive(Debug, Default)]
pub struct Chunk {
    pub decoded: Decoded,
    /// Position after the last payload of this chunk, per source partition.
    pub positions: Vec<(String, Checkpoint)>,
    pub payloads: u64,
    pub bytes: u64,
    /// Positions the source had to skip (see `Commit::gaps`).
    pub gaps: Vec<String>,
}

impl Chunk {
    /// Adds one decoded payload.
    pub fn absorb(&mut self, d: Decoded, bytes: u64) {
        self.absorb_many(d, 1, bytes);
    }

    /// Adds what several payloads decoded into.
    pub fn absorb_many(&mut self, d: Decoded, payloads: u64, bytes: u64) {
        self.decoded.absorb(d);
        self.payloads += payloads;
        self.bytes += bytes;
    }
}

/// Where a source hands its chunks; `send` returns false when the receiver
/// is gone (shutdown), and the source stops.
pub trait ChunkSink: Send {
    fn send(&mut self, chunk: Chunk) -> bool;
}

impl ChunkSink for tokio::sync::mpsc::Sender<Chunk> {
    fn send(&mut self, chunk: Chunk) -> bool {
        self.blocking_send(chunk).is_ok()
    }
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source not found: {0}")]
    NotFound(PathBuf),
    #[error("no input files match {0}")]
    NoFiles(String),
    #[error("invalid glob {0}: {1}")]
    BadGlob(String, String),
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("unsupported source {0:?}: expected file://PATH or kafka://BROKERS/TOPIC")]
    Unsupported(String),
    /// A stream source (broker, service) failed; the message says where.
    #[error("{0}")]
    Stream(String),
}
