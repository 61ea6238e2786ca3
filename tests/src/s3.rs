//! The lake on S3 (moto): the same rows as a local lake, commits that are
//! create-if-absent so racing writers (in one process or two) never
//! overwrite each other, and writers killed mid-upload leave nothing a
//! reader sees.

use std::collections::BTreeMap;

use std::process::{Command, Stdio};

use authlake_lake::positions::Shape;
use authlake_lake::{CommitLog, Operation};
use authlake_lake::LakeError;
use authlake_lake::Checkpoint;
use authlake_lake::Lake;

use crate::support::{authlake_bin, authlake_env_ok, authlake_ok, fixtures, position_commit, python, traffic, Moto};

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
    // Three writers read the lake before it has a table...
    let mut first = CommitLog::load(&lake).await.unwrap();
    let mut second = CommitLog::load(&lake).await.unwrap();
    let mut third = CommitLog::load(&lake).await.unwrap();
    let expect_none = |k: &str| BTreeMap::from([(k.to_string(), None::<Checkpoint>)]);
    // ...the first creates it (version 0) and commits 1; the second finds
    // it created and takes 2 (conditional puts on S3, no lock table).
    let a = first.commit(position_commit("file:a", 10), &expect_none("file:a"), Operation::Ingest).await.unwrap();
    let b = second.commit(position_commit("file:b", 20), &expect_none("file:b"), Operation::Ingest).await.unwrap();
    assert_eq!((a.version, b.version), (1, 2));
    // A third writer that read `file:a` from the start conflicts: its
    // records are already committed by the first.
    let err = third.commit(position_commit("file:a", 10), &expect_none("file:a"), Operation::Ingest).await.unwrap_err();
    assert!(matches!(err, LakeError::PositionConflict { .. }), "{err}");
    let mut log = CommitLog::load(&lake).await.unwrap();
    assert_eq!(log.state.latest, Some(2));
    let keys = ["file:a".to_string(), "file:b".to_string()];
    let read = log.positions(&keys, Shape::Offset).await.unwrap();
    assert_eq!(read, BTreeMap::from([(keys[0].clone(), Checkpoint::offset(10)), (keys[1].clone(), Checkpoint::offset(20))]));
}


#[test]
fn two_processes_ingesting_into_one_s3_lake_keep_every_commit() {
    let moto = Moto::start();
    moto.create_bucket("shared");
    let env = moto.env();
    let dir = tempfile::tempdir().unwrap();
    let (_, rows_a) = traffic(dir.path(), 20_000, 71);
    let (_, rows_b) = traffic(dir.path(), 20_000, 72);
    let lake = "s3://shared/lake";
    let ingest = |seed: u64| {
        let input = format!("file://{}", dir.path().join(format!("traffic-{seed}.ndjson")).display());
        let args = ["ingest", "--from", &input, "--lake", lake, "--commit-interval", "50ms", "--target-file-size", "256KiB", "--quiet"];
        Command::new(authlake_bin()).args(args).envs(env.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    };
    // Both commit small batches at the same time, racing for each number.
    let (a, b) = (ingest(71), ingest(72));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let n = rows_a + rows_b;
    let q = |sql: &str| authlake_env_ok(&["query", "--lake", lake, "--format", "csv", sql], &env);
    assert_eq!(q("SELECT COUNT(*) AS n, COUNT(DISTINCT source) AS s FROM events"), format!("n,s\n{n},{n}\n"));
    // The Delta log's versions run 0..k without a hole, both writers
    // among their commits.
    let listing = python(&format!(
        "import boto3, json\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n\
         keys = sorted(o['Key'] for o in s3.list_objects_v2(Bucket='shared', Prefix='lake/_delta_log/')['Contents'] if o['Key'].endswith('.json'))\n\
         def writer(k):\n    lines = s3.get_object(Bucket='shared', Key=k)['Body'].read().decode().splitlines()\n    info = [json.loads(l)['commitInfo'] for l in lines if 'commitInfo' in l]\n    return info[0].get('authlake.writer', '') if info else ''\n\
         print(json.dumps([[k.split('/')[-1][:20], writer(k)] for k in keys]))",
        moto.endpoint
    ));
    let commits: Vec<(String, String)> = serde_json::from_str(&listing).unwrap();
    for (i, (number, _)) in commits.iter().enumerate() {
        assert_eq!(number.parse::<usize>().unwrap(), i, "{commits:?}");
    }
    let writers: std::collections::BTreeSet<&str> = commits.iter().map(|(_, w)| w.as_str()).filter(|w| !w.is_empty()).collect();
    assert_eq!(writers.len(), 2, "{writers:?}");
}

#[test]
fn a_writer_killed_mid_upload_leaves_nothing_a_reader_sees() {
    let moto = Moto::start();
    moto.create_bucket("kills");
    let env = moto.env();
    let dir = tempfile::tempdir().unwrap();
    let (_, rows) = traffic(dir.path(), 60_000, 73);
    let input = format!("file://{}", dir.path().join("traffic-73.ndjson").display());
    let lake = "s3://kills/lake";
    let args = ["ingest", "--from", &input, "--lake", lake, "--commit-interval", "200ms", "--target-file-size", "1MiB", "--quiet"];
    let spawn = || Command::new(authlake_bin()).args(args).envs(env.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let count = || -> Vec<u64> {
        let out = authlake_env_ok(&["query", "--lake", lake, "--format", "csv", "SELECT COUNT(*) AS n, COUNT(DISTINCT source) AS s FROM events"], &env);
        out.lines().nth(1).unwrap().split(',').map(|v| v.parse().unwrap()).collect()
    };
    let mut seen = Vec::new();
    for k in 0..8u64 {
        let mut child = spawn();
        std::thread::sleep(crate::crash_loop::kill_delay(k, std::time::Duration::from_millis(400), std::time::Duration::from_millis(1_500)));
        let _ = child.kill();
        child.wait().unwrap();
        // Whatever was being uploaded, a reader sees committed rows only, once.
        let c = count();
        assert_eq!(c[0], c[1], "a duplicate after kill {k}");
        seen.push(c[0]);
    }
    assert!(seen.iter().any(|n| *n > 0 && *n < rows), "no kill landed mid-ingest: {seen:?} of {rows}");
    authlake_env_ok(&args, &env);
    assert_eq!(count(), vec![rows, rows]);
}
