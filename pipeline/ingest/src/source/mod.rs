//! Sources: where payloads come from and how far a commit has read them.

pub mod file;
pub mod ordered;
pub mod s3;
pub mod split;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::decode::Decoded;
use authlake_lake::Checkpoint;

/// Files and objects that hold no events of their own, by their path or
/// key: CloudTrail's digest files (hash chains over the log files), hidden
/// files, folder markers.
pub fn is_not_a_log(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.contains("CloudTrail-Digest/") || name.is_empty() || name.starts_with('.')
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
    /// Inputs found damaged while reading this chunk (see
    /// `IngestSummary::damaged`).
    pub damaged: Vec<String>,
    /// Files skipped because they cannot hold records (see
    /// `IngestSummary::not_records`).
    pub not_records: Vec<String>,
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

    /// The receiver is gone (a source waiting for new input stops).
    fn is_closed(&self) -> bool {
        false
    }
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

#[cfg(test)]
#[test]
fn digests_and_hidden_files_are_not_logs() {
    assert!(is_not_a_log("AWSLogs/1/CloudTrail-Digest/us-east-1/2026/01/01/d.json.gz"));
    assert!(is_not_a_log("/logs/.DS_Store"));
    assert!(is_not_a_log("prefix/folder/"));
    assert!(!is_not_a_log("AWSLogs/1/CloudTrail/us-east-1/2026/01/01/e.json.gz"));
}

impl ChunkSink for tokio::sync::mpsc::Sender<SourceEvent> {
    fn send(&mut self, chunk: Chunk) -> bool {
        self.blocking_send(SourceEvent::Chunk(chunk)).is_ok()
    }

    fn is_closed(&self) -> bool {
        tokio::sync::mpsc::Sender::is_closed(self)
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
    #[error("unsupported source {0:?}: expected file://PATH, s3://BUCKET/PREFIX, kafka://BROKERS/TOPIC or kinesis://STREAM")]
    Unsupported(String),
    /// A stream source (broker, service) failed: its own error type
    /// (the Kafka and Kinesis crates') says where.
    #[error(transparent)]
    Stream(Box<dyn std::error::Error + Send + Sync>),
}
