//! SIGKILL at random moments during an ingest, restart, and every input
//! record is in the lake exactly once, with no orphan files.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use authlake_generator::{generate, Format, Params};
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::support::{authlake_bin, ingest, partition_files, query_json, walk};

#[tokio::test(flavor = "multi_thread")]
async fn killed_and_restarted_ingest_leaves_each_record_once() {
    const EVENTS: u64 = 300_000;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("traffic.ndjson");
    let params = Params { events: EVENTS, days: 20, seed: 9, end_ms: 1_764_201_600_000, format: Format::Mixed, threads: 2 };
    generate(&params, &mut std::fs::File::create(&input).unwrap(), &mut |_| {}).unwrap();
    let lake = tmp.path().join("lake");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "ingest".to_string(),
            "--from".into(),
            format!("file://{}", input.display()),
            "--lake".into(),
            lake.display().to_string(),
            "--commit-interval".into(),
            "150ms".into(),
            "--target-file-size".into(),
            "512KiB".into(),
            "--quiet".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut kills = 0;
    for _ in 0..8 {
        let mut child = Command::new(authlake_bin()).args(args(&[])).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..700))).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 5, "the ingest finished before it could be killed often enough ({kills} kills)");
    let out = Command::new(authlake_bin()).args(args(&[])).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The same input ingested without interruption is the reference.
    let reference = tmp.path().join("reference");
    let clean = ingest(&reference, &format!("file://{}", input.display()), Default::default()).await;
    assert_eq!(clean.payloads, EVENTS);
    let n = clean.events;
    let rows = query_json(&lake, "SELECT COUNT(*) AS n, COUNT(DISTINCT source) AS s, COUNT(DISTINCT event_id) AS ids FROM events").await;
    assert_eq!(rows, vec![json!({"n": n, "s": n, "ids": n})]);
    let dead = query_json(&lake, "SELECT COUNT(*) AS n FROM dead_letters").await;
    assert_eq!(dead, vec![json!({"n": 0})]);

    // No orphans: the partition directories hold exactly the committed files.
    let mut live = BTreeSet::new();
    for c in walk(&lake.join("_authlake/commits")) {
        let commit: serde_json::Value = serde_json::from_slice(&std::fs::read(&c).unwrap()).unwrap();
        for a in commit["add"].as_array().unwrap() {
            if a["table"] == "events" {
                live.insert(lake.join(a["path"].as_str().unwrap()));
            }
        }
    }
    let on_disk: BTreeSet<_> = partition_files(&lake).into_iter().collect();
    assert_eq!(on_disk, live);
    assert!(walk(&lake.join("_authlake/staging")).iter().all(|p| p.to_string_lossy().contains('#')), "orphan staging files left");
}
