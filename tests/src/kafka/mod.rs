//! The Kafka source against a real Kafka-protocol broker (tansu): backfill,
//! exactly once across re-runs, follow mode with SIGTERM and restart, a
//! consumer group of two with a rebalance, compressed topics, dead letters.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;

use crate::support::{authlake, authlake_bin, authlake_ok, counts, finish, sigterm, traffic, wait_for_rows, Tansu};

mod faults;
mod msk;

async fn create_topic(broker: &Tansu, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", broker.brokers()).create().expect("admin client");
    let results = admin
        .create_topics(&[NewTopic::new(name, partitions, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create topic");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
    }
}

/// Produces every line as one message, keyed by its index (spread over partitions).
fn produce(brokers: &str, topic: &str, lines: &[String], codec: &str) {
    produce_lingering(brokers, topic, lines, codec, 20);
}

/// [`produce`], the producer batching for up to `linger_ms`: with a long
/// linger, lines fewer than a batch holds go out as one record batch.
fn produce_lingering(brokers: &str, topic: &str, lines: &[String], codec: &str, linger_ms: u64) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("compression.codec", codec)
        .set("linger.ms", linger_ms.to_string())
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("producer");
    for (i, line) in lines.iter().enumerate() {
        let key = i.to_string();
        loop {
            match producer.send(BaseRecord::to(topic).key(&key).payload(line)) {
                Ok(()) => break,
                Err((_, _)) => {
                    producer.poll(Duration::from_millis(50));
                }
            }
        }
        if i % 10_000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
}

fn ingest_args(broker: &Tansu, topic: &str, lake: &str, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["ingest", "--from", &format!("kafka://{}/{topic}", broker.brokers()), "--lake", lake, "--quiet"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.extend(["--kafka-option".into(), "session.timeout.ms=6000".into()]);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn spawn(args: &[String]) -> Child {
    Command::new(authlake_bin()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Where a lake misses Kafka messages: for each partition, the offsets
/// between the lowest and highest that no row (event or dead letter)
/// came from, and the gaps the commits recorded. For failure
/// messages: "17 rows missing" says little, "load/2@1234..1477" says
/// which commit to look at.
fn offset_holes(lake: &str) -> String {
    crate::support::duckdb(&format!(
        r#"
import glob, json, deltalake
parts = []
for table in ['{lake}', '{lake}/_authlake/tables/dead_letters']:
    if deltalake.DeltaTable.is_deltatable(table) and deltalake.DeltaTable(table).file_uris():
        parts.append(f"SELECT source FROM read_parquet({{deltalake.DeltaTable(table).file_uris()!r}})")
if not parts:
    parts.append("SELECT 'none' AS source")
duckdb.sql(f"CREATE TABLE o AS SELECT regexp_extract(source, '^kafka:(.*)@', 1) AS p, CAST(regexp_extract(source, '@([0-9]+)', 1) AS BIGINT) AS off FROM ({{' UNION ALL '.join(parts)}}) WHERE source LIKE 'kafka:%'")
rows = duckdb.sql("""
WITH g AS (SELECT p, off, lag(off) OVER (PARTITION BY p ORDER BY off) AS prev FROM (SELECT DISTINCT p, off FROM o))
SELECT p, COALESCE(prev + 1, 0) AS a, off - 1 AS b FROM g WHERE off > COALESCE(prev + 1, 0) ORDER BY p, a
""").fetchall()
ends = duckdb.sql("SELECT p, max(off) FROM o GROUP BY p ORDER BY p").fetchall()
gaps = [g for c in sorted(glob.glob('{lake}/_delta_log/*.json')) for l in open(c) if 'commitInfo' in l for g in json.loads(l)['commitInfo'].get('authlake.gaps', [])]
print('holes:', ', '.join(f'{{p}}@{{a}}..{{b}}' for p, a, b in rows) or 'none', '| last offsets:', ends, '| gaps:', gaps)
"#
    ))
    .trim()
    .to_string()
}

fn group_offsets(broker: &Tansu, group: &str, topic: &str, partitions: i32) -> i64 {
    let c: BaseConsumer = ClientConfig::new().set("bootstrap.servers", broker.brokers()).set("group.id", group).create().unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    committed.elements().iter().map(|e| e.offset().to_raw().unwrap_or(0).max(0)).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_reads_to_the_end_once_and_commits_group_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    create_topic(&broker, "auth", 3).await;
    let (lines, rows) = traffic(dir.path(), 20_000, 1);
    produce(&broker.brokers(), "auth", &lines, "none");
    let lake = dir.path().join("lake").display().to_string();
    let out = authlake_ok(&ingest_args(&broker, "auth", &lake, &[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains(&format!("ingested {rows} events")), "{out}");
    assert_eq!(counts(&lake), (rows, rows, rows));
    // The group's offsets follow the lake: every message is committed.
    assert_eq!(group_offsets(&broker, "authlake", "auth", 3), lines.len() as i64);
    // A second backfill finds nothing new; new messages are read once.
    let out = authlake_ok(&ingest_args(&broker, "auth", &lake, &[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("ingested 0 events"), "{out}");
    let (more, more_rows) = traffic(dir.path(), 2_000, 2);
    produce(&broker.brokers(), "auth", &more, "none");
    authlake_ok(&ingest_args(&broker, "auth", &lake, &[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(counts(&lake), (rows + more_rows, rows + more_rows, rows + more_rows));
    // Sources name topic, partition and offset.
    let out = authlake_ok(&["query", "--lake", &lake, "--format", "json", "SELECT source FROM events WHERE source NOT LIKE 'kafka:auth/%@%' LIMIT 1"]);
    assert_eq!(out.trim(), "[]", "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn compressed_topics_and_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    let (lines, rows) = traffic(dir.path(), 3_000, 3);
    let lake = dir.path().join("lake").display().to_string();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        create_topic(&broker, codec, 2).await;
        produce(&broker.brokers(), codec, &lines, codec);
    }
    create_topic(&broker, "junk", 1).await;
    produce(&broker.brokers(), "junk", &["{not json".to_string(), "[1,2".to_string()], "none");
    let topics = "gzip,snappy,lz4,zstd,junk";
    let out = authlake_ok(&ingest_args(&broker, topics, &lake, &[]).iter().map(String::as_str).collect::<Vec<_>>());
    // The same events in four topics: each codec decoded them all, and
    // three copies of each were dropped as the same events.
    assert!(out.contains(&format!("ingested {rows} events, 2 dead letters")), "{out}");
    assert!(out.contains(&format!("({} duplicates dropped)", 3 * rows)), "{out}");
    let dl = authlake_ok(&["query", "--lake", &lake, "--format", "json", "SELECT source FROM dead_letters ORDER BY source"]);
    let dl: Vec<Value> = serde_json::from_str(&dl).unwrap();
    assert_eq!(dl.iter().map(|r| r["source"].as_str().unwrap()).collect::<Vec<_>>(), vec!["kafka:junk/0@0", "kafka:junk/0@1"]);
}

#[test]
fn unknown_topic_and_unreachable_broker_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    let lake = dir.path().join("lake").display().to_string();
    let out = authlake(&ingest_args(&broker, "nope", &lake, &[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope"), "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = authlake(&["ingest", "--from", &format!("kafka://127.0.0.1:{closed}/auth"), "--lake", &lake, "--quiet"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().any(|l| l.starts_with("authlake: kafka: cannot reach")), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_mode_keeps_reading_and_commits_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    create_topic(&broker, "live", 2).await;
    let lake = dir.path().join("lake").display().to_string();
    let telemetry = dir.path().join("authlake.prom");
    let t = telemetry.display().to_string();
    let args = ingest_args(&broker, "live", &lake, &["--follow", "--group", "live-readers", "--commit-interval", "1s", "--telemetry-file", &t, "--telemetry-interval", "1s"]);
    let child = spawn(&args);
    let (first, first_rows) = traffic(dir.path(), 3_000, 5);
    produce(&broker.brokers(), "live", &first, "gzip");
    assert_eq!(wait_for_rows(&lake, first_rows, Duration::from_secs(60)), first_rows);
    // The consumer's telemetry file: lag per partition, counters, commit latency.
    std::thread::sleep(Duration::from_millis(2500));
    let text = std::fs::read_to_string(&telemetry).expect("telemetry file");
    for p in 0..2 {
        assert!(text.contains(&format!("authlake_kafka_consumer_lag_messages{{topic=\"live\",partition=\"{p}\"}}")), "{text}");
    }
    assert!(text.contains(&format!("authlake_events_ingested_total {first_rows}\n")), "{text}");
    assert!(text.contains("authlake_dead_letters_total 0\n"), "{text}");
    let commit_secs: f64 = text.lines().find_map(|l| l.strip_prefix("authlake_last_commit_seconds ")).unwrap().parse().unwrap();
    assert!(commit_secs > 0.0, "{text}");
    let (second, second_rows) = traffic(dir.path(), 2_000, 6);
    produce(&broker.brokers(), "live", &second, "gzip");
    std::thread::sleep(Duration::from_millis(300));
    // SIGTERM: what was read is flushed and committed before the exit.
    sigterm(&child);
    let out = finish(child);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ingested"));
    // A restart picks up exactly where the lake says.
    let args = ingest_args(&broker, "live", &lake, &["--group", "live-readers"]);
    authlake_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let total = first_rows + second_rows;
    assert_eq!(counts(&lake), (total, total, total));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_group_members_share_partitions_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    create_topic(&broker, "shared", 4).await;
    let lake = dir.path().join("lake").display().to_string();
    let args = ingest_args(&broker, "shared", &lake, &["--follow", "--group", "pair", "--commit-interval", "500ms"]);
    let a = spawn(&args);
    let (first, first_rows) = traffic(dir.path(), 20_000, 7);
    produce(&broker.brokers(), "shared", &first, "none");
    // The second member joins while the first is reading: a rebalance.
    std::thread::sleep(Duration::from_millis(1500));
    let b = spawn(&args);
    let (second, second_rows) = traffic(dir.path(), 20_000, 8);
    produce(&broker.brokers(), "shared", &second, "none");
    let total = first_rows + second_rows;
    assert_eq!(wait_for_rows(&lake, total, Duration::from_secs(120)), total);
    std::thread::sleep(Duration::from_secs(2));
    for c in [&a, &b] {
        sigterm(c);
    }
    for c in [a, b] {
        finish(c);
    }
    assert_eq!(counts(&lake), (total, total, total));
}

/// The findings rows of `rule_id` in the lake: (finding id, revision, events).
fn findings_rows(lake: &str, rule_id: &str) -> Vec<(String, i64, i64)> {
    let out = crate::support::python(&format!(
        "import json, os, polars\n\
         p = '{lake}/_authlake/tables/findings'\n\
         rows = polars.read_delta(p).to_dicts() if os.path.isdir(p + '/_delta_log') else []\n\
         print(json.dumps(sorted([[r['finding_id'], r['revision'], r['event_count']] for r in rows if r['rule_id'] == '{rule_id}'])))\n\
         os._exit(0)"
    ));
    serde_json::from_str(out.trim()).expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_detects_after_commits_once_across_a_kill_and_a_replay() {
    const STUFFING: &str = "b83531d4-504b-41ab-8be2-2738c2cf149f";
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    create_topic(&broker, "attack", 1).await;
    let lake = dir.path().join("lake").display().to_string();
    let lines: Vec<String> = std::fs::read_to_string(crate::support::root().join("detections/samples/cognito_credential_stuffing.positive.ndjson"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let args = ingest_args(&broker, "attack", &lake, &["--follow", "--group", "g1", "--commit-interval", "1s", "--detect"]);
    // Half the attack, then the follower is killed.
    let child = spawn(&args);
    produce(&broker.brokers(), "attack", &lines[..10], "none");
    assert_eq!(wait_for_rows(&lake, 10, Duration::from_secs(60)), 10);
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(findings_rows(&lake, STUFFING).is_empty(), "10 users are not yet the attack");
    // Restarted, it sees the rest: one finding, within seconds of the commit.
    let child = spawn(&args);
    produce(&broker.brokers(), "attack", &lines[10..], "none");
    assert_eq!(wait_for_rows(&lake, 20, Duration::from_secs(60)), 20);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut rows = findings_rows(&lake, STUFFING);
    while rows.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        rows = findings_rows(&lake, STUFFING);
    }
    sigterm(&child);
    finish(child);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].1, rows[0].2), (1, 20));
    // The topic replayed by another group into the same lake: dedupe drops
    // every event, and no finding is written again.
    let replay = ingest_args(&broker, "attack", &lake, &["--group", "g2", "--detect"]);
    authlake_ok(&replay.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(findings_rows(&lake, STUFFING), rows);
    assert_eq!(counts(&lake).0, 20);
}
