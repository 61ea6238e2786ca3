//! The Kinesis reader: list shards → read the ready ones (parents before
//! children) → decode → hand chunks to the run loop, which buffers, writes
//! and commits (`authlake_ingest::run_source`).
//!
//! The shards read are every shard of the stream, or (`--lease-table`) the
//! ones this worker leases at the moment. The lake's commit log is the
//! checkpoint (`kinesis:<stream>/<shard>` → last sequence number read). A
//! record is never split across chunks, so a commit covers whole KPL
//! aggregates and whole CloudWatch Logs payloads, and a restart resumes
//! `AFTER_SEQUENCE_NUMBER` the last one.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use authlake_ingest::decode::Defaults;
use authlake_lake::positions::Shape;
use authlake_lake::CommitLog;
use authlake_ingest::run::now_micros;
use authlake_lake::Checkpoint;
use authlake_ingest::source::ordered::OrderedSender;
use authlake_ingest::telemetry::{Lag, Telemetry};
use authlake_ingest::{Progress, SourceEvent};
use tokio::time::Instant;

use crate::api::{ApiError, KinesisApi, StartFrom};
use crate::lease::LeaseHandle;
use crate::lineage::Lineage;
use crate::record::RawPage;

/// GetRecords limits: at most 5 calls per second per shard, 10,000 records.
const MIN_CALL_GAP: Duration = Duration::from_millis(200);
const RECORDS_PER_CALL: i32 = 10_000;
/// A shard at its tip is asked again this often while following.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Backoff after throttling or an error: doubles up to the cap.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// New shards (resharding) are looked for this often while following.
const RELIST_EVERY: Duration = Duration::from_secs(30);

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub stream: String,
    /// Where shards without a lake position start.
    pub start: StartFrom,
    /// Keep polling until the run loop stops, instead of ending at the tips.
    pub follow: bool,
    /// Lag (`MillisBehindLatest` per shard), events/s and dead letters are
    /// logged this often, and written to `telemetry_file` if set.
    pub telemetry_interval: Duration,
    pub telemetry_file: Option<PathBuf>,
    /// The run's counters, for the telemetry.
    pub progress: Arc<Progress>,
}

/// Which shards this process reads.
pub enum Ownership {
    /// Every shard, children once their parents are drained.
    Every,
    /// The shards a lease table gives this worker; `log` reads the lake's
    /// position of each shard as it is acquired.
    Leased { handle: LeaseHandle, log: Box<CommitLog> },
}

/// The lake's position key of a shard.
pub fn position_key(stream: &str, shard: &str) -> String {
    format!("kinesis:{stream}/{shard}")
}

struct ShardState {
    iterator: Option<String>,
    /// Last sequence number read (the lake's, then ours).
    last: Option<String>,
    next_call: Instant,
    backoff: Duration,
    at_tip: bool,
    millis_behind: Option<i64>,
}

impl ShardState {
    fn new(last: Option<String>) -> Self {
        ShardState { iterator: None, last, next_call: Instant::now(), backoff: FIRST_BACKOFF, at_tip: false, millis_behind: None }
    }
}

/// Reads the stream until the tips (backfill) or until `tx` closes (follow).
pub async fn read<A: KinesisApi>(
    api: &A,
    opts: &ReadOptions,
    start: &BTreeMap<String, Checkpoint>,
    defaults: &Defaults,
    tx: &OrderedSender,
    owner: &mut Ownership,
) -> Result<(), ApiError> {
    let stream = opts.stream.as_str();
    let defaults = Arc::new(defaults.clone());
    let mut lineage = Lineage::new(api.list_shards(stream).await?);
    let mut listed = Instant::now();
    let mut drained: HashSet<String> = HashSet::new();
    let mut active: BTreeMap<String, ShardState> = BTreeMap::new();
    let mut reported = Instant::now();
    let mut telemetry = Telemetry::new("kinesis", opts.telemetry_file.clone());
    let mut first = true;
    loop {
        if tx.is_closed() {
            return Ok(());
        }
        match owner {
            Ownership::Every => {
                // New shards appear after a split or merge.
                if opts.follow && listed.elapsed() >= RELIST_EVERY {
                    match api.list_shards(stream).await {
                        Ok(shards) => lineage = Lineage::new(shards),
                        Err(e) => tracing::warn!("kinesis: listing shards of {stream}: {e} (retrying)"),
                    }
                    listed = Instant::now();
                }
                // Children join once their parents are drained.
                for id in lineage.ready(&drained) {
                    let last = start.get(&position_key(stream, id)).and_then(|c| c.sequence.clone());
                    active.entry(id.to_string()).or_insert_with(|| ShardState::new(last));
                }
            }
            Ownership::Leased { handle, log } => {
                if (first || handle.changed()) && !follow_leases(handle, log, stream, &mut active, &drained, tx).await? {
                    return Ok(());
                }
            }
        }
        first = false;
        if !opts.follow && active.values().all(|s| s.at_tip) {
            return Ok(());
        }
        if reported.elapsed() >= opts.telemetry_interval {
            let snapshot = telemetry.snapshot(&opts.progress, lags(stream, &active));
            telemetry.report(&snapshot);
            reported = Instant::now();
        }
        // The shard whose turn comes first (5 calls/s/shard at most).
        let Some((id, due)) = active.iter().filter(|(_, s)| opts.follow || !s.at_tip).map(|(id, s)| (id.clone(), s.next_call)).min_by_key(|(_, t)| *t)
        else {
            if let Ownership::Leased { .. } = owner {
                // No lease yet (or every one finished): wait for the next.
                tokio::time::sleep(IDLE_POLL / 4).await;
                continue;
            }
            return Ok(());
        };
        tokio::time::sleep_until(due).await;
        let state = active.get_mut(&id).expect("active shard");
        let iterator = match &state.iterator {
            Some(it) => it.clone(),
            None => {
                let from = state.last.clone().map(StartFrom::AfterSequence).unwrap_or_else(|| opts.start.clone());
                match api.shard_iterator(stream, &id, &from).await {
                    Ok(it) => it,
                    Err(e) => {
                        retry_later(state, &id, &e);
                        continue;
                    }
                }
            }
        };
        let page = match api.get_records(&iterator, RECORDS_PER_CALL).await {
            Ok(page) => page,
            Err(ApiError::ExpiredIterator) => {
                // Re-acquired from the last sequence read: nothing skipped.
                state.iterator = None;
                continue;
            }
            Err(e) => {
                retry_later(state, &id, &e);
                continue;
            }
        };
        state.backoff = FIRST_BACKOFF;
        if let Some(last) = page.records.last() {
            state.last = Some(last.sequence.clone());
        }
        state.millis_behind = page.millis_behind_latest;
        state.at_tip = page.records.is_empty() && page.millis_behind_latest.unwrap_or(0) == 0;
        state.next_call = Instant::now() + if state.at_tip { IDLE_POLL } else { MIN_CALL_GAP };
        let ended = page.next_iterator.is_none();
        let records = page.records;
        match page.next_iterator {
            Some(next) => state.iterator = Some(next),
            None => {
                // Closed and read to its end: its children may start.
                active.remove(&id);
                drained.insert(id.clone());
            }
        }
        // Decode: each record whole, with its position, by the decode
        // stage; the reader goes on to the next call meanwhile.
        if !records.is_empty() {
            let raw = RawPage { stream: stream.to_string(), shard: id.clone(), records, ingest_micros: now_micros() };
            let defaults = defaults.clone();
            if !tx.decode_async(move || raw.decode(&defaults)).await {
                return Ok(());
            }
        }
        // A leased shard is finished in the table only once its end is in
        // the lake: the children's owners start from there.
        if let (true, Ownership::Leased { handle, .. }) = (ended, &mut *owner) {
            if !commit_now(tx).await {
                return Ok(());
            }
            handle.finished(&id);
        }
    }
}

/// Follows the lease table's answer: lost shards are dropped (what was
/// read from them is committed at once, for their next owner), new ones
/// start from the lake's position, which the run loop is told about.
/// False when the run loop has stopped.
async fn follow_leases(
    handle: &mut LeaseHandle,
    log: &mut CommitLog,
    stream: &str,
    active: &mut BTreeMap<String, ShardState>,
    drained: &HashSet<String>,
    tx: &OrderedSender,
) -> Result<bool, ApiError> {
    let owned = handle.owned();
    let lost: Vec<String> = active.keys().filter(|k| !owned.contains(*k)).cloned().collect();
    for id in &lost {
        active.remove(id);
    }
    if !lost.is_empty() && !commit_now(tx).await {
        return Ok(false);
    }
    let new: Vec<&String> = owned.iter().filter(|k| !active.contains_key(*k) && !drained.contains(*k)).collect();
    if new.is_empty() {
        return Ok(true);
    }
    log.refresh().await.map_err(|e| ApiError::Other(format!("reading the lake's positions: {e}")))?;
    let mut started = BTreeMap::new();
    for id in new {
        let key = position_key(stream, id);
        let found = log.positions(std::slice::from_ref(&key), Shape::Sequence).await;
        let at = found.map_err(|e| ApiError::Other(format!("reading the lake's positions: {e}")))?.remove(&key);
        tracing::info!("kinesis: reading {id} from {}", at.as_ref().and_then(|c| c.sequence.as_deref()).unwrap_or("the start"));
        active.insert(id.clone(), ShardState::new(at.as_ref().and_then(|c| c.sequence.clone())));
        started.extend(at.map(|c| (key, c)));
    }
    Ok(tx.send_async(SourceEvent::Started(started)).await)
}

/// Asks the run loop to commit everything sent so far and waits for it.
async fn commit_now(tx: &OrderedSender) -> bool {
    let (ack, done) = std::sync::mpsc::sync_channel(1);
    if !tx.send_async(SourceEvent::CommitNow(ack)).await {
        return false;
    }
    // The reader has its own thread: blocking it here holds nothing else up.
    matches!(done.recv(), Ok(Ok(())))
}

fn retry_later(state: &mut ShardState, shard: &str, e: &ApiError) {
    if !matches!(e, ApiError::Throttled) {
        tracing::warn!("kinesis: {shard}: {e} (retrying in {:?})", state.backoff);
    }
    state.next_call = Instant::now() + state.backoff;
    state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
}

/// `MillisBehindLatest` of every shard being read: the ingest lag.
fn lags(stream: &str, active: &BTreeMap<String, ShardState>) -> Vec<Lag> {
    active
        .iter()
        .filter_map(|(id, s)| {
            let ms = s.millis_behind?;
            Some(Lag { labels: vec![("stream", stream.to_string()), ("shard", id.clone())], messages: None, seconds: ms as f64 / 1000.0 })
        })
        .collect()
}
