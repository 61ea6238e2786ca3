//! The consumer's context: rebalances and client errors.
//!
//! A revoked partition is flushed and committed to the lake before the
//! revocation completes (the rebalance waits), so the member that gets it
//! next starts from the lake's position and nothing is read twice. An
//! assigned partition is (re)assigned at the lake's position.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use authlake_ingest::decode::Defaults;
use authlake_lake::positions::Shape;
use authlake_lake::CommitLog;
use authlake_ingest::source::ordered::{DecodeFailed, OrderedSender};
use authlake_ingest::SourceEvent;
use authlake_lake::Lake;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::client::OAuthToken;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use crate::msk::MskIam;
use crate::raw::RawChunk;
use crate::resume::ResumeChecks;
use crate::spec::{position_key, StartAt};

/// How long a revocation waits for the lake commit of what was read.
const REVOKE_COMMIT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct IngestContext {
    pub lake: Lake,
    pub runtime: tokio::runtime::Handle,
    pub start: StartAt,
    /// To the run loop, in order, decoding on the way; taken (closing
    /// the channel once in-flight chunks are through) when the reader stops.
    pub tx: Mutex<Option<OrderedSender>>,
    /// Messages read but not yet handed over for decoding.
    pub pending: Mutex<RawChunk>,
    /// Values for fields some formats lack.
    pub defaults: Arc<Defaults>,
    /// Next offset per assigned partition (telemetry, end detection).
    pub next: Mutex<BTreeMap<(String, i32), i64>>,
    /// Offsets at which the broker reported an end of partition.
    pub eof_offsets: Mutex<HashSet<i64>>,
    /// Assigned partitions whose first message is still to be checked.
    pub resume: Mutex<ResumeChecks>,
    /// Signs OAUTHBEARER tokens for Amazon MSK IAM, when used.
    pub msk: Option<MskIam>,
}

/// The context of the short-lived metadata client used at start.
pub struct ProbeContext {
    pub msk: Option<MskIam>,
}

impl ClientContext for ProbeContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        oauth_token(self.msk.as_ref())
    }
}

impl ConsumerContext for ProbeContext {}

/// OAUTHBEARER is served by MSK IAM only: other token sources would need
/// their own provider.
fn oauth_token(msk: Option<&MskIam>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
    match msk {
        Some(m) => m.token(),
        None => Err("SASL OAUTHBEARER is supported for Amazon MSK IAM only: pass --msk-iam".into()),
    }
}

impl IngestContext {
    /// Sends to the run loop after what was handed over before; false
    /// when it is gone or the reader stopped.
    pub fn send(&self, event: SourceEvent) -> bool {
        let tx = self.tx.lock().expect("tx lock");
        tx.as_ref().is_some_and(|tx| tx.send(event))
    }

    /// Closes the channel to the run loop once the chunks in flight are
    /// through; an error if one failed to decode.
    pub fn close(&self) -> Result<(), DecodeFailed> {
        self.tx.lock().expect("tx lock").take().map_or(Ok(()), OrderedSender::finish)
    }

    /// Hands the pending messages over for decoding (on the blocking
    /// pool, not this thread); false when the run loop is gone.
    pub fn flush(&self) -> bool {
        let raw = std::mem::take(&mut *self.pending.lock().expect("pending lock"));
        if raw.is_empty() {
            return true;
        }
        let defaults = self.defaults.clone();
        let tx = self.tx.lock().expect("tx lock");
        tx.as_ref().is_some_and(|tx| tx.decode(move || raw.decode(&defaults)))
    }
}

impl ClientContext for IngestContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        oauth_token(self.msk.as_ref())
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if let KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF) = error {
            // "... reached end of partition at offset N (HighwaterMark N)"
            if let Some(n) = reason.split("at offset ").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()) {
                self.eof_offsets.lock().expect("eof lock").insert(n);
            }
            return;
        }
        // Broker outages are retried by librdkafka; say so once per event.
        tracing::warn!("kafka: {error}: {reason} (retrying)");
    }
}

impl ConsumerContext for IngestContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else { return };
        if tpl.count() == 0 || self.tx.lock().expect("tx lock").as_ref().is_none_or(OrderedSender::is_closed) {
            return;
        }
        // Flush and commit what was read from the partitions going away.
        if !self.flush() {
            return;
        }
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        if !self.send(SourceEvent::CommitNow(ack)) {
            return;
        }
        match done.recv_timeout(REVOKE_COMMIT_TIMEOUT) {
            Ok(Ok(())) => tracing::info!("kafka: {} partitions revoked, committed what was read from them", tpl.count()),
            Ok(Err(e)) => tracing::warn!("kafka: commit before revocation failed: {e}"),
            Err(_) => tracing::warn!("kafka: commit before revocation timed out"),
        }
        let mut next = self.next.lock().expect("next lock");
        let mut resume = self.resume.lock().expect("resume lock");
        for e in tpl.elements() {
            next.remove(&(e.topic().to_string(), e.partition()));
            resume.forget(e.topic(), e.partition());
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else { return };
        if tpl.count() == 0 {
            return;
        }
        // Start each partition at the lake's position, read fresh: another
        // member may have committed it a moment ago.
        let keys: Vec<String> = tpl.elements().iter().map(|e| position_key(e.topic(), e.partition())).collect();
        let read = async {
            let mut log = CommitLog::load(&self.lake).await?;
            log.positions(&keys, Shape::Offset).await
        };
        let positions = match self.runtime.block_on(read) {
            Ok(positions) => positions,
            Err(e) => {
                tracing::warn!("kafka: cannot read the lake's positions: {e}");
                return;
            }
        };
        let mut with = TopicPartitionList::new();
        let mut started = BTreeMap::new();
        let mut next = self.next.lock().expect("next lock");
        for e in tpl.elements() {
            let offset = match positions.get(&position_key(e.topic(), e.partition())).and_then(|c| c.offset) {
                Some(o) => {
                    next.insert((e.topic().to_string(), e.partition()), o as i64);
                    self.resume.lock().expect("resume lock").expect(e.topic(), e.partition(), o as i64);
                    started.insert(position_key(e.topic(), e.partition()), authlake_lake::Checkpoint::offset(o));
                    Offset::Offset(o as i64)
                }
                None if self.start == StartAt::Latest => Offset::End,
                None => Offset::Beginning,
            };
            if let Err(err) = with.add_partition_offset(e.topic(), e.partition(), offset) {
                tracing::warn!("kafka: {err}");
            }
        }
        drop(next);
        self.send(SourceEvent::Started(started));
        if let Err(e) = consumer.assign(&with) {
            tracing::warn!("kafka: cannot assign at the lake's positions: {e}");
        } else {
            tracing::info!("kafka: assigned {} partitions at the lake's positions", with.count());
        }
    }
}
