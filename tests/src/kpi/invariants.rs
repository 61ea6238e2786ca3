//! The catalogue's counts add up (docs/metrics.md): in every window, at
//! every window length, in every dimension combination, attempts ≥
//! successes + failures + throttles and MFA challenges ≥ completions, over
//! generated traffic of every format and over the fixtures (the real
//! corpus included).

use std::collections::BTreeMap;

use serde_json::Value;

use super::generated_lake;
use crate::support::{authlake_ok, fixtures};

/// Every violation of the invariants in `lake`'s metrics at `window`.
fn violations(lake: &str, window: &str) -> (usize, Vec<String>) {
    let points: Vec<Value> =
        serde_json::from_str(&authlake_ok(&["metrics", "--lake", lake, "--window", window, "--include-open", "--format", "json"])).unwrap();
    let mut cells: BTreeMap<(String, String), BTreeMap<String, f64>> = BTreeMap::new();
    for p in &points {
        let key = (p["window_start"].to_string(), p["dimensions"].to_string());
        cells.entry(key).or_default().insert(p["metric"].as_str().unwrap().to_string(), p["value"].as_f64().unwrap());
    }
    let mut bad = Vec::new();
    for ((start, dims), m) in &cells {
        let v = |name: &str| m.get(name).copied().unwrap_or(0.0);
        let ended = v("SignInSuccesses") + v("SignInFailures") + v("SignInThrottles");
        if v("SignInAttempts") < ended {
            bad.push(format!("{window} {start} {dims}: attempts {} < successes + failures + throttles {ended}", v("SignInAttempts")));
        }
        if v("MfaChallenges") < v("MfaCompletions") {
            bad.push(format!("{window} {start} {dims}: MFA challenges {} < completions {}", v("MfaChallenges"), v("MfaCompletions")));
        }
    }
    (cells.len(), bad)
}

#[test]
fn attempts_and_challenges_bound_what_they_count_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (generated, _) = generated_lake(dir.path(), 60_000, 14, "2026-11-20T00:00:00Z");
    let fixture_lake = dir.path().join("fixtures-lake").display().to_string();
    authlake_ok(&["ingest", "--from", &format!("file://{}", fixtures().display()), "--lake", &fixture_lake, "--user-pool-id", "us-west-2_EXAMPLE"]);
    let mut all = Vec::new();
    for lake in [&generated, &fixture_lake] {
        for window in ["1m", "5m", "1h", "1d"] {
            let (cells, bad) = violations(lake, window);
            assert!(cells > 0, "{lake} {window}: no metrics to check");
            all.extend(bad);
        }
    }
    assert!(all.is_empty(), "{} violations:\n{}", all.len(), all.join("\n"));
}
