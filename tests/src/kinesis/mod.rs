//! The Kinesis source against moto's server: a multi-shard stream of plain,
//! KPL-aggregated and CloudWatch Logs subscription records, exactly once
//! across re-runs and across SIGKILLs while following; [`leases`]: workers
//! sharing shards through a DynamoDB lease table, and a shard split.

mod leases;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use serde_json::Value;

use crate::crash_loop::{crash_loop, kill_delay, Moment};
use crate::support::{authlake_bin, authlake_env, authlake_env_ok, authlake_ok, counts, finish, sigterm, traffic, wait_for_rows, Moto};

/// AWS SDK configuration for clients of this moto server.
pub(crate) async fn aws_conf(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await
}

pub(crate) async fn client(moto: &Moto) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&aws_conf(moto).await)
}

pub(crate) async fn create_stream(k: &aws_sdk_kinesis::Client, name: &str, shards: i32) {
    k.create_stream().stream_name(name).shard_count(shards).send().await.expect("create stream");
}

/// Puts records (partition keys spread them over the shards), 500 per call.
pub(crate) async fn put(k: &aws_sdk_kinesis::Client, stream: &str, records: &[Vec<u8>]) {
    for (n, batch) in records.chunks(500).enumerate() {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(i, d)| PutRecordsRequestEntry::builder().partition_key(format!("k{n}-{i}")).data(Blob::new(d.clone())).build().unwrap())
            .collect::<Vec<_>>();
        let out = k.put_records().stream_name(stream).set_records(Some(entries)).send().await.expect("put records");
        assert_eq!(out.failed_record_count(), Some(0));
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A third of the lines as plain records, a third in KPL aggregates of 20,
/// a third in CloudWatch Logs subscription payloads of 25 (and a control message).
fn mixed_records(lines: &[String]) -> Vec<Vec<u8>> {
    let third = lines.len() / 3;
    let mut out: Vec<Vec<u8>> = lines[..third].iter().map(|l| l.clone().into_bytes()).collect();
    for chunk in lines[third..2 * third].chunks(20) {
        let recs: Vec<(&str, &[u8])> = chunk.iter().map(|l| ("pk", l.as_bytes())).collect();
        out.push(authlake_kinesis::kpl::aggregate(&recs));
    }
    for (n, chunk) in lines[2 * third..].chunks(25).enumerate() {
        let events: Vec<Value> = chunk.iter().enumerate().map(|(i, l)| serde_json::json!({"id": format!("{n}-{i}"), "timestamp": 1_763_600_000_000i64, "message": l})).collect();
        let payload = serde_json::json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/cognito/userpools/auth",
            "logStream": "s", "subscriptionFilters": ["authlake"], "logEvents": events});
        out.push(gzip(payload.to_string().as_bytes()));
    }
    out.push(gzip(br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[]}"#));
    out
}

pub(crate) fn spawn(moto: &Moto, args: &[&str]) -> Child {
    Command::new(authlake_bin()).args(args).envs(moto.env()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_kpl_and_cloudwatch_logs_records_land_once() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    let k = client(&moto).await;
    create_stream(&k, "auth", 3).await;
    let (lines, expected) = traffic(dir.path(), 6_000, 41);
    put(&k, "auth", &mixed_records(&lines)).await;
    let lake = dir.path().join("lake").display().to_string();
    let args = ["ingest", "--from", "kinesis://auth", "--lake", &lake, "--quiet"];
    let out = authlake_env_ok(&args, &moto.env());
    assert!(out.contains(&format!("ingested {expected} events, 0 dead letters, 1 skipped")), "{out}");
    assert_eq!(counts(&lake), (expected, expected, expected));
    // Again into a lake that commits whenever 16 KiB are buffered: flushes
    // fall between records, never inside a KPL aggregate or a log payload.
    let small = dir.path().join("small").display().to_string();
    let out = authlake_env_ok(&["ingest", "--from", "kinesis://auth", "--lake", &small, "--max-buffer", "16KiB", "--quiet"], &moto.env());
    let commits: u64 = out.split(" files in ").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(commits >= 3, "{out}");
    assert_eq!(counts(&small), (expected, expected, expected));
    // Every row names its stream, shard and sequence; KPL and log payloads their index.
    let kinds = authlake_ok(&["query", "--lake", &lake, "--format", "json",
        "SELECT COUNT(DISTINCT regexp_replace(source, '@.*', '')) AS shards, SUM(CASE WHEN source LIKE '%#%' THEN 1 ELSE 0 END) AS inner FROM events WHERE source LIKE 'kinesis:auth/shardId-%@%'"]);
    let kinds: Vec<Value> = serde_json::from_str(&kinds).unwrap();
    assert_eq!(kinds[0]["shards"], 3, "{kinds:?}");
    assert!(kinds[0]["inner"].as_u64().unwrap() >= expected / 2, "{kinds:?}");
    // Nothing new: nothing read twice. New records: read once.
    let out = authlake_env_ok(&args, &moto.env());
    assert!(out.contains("ingested 0 events"), "{out}");
    let (more, more_rows) = traffic(dir.path(), 1_000, 42);
    put(&k, "auth", &mixed_records(&more)).await;
    authlake_env_ok(&args, &moto.env());
    let total = expected + more_rows;
    assert_eq!(counts(&lake), (total, total, total));
    // An unknown stream is a one-line error.
    let out = authlake_env(&["ingest", "--from", "kinesis://nope", "--lake", &lake], &moto.env());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope") && err.trim().lines().count() == 1, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_while_following_keeps_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    let k = client(&moto).await;
    create_stream(&k, "live", 4).await;
    let (lines, expected) = traffic(dir.path(), 100_000, 43);
    let records: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
    let lake = dir.path().join("lake").display().to_string();
    let args = ["ingest", "--from", "kinesis://live", "--lake", &lake, "--follow", "--commit-interval", "1s", "--quiet"];
    // Records keep arriving while readers are killed.
    let writer = {
        let k = k.clone();
        tokio::spawn(async move {
            for part in records.chunks(10_000) {
                put(&k, "live", part).await;
            }
        })
    };
    // 20 kills; between them the lake reads cleanly (authlake and DuckDB).
    let killed = crash_loop(&lake, 20, |k| Moment::After(kill_delay(k, Duration::from_millis(1_500), Duration::from_millis(3_500))), || spawn(&moto, &args));
    assert_eq!(killed.kills, 20, "{killed:?}");
    let seen = killed.rows;
    writer.await.unwrap();
    assert!(seen.iter().any(|n| *n > 0 && *n < expected), "no kill landed mid-stream: {seen:?} of {expected}");
    let last = spawn(&moto, &args);
    wait_for_rows(&lake, expected, Duration::from_secs(240));
    sigterm(&last);
    finish(last);
    assert_eq!(counts(&lake), (expected, expected, expected));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_emulator_means_waiting_then_going_on() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    let k = client(&moto).await;
    create_stream(&k, "paused", 2).await;
    let (lines, expected) = traffic(dir.path(), 20_000, 44);
    let records: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
    put(&k, "paused", &records[..10_000]).await;
    let lake = dir.path().join("lake").display().to_string();
    let child = spawn(&moto, &["ingest", "--from", "kinesis://paused", "--lake", &lake, "--follow", "--commit-interval", "500ms", "--quiet"]);
    std::thread::sleep(Duration::from_millis(1_500));
    // The emulator freezes mid-run for 8 s: calls hang, time out, retry.
    moto.signal("-STOP");
    std::thread::sleep(Duration::from_secs(8));
    moto.signal("-CONT");
    put(&k, "paused", &records[10_000..]).await;
    assert_eq!(wait_for_rows(&lake, expected, Duration::from_secs(180)), expected);
    sigterm(&child);
    finish(child);
    assert_eq!(counts(&lake), (expected, expected, expected));
}
