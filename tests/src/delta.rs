//! The lake is a Delta table that other engines read: Python `deltalake`
//! and Polars at the newest version and at an earlier one agree with
//! authlake's own answers, and no identifying value is anywhere in the
//! log (checkpoints included).

use authlake_generator::{generate, Format, Params};
use serde_json::Value;

use crate::support::{authlake_ok, python, walk};

const DAILY: &str = "SELECT category, CAST(event_date AS VARCHAR) AS d, COUNT(*) AS n, COUNT(DISTINCT event_id) AS ids FROM events GROUP BY 1, 2 ORDER BY 1, 2";

fn ours(lake: &str) -> Vec<Value> {
    serde_json::from_str(&authlake_ok(&["query", "--lake", lake, "--format", "json", DAILY])).unwrap()
}

/// The same counts through `engine` ("deltalake" or "polars") at `version`.
fn theirs(lake: &str, engine: &str, version: Option<u64>) -> Vec<Value> {
    let v = version.map_or("None".to_string(), |v| v.to_string());
    // deltalake: its own DataFusion over the snapshot; Polars: its reader.
    let code = match engine {
        "deltalake" => format!(
            "import json, deltalake, polars\n\
             t = deltalake.DeltaTable('{lake}', version={v})\n\
             r = deltalake.QueryBuilder().register('events', t).execute(\"{}\")\n\
             g = polars.DataFrame(r.read_all())\n\
             print(json.dumps([dict(category=x[0], d=str(x[1]), n=x[2], ids=x[3]) for x in g.iter_rows()]))",
            DAILY
        ),
        _ => format!(
            "import json, polars\n\
             df = polars.read_delta('{lake}', version={v})\n\
             g = df.group_by(['category', 'event_date']).agg(polars.len().alias('n'), polars.col('event_id').n_unique().alias('ids')).sort(['category', 'event_date'])\n\
             print(json.dumps([dict(category=x[0], d=str(x[1]), n=x[2], ids=x[3]) for x in g.iter_rows()]))"
        ),
    };
    serde_json::from_str(&python(&code)).unwrap()
}

#[test]
fn other_engines_read_the_table_at_every_version_and_the_log_names_no_one() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake").display().to_string();
    // Eleven ingests: eleven commits after the create, so the log holds a
    // checkpoint (one every 10 versions) as well as commits.
    let mut after_first = Vec::new();
    for seed in 0..11u64 {
        let input = tmp.path().join(format!("traffic-{seed}.ndjson"));
        let params = Params { events: 1_500, days: 4, seed: 100 + seed, end_ms: 1_764_201_600_000, format: Format::Mixed, threads: 2, incidents: true };
        generate(&params, &mut std::fs::File::create(&input).unwrap(), &mut |_| {}).unwrap();
        authlake_ok(&["ingest", "--from", &format!("file://{}", input.display()), "--lake", &lake, "--quiet"]);
        if seed == 0 {
            after_first = ours(&lake);
        }
    }
    let now = ours(&lake);
    assert!(now.len() > 4 && after_first.len() > 1);
    for engine in ["deltalake", "polars"] {
        assert_eq!(theirs(&lake, engine, None), now, "{engine}, newest version");
        // Version 0 creates the table; version 1 is the first ingest.
        assert_eq!(theirs(&lake, engine, Some(1)), after_first, "{engine}, version 1");
    }
    let log_dir = std::path::Path::new(&lake).join("_delta_log");
    assert!(walk(&log_dir).iter().any(|p| p.to_string_lossy().ends_with(".checkpoint.parquet")), "no checkpoint written");

    // Every username, sub, email and address in the table...
    let ids: Vec<Value> = serde_json::from_str(&authlake_ok(&[
        "query", "--lake", &lake, "--format", "json",
        "SELECT DISTINCT v FROM (SELECT username AS v FROM events UNION ALL SELECT user_sub FROM events UNION ALL SELECT email FROM events UNION ALL SELECT ip_address FROM events) WHERE v IS NOT NULL",
    ]))
    .unwrap();
    let ids: Vec<String> = ids.iter().map(|r| r["v"].as_str().unwrap().to_string()).collect();
    assert!(ids.len() > 100, "{}", ids.len());
    // ...is absent from the log: commits as text, checkpoints decoded.
    let text = python(&format!(
        "import duckdb, glob\n\
         out = [open(f).read() for f in glob.glob('{0}/*.json')]\n\
         out += [str(duckdb.sql(f\"SELECT * FROM read_parquet('{{f}}')\").fetchall()) for f in glob.glob('{0}/*.parquet')]\n\
         print('\\n'.join(out))",
        log_dir.display()
    ));
    assert!(text.contains("numRecords") && text.contains("authlake:file:"), "the log holds stats and positions");
    let named: Vec<&String> = ids.iter().filter(|id| text.contains(id.as_str())).collect();
    assert!(named.is_empty(), "identifying values in the Delta log: {:?}", &named[..named.len().min(5)]);
}

/// A lake written by the release before Delta (its own commit log:
/// `tests/fixtures/lake-v1/`, 109 events from the first 100 lines of
/// `traffic.ndjson` and one dead letter from `bad.ndjson`). Its positions
/// name the inputs at `/tmp/authlake-fixture-v1/`, where they were read.
#[test]
fn an_old_lake_is_upgraded_in_place_and_an_ingest_resumes_with_exactly_the_rest() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lake-v1");
    let inputs = std::path::Path::new("/tmp/authlake-fixture-v1");
    let _ = std::fs::remove_dir_all(inputs);
    std::fs::create_dir_all(inputs).unwrap();
    for f in ["traffic.ndjson", "bad.ndjson"] {
        std::fs::copy(fixture.join(f), inputs.join(f)).unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let lake_dir = tmp.path().join("lake");
    copy_dir(&fixture.join("lake"), &lake_dir);
    let lake = lake_dir.display().to_string();
    let traffic = format!("file://{}", inputs.join("traffic.ndjson").display());

    // Before the upgrade, the lake is refused with what to do.
    let out = crate::support::authlake(&["query", "--lake", &lake, "SELECT 1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("authlake lake upgrade"), "{}", String::from_utf8_lossy(&out.stderr));

    let msg = authlake_ok(&["lake", "upgrade", "--lake", &lake]);
    assert!(msg.contains("upgraded to Delta: 2 commits carried as 8 event files, 1 dead-letter files and 2 source positions"), "{msg}");
    assert!(authlake_ok(&["lake", "upgrade", "--lake", &lake]).contains("already upgraded"));
    // An old binary reading its log meets an entry it refuses, saying why.
    let marker = std::fs::read_to_string(lake_dir.join("_authlake/commits/00000000000000000002.json")).unwrap();
    assert!(marker.contains("upgraded_to_delta"), "{marker}");

    // Every row kept, read by authlake and by Python deltalake.
    let count = |sql: &str| authlake_ok(&["query", "--lake", &lake, "--format", "csv", sql]);
    assert_eq!(count("SELECT COUNT(*) AS n FROM events"), "n\n109\n");
    assert_eq!(count("SELECT COUNT(*) AS n FROM dead_letters"), "n\n1\n");
    assert_eq!(crate::support::duckdb_snapshot_counts(&lake_dir), (109, 109));
    // Positions kept: the same inputs add nothing.
    let again = authlake_ok(&["ingest", "--from", &traffic, "--lake", &lake]);
    assert!(again.starts_with("ingested 0 events, 0 dead letters"), "{again}");
    let bad = format!("file://{}", inputs.join("bad.ndjson").display());
    assert!(authlake_ok(&["ingest", "--from", &bad, "--lake", &lake]).starts_with("ingested 0 events, 0 dead letters"));
    // The file grew: exactly the rest is added.
    let mut text = std::fs::read_to_string(inputs.join("traffic.ndjson")).unwrap();
    text.push_str(&std::fs::read_to_string(fixture.join("tail.ndjson")).unwrap());
    std::fs::write(inputs.join("traffic.ndjson"), &text).unwrap();
    authlake_ok(&["ingest", "--from", &traffic, "--lake", &lake]);
    let reference = tmp.path().join("reference");
    let all = authlake_ok(&["ingest", "--from", &traffic, "--lake", &reference.display().to_string()]);
    let total: u64 = all.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(total > 109);
    assert_eq!(count("SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS ids FROM events"), format!("n,ids\n{total},{total}\n"));
    let history = authlake_ok(&["lake", "history", "--lake", &lake, "--format", "csv"]);
    assert!(history.contains(",upgrade,109,0,upgrade") && history.contains(",ingest,"), "{history}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
