//! Two `--lease-table` workers sharing a stream through moto's DynamoDB
//! (one killed mid-stream, the other taking its shards over), and a shard
//! split on moto's Kinesis.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::{client, create_stream, put, spawn};
use crate::support::{authlake_env_ok, counts, finish, lake_rows, sigterm, traffic, wait_for_rows, Moto};

async fn dynamo(moto: &Moto) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&super::aws_conf(moto).await)
}

/// The lease table: shard → (owner, parents); empty until a worker made it.
async fn leases(d: &aws_sdk_dynamodb::Client, table: &str) -> BTreeMap<String, (Option<String>, Vec<String>)> {
    let Ok(out) = d.scan().table_name(table).consistent_read(true).send().await else { return BTreeMap::new() };
    let s = |v: Option<&AttributeValue>| v.and_then(|v| v.as_s().ok()).cloned();
    out.items()
        .iter()
        .map(|i| {
            let parents = match i.get("parentShardIds") {
                Some(AttributeValue::L(l)) => l.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
                _ => Vec::new(),
            };
            (s(i.get("leaseKey")).unwrap(), (s(i.get("leaseOwner")), parents))
        })
        .collect()
}

/// Leases held per owner process id.
fn per_owner(l: &BTreeMap<String, (Option<String>, Vec<String>)>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (owner, _) in l.values() {
        if let Some(o) = owner {
            *m.entry(o.rsplit('-').next().unwrap().to_string()).or_insert(0) += 1;
        }
    }
    m
}

/// Writer → the shards its commits moved.
fn commit_writers(lake: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(std::path::Path::new(lake).join("_delta_log")) else { return m };
    for e in dir.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "json")) {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let actions: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let Some(writer) = actions.iter().find_map(|a| a["commitInfo"]["authlake.writer"].as_str()) else { continue };
        // One txn per shard the commit moved (its sequence digits ride in
        // further txns named `<key>#...`).
        let shards = actions.iter().filter_map(|a| a["txn"]["appId"].as_str()).filter(|id| !id.contains('#'));
        m.entry(writer.to_string()).or_default().extend(shards.map(|id| id.trim_start_matches("authlake:").to_string()));
    }
    m
}

/// Polls `check` every 250 ms for up to `within`.
async fn eventually<T>(within: Duration, mut probe: impl AsyncFnMut() -> T, check: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + within;
    loop {
        let v = probe().await;
        if check(&v) || Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_share_the_shards_and_one_takes_over_when_the_other_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    let (k, d) = (client(&moto).await, dynamo(&moto).await);
    create_stream(&k, "shared", 4).await;
    let (lines, expected) = traffic(dir.path(), 60_000, 47);
    let records: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
    let lake = dir.path().join("lake").display().to_string();
    let args = ["ingest", "--from", "kinesis://shared", "--lake", &lake, "--follow", "--lease-table", "leases", "--lease-timeout", "3s", "--commit-interval", "1s", "--quiet"];
    put(&k, "shared", &records[..10_000]).await;
    let a = spawn(&moto, &args);
    let telemetry = dir.path().join("b.prom").display().to_string();
    let b = spawn(&moto, &[&args[..], &["--telemetry-file", &telemetry, "--telemetry-interval", "1s"]].concat());
    let (pa, pb) = (a.id().to_string(), b.id().to_string());
    // Records keep arriving while the workers balance.
    let streamed = records[10_000..40_000].to_vec();
    let writer = {
        let k = k.clone();
        tokio::spawn(async move {
            for part in streamed.chunks(2_000) {
                put(&k, "shared", part).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    // Each worker settles on two of the four shards, and commits from them.
    let split = eventually(Duration::from_secs(60), async || per_owner(&leases(&d, "leases").await), |m| m.get(&pa) == Some(&2) && m.get(&pb) == Some(&2)).await;
    assert_eq!((split.get(&pa), split.get(&pb)), (Some(&2), Some(&2)), "{split:?}");
    let writers = eventually(Duration::from_secs(60), async || commit_writers(&lake), |w| w.keys().any(|k| k.ends_with(&pa)) && w.keys().any(|k| k.ends_with(&pb))).await;
    assert!(writers.keys().any(|k| k.ends_with(&pa)) && writers.keys().any(|k| k.ends_with(&pb)), "both workers commit: {writers:?}");
    writer.await.unwrap();

    // a dies holding its leases: b takes them once they expire, no record
    // lost or doubled.
    let mut a = a;
    a.kill().unwrap();
    a.wait().unwrap();
    let (n, ids, _) = counts(&lake);
    assert_eq!(n, ids, "a duplicate after the kill");
    put(&k, "shared", &records[40_000..]).await;
    let owners = eventually(Duration::from_secs(60), async || per_owner(&leases(&d, "leases").await), |m| m.get(&pb) == Some(&4)).await;
    assert_eq!(owners.get(&pb), Some(&4), "b took a's leases: {owners:?}");
    assert_eq!(wait_for_rows(&lake, expected, Duration::from_secs(240)), expected);
    // b's telemetry: MillisBehindLatest per shard as the lag, counters.
    let text = std::fs::read_to_string(&telemetry).unwrap();
    assert!(text.contains("authlake_kinesis_consumer_lag_seconds{stream=\"shared\",shard=\"shardId-"), "{text}");
    assert!(text.contains("authlake_events_ingested_total ") && text.contains("authlake_dead_letters_total 0"), "{text}");
    sigterm(&b);
    finish(b);
    assert_eq!(counts(&lake), (expected, expected, expected));
    // b committed from every shard; its clean stop released the leases.
    let writers = commit_writers(&lake);
    let of_b = writers.iter().find(|(w, _)| w.ends_with(&pb)).map(|(_, s)| s.len());
    assert_eq!(of_b, Some(4), "{writers:?}");
    assert!(leases(&d, "leases").await.values().all(|(o, _)| o.is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_shard_is_read_once_and_its_children_get_leases_naming_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    let (k, d) = (client(&moto).await, dynamo(&moto).await);
    create_stream(&k, "split", 1).await;
    let (lines, expected) = traffic(dir.path(), 2_000, 48);
    let records: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
    put(&k, "split", &records[..1_000]).await;
    k.split_shard()
        .stream_name("split")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .expect("split shard");
    // moto keeps routing to the (closed) parent; AWS would use the children.
    put(&k, "split", &records[1_000..]).await;
    let listed = k.list_shards().stream_name("split").send().await.unwrap();
    assert_eq!(listed.shards().len(), 3);
    let lake = dir.path().join("lake").display().to_string();
    let backfill = ["ingest", "--from", "kinesis://split", "--lake", &lake, "--quiet"];
    let out = authlake_env_ok(&backfill, &moto.env());
    assert!(out.contains(&format!("ingested {expected} events")), "{out}");
    assert_eq!(counts(&lake), (expected, expected, expected));

    // A lease worker on the split stream: one lease per shard, children
    // naming their parent, nothing read twice.
    let args = ["ingest", "--from", "kinesis://split", "--lake", &lake, "--follow", "--lease-table", "split-leases", "--lease-timeout", "2s", "--quiet"];
    let w = spawn(&moto, &args);
    let table = eventually(Duration::from_secs(60), async || leases(&d, "split-leases").await, |t| t.get("shardId-000000000000").is_some_and(|(o, _)| o.is_some())).await;
    sigterm(&w);
    finish(w);
    assert_eq!(table.len(), 3, "{table:?}");
    for child in ["shardId-000000000001", "shardId-000000000002"] {
        assert_eq!(table[child].1, ["shardId-000000000000"], "{table:?}");
    }
    assert_eq!(lake_rows(&lake), expected);
}
