//! The reader over a fake Kinesis: lineage order, expired iterators,
//! throttling, resuming from the lake's positions.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use authlake_ingest::decode::Defaults;
use authlake_lake::Checkpoint;
use arrow::array::AsArray;
use authlake_ingest::source::ordered::OrderedSender;
use authlake_ingest::SourceEvent;
use tokio::sync::mpsc;

use crate::api::StartFrom;
use crate::fake::FakeKinesis;
use crate::lineage::Shard;
use crate::reader::{read, ReadOptions};

fn shard(id: &str, parent: Option<&str>, closed: bool) -> Shard {
    Shard { id: id.into(), parent: parent.map(Into::into), adjacent_parent: None, closed }
}

fn event(n: usize) -> Vec<u8> {
    format!(r#"{{"event_id":"e{n}","event_time":"2026-11-20T10:00:00Z","event_type":"sign_in","outcome":"success","user_pool_id":"us-east-1_P","username":"u{n}"}}"#).into_bytes()
}

/// Parent 0 split into 1 and 2; 100 records in each.
fn split_stream() -> FakeKinesis {
    let mut records = BTreeMap::new();
    for (s, base) in [("shardId-000", 0), ("shardId-001", 1000), ("shardId-002", 2000)] {
        records.insert(s.to_string(), (base..base + 100).map(event).collect());
    }
    FakeKinesis {
        shards: vec![shard("shardId-001", Some("shardId-000"), false), shard("shardId-000", None, true), shard("shardId-002", Some("shardId-000"), false)],
        records: records.into(),
        page: 30,
        ..Default::default()
    }
}

/// Reads to the tips; returns event ids in arrival order and the last positions.
async fn backfill(api: &FakeKinesis, start: &BTreeMap<String, Checkpoint>) -> (Vec<String>, BTreeMap<String, Checkpoint>) {
    let opts = ReadOptions {
        stream: "auth".into(),
        start: StartFrom::TrimHorizon,
        follow: false,
        telemetry_interval: Duration::from_secs(3600),
        telemetry_file: None,
        progress: Default::default(),
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let sender = OrderedSender::new(tokio::runtime::Handle::current(), tx, 4);
    read(api, &opts, start, &Defaults::default(), &sender, &mut crate::reader::Ownership::Every).await.unwrap();
    drop(sender);
    let (mut ids, mut positions) = (Vec::new(), start.clone());
    while let Some(SourceEvent::Chunk(c)) = rx.recv().await {
        for (_, b) in &c.decoded.batches {
            ids.extend(b.column_by_name("event_id").unwrap().as_string::<i32>().iter().map(|v| v.unwrap().to_string()));
        }
        positions.extend(c.positions);
    }
    (ids, positions)
}

#[tokio::test]
async fn parents_before_children_each_record_once_despite_faults() {
    let mut api = split_stream();
    api.expire_calls = HashSet::from([2, 7]);
    api.throttle_calls = HashSet::from([3, 4, 5, 9]);
    let (ids, positions) = backfill(&api, &BTreeMap::new()).await;
    assert_eq!(ids.len(), 300);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 300, "a record read twice");
    let n: Vec<u32> = ids.iter().map(|id| id[1..].parse().unwrap()).collect();
    let first_child = n.iter().position(|i| *i >= 1000).unwrap();
    let last_parent = n.iter().rposition(|i| *i < 1000).unwrap();
    assert!(last_parent < first_child, "a child record came before the parent was drained");
    assert_eq!(positions["kinesis:auth/shardId-002"].sequence.as_deref(), Some("002000000000099"));
}

#[tokio::test]
async fn a_restart_resumes_after_the_lake_positions() {
    let api = split_stream();
    let (_, positions) = backfill(&api, &BTreeMap::new()).await;
    for s in ["shardId-001", "shardId-002"] {
        api.records.lock().unwrap().get_mut(s).unwrap().push(event(if s.ends_with('1') { 1100 } else { 2100 }));
    }
    let (ids, _) = backfill(&api, &positions).await;
    assert_eq!(ids, vec!["e1100".to_string(), "e2100".to_string()]);
}
