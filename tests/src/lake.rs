//! Files → lake → SQL: the whole path, through the library and the CLI.

use authlake_ingest::decode::Defaults;
use serde_json::json;

use crate::golden::decode_fixture;
use crate::support::{authlake, authlake_ok, fixture_files, fixtures, ingest, partition_files, query_json, walk};

fn expected_totals() -> (u64, u64, u64) {
    let mut totals = (0, 0, 0);
    for p in fixture_files() {
        let g = decode_fixture(&p);
        totals.0 += g["events"].as_array().unwrap().len() as u64;
        totals.1 += g["dead_letters"].as_array().unwrap().len() as u64;
        totals.2 += g["skipped"].as_u64().unwrap();
    }
    totals
}

#[tokio::test]
async fn fixtures_ingest_once_and_rerun_adds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let src = format!("file://{}", fixtures().display());
    let defaults = Defaults { user_pool_id: Some("us-west-2_EXAMPLE".into()), ..Default::default() };
    let (events, dead, skipped) = expected_totals();
    let first = ingest(&lake, &src, defaults.clone()).await;
    // Three of AWS's documentation examples are in fixtures/ and again in
    // its real-record corpus (fixtures/real/): the same events, kept once.
    assert_eq!(first.duplicates, 3);
    let events = events - first.duplicates;
    assert_eq!((first.events, first.dead_letters, first.skipped), (events, dead, skipped));
    assert!(first.commits >= 1 && first.files >= 2);

    let again = ingest(&lake, &src, defaults).await;
    assert_eq!((again.events, again.dead_letters, again.commits, again.files), (0, 0, 0, 0));

    let rows = query_json(&lake, "SELECT COUNT(*) AS n, COUNT(DISTINCT source) AS s FROM events").await;
    assert_eq!(rows, vec![json!({"n": events, "s": events})]);
    let dl = query_json(&lake, "SELECT COUNT(*) AS n FROM dead_letters").await;
    assert_eq!(dl, vec![json!({"n": dead})]);
    // Nothing uncommitted is left; the table's files live only in
    // partition directories.
    assert!(crate::support::uncommitted_files(&lake).is_empty());
    for f in partition_files(&lake) {
        let rel = f.strip_prefix(&lake).unwrap().to_string_lossy().to_string();
        let parts: Vec<&str> = rel.split('/').collect();
        assert_eq!(parts.len(), 3, "{rel}");
        assert!(parts[0].starts_with("category=") && parts[1].starts_with("event_date="), "{rel}");
    }
}

#[tokio::test]
async fn query_returns_documented_columns_and_prunes_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    ingest(&lake, &format!("file://{}", fixtures().display()), Defaults::default()).await;
    let rows = query_json(
        &lake,
        "SELECT event_id, event_type, outcome, category, event_date, mfa_method, mfa_passed, challenge_name, aws_region, user_sub
         FROM events WHERE event_id IN ('ct-mfa-ok', 'ct-throttled') ORDER BY event_id",
    )
    .await;
    assert_eq!(
        rows,
        vec![
            json!({"event_id": "ct-mfa-ok", "event_type": "mfa_response", "outcome": "success", "category": "auth",
                   "event_date": "2025-10-09", "mfa_method": "sms", "mfa_passed": true, "challenge_name": "SMS_MFA",
                   "aws_region": "ap-northeast-1", "user_sub": "87a42a58-6051-7076-79e2-fe9208b6ae3c"}),
            json!({"event_id": "ct-throttled", "event_type": "sign_in", "outcome": "throttled", "category": "auth",
                   "event_date": "2025-10-09", "aws_region": "ap-northeast-1", "user_sub": "87a42a58-6051-7076-79e2-fe9208b6ae3c",
                   "challenge_name": null, "mfa_method": null, "mfa_passed": null}),
        ]
    );
    // Partition pruning: a category filter reads only that category's files.
    let plan = query_json(&lake, "EXPLAIN SELECT event_id FROM events WHERE category = 'migration' AND event_date = DATE '2026-11-26'").await;
    let text = plan.iter().map(|r| r["plan"].as_str().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    assert!(text.contains("category=migration/event_date=2026-11-26"), "{text}");
    assert!(!text.contains("category=auth"), "{text}");
    let n = query_json(&lake, "SELECT COUNT(*) AS n FROM events WHERE category = 'migration' AND event_date = DATE '2026-11-26'").await;
    assert_eq!(n, vec![json!({"n": 1})]);
}

#[test]
fn cli_ingest_and_query_speak_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let lake_s = lake.display().to_string();
    let src = format!("file://{}/cloudtrail", fixtures().display());
    let out = authlake_ok(&["ingest", "--from", &src, "--lake", &lake_s]);
    assert!(out.starts_with("ingested 15 events, 0 dead letters, 2 skipped"), "{out}");
    let again = authlake_ok(&["ingest", "--from", &src, "--lake", &lake_s]);
    assert!(again.starts_with("ingested 0 events"), "{again}");

    let json_out = authlake_ok(&["query", "--lake", &lake_s, "--format", "json", "SELECT event_type, COUNT(*) AS n FROM events WHERE event_type = 'bulk_import' GROUP BY event_type"]);
    let v: serde_json::Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(v, json!([{"event_type": "bulk_import", "n": 1}]));
    let csv = authlake_ok(&["query", "--lake", &lake_s, "--format", "csv", "SELECT event_id FROM events WHERE event_id = 'ct-link'"]);
    assert_eq!(csv, "event_id\nct-link\n");
    let table = authlake_ok(&["query", "--lake", &lake_s, "SELECT COUNT(*) AS n FROM events"]);
    assert!(table.contains("| 15 |"), "{table}");

    for bad in [
        vec!["ingest", "--from", "file:///no/such/dir", "--lake", lake_s.as_str()],
        vec!["query", "--lake", "/no/such/lake", "SELECT 1"],
        vec!["query", "--lake", lake_s.as_str(), "SELECT nope FROM events"],
        vec!["ingest", "--lake", lake_s.as_str()],
    ] {
        let out = authlake(&bad);
        assert!(!out.status.success(), "{bad:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("authlake: "), "{bad:?}: {err}");
    }
}

#[tokio::test]
async fn hostile_values_never_leave_their_partition_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("hostile.ndjson");
    let lake = tmp.path().join("lake");
    let lines = [
        json!({"event_id": "h1", "event_type": "sign_in", "category": "../../x", "event_time": "2026-11-27T00:00:00Z"}),
        json!({"event_id": "h2", "event_type": "../../evil", "event_time": "2026-11-27T00:00:00Z"}),
        json!({"event_id": "h3", "event_type": "sign_in", "event_time": "2026-11-27T00:00:00Z", "username": "../../x", "tenant_id": "a/b", "user_pool_id": "category=evil"}),
        json!({"event_id": "h4", "event_type": "sign_in", "event_time": "9999-12-31T23:59:59Z"}),
        json!({"event_id": "h5", "event_type": "sign_in", "event_time": "1970-01-01T00:00:00Z"}),
        json!({"event_id": "h6", "event_type": "other", "event_time": "2026-11-27T00:00:00Z", "event_date": "../../../etc"}),
    ];
    std::fs::write(&input, lines.iter().map(|l| l.to_string() + "\n").collect::<String>()).unwrap();
    let s = ingest(&lake, &format!("file://{}", input.display()), Defaults::default()).await;
    assert_eq!((s.events, s.dead_letters), (4, 2));
    for f in walk(tmp.path()) {
        assert!(f.starts_with(&lake) || f == input, "{} escaped the lake", f.display());
    }
    let dirs: Vec<String> = partition_files(&lake)
        .iter()
        .map(|f| f.parent().unwrap().strip_prefix(&lake).unwrap().display().to_string())
        .collect();
    let mut dirs_sorted = dirs.clone();
    dirs_sorted.sort();
    dirs_sorted.dedup();
    assert_eq!(
        dirs_sorted,
        vec!["category=auth/event_date=1970-01-01", "category=auth/event_date=2026-11-27", "category=auth/event_date=9999-12-31", "category=other/event_date=2026-11-27"]
    );
    let rows = query_json(&lake, "SELECT username, tenant_id, user_pool_id FROM events WHERE event_id = 'h3'").await;
    assert_eq!(rows, vec![json!({"username": "../../x", "tenant_id": "a/b", "user_pool_id": "category=evil"})]);
}

#[test]
fn queries_are_read_only_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let lake_s = lake.display().to_string();
    authlake_ok(&["ingest", "--from", &format!("file://{}/canonical", fixtures().display()), "--lake", &lake_s]);
    let target = tmp.path().join("copied.csv");
    let copy = format!("COPY (SELECT * FROM events) TO '{}' STORED AS CSV", target.display());
    for sql in [
        copy.as_str(),
        "CREATE EXTERNAL TABLE pw STORED AS CSV LOCATION '/etc/passwd'",
        "INSERT INTO events SELECT * FROM events",
        "DROP TABLE events",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let out = authlake(&["query", "--lake", &lake_s, sql]);
        assert!(!out.status.success(), "{sql} ran");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("read-only") && err.lines().count() == 1, "{sql}: {err}");
    }
    assert!(!target.exists());
    authlake_ok(&["query", "--lake", &lake_s, "--allow-writes", &copy]);
    assert!(std::fs::read_to_string(&target).unwrap().contains("can-1"));
    // --allow-writes still never writes to the lake: no INSERT, no DDL,
    // no COPY into it (however the path is spelled), and nothing left behind.
    let before = walk(&lake);
    let inside = format!("COPY (SELECT * FROM events) TO '{}/category=auth/event_date=2025-01-01/x.parquet'", lake.display());
    let sneaky = format!("COPY (SELECT * FROM events) TO '{}/../lake/y.csv' STORED AS CSV", lake.display());
    for sql in [
        inside.as_str(),
        sneaky.as_str(),
        "INSERT INTO events SELECT * FROM events",
        "CREATE TABLE t AS SELECT 1",
        "CREATE EXTERNAL TABLE pw STORED AS CSV LOCATION '/etc/passwd'",
        "DROP TABLE events",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let out = authlake(&["query", "--lake", &lake_s, "--allow-writes", sql]);
        assert!(!out.status.success(), "{sql} ran with --allow-writes");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("refused") && err.lines().count() == 1, "{sql}: {err}");
    }
    assert_eq!(walk(&lake), before, "a refused write left a file in the lake");
}
