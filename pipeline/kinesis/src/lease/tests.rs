//! Lease planning with an explicit clock, and two lease loops sharing an
//! in-memory table.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::fake::FakeLeases;
use super::plan::{ready, Planner, Take};
use super::*;
use crate::fake::FakeKinesis;
use crate::lineage::Shard;

const T: Duration = Duration::from_secs(10);

fn lease(key: &str, owner: Option<&str>, counter: u64) -> Lease {
    Lease { key: key.into(), owner: owner.map(Into::into), counter, parents: Vec::new(), finished: false }
}

fn keys(takes: &[Take]) -> Vec<&str> {
    takes.iter().map(|t| t.key.as_str()).collect()
}

#[test]
fn a_lone_worker_takes_every_unowned_lease() {
    let leases: Vec<Lease> = (0..4).map(|i| lease(&format!("s{i}"), None, 0)).collect();
    let mut p = Planner::default();
    let now = Instant::now();
    p.observe(&leases, now);
    assert_eq!(keys(&p.plan(&leases, "a", &BTreeSet::new(), T, now)), ["s0", "s1", "s2", "s3"]);
}

#[test]
fn a_live_workers_leases_are_left_until_they_expire() {
    let leases: Vec<Lease> = (0..4).map(|i| lease(&format!("s{i}"), Some("a"), 5)).collect();
    let mut p = Planner::default();
    let t0 = Instant::now();
    p.observe(&leases, t0);
    // b's share is 2 of 4; nothing is free, so it steals one (and only one).
    let takes = p.plan(&leases, "b", &BTreeSet::new(), T, t0);
    assert_eq!(takes.len(), 1);
    assert!(takes[0].stolen);
    // a renews (counters move): still alive after the timeout.
    let renewed: Vec<Lease> = (0..4).map(|i| lease(&format!("s{i}"), Some("a"), 6)).collect();
    p.observe(&renewed, t0 + T / 2);
    let takes = p.plan(&renewed, "b", &BTreeSet::new(), T, t0 + T);
    assert!(takes.iter().all(|t| t.stolen) && takes.len() == 1, "{takes:?}");
    // a stops renewing: once a whole timeout passed unchanged, all are free.
    let takes = p.plan(&renewed, "b", &BTreeSet::new(), T, t0 + T / 2 + T);
    assert_eq!(keys(&takes), ["s0", "s1", "s2", "s3"]);
    assert!(takes.iter().all(|t| !t.stolen && t.counter == 6));
}

#[test]
fn shares_settle_without_swinging() {
    // 3 shards, 2 workers: a holds 2, b holds 1: nobody moves.
    let leases = vec![lease("s0", Some("a"), 1), lease("s1", Some("a"), 1), lease("s2", Some("b"), 1)];
    let mut p = Planner::default();
    let now = Instant::now();
    p.observe(&leases, now);
    let held_b: BTreeSet<String> = ["s2".to_string()].into();
    assert!(p.plan(&leases, "b", &held_b, T, now).is_empty());
    let held_a: BTreeSet<String> = ["s0".to_string(), "s1".to_string()].into();
    assert!(p.plan(&leases, "a", &held_a, T, now).is_empty());
}

#[test]
fn children_wait_for_finished_parents() {
    let mut parent = lease("s0", None, 3);
    let mut child = lease("s1", None, 0);
    child.parents = vec!["s0".into()];
    let mut orphan = lease("s2", None, 0);
    orphan.parents = vec!["aged-out".into()];
    let leases = vec![parent.clone(), child.clone(), orphan.clone()];
    let r: Vec<&str> = ready(&leases).iter().map(|l| l.key.as_str()).collect();
    assert_eq!(r, ["s0", "s2"]);
    parent.finished = true;
    let leases = vec![parent, child, orphan];
    let r: Vec<&str> = ready(&leases).iter().map(|l| l.key.as_str()).collect();
    assert_eq!(r, ["s1", "s2"]);
}

fn stream(n: usize) -> Arc<FakeKinesis> {
    let shards = (0..n).map(|i| Shard { id: format!("shardId-{i:03}"), parent: None, adjacent_parent: None, closed: false }).collect();
    Arc::new(FakeKinesis { shards, ..Default::default() })
}

fn opts(owner: &str) -> LeaseOptions {
    LeaseOptions { table: "t".into(), owner: owner.into(), timeout: Duration::from_millis(600) }
}

/// Waits (up to 20 s) until `check` holds for the owned sets.
async fn settle(handles: &mut [&mut LeaseHandle], check: impl Fn(&[BTreeSet<String>]) -> bool) -> Vec<BTreeSet<String>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let owned: Vec<BTreeSet<String>> = handles.iter_mut().map(|h| h.owned()).collect();
        if check(&owned) || Instant::now() > deadline {
            return owned;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_split_the_shards_and_one_takes_over_when_the_other_dies() {
    let table = Arc::new(FakeLeases::default());
    let api = stream(4);
    let (wa, mut ha) = LeaseWorker::start(table.clone(), api.clone(), "s".into(), opts("a"), watch::channel(false).1).await.unwrap();
    let owned = settle(&mut [&mut ha], |o| o[0].len() == 4).await;
    assert_eq!(owned[0].len(), 4, "a alone owns every shard");

    let (wb, mut hb) = LeaseWorker::start(table.clone(), api.clone(), "s".into(), opts("b"), watch::channel(false).1).await.unwrap();
    let owned = settle(&mut [&mut ha, &mut hb], |o| o[0].len() == 2 && o[1].len() == 2).await;
    assert_eq!((owned[0].len(), owned[1].len()), (2, 2), "b stole its share: {owned:?}");
    assert!(owned[0].is_disjoint(&owned[1]));

    // a dies without releasing: b takes its leases once they expire.
    wa.abort();
    let owned = settle(&mut [&mut hb], |o| o[0].len() == 4).await;
    assert_eq!(owned[0].len(), 4, "b took over a's leases: {owned:?}");

    // A finished shard is never handed out again.
    hb.finished("shardId-000");
    let owned = settle(&mut [&mut hb], |o| o[0].len() == 3).await;
    assert!(!owned[0].contains("shardId-000"));
    assert!(table.items.lock().unwrap()["shardId-000"].finished);

    // A clean stop releases: the leases are unowned at once.
    wb.stop().await;
    assert!(table.items.lock().unwrap().values().all(|l| l.owner.is_none()));
}
