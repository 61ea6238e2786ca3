//! The generator's traffic: all formats decode without dead letters, the
//! incidents are there, and the migration has its 80/20 shape.

use authlake_generator::{generate, Format, Params};
use serde_json::json;

use crate::support::{ingest, query_json};

#[tokio::test]
async fn mixed_traffic_decodes_cleanly_with_its_incidents_and_migration() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("traffic.ndjson");
    let params = Params { events: 60_000, days: 90, seed: 11, end_ms: 1_764_201_600_000, format: Format::Mixed, threads: 2, incidents: true };
    let truth = generate(&params, &mut std::fs::File::create(&input).unwrap(), &mut |_| {}).unwrap();
    let lake = tmp.path().join("lake");
    let s = ingest(&lake, &format!("file://{}", input.display()), Default::default()).await;
    // One line per generated event; a CloudTrail MFA sign-in line is a
    // batch of two calls (the challenge and the answer).
    assert_eq!((s.payloads, s.dead_letters, s.skipped), (60_000, 0, 0));
    assert!(s.events > 61_000 && s.events < 66_000, "{}", s.events);
    let mfa = query_json(&lake, "SELECT SUM(CASE WHEN event_type = 'mfa_challenge' THEN 1 ELSE 0 END) AS challenges, SUM(CASE WHEN event_type = 'mfa_response' THEN 1 ELSE 0 END) AS responses FROM events").await;
    assert_eq!(mfa[0]["challenges"], mfa[0]["responses"]);

    let formats = query_json(&lake, "SELECT source_format, COUNT(*) AS n FROM events GROUP BY 1 ORDER BY 1").await;
    assert_eq!(formats.len(), 5, "{formats:?}");

    let stuffing = query_json(
        &lake,
        &format!("SELECT COUNT(*) AS fails, COUNT(DISTINCT COALESCE(username, user_sub)) AS users FROM events WHERE ip_address = '{}' AND outcome = 'failure'", truth.stuffing_ip),
    )
    .await;
    assert_eq!(stuffing[0]["fails"], json!(truth.stuffing_events));
    assert!(stuffing[0]["users"].as_u64().unwrap() > truth.stuffing_events / 2);

    let fatigue = query_json(
        &lake,
        &format!("SELECT COUNT(*) AS n FROM events WHERE username = '{}' AND mfa_challenged AND NOT mfa_passed", truth.fatigue_user),
    )
    .await;
    assert!(fatigue[0]["n"].as_u64().unwrap() >= truth.fatigue_events, "{fatigue:?}");

    let travel = query_json(&lake, "SELECT COUNT(DISTINCT country) AS n FROM events WHERE ip_address IN ('52.94.133.131', '13.112.0.10') AND outcome = 'success'").await;
    assert_eq!(travel, vec![json!({"n": 2})]);

    let migration = query_json(
        &lake,
        "SELECT COUNT(DISTINCT CASE WHEN event_type = 'user_migration' AND outcome = 'success' THEN username END) AS lazy,
                SUM(CASE WHEN event_type = 'bulk_import' AND outcome = 'success' THEN 1 ELSE 0 END) AS bulk
         FROM events WHERE category = 'migration'",
    )
    .await;
    let lazy = migration[0]["lazy"].as_u64().unwrap() as f64;
    let bulk = migration[0]["bulk"].as_u64().unwrap() as f64;
    assert_eq!(bulk as u64, truth.bulk_imports);
    let share = lazy / (lazy + bulk);
    assert!((0.74..=0.84).contains(&share), "lazy share {share}");
    assert!((lazy + bulk) / truth.legacy_users as f64 > 0.9);
}
