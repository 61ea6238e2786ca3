//! DuckDB reads the snapshot's files (the Delta log read by Python
//! `deltalake`) with Hive partitioning and sees the same rows as authlake's own queries.

use authlake_generator::{generate, Format, Params};
use serde_json::{json, Value};

use crate::support::{duckdb, fixtures, ingest, query_json};

#[tokio::test]
async fn duckdb_sees_the_same_table() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("traffic.ndjson");
    let params = Params { events: 20_000, days: 10, seed: 3, end_ms: 1_764_201_600_000, format: Format::Mixed, threads: 2, incidents: true };
    generate(&params, &mut std::fs::File::create(&input).unwrap(), &mut |_| {}).unwrap();
    let lake = tmp.path().join("lake");
    ingest(&lake, &format!("file://{}", input.display()), Default::default()).await;
    ingest(&lake, &format!("file://{}", fixtures().display()), Default::default()).await;

    let ours = query_json(
        &lake,
        "SELECT category, CAST(event_date AS VARCHAR) AS d, COUNT(*) AS n, COUNT(DISTINCT event_id) AS ids,
                SUM(CASE WHEN mfa_passed THEN 1 ELSE 0 END) AS mfa_ok, MIN(event_time) AS first
         FROM events GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .await;
    let script = format!(
        r#"
import json, deltalake
files = deltalake.DeltaTable('{}').file_uris()
rows = duckdb.sql(f"""
  SELECT category, CAST(event_date AS VARCHAR) AS d, COUNT(*) AS n, COUNT(DISTINCT event_id) AS ids,
         SUM(CASE WHEN mfa_passed THEN 1 ELSE 0 END) AS mfa_ok, strftime(MIN(event_time) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS first
  FROM read_parquet({{files!r}}, hive_partitioning = true)
  GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
print(json.dumps([dict(category=r[0], d=r[1], n=r[2], ids=r[3], mfa_ok=int(r[4]), first=r[5]) for r in rows]))
"#,
        lake.display()
    );
    let theirs: Vec<Value> = serde_json::from_str(&duckdb(&script)).unwrap();
    assert!(ours.len() > 10);
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!((&a["category"], &a["d"], &a["n"], &a["ids"], &a["mfa_ok"]), (&b["category"], &b["d"], &b["n"], &b["ids"], &b["mfa_ok"]));
        // Same instant: authlake prints milliseconds, DuckDB microseconds.
        let ours_t = a["first"].as_str().unwrap().trim_end_matches('Z');
        assert!(b["first"].as_str().unwrap().starts_with(ours_t.trim_end_matches('0')), "{a} vs {b}");
    }
    let total: u64 = theirs.iter().map(|r| r["n"].as_u64().unwrap()).sum();
    assert_eq!(query_json(&lake, "SELECT COUNT(*) AS n FROM events").await, vec![json!({"n": total})]);
}
