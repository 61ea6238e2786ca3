//! The Kafka source under faults: SIGKILL while consuming under load, a
//! frozen broker, CloudTrail batch messages cut by flushes.

use std::time::Duration;

use serde_json::Value;

use super::{create_topic, ingest_args, offset_holes, produce, produce_lingering, spawn};
use crate::crash_loop::{crash_loop, kill_delay, Moment};
use crate::support::{counts, finish, finish_within, position_commit, sigterm, traffic, wait_for_rows, Tansu};

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_while_consuming_under_load_keeps_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    create_topic(&broker, "load", 4).await;
    let (lines, rows) = traffic(dir.path(), 200_000, 11);
    let lake = dir.path().join("lake").display().to_string();
    // A short session: a killed member's partitions go to the next one
    // quickly, so each of the 20 lives gets to read and commit.
    let args = ingest_args(
        &broker,
        "load",
        &lake,
        &["--follow", "--group", "loaders", "--commit-interval", "1s", "--kafka-option", "session.timeout.ms=2000", "--kafka-option", "heartbeat.interval.ms=400"],
    );
    // The topic fills while the consumers are being killed.
    let producer = {
        let (brokers, lines) = (broker.brokers(), lines.clone());
        std::thread::spawn(move || produce(&brokers, "load", &lines, "lz4"))
    };
    // 20 kills; between them the lake reads cleanly (authlake and DuckDB).
    let seen = crash_loop(&lake, 20, |k| Moment::After(kill_delay(k, Duration::from_millis(2_500), Duration::from_millis(5_000))), || spawn(&args));
    assert_eq!(seen.kills, 20, "{seen:?}");
    let committed = seen.rows;
    producer.join().unwrap();
    assert!(committed.iter().any(|n| *n > 0 && *n < rows), "no kill landed mid-stream: {committed:?} of {rows}");
    let last = spawn(&args);
    let have = wait_for_rows(&lake, rows, Duration::from_secs(240));
    sigterm(&last);
    let out = finish(last);
    assert_eq!(have, rows, "{} | rows after each kill: {committed:?} | the last process said: {}", offset_holes(&lake), String::from_utf8_lossy(&out.stderr));
    assert_eq!(counts(&lake), (rows, rows, rows));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_broker_means_waiting_then_going_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    // Follow mode: a session longer than the outage keeps the group stable
    // (tansu 0.6 never evicts a member whose session ran out, see docs/sources.md).
    create_topic(&broker, "steady", 2).await;
    let lake = dir.path().join("follow").display().to_string();
    let mut args = ingest_args(&broker, "steady", &lake, &["--follow", "--group", "steady", "--commit-interval", "1s"]);
    args.extend(["--kafka-option".into(), "session.timeout.ms=30000".into()]);
    let child = spawn(&args);
    let (first, first_rows) = traffic(dir.path(), 5_000, 21);
    produce(&broker.brokers(), "steady", &first, "zstd");
    assert_eq!(wait_for_rows(&lake, first_rows, Duration::from_secs(60)), first_rows);
    broker.signal("-STOP");
    std::thread::sleep(Duration::from_secs(8));
    broker.signal("-CONT");
    let (second, second_rows) = traffic(dir.path(), 5_000, 22);
    produce(&broker.brokers(), "steady", &second, "zstd");
    let total = first_rows + second_rows;
    assert_eq!(wait_for_rows(&lake, total, Duration::from_secs(90)), total);
    sigterm(&child);
    finish(child);
    assert_eq!(counts(&lake), (total, total, total));

    // Backfill: frozen while reading, it waits and then reads to the end.
    create_topic(&broker, "frozen", 3).await;
    let (lines, rows) = traffic(dir.path(), 60_000, 23);
    produce(&broker.brokers(), "frozen", &lines, "gzip");
    let lake = dir.path().join("backfill").display().to_string();
    let child = spawn(&ingest_args(&broker, "frozen", &lake, &["--commit-interval", "1s"]));
    std::thread::sleep(Duration::from_millis(1500));
    broker.signal("-STOP");
    std::thread::sleep(Duration::from_secs(6));
    broker.signal("-CONT");
    finish(child);
    assert_eq!(counts(&lake), (rows, rows, rows));
}

/// CloudTrail records of `n` generated events, as batch files of `per` records.
fn cloudtrail_batches(dir: &std::path::Path, n: u64, per: usize) -> Vec<String> {
    let input = dir.join("trail.ndjson");
    crate::support::authlake_ok(&["generate", "--events", &n.to_string(), "--format", "cloudtrail", "--days", "2", "--seed", "31", "--end", "2026-11-20T00:00:00Z", "--out", &input.display().to_string()]);
    let mut records = Vec::new();
    for line in std::fs::read_to_string(&input).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        match v.get("Records") {
            Some(Value::Array(r)) => records.extend(r.iter().cloned()),
            _ => records.push(v),
        }
    }
    records.chunks(per).map(|c| serde_json::json!({ "Records": c }).to_string()).collect()
}

/// Rows per message, sorted: the shape of what landed, whatever the source.
fn rows_per_message(lake: &str) -> Vec<u64> {
    let out = crate::support::authlake_ok(&["query", "--lake", lake, "--format", "json", "SELECT COUNT(*) AS n FROM events GROUP BY split_part(source, '#', 1) ORDER BY n"]);
    let v: Vec<Value> = serde_json::from_str(&out).unwrap();
    v.iter().map(|r| r["n"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudtrail_batch_messages_cut_by_flushes_and_a_kill_land_whole() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    let batches = cloudtrail_batches(dir.path(), 20_000, 250);
    let file = dir.path().join("batches.ndjson");
    std::fs::write(&file, batches.join("\n")).unwrap();
    let reference = dir.path().join("reference").display().to_string();
    crate::support::authlake_ok(&["ingest", "--from", &format!("file://{}", file.display()), "--lake", &reference, "--quiet"]);
    let (rows, _, _) = counts(&reference);

    create_topic(&broker, "trail", 2).await;
    let lake = dir.path().join("lake").display().to_string();
    let follow = spawn(&ingest_args(&broker, "trail", &lake, &["--follow", "--group", "trail", "--commit-interval", "200ms"]));
    let producer = {
        let (brokers, batches) = (broker.brokers(), batches.clone());
        std::thread::spawn(move || {
            for part in batches.chunks(10) {
                produce(&brokers, "trail", part, "snappy");
            }
        })
    };
    // Killed once some batches are in: the rest come from a backfill.
    let seen = wait_for_rows(&lake, 1, Duration::from_secs(60));
    let mut follow = follow;
    follow.kill().unwrap();
    follow.wait().unwrap();
    producer.join().unwrap();
    assert!(seen < rows, "the kill came after everything was read");
    crate::support::authlake_ok(&ingest_args(&broker, "trail", &lake, &["--group", "trail"]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(counts(&lake), (rows, rows, rows));
    assert_eq!(rows_per_message(&lake), rows_per_message(&reference));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_position_inside_the_topics_last_batch_reads_the_rest_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start();
    create_topic(&broker, "tail", 1).await;
    let (lines, rows) = traffic(dir.path(), 300, 41);
    // One record batch: fewer lines than a batch holds, all queued before the linger ends.
    produce_lingering(&broker.brokers(), "tail", &lines, "lz4", 5_000);
    // The lake holds messages 0..120 of that batch and says so.
    let head = dir.path().join("head.ndjson");
    std::fs::write(&head, lines[..120].join("\n") + "\n").unwrap();
    let lake = dir.path().join("lake").display().to_string();
    crate::support::authlake_ok(&["ingest", "--from", &format!("file://{}", head.display()), "--lake", &lake, "--quiet"]);
    let log_lake = authlake_lake::Lake::open(&lake, false).unwrap();
    let mut log = authlake_lake::CommitLog::load(&log_lake).await.unwrap();
    log.commit(position_commit("kafka:tail/0", 120), &Default::default(), authlake_lake::Operation::Ingest).await.unwrap();
    // Fetching at 120, tansu 0.6 sends nothing (no batch starts after it):
    // the backfill must look back for the batch, keep 120.. and drop the rest.
    // (Before that was done, the backfill waited forever for a first message.)
    let args = ingest_args(&broker, "tail", &lake, &[]);
    finish_within(spawn(&args), Duration::from_secs(120));
    let (n, ids, _) = counts(&lake);
    assert_eq!((n, ids), (rows, rows), "{}", offset_holes(&lake));
    // Once at the end, a re-run adds nothing.
    finish_within(spawn(&args), Duration::from_secs(120));
    assert_eq!(counts(&lake).0, rows);
}
