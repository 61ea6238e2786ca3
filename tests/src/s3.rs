//! The lake on S3 (moto): the same rows as a local lake, and commits that
//! are create-if-absent so racing writers never overwrite each other.

use std::collections::BTreeMap;

use authlake_ingest::lake::commit::{Commit, CommitLog};
use authlake_ingest::lake::LakeError;
use authlake_ingest::source::Checkpoint;
use authlake_ingest::Lake;

use crate::support::{authlake_env_ok, authlake_ok, fixtures, Moto};

#[test]
fn s3_lake_gives_the_same_rows_as_a_local_lake() {
    let moto = Moto::start();
    moto.create_bucket("authlake-test");
    let env = moto.env();
    let src = format!("file://{}", fixtures().display());
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("lake").display().to_string();
    let s3 = "s3://authlake-test/prod/lake";

    let local_summary = authlake_ok(&["ingest", "--from", &src, "--lake", &local]);
    let s3_summary = authlake_env_ok(&["ingest", "--from", &src, "--lake", s3], &env);
    let head = |s: &str| s.split(" files").next().unwrap().to_string();
    assert_eq!(head(&local_summary), head(&s3_summary));
    let again = authlake_env_ok(&["ingest", "--from", &src, "--lake", s3], &env);
    assert!(again.starts_with("ingested 0 events"), "{again}");

    let sql = "SELECT event_id, event_type, outcome, category, event_date, username, user_sub, source FROM events ORDER BY source";
    let a = authlake_ok(&["query", "--lake", &local, "--format", "json", sql]);
    let b = authlake_env_ok(&["query", "--lake", s3, "--format", "json", sql], &env);
    assert!(a.len() > 1000);
    assert_eq!(a, b);
    let dl = "SELECT source, reason FROM dead_letters ORDER BY source";
    assert_eq!(authlake_ok(&["query", "--lake", &local, "--format", "csv", dl]), authlake_env_ok(&["query", "--lake", s3, "--format", "csv", dl], &env));
}

fn draft(key: &str, offset: u64) -> Commit {
    Commit {
        version: 0,
        schema_version: 0,
        writer: format!("w-{key}"),
        operation: "ingest".into(),
        committed_at: String::new(),
        add: vec![],
        remove: vec![],
        positions: BTreeMap::from([(key.to_string(), Checkpoint::offset(offset))]),
        stats: Default::default(),
        gaps: Vec::new(),
    }
}

#[tokio::test]
async fn racing_writers_take_distinct_commit_numbers_on_s3() {
    let moto = Moto::start();
    moto.create_bucket("race");
    for (k, v) in moto.env() {
        // The object store reads AWS settings from the environment; no other
        // test in this binary reads these variables.
        std::env::set_var(k, v);
    }
    let lake = Lake::open("s3://race/lake", true).unwrap();
    // Both writers read the log when it is empty...
    let mut first = CommitLog::load(&lake).await.unwrap();
    let mut second = CommitLog::load(&lake).await.unwrap();
    let mut third = CommitLog::load(&lake).await.unwrap();
    let expect_none = |k: &str| BTreeMap::from([(k.to_string(), None::<Checkpoint>)]);
    // ...both try commit 0: one wins, the other re-reads and takes 1.
    let a = first.commit(draft("file:a", 10), &expect_none("file:a"), |_, _| {}).await.unwrap();
    let b = second.commit(draft("file:b", 20), &expect_none("file:b"), |_, _| {}).await.unwrap();
    assert_eq!((a.version, b.version), (0, 1));
    // A third writer that read `file:a` from the start conflicts: its
    // records are already committed by the first.
    let err = third.commit(draft("file:a", 10), &expect_none("file:a"), |_, _| {}).await.unwrap_err();
    assert!(matches!(err, LakeError::PositionConflict { .. }), "{err}");
    let log = CommitLog::load(&lake).await.unwrap();
    assert_eq!(log.state.latest, Some(1));
    assert_eq!(log.state.positions.get("file:b"), Some(&Checkpoint::offset(20)));
}

