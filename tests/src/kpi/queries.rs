//! Named queries over the fixtures (golden files) and detections.

use std::collections::BTreeMap;
use std::path::Path;

use authlake_analytics::named;
use authlake_analytics::output::{render, Format};
use authlake_lake::Lake;
use serde_json::Value;

use super::generated_lake;
use crate::support::{authlake_ok, fixtures, root};

/// Columns left out of golden files: they hold machine paths or ingest times.
/// A subquery loses its order, so each wrapped query is ordered again.
const VOLATILE: &[(&str, &str, &str)] = &[
    // Every column kept orders the rows: public samples share times and users.
    ("auth_history", "source", "event_time, event_type, outcome, user_pool_id, client_id, username, user_sub, tenant_id, ip_address, country, auth_flow, mfa_method, risk_level, risk_decision, error_code, source_format"),
];

fn lake_of_fixtures(dir: &Path) -> String {
    let lake = dir.join("lake").display().to_string();
    authlake_ok(&["ingest", "--from", &format!("file://{}", fixtures().display()), "--lake", &lake]);
    let detections = root().join("tests/queries/detections.ndjson");
    authlake_ok(&["ingest", "--from", &format!("file://{}", detections.display()), "--lake", &lake]);
    lake
}

/// Every built-in named query over the fixtures and the detection cases,
/// compared with `tests/golden/queries/<name>.ndjson`, one row per line
/// so a change reads as a diff of rows (`UPDATE_GOLDEN=1` rewrites them).
#[tokio::test]
async fn named_queries_match_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&lake_of_fixtures(dir.path()), false).unwrap();
    let ctx = authlake_analytics::lake_context(&lake).await.unwrap();
    // Rows whose time is the ingest time (fixtures without a time of their
    // own) differ on every run: the golden lake leaves them out.
    let all = ctx.deregister_table("events").unwrap().unwrap();
    ctx.register_table("events_all", all).unwrap();
    ctx.sql("CREATE VIEW events AS SELECT * FROM events_all WHERE event_time_source <> 'ingest'").await.unwrap().collect().await.unwrap();
    let golden_dir = root().join("tests/golden/queries");
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let mut mismatches = Vec::new();
    for q in named::builtin().unwrap() {
        let mut sql = q.bind(&BTreeMap::new()).unwrap();
        for (name, col, order) in VOLATILE {
            if *name == q.name {
                sql = format!("SELECT * EXCLUDE ({col}) FROM ({sql}) ORDER BY {order}");
            }
        }
        let (schema, batches) = authlake_analytics::run_sql(&ctx, &sql).await.unwrap_or_else(|e| panic!("{}: {e}", q.name));
        let got = render(&schema, &batches, Format::Ndjson).unwrap();
        let path = golden_dir.join(format!("{}.ndjson", q.name));
        if update {
            std::fs::create_dir_all(&golden_dir).unwrap();
            std::fs::write(&path, &got).unwrap();
        } else {
            let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} missing: UPDATE_GOLDEN=1", path.display()));
            if want != got {
                mismatches.push(format!("{}:\n--- want\n{want}\n--- got\n{got}", q.name));
            }
        }
    }
    assert!(mismatches.is_empty(), "named query output changed (UPDATE_GOLDEN=1 to accept):\n{}", mismatches.join("\n"));

    // The detection cases are found, and their near misses are not.
    let rows = |name: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(golden_dir.join(format!("{name}.ndjson"))).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let stuffing = rows("credential_stuffing");
    assert_eq!(stuffing.len(), 1, "{stuffing:?}");
    assert_eq!(stuffing[0]["ip_address"], "203.0.113.66");
    assert_eq!(stuffing[0]["distinct_users"], 25);
    let fatigue = rows("mfa_fatigue");
    assert_eq!(fatigue.iter().map(|r| r["user_key"].as_str().unwrap()).collect::<Vec<_>>(), vec!["fatigued.user"]);
    let travel = rows("impossible_travel");
    assert_eq!(travel.iter().map(|r| r["user_key"].as_str().unwrap()).collect::<Vec<_>>(), vec!["traveller"]);
    assert_eq!(travel[0]["minutes_apart"], 20.0);
    let new_device = rows("new_device_high_risk");
    assert_eq!(new_device.len(), 1);
    assert_eq!(new_device[0]["user_key"], "new.device");
    let dupes = rows("duplicate_identities");
    assert_eq!(dupes.len(), 1, "{dupes:?}");
    assert_eq!(dupes[0]["email"], "maria.lopez@example.com");
    assert_eq!(dupes[0]["identities"], 2);
}

#[test]
fn named_query_parameters_are_checked_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_of_fixtures(dir.path());
    let q = |params: &[&str]| {
        let mut args = vec!["query", "--lake", &lake, "--named", "credential_stuffing", "--format", "json"];
        for p in params {
            args.extend(["--param", p]);
        }
        let v: Vec<Value> = serde_json::from_str(&authlake_ok(&args)).unwrap();
        v
    };
    assert_eq!(q(&[]).len(), 1);
    assert_eq!(q(&["min_users=26"]).len(), 0);
    assert_eq!(q(&["min_users=5", "window=1 hour"]).len(), 2, "the office NAT too at a lower threshold");
    let history: Vec<Value> =
        serde_json::from_str(&authlake_ok(&["query", "--lake", &lake, "--named", "auth_history", "--param", "user=traveller", "--format", "json"]))
            .unwrap();
    assert_eq!(history.len(), 2);
    for bad in ["min_users=5; DROP TABLE events", "nope=1", "window=3 fortnights"] {
        let out = crate::support::authlake(&["query", "--lake", &lake, "--named", "credential_stuffing", "--param", bad]);
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    }
    // A capped answer says it was cut, and by how much; an uncut one says nothing.
    let cut = crate::support::authlake(&["query", "--lake", &lake, "--named", "auth_history", "--param", "user=traveller", "--param", "max_rows=1", "--format", "json"]);
    assert!(cut.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&cut.stdout).unwrap();
    assert_eq!(rows.len(), 1);
    let note = String::from_utf8_lossy(&cut.stderr);
    assert!(note.contains("showing 1 of 2 rows (raise max_rows"), "{note}");
    let whole = crate::support::authlake(&["query", "--lake", &lake, "--named", "auth_history", "--param", "user=traveller", "--param", "max_rows=2"]);
    assert!(whole.status.success() && !String::from_utf8_lossy(&whole.stderr).contains("showing"));
    let list = authlake_ok(&["query", "--list-named"]);
    for name in ["credential_stuffing", "mfa_fatigue", "impossible_travel", "new_device_high_risk", "duplicate_identities", "auth_history", "kpi_catalogue"] {
        assert!(list.contains(name), "{name} not listed");
    }
    // The whole description: columns, notes, every parameter with its type and default.
    for text in ["Columns: event_time", "Empty filters match everything", "--param max_rows=<int> (default \"1000\")", "--param since=<timestamp>"] {
        assert!(list.contains(text), "--list-named lacks {text:?}:\n{list}");
    }
}

#[test]
fn detections_find_the_generators_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, truth) = generated_lake(dir.path(), 80_000, 10, "2026-11-20T00:00:00Z");
    let named = |name: &str| -> Vec<Value> {
        serde_json::from_str(&authlake_ok(&["query", "--lake", &lake, "--named", name, "--format", "json"])).unwrap()
    };
    let stuffing = named("credential_stuffing");
    assert!(!stuffing.is_empty());
    assert!(stuffing.iter().all(|r| r["ip_address"] == truth["credential_stuffing"]["ip"]), "{stuffing:?}");
    let fatigue = named("mfa_fatigue");
    assert!(!fatigue.is_empty());
    assert!(fatigue.iter().all(|r| r["user_key"] == truth["mfa_fatigue"]["username"]), "{fatigue:?}");
    let travel = named("impossible_travel");
    assert_eq!(travel.len(), 1, "{travel:?}");
    assert_eq!(travel[0]["user_key"], truth["impossible_travel"]["username"]);
}

