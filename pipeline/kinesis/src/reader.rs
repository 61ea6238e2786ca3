//! The Kinesis reader: list shards → read the ready ones (parents before
//! children) → decode → hand chunks to the run loop, which buffers, writes
//! and commits (`authlake_ingest::run_source`).
//!
//! One process owns every shard; the lake's commit log is its checkpoint
//! (`kinesis:<stream>/<shard>` → last sequence number read). A record is
//! never split across chunks, so a commit covers whole KPL aggregates and
//! whole CloudWatch Logs payloads, and a restart resumes
//! `AFTER_SEQUENCE_NUMBER` the last one.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use authlake_ingest::decode::Defaults;
use authlake_ingest::run::now_micros;
use authlake_ingest::source::{Checkpoint, Chunk};
use authlake_ingest::SourceEvent;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::api::{ApiError, KinesisApi, StartFrom};
use crate::lineage::Lineage;
use crate::record::{decode_record, RecordMeta};

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
    pub telemetry_interval: Duration,
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

/// Reads the stream until the tips (backfill) or until `tx` closes (follow).
pub async fn read<A: KinesisApi>(
    api: &A,
    opts: &ReadOptions,
    start: &BTreeMap<String, Checkpoint>,
    defaults: &Defaults,
    tx: &mpsc::Sender<SourceEvent>,
) -> Result<(), ApiError> {
    let stream = opts.stream.as_str();
    let mut lineage = Lineage::new(api.list_shards(stream).await?);
    let mut listed = Instant::now();
    let mut drained: HashSet<String> = HashSet::new();
    let mut active: BTreeMap<String, ShardState> = BTreeMap::new();
    let mut reported = Instant::now();
    loop {
        if tx.is_closed() {
            return Ok(());
        }
        // New shards appear after a split or merge.
        if opts.follow && listed.elapsed() >= RELIST_EVERY {
            match api.list_shards(stream).await {
                Ok(shards) => lineage = Lineage::new(shards),
                Err(e) => eprintln!("authlake: kinesis: listing shards of {stream}: {e} (retrying)"),
            }
            listed = Instant::now();
        }
        // Children join once their parents are drained.
        for id in lineage.ready(&drained) {
            active.entry(id.to_string()).or_insert_with(|| ShardState {
                iterator: None,
                last: start.get(&position_key(stream, id)).and_then(|c| c.sequence.clone()),
                next_call: Instant::now(),
                backoff: FIRST_BACKOFF,
                at_tip: false,
                millis_behind: None,
            });
        }
        if !opts.follow && active.values().all(|s| s.at_tip) {
            return Ok(());
        }
        if reported.elapsed() >= opts.telemetry_interval {
            report(stream, &active);
            reported = Instant::now();
        }
        // The shard whose turn comes first (5 calls/s/shard at most).
        let Some((id, due)) = active.iter().filter(|(_, s)| opts.follow || !s.at_tip).map(|(id, s)| (id.clone(), s.next_call)).min_by_key(|(_, t)| *t)
        else {
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
        // Decode: each record whole, with its position.
        let mut chunk = Chunk::default();
        let key = position_key(stream, &id);
        for r in &page.records {
            let meta = RecordMeta { stream, shard: &id, sequence: &r.sequence, arrival_micros: r.arrival_micros, ingest_micros: now_micros() };
            chunk.absorb(decode_record(&r.data, &meta, defaults), r.data.len() as u64);
            chunk.positions.push((key.clone(), Checkpoint { sequence: Some(r.sequence.clone()), ..Default::default() }));
        }
        if let Some(last) = page.records.last() {
            state.last = Some(last.sequence.clone());
        }
        state.millis_behind = page.millis_behind_latest;
        state.at_tip = page.records.is_empty() && page.millis_behind_latest.unwrap_or(0) == 0;
        state.next_call = Instant::now() + if state.at_tip { IDLE_POLL } else { MIN_CALL_GAP };
        match page.next_iterator {
            Some(next) => state.iterator = Some(next),
            None => {
                // Closed and read to its end: its children may start.
                active.remove(&id);
                drained.insert(id.clone());
            }
        }
        if chunk.payloads > 0 && tx.send(SourceEvent::Chunk(chunk)).await.is_err() {
            return Ok(());
        }
    }
}

fn retry_later(state: &mut ShardState, shard: &str, e: &ApiError) {
    if !matches!(e, ApiError::Throttled) {
        eprintln!("authlake: kinesis: {shard}: {e} (retrying in {:?})", state.backoff);
    }
    state.next_call = Instant::now() + state.backoff;
    state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
}

fn report(stream: &str, active: &BTreeMap<String, ShardState>) {
    let lags: Vec<String> = active.iter().map(|(id, s)| format!("{id}={}ms", s.millis_behind.map_or("?".into(), |m| m.to_string()))).collect();
    eprintln!("authlake: kinesis: {stream}: behind latest {}", lags.join(" "));
}
