//! The ingest run loop: consume → decode → buffer → write → commit.
//!
//! Positions are committed in the same commit as the data they cover, so a
//! crash at any point replays exactly what was not committed.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use authlake_core::partition::PartitionKey;
use tokio::sync::mpsc;
use tokio::time::Instant as TokioInstant;

use crate::decode::Defaults;
use authlake_lake::erasures::{Erased, ErasureKey};
use authlake_lake::positions::Shape;
use authlake_lake::recover::{recover, Recovery};
use authlake_lake::commit::LakeState;
use authlake_lake::{Commit, CommitLog, CommitStats, Operation};
use crate::dedupe::Dedupe;
use crate::occurrence::Occurrences;
use authlake_lake::{Lake, LakeError};
use crate::sink::{FileTargets, Sink};
use authlake_lake::Checkpoint;
use crate::source::{file, s3, Chunk, SourceError, SourceEvent};

/// How an ingest run writes and when it commits.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Tags the files this writer writes; a restart with the same id
    /// deletes what a crashed run wrote but never committed.
    pub writer_id: String,
    pub defaults: Defaults,
    pub targets: FileTargets,
    /// Commit when buffered data reaches this many bytes in memory.
    pub max_buffer_bytes: u64,
    /// Commit at least this often while data is buffered (latency bound).
    pub commit_interval: Duration,
    /// The key `forget` recorded erasures with: rows of erased subjects
    /// are dropped (a lake with erasures refuses an ingest without it).
    pub erasure_key: Option<ErasureKey>,
    /// Rows whose `event_id` the lake already holds with an `event_time`
    /// this close are dropped ([`crate::dedupe`]); `None`: none is.
    pub dedupe_window: Option<Duration>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            writer_id: "default".into(),
            defaults: Defaults::default(),
            targets: FileTargets::default(),
            max_buffer_bytes: 256 * 1024 * 1024,
            commit_interval: Duration::from_secs(60),
            erasure_key: None,
            dedupe_window: Some(crate::dedupe::DEFAULT_WINDOW),
        }
    }
}

/// Live counters, readable while a run goes on (progress display).
#[derive(Debug, Default)]
pub struct Progress {
    pub payloads: AtomicU64,
    pub bytes: AtomicU64,
    pub events: AtomicU64,
    pub dead_letters: AtomicU64,
    pub skipped: AtomicU64,
    pub duplicates: AtomicU64,
    pub commits: AtomicU64,
    /// How long the last commit took (closing files to the commit record), µs.
    pub last_commit_micros: AtomicU64,
    /// The event times the commits since it was last taken landed
    /// (what a follower's detections evaluate next).
    pub committed: Committed,
}

/// The span of event times committed since last taken, and a wake-up for
/// whoever waits on it.
#[derive(Debug, Default)]
pub struct Committed {
    span: std::sync::Mutex<Option<(i64, i64)>>,
    pub notify: tokio::sync::Notify,
}

impl Committed {
    /// Adds a commit's events, from its files' statistics.
    fn note(&self, files: &[authlake_lake::AddedFile]) {
        let Some((lo, hi)) = event_time_span(files) else { return };
        let mut span = self.span.lock().unwrap_or_else(|e| e.into_inner());
        *span = Some(match *span {
            None => (lo, hi),
            Some((a, b)) => (a.min(lo), b.max(hi)),
        });
        drop(span);
        self.notify.notify_one();
    }

    /// The event times committed since the last call: `[min, max]`, µs.
    pub fn take(&self) -> Option<(i64, i64)> {
        self.span.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The least and greatest `event_time` of the events files among
/// `files`; all time when one of them has no statistics to tell.
fn event_time_span(files: &[authlake_lake::AddedFile]) -> Option<(i64, i64)> {
    let time = |v: &serde_json::Value| {
        v.as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp_micros())
    };
    let span = |f: &authlake_lake::AddedFile| {
        let stats: serde_json::Value = serde_json::from_str(f.stats.as_deref()?).ok()?;
        Some((time(&stats["minValues"]["event_time"])?, time(&stats["maxValues"]["event_time"])?))
    };
    let mut out: Option<(i64, i64)> = None;
    for f in files.iter().filter(|f| f.table == authlake_lake::TableKind::Events) {
        let (lo, hi) = span(f).unwrap_or((i64::MIN / 2, i64::MAX / 2));
        out = Some(out.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
    }
    out
}

/// What a finished run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct IngestSummary {
    pub events: u64,
    pub dead_letters: u64,
    pub skipped: u64,
    /// Rows of erased subjects dropped.
    pub erased: u64,
    /// Rows dropped because the lake already held their event.
    pub duplicates: u64,
    pub payloads: u64,
    pub bytes: u64,
    pub files: u64,
    pub commits: u64,
    pub recovered_removals: usize,
    pub elapsed: Duration,
    /// Stopped by the shutdown signal before the source was exhausted.
    pub interrupted: bool,
    /// Inputs that were damaged (a truncated `.gz`): what was whole before
    /// the damage is in, the tail dead-lettered; one line each, saying where.
    pub damaged: Vec<String>,
    /// Files that cannot hold records (neither JSON nor gzip: a README, an
    /// image), skipped.
    pub not_records: Vec<String>,
}

/// Why a run stopped without finishing.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("reader thread panicked")]
    ReaderPanicked,
}

/// Microseconds since the epoch, now.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Ingests files into the lake until they are read or `shutdown` resolves.
pub async fn run_files(
    lake: &Lake,
    files: Vec<PathBuf>,
    opts: &IngestOptions,
    progress: Arc<Progress>,
    shutdown: impl Future<Output = ()>,
) -> Result<IngestSummary, IngestError> {
    let defaults = opts.defaults.clone();
    let keys: Vec<String> = files.iter().map(|f| file::position_key(f)).collect();
    let reader = move |start: BTreeMap<String, Checkpoint>, mut tx: mpsc::Sender<SourceEvent>| {
        file::read_files(&files, &start, &defaults, &now_micros, &mut tx)
    };
    run_source(lake, opts, &keys, progress, shutdown, reader, |_| {}).await
}

/// Ingests the objects under an S3 prefix (once, or following it) until
/// read or `shutdown` resolves. Needs the dedupe window: objects read
/// again after a restart are dropped by it ([`crate::source::s3`]).
pub async fn run_s3(
    lake: &Lake,
    spec: &s3::S3Spec,
    s3_opts: &s3::S3Options,
    opts: &IngestOptions,
    progress: Arc<Progress>,
    shutdown: impl Future<Output = ()>,
) -> Result<IngestSummary, IngestError> {
    let store = Lake::open(&spec.url(), false)?.store;
    let (spec, s3_opts, defaults) = (spec.clone(), s3_opts.clone(), opts.defaults.clone());
    let keys = vec![spec.position_key()];
    let handle = tokio::runtime::Handle::current();
    let reader = move |start: BTreeMap<String, Checkpoint>, mut tx: mpsc::Sender<SourceEvent>| {
        s3::read_objects(store, &spec, &s3_opts, &start, &defaults, &now_micros, &mut tx, &handle)
    };
    run_source(lake, opts, &keys, progress, shutdown, reader, |_| {}).await
}

/// The run loop over any source: `reader` runs on its own thread from the
/// lake's committed positions of `start_keys` (offsets; stream readers
/// that learn their keys later read them themselves and announce them with
/// [`SourceEvent::Started`]) and sends what it reads; `on_commit` sees the
/// positions of every commit (e.g. to commit consumer-group offsets).
pub async fn run_source<R>(
    lake: &Lake,
    opts: &IngestOptions,
    start_keys: &[String],
    progress: Arc<Progress>,
    shutdown: impl Future<Output = ()>,
    reader: R,
    mut on_commit: impl FnMut(&BTreeMap<String, Checkpoint>),
) -> Result<IngestSummary, IngestError>
where
    R: FnOnce(BTreeMap<String, Checkpoint>, mpsc::Sender<SourceEvent>) -> Result<(), SourceError> + Send + 'static,
{
    let started = Instant::now();
    // Recover: delete what this writer wrote and never committed.
    let mut log = CommitLog::load(lake).await?;
    let Recovery { removed } = recover(lake, &log.state, &opts.writer_id).await?;
    let erased = Erased::load(lake, opts.erasure_key.as_ref()).await?;

    // Consume + decode on a thread, from the committed positions.
    let (tx, mut rx) = mpsc::channel::<SourceEvent>(4);
    let start = log.positions(start_keys, Shape::Offset).await?;
    let mut batch = Batch::new(lake, opts, start.clone(), erased);
    let reader = std::thread::spawn(move || reader(start, tx));

    let mut summary = IngestSummary { recovered_removals: removed, ..Default::default() };
    tokio::pin!(shutdown);
    loop {
        let deadline = batch.deadline(opts.commit_interval);
        let event = tokio::select! {
            c = rx.recv() => c,
            () = &mut shutdown => { summary.interrupted = true; None }
            () = tokio::time::sleep_until(deadline), if !batch.sink.is_empty() => {
                batch.commit(&mut log, &mut summary, &progress, &mut on_commit).await?;
                continue;
            }
        };
        let chunk = match event {
            None => break,
            Some(SourceEvent::Chunk(c)) => c,
            Some(SourceEvent::Started(positions)) => {
                batch.committed.extend(positions);
                continue;
            }
            Some(SourceEvent::CommitNow(ack)) => {
                let r = batch.commit(&mut log, &mut summary, &progress, &mut on_commit).await;
                let _ = ack.send(r.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                r?;
                continue;
            }
        };
        // Buffer: rows into partition files, positions into the batch.
        batch.absorb(chunk, &log.state, &progress).await?;
        // Commit when a flush predicate holds.
        if batch.buffer_is_full(opts.max_buffer_bytes) || batch.is_old(opts.commit_interval) {
            batch.commit(&mut log, &mut summary, &progress, &mut on_commit).await?;
        }
    }
    // Stop the reader, commit what was read.
    drop(rx);
    batch.commit(&mut log, &mut summary, &progress, &mut on_commit).await?;
    let read = reader.join().map_err(|_| IngestError::ReaderPanicked)?;
    if !summary.interrupted {
        read?;
    }
    summary.damaged = std::mem::take(&mut batch.damaged);
    summary.not_records = std::mem::take(&mut batch.not_records);
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Data and positions waiting for one commit.
struct Batch {
    writer_id: String,
    sink: Sink,
    /// Positions this batch moves each source partition to.
    positions: BTreeMap<String, Checkpoint>,
    /// Positions as last committed (by this writer or read at start).
    committed: BTreeMap<String, Checkpoint>,
    stats: CommitStats,
    gaps: Vec<String>,
    /// Damaged inputs seen, for the summary.
    damaged: Vec<String>,
    /// Files skipped as holding no records, for the summary.
    not_records: Vec<String>,
    opened: Option<Instant>,
    /// Subjects whose rows are dropped.
    erased: Option<Erased>,
    /// Events already in the lake, whose rows are dropped.
    dedupe: Option<Dedupe>,
    /// Repeats of identical records in one object, told apart.
    occurrences: Occurrences,
    lake: Lake,
}

impl Batch {
    fn new(lake: &Lake, opts: &IngestOptions, committed: BTreeMap<String, Checkpoint>, erased: Option<Erased>) -> Self {
        Self {
            writer_id: opts.writer_id.clone(),
            sink: Sink::new(lake, &opts.writer_id, opts.targets.clone()),
            positions: BTreeMap::new(),
            committed,
            stats: CommitStats::default(),
            gaps: Vec::new(),
            damaged: Vec::new(),
            not_records: Vec::new(),
            opened: None,
            erased,
            occurrences: Occurrences::default(),
            dedupe: opts.dedupe_window.filter(|w| !w.is_zero()).map(Dedupe::new),
            lake: lake.clone(),
        }
    }

    async fn absorb(&mut self, chunk: Chunk, lake_state: &LakeState, progress: &Progress) -> Result<(), LakeError> {
        self.opened.get_or_insert_with(Instant::now);
        let mut d = chunk.decoded;
        let committed = &self.committed;
        let resumed = |object: &str| committed.get(object).and_then(|c| c.offset).is_some_and(|o| o > 0);
        self.occurrences.renumber(&mut d.batches, resumed, &self.lake, lake_state).await?;
        let erased = self.drop_erased(&mut d.batches);
        let duplicates = match &mut self.dedupe {
            Some(dedupe) => dedupe.drop_seen(&mut d.batches, &self.lake, lake_state).await?,
            None => 0,
        };
        let (events, dead, skipped) = (d.event_count() as u64, d.dead_letters.len() as u64, d.skipped);
        self.stats.erased += erased;
        self.stats.duplicates += duplicates;
        progress.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.sink.write(d.batches).await?;
        self.sink.dead_letters(d.dead_letters);
        self.positions.extend(chunk.positions);
        self.gaps.extend(chunk.gaps);
        self.damaged.extend(chunk.damaged);
        self.not_records.extend(chunk.not_records);
        self.stats.events += events;
        self.stats.dead_letters += dead;
        self.stats.skipped += skipped;
        self.stats.payloads += chunk.payloads;
        progress.events.fetch_add(events, Ordering::Relaxed);
        progress.dead_letters.fetch_add(dead, Ordering::Relaxed);
        progress.skipped.fetch_add(skipped, Ordering::Relaxed);
        progress.payloads.fetch_add(chunk.payloads, Ordering::Relaxed);
        progress.bytes.fetch_add(chunk.bytes, Ordering::Relaxed);
        Ok(())
    }

    /// Drops the rows of erased subjects; returns how many.
    fn drop_erased(&self, batches: &mut Vec<(PartitionKey, RecordBatch)>) -> u64 {
        let Some(erased) = &self.erased else { return 0 };
        let mut dropped = 0;
        for (_, b) in batches.iter_mut() {
            if let Some(keep) = erased.keep(b) {
                let kept = arrow::compute::filter_record_batch(b, &keep).expect("a mask of the batch's length");
                dropped += (b.num_rows() - kept.num_rows()) as u64;
                *b = kept;
            }
        }
        batches.retain(|(_, b)| b.num_rows() > 0);
        dropped
    }

    /// Memory held by buffered data has reached its limit.
    fn buffer_is_full(&self, limit: u64) -> bool {
        self.sink.buffered_bytes() >= limit
    }

    /// The oldest buffered data has waited a whole commit interval.
    fn is_old(&self, interval: Duration) -> bool {
        self.opened.is_some_and(|t| t.elapsed() >= interval)
    }

    fn deadline(&self, interval: Duration) -> TokioInstant {
        let opened = self.opened.unwrap_or_else(Instant::now);
        TokioInstant::from_std(opened + interval)
    }

    /// Does committing change anything?
    fn has_news(&self) -> bool {
        !self.sink.is_empty() || !self.gaps.is_empty() || self.positions.iter().any(|(k, p)| self.committed.get(k) != Some(p))
    }

    /// Write: close the files. Commit: files + positions in one commit.
    async fn commit(
        &mut self,
        log: &mut CommitLog,
        summary: &mut IngestSummary,
        progress: &Progress,
        on_commit: &mut impl FnMut(&BTreeMap<String, Checkpoint>),
    ) -> Result<(), LakeError> {
        if !self.has_news() {
            self.opened = None;
            return Ok(());
        }
        let started = Instant::now();
        let written = self.sink.finish().await?;
        let expected = self.positions.keys().map(|k| (k.clone(), self.committed.get(k).cloned())).collect();
        let draft = Commit {
            add: written,
            positions: std::mem::take(&mut self.positions),
            stats: std::mem::take(&mut self.stats),
            gaps: std::mem::take(&mut self.gaps),
            ..Commit::draft(&self.writer_id, "ingest")
        };
        let committed = log.commit_files(draft, &expected, Operation::Ingest).await?;
        progress.committed.note(&committed.add);
        self.committed.extend(committed.positions.clone());
        on_commit(&committed.positions);
        summary.events += committed.stats.events;
        summary.dead_letters += committed.stats.dead_letters;
        summary.skipped += committed.stats.skipped;
        summary.erased += committed.stats.erased;
        summary.duplicates += committed.stats.duplicates;
        if let Some(dedupe) = &mut self.dedupe {
            // Other writers' commits since, so that an event they landed
            // is not landed again by this one.
            log.refresh().await?;
            let own: Vec<String> = committed.add.iter().map(|f| f.path.clone()).collect();
            dedupe.committed(&own, &self.lake, &log.state).await?;
        }
        summary.payloads += committed.stats.payloads;
        summary.files += committed.add.len() as u64;
        summary.commits += 1;
        progress.commits.fetch_add(1, Ordering::Relaxed);
        progress.last_commit_micros.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.opened = None;
        Ok(())
    }
}
