//! Sources: where payloads come from and how far a commit has read them.

pub mod file;
pub mod ordered;
pub mod split;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::decode::Decoded;
use authlake_lake::Checkpoint;

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
    /// Inputs found damaged while reading this chunk (see
    /// `IngestSummary::damaged`).
    pub damaged: Vec<String>,
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

/// What a source's reader thread hands the run loop.
pub enum SourceEvent {
    /// Decoded payloads and the positions they reach.
    Chunk(Chunk),
    /// Commit everything received so far, then answer (a consumer group is
    /// taking partitions away: what was read from them must be in the lake
    /// before another member starts from the lake's positions).
    CommitNow(std::sync::mpsc::SyncSender<Result<(), String>>),
    /// The source (re)starts these partitions at these lake positions (a
    /// consumer group assigned them): later commits expect them there.
    Started(BTreeMap<String, Checkpoint>),
}

impl ChunkSink for tokio::sync::mpsc::Sender<SourceEvent> {
    fn send(&mut self, chunk: Chunk) -> bool {
        self.blocking_send(SourceEvent::Chunk(chunk)).is_ok()
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
    /// A stream source (broker, service) failed: its own error type
    /// (the Kafka and Kinesis crates') says where.
    #[error(transparent)]
    Stream(Box<dyn std::error::Error + Send + Sync>),
}
