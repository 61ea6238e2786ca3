//! The Kafka reader: consume → decode → hand chunks to the run loop, which
//! buffers, writes and commits (`authlake_ingest::run_source`).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use authlake_ingest::run::now_micros;
use authlake_ingest::source::ordered::{decode_depth, OrderedSender};
use authlake_lake::Checkpoint;
use authlake_ingest::source::SourceError;
use authlake_ingest::{run_source, IngestError, IngestOptions, IngestSummary, Progress, SourceEvent};
use authlake_lake::Lake;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError as ClientError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::context::{IngestContext, ProbeContext};
use crate::error::KafkaError;
use crate::msk::MskIam;
use crate::resume::Resume;
use authlake_ingest::telemetry::{Lag, Telemetry};

use crate::lag::lags;
use crate::spec::{parse_position_key, position_key, KafkaOptions, KafkaSpec, StartAt};

/// A backfill ends this long after the last message once every partition is at its end.
const BACKFILL_IDLE: Duration = Duration::from_millis(1500);
/// Time allowed for metadata requests at start.
const META_TIMEOUT: Duration = Duration::from_secs(15);
/// Time allowed for a watermark query or a seek.
const WATERMARK_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for the watermark query of a silent partition's probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

type Shared = Arc<OnceLock<Arc<BaseConsumer<IngestContext>>>>;

/// Ingests `spec` into the lake: a backfill up to the end offsets captured
/// at start, or (`follow`) a consumer-group member until `shutdown`.
pub async fn run_kafka(
    lake: &Lake,
    spec: &KafkaSpec,
    kopts: &KafkaOptions,
    opts: &IngestOptions,
    progress: Arc<Progress>,
    shutdown: impl Future<Output = ()>,
) -> Result<IngestSummary, IngestError> {
    let config = client_config(spec, kopts);
    let msk = match kopts.msk_iam {
        true => Some(MskIam::from_env().await.map_err(KafkaError::MskIam).map_err(SourceError::from)?),
        false => None,
    };
    // Unknown topics and unreachable brokers are one-line errors up front.
    let partitions = {
        let (config, topics, msk) = (config.clone(), spec.topics.clone(), msk.clone());
        let found = tokio::task::spawn_blocking(move || partitions(&config, &topics, msk)).await.map_err(KafkaError::from);
        found.and_then(|r| r).map_err(SourceError::from)?
    };
    // A backfill starts every partition at the lake's position (a group
    // member learns its partitions' positions as they are assigned).
    let keys: Vec<String> = partitions.iter().map(|(topic, p)| position_key(topic, *p)).collect();
    let shared: Shared = Arc::new(OnceLock::new());
    let reader = {
        let (lake, shared, kopts, progress) = (lake.clone(), shared.clone(), kopts.clone(), progress.clone());
        let defaults = Arc::new(opts.defaults.clone());
        let runtime = tokio::runtime::Handle::current();
        move |start: BTreeMap<String, Checkpoint>, tx: mpsc::Sender<SourceEvent>| {
            let ctx = IngestContext {
                lake,
                tx: Mutex::new(Some(OrderedSender::new(runtime.clone(), tx.clone(), decode_depth()))),
                runtime,
                start: kopts.start,
                pending: Mutex::new(Default::default()),
                defaults,
                next: Mutex::new(BTreeMap::new()),
                eof_offsets: Mutex::new(HashSet::new()),
                resume: Mutex::new(Default::default()),
                msk,
            };
            let consumer: BaseConsumer<IngestContext> =
                config.create_with_context(ctx).map_err(KafkaError::Client)?;
            let consumer = Arc::new(consumer);
            let _ = shared.set(consumer.clone());
            let result = read(&consumer, &partitions, &start, &kopts, &tx, &progress);
            // The run loop ends when the last sender is gone: the context's
            // stays with the consumer (kept for group commits), so close it.
            // Closing also says whether a decode failed (which is what
            // stopped the reader, if it did).
            let closed = consumer.context().close().map_err(|why| KafkaError::Decode(why).into());
            drop(tx);
            result.and(closed)
        }
    };
    // After each lake commit, the group's offsets follow, for lag tools.
    let on_commit = move |positions: &BTreeMap<String, Checkpoint>| {
        let Some(consumer) = shared.get() else { return };
        let mut tpl = TopicPartitionList::new();
        for (key, cp) in positions {
            if let (Some((topic, partition)), Some(offset)) = (parse_position_key(key), cp.offset) {
                let _ = tpl.add_partition_offset(topic, partition, Offset::Offset(offset as i64));
            }
        }
        if tpl.count() > 0 {
            if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
                tracing::warn!("kafka: group offsets not committed (the lake's are): {e}");
            }
        }
    };
    run_source(lake, opts, &keys, progress, shutdown, reader, on_commit).await
}

fn client_config(spec: &KafkaSpec, kopts: &KafkaOptions) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &spec.brokers)
        .set("group.id", kopts.group_id())
        .set("client.id", "authlake")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        // A killed member's partitions move on after 10 s instead of
        // librdkafka's 45 s (heartbeats run on their own thread).
        .set("session.timeout.ms", "10000")
        .set("auto.offset.reset", if kopts.start == StartAt::Latest { "latest" } else { "earliest" });
    if kopts.msk_iam {
        c.set("security.protocol", "SASL_SSL").set("sasl.mechanism", "OAUTHBEARER");
    }
    for (k, v) in &kopts.properties {
        c.set(k, v);
    }
    c
}

/// Every (topic, partition) of the topics, checked to exist.
fn partitions(config: &ClientConfig, topics: &[String], msk: Option<MskIam>) -> Result<Vec<(String, i32)>, KafkaError> {
    let probe: BaseConsumer<ProbeContext> = config.create_with_context(ProbeContext { msk }).map_err(KafkaError::Client)?;
    // Serves a token request (OAUTHBEARER) before the first broker call.
    let _ = probe.poll(Duration::ZERO);
    let mut out = Vec::new();
    for topic in topics {
        let meta = probe
            .fetch_metadata(Some(topic), META_TIMEOUT)
            .map_err(|source| KafkaError::Unreachable { topic: topic.clone(), source })?;
        let t = meta.topics().iter().find(|t| t.name() == topic);
        match t {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                out.extend(t.partitions().iter().map(|p| (topic.clone(), p.id())));
            }
            _ => return Err(KafkaError::NoSuchTopic(topic.clone())),
        }
    }
    Ok(out)
}

/// The read loop on the reader thread.
fn read(
    consumer: &BaseConsumer<IngestContext>,
    partitions: &[(String, i32)],
    start: &BTreeMap<String, Checkpoint>,
    kopts: &KafkaOptions,
    tx: &mpsc::Sender<SourceEvent>,
    progress: &Progress,
) -> Result<(), SourceError> {
    let ctx = consumer.context();
    // Backfill: every partition, from the lake's position, up to the end
    // offsets of now. Follow: the group decides (see the context).
    if kopts.follow {
        let topics: Vec<&str> = kopts_topics(partitions);
        consumer.subscribe(&topics).map_err(KafkaError::Subscribe)?;
    } else {
        let mut tpl = TopicPartitionList::new();
        let mut next = ctx.next.lock().expect("next lock");
        for (topic, p) in partitions {
            let from = match start.get(&position_key(topic, *p)).and_then(|c| c.offset) {
                Some(o) => {
                    next.insert((topic.clone(), *p), o as i64);
                    ctx.resume.lock().expect("resume lock").expect(topic, *p, o as i64);
                    Offset::Offset(o as i64)
                }
                None if kopts.start == StartAt::Latest => Offset::End,
                None => Offset::Beginning,
            };
            tpl.add_partition_offset(topic, *p, from)
                .map_err(|source| KafkaError::Assign { at: format!("{topic}/{p} at {from:?}"), source })?;
        }
        drop(next);
        consumer.assign(&tpl).map_err(KafkaError::Client)?;
    }

    let mut at_eof: HashSet<(String, i32)> = HashSet::new();
    let mut telemetry = Telemetry::new("kafka", kopts.telemetry_file.clone());
    let mut last_report = Instant::now();
    let mut last_read_ms: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut last_message = Instant::now();
    loop {
        if tx.is_closed() {
            return Ok(());
        }
        if !kopts.follow && last_message.elapsed() >= BACKFILL_IDLE && backfill_done(ctx, partitions, &at_eof) {
            ctx.flush();
            return Ok(());
        }
        if last_report.elapsed() >= kopts.telemetry_interval {
            let snapshot = telemetry.snapshot(progress, partition_lags(consumer, &last_read_ms));
            telemetry.report(&snapshot);
            last_report = Instant::now();
        }
        // A partition silent since its assignment may be one the broker
        // started past the lake's position (see `resume`).
        probe_silent(consumer);
        match consumer.poll(Duration::from_millis(100)) {
            None => {
                if !ctx.flush() {
                    return Ok(());
                }
            }
            Some(Err(ClientError::PartitionEOF(p))) => {
                // End of a partition for now: which topic is not said, so
                // every partition with that number that is at its target counts.
                for (topic, part) in partitions {
                    if *part == p {
                        at_eof.insert((topic.clone(), p));
                    }
                }
                if !ctx.flush() {
                    return Ok(());
                }
            }
            Some(Err(ClientError::MessageConsumption(RDKafkaErrorCode::OffsetOutOfRange))) => {
                tracing::warn!("kafka: GAP: an offset fell out of the topic's retention; resuming at the earliest");
            }
            Some(Err(e)) => tracing::warn!("kafka: {e} (retrying)"),
            Some(Ok(m)) => {
                let (topic, partition, offset) = (m.topic().to_string(), m.partition(), m.offset());
                last_message = Instant::now();
                // The first message after an assignment: is it where the lake
                // said, and if not, is that a gap or a broker starting late?
                let low = || consumer.fetch_watermarks(&topic, partition, WATERMARK_TIMEOUT).ok().map(|(low, _)| low);
                let resume = ctx.resume.lock().expect("resume lock").check(&topic, partition, offset, low);
                match resume {
                    Resume::Ok => {}
                    Resume::SeekBack(to) => {
                        seek_back(consumer, &topic, partition, to);
                        continue;
                    }
                    Resume::Gap { expected, first } => record_gap(ctx, &topic, partition, expected, first),
                }
                {
                    let mut next = ctx.next.lock().expect("next lock");
                    let key = (topic.clone(), partition);
                    // Before the lake's position (a late seek): already in the lake.
                    if next.get(&key).is_some_and(|n| offset < *n) {
                        continue;
                    }
                    // Offsets skipped inside a partition are normal (transaction
                    // markers, compaction) unless retention took them.
                    if let Some(&n) = next.get(&key).filter(|n| offset > **n + 1) {
                        if low().is_some_and(|low| low > n) {
                            record_gap(ctx, &topic, partition, n, offset);
                        }
                    }
                    next.insert(key, offset + 1);
                }
                at_eof.remove(&(topic.clone(), partition));
                // Copied here, decoded on the blocking pool (see `raw`).
                let transport_time = m.timestamp().to_millis().map(|ms| ms * 1000);
                let full = {
                    let mut pending = ctx.pending.lock().expect("pending lock");
                    pending.push(&topic, partition, offset, transport_time, now_micros(), m.payload().unwrap_or_default());
                    pending.is_full()
                };
                last_read_ms.insert((topic.clone(), partition), m.timestamp().to_millis().unwrap_or_else(|| now_micros() / 1000));
                if full {
                    if !ctx.flush() {
                        return Ok(());
                    }
                    // Time spent waiting on a busy run loop is not idleness.
                    last_message = Instant::now();
                }
            }
        }
    }
}

/// Seeks back the partitions that stayed silent since their assignment or
/// last seek: the broker may have nothing to send because it started past
/// the lake's position inside the partition's last batch.
fn probe_silent(consumer: &BaseConsumer<IngestContext>) {
    let seeks = {
        let mut resume = consumer.context().resume.lock().expect("resume lock");
        if resume.is_empty() {
            return;
        }
        // Short: the loop does not poll meanwhile.
        resume.probes(Instant::now(), |topic, partition| {
            consumer.fetch_watermarks(topic, partition, PROBE_TIMEOUT).ok().map(|(low, _)| low)
        })
    };
    for (topic, partition, to) in seeks {
        seek_back(consumer, &topic, partition, to);
    }
}

/// Seeks a partition back for its resume check; the check's next step
/// is taken only once the seek went through.
fn seek_back(consumer: &BaseConsumer<IngestContext>, topic: &str, partition: i32, to: i64) {
    match consumer.seek(topic, partition, Offset::Offset(to), WATERMARK_TIMEOUT) {
        Ok(()) => consumer.context().resume.lock().expect("resume lock").sought(topic, partition, to),
        Err(e) => tracing::warn!("kafka: cannot seek {topic}/{partition} to {to}: {e} (trying again)"),
    }
}

/// Offsets `from..to` of a partition are gone from the topic: said loudly
/// and recorded in the next commit, never skipped silently.
fn record_gap(ctx: &IngestContext, topic: &str, partition: i32, from: i64, to: i64) {
    let gap = format!("kafka:{topic}/{partition}@{from}..{to}");
    tracing::warn!("kafka: GAP: offsets {from}..{to} of {topic}/{partition} are gone from the topic (retention); recorded as {gap}");
    ctx.pending.lock().expect("pending lock").gaps.push(gap);
}

fn kopts_topics(partitions: &[(String, i32)]) -> Vec<&str> {
    let mut topics: Vec<&str> = partitions.iter().map(|(t, _)| t.as_str()).collect();
    topics.dedup();
    topics
}

/// Every partition is at its end: the broker said so (end-of-partition
/// for it, or at the offset it is at), no message came for a moment and
/// every resume check is done (a broker that started past the lake's
/// position may report the end with messages left before it).
/// End offsets asked for up front are not used: some Kafka-protocol
/// brokers (tansu 0.6) answer ListOffsets wrongly.
fn backfill_done(ctx: &IngestContext, partitions: &[(String, i32)], at_eof: &HashSet<(String, i32)>) -> bool {
    if !ctx.resume.lock().expect("resume lock").is_empty() {
        return false;
    }
    let next = ctx.next.lock().expect("next lock");
    let eof_offsets = ctx.eof_offsets.lock().expect("eof lock");
    partitions.iter().all(|k| at_eof.contains(k) || next.get(k).is_some_and(|n| eof_offsets.contains(n)))
}

/// Lag of every partition being read, against the broker's high watermarks.
fn partition_lags(consumer: &BaseConsumer<IngestContext>, last_read_ms: &BTreeMap<(String, i32), i64>) -> Vec<Lag> {
    let next = consumer.context().next.lock().expect("next lock").clone();
    let high: BTreeMap<(String, i32), i64> = next
        .keys()
        .filter_map(|(topic, p)| consumer.fetch_watermarks(topic, *p, WATERMARK_TIMEOUT).ok().map(|(_, high)| ((topic.clone(), *p), high)))
        .collect();
    lags(&next, &high, last_read_ms, now_micros() / 1000)
}
