//! SIGKILL at 20 pseudo-random moments during a file ingest, restart, and
//! every input record is in the lake exactly once, with no orphan files;
//! between kills the lake reads cleanly (authlake and DuckDB).

use std::process::{Command, Stdio};
use std::time::Duration;

use authlake_generator::{generate, Format, Params};
use serde_json::json;

use crate::crash_loop::{crash_loop, kill_delay, Moment};
use crate::support::{authlake_bin, ingest, query_json, uncommitted_files};

#[tokio::test(flavor = "multi_thread")]
async fn killed_and_restarted_ingest_leaves_each_record_once() {
    const EVENTS: u64 = 1_000_000;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("traffic.ndjson");
    let params = Params { events: EVENTS, days: 20, seed: 9, end_ms: 1_764_201_600_000, format: Format::Mixed, threads: 2, incidents: true };
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
    let lake_s = lake.display().to_string();
    let spawn = || Command::new(authlake_bin()).args(args(&[])).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Even starts die at a moment that may precede the first commit; odd
    // ones up to 400 ms after a commit, mid-write or mid-commit.
    let moment = |k: u64| {
        if k.is_multiple_of(2) {
            Moment::After(kill_delay(k, Duration::from_millis(150), Duration::from_millis(650)))
        } else {
            Moment::AfterCommit(kill_delay(k, Duration::ZERO, Duration::from_millis(400)))
        }
    };
    let seen = crash_loop(&lake_s, 20, moment, spawn);
    assert!(seen.kills >= 20, "the ingest finished before it could be killed 20 times: {seen:?}");
    assert!(seen.rows.iter().any(|n| *n > 0), "no commit landed between kills: {seen:?}");
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

    // No orphans: the last run's recovery removed the files the killed
    // runs wrote and never committed.
    assert!(uncommitted_files(&lake).is_empty(), "{:?}", uncommitted_files(&lake));
}
