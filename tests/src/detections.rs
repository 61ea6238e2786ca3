//! The Sigma rule pack, end to end through the binary: every rule fires
//! on its positive sample events (the smallest attack it names) and not
//! on its negative ones; findings are written once, late events revise a
//! finding instead of adding one, and Polars reads the table.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{authlake, authlake_ok, python, root};

/// (rule id, rule file stem) of every rule that makes findings.
fn rules() -> Vec<(String, String)> {
    let listed: Value = serde_json::from_str(&authlake_ok(&["detect", "--list", "--format", "json"])).expect("json");
    listed
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let file = r["file"].as_str().expect("file");
            (r["rule_id"].as_str().expect("id").to_string(), file.trim_end_matches(".yml").to_string())
        })
        .collect()
}

fn samples(stem: &str, kind: &str) -> PathBuf {
    root().join("detections/samples").join(format!("{stem}.{kind}.ndjson"))
}

/// The rule ids of the findings `detect` reports over a lake of `files`.
fn findings_over(lake: &Path, files: &[PathBuf]) -> Vec<Value> {
    for f in files {
        authlake_ok(&["ingest", "--from", &format!("file://{}", f.display()), "--lake", &lake.display().to_string()]);
    }
    let out = authlake_ok(&["detect", "--lake", &lake.display().to_string(), "--format", "json"]);
    serde_json::from_str::<Value>(&out).expect("json findings").as_array().cloned().unwrap_or_default()
}

#[test]
fn every_rule_fires_on_its_attack_and_not_on_the_traffic_beside_it() {
    let rules = rules();
    assert!(rules.len() >= 13, "{} rules", rules.len());
    let mut failures = Vec::new();
    for (id, stem) in &rules {
        for (kind, want) in [("positive", true), ("negative", false)] {
            let path = samples(stem, kind);
            assert!(path.is_file(), "{stem}: no {kind} samples at {}", path.display());
            let dir = tempfile::tempdir().unwrap();
            let found = findings_over(dir.path(), &[path]);
            let fired = found.iter().filter(|f| f["rule_id"] == id.as_str()).count();
            if (fired > 0) != want {
                failures.push(format!("{stem} ({kind}): {fired} findings"));
            }
            if want && fired != 1 {
                failures.push(format!("{stem}: the smallest attack is one finding, not {fired}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn findings_are_written_once_and_late_events_revise_them() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().display().to_string();
    let stem = "cognito_credential_stuffing";
    const STUFFING: &str = "b83531d4-504b-41ab-8be2-2738c2cf149f";
    let of_rule = |all: Vec<Value>| all.into_iter().filter(|f| f["rule_id"] == STUFFING).collect::<Vec<_>>();
    // The same failures are also password spraying (a day's window).
    let first = of_rule(findings_over(dir.path(), &[samples(stem, "positive")]));
    assert_eq!(first.len(), 1, "{first:#?}");
    assert_eq!(first[0]["event_count"], 20);
    let again = authlake(&["detect", "--lake", &lake, "--format", "json"]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("0 new, 0 revised (late events), 2 already recorded"), "{said}");

    // A late failure from the same address inside the same window.
    let late = dir.path().join("late.ndjson");
    std::fs::write(
        &late,
        r#"{"event_id":"late-1","event_time":"2026-11-02T10:09:59.000Z","event_type":"sign_in","outcome":"failure","username":"victim99","ip_address":"203.0.113.50","user_pool_id":"us-east-1_Sample01"}"#,
    )
    .unwrap();
    let revised = of_rule(findings_over(dir.path(), &[late]));
    assert_eq!(revised.len(), 1);
    assert_eq!(revised[0]["finding_id"], first[0]["finding_id"], "same key, same finding");
    assert_eq!(revised[0]["event_count"], 21);

    // Another engine (Polars' Delta reader) reads the table: two revisions of one finding.
    let rows = python(&format!(
        "import polars, json, os\n\
         t = polars.read_delta('{lake}/_authlake/tables/findings').to_dicts()\n\
         print(json.dumps(sorted([[r['finding_id'], r['revision'], r['event_count'], len(r['evidence'])] for r in t if r['rule_id'] == '{STUFFING}'])))\n\
         os._exit(0)"
    ));
    let rows: Value = serde_json::from_str(rows.trim()).expect("json");
    let id = first[0]["finding_id"].as_str().unwrap();
    assert_eq!(rows, serde_json::json!([[id, 1, 20, 20], [id, 2, 21, 21]]));
    // In authlake's own SQL: every revision, and the latest of each.
    let sql = format!("SELECT (SELECT count(*) FROM findings WHERE rule_id = '{STUFFING}') AS revisions, revision, event_count FROM findings_latest WHERE rule_id = '{STUFFING}'");
    let latest: Value = serde_json::from_str(&authlake_ok(&["query", "--lake", &lake, "--format", "json", &sql])).unwrap();
    assert_eq!(latest, serde_json::json!([{"revisions": 2, "revision": 2, "event_count": 21}]));
    // The CloudWatch metric counts the finding once, by rule and level.
    let m: Value = serde_json::from_str(&authlake_ok(&["metrics", "--lake", &lake, "--window", "1d", "--metric", "Findings", "--format", "json"])).unwrap();
    let ours: Vec<&Value> = m.as_array().unwrap().iter().filter(|p| p["dimensions"]["Rule"] == STUFFING).collect();
    assert_eq!(ours.len(), 1, "{m:#?}");
    assert_eq!((ours[0]["value"].as_f64(), &ours[0]["dimensions"]["Level"]), (Some(1.0), &serde_json::json!("high")));
}

#[test]
fn backtest_counts_by_week_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().display().to_string();
    for stem in ["cognito_credential_stuffing", "cognito_token_refresh_storm"] {
        authlake_ok(&["ingest", "--from", &format!("file://{}", samples(stem, "positive").display()), "--lake", &lake]);
    }
    let out = authlake_ok(&["detect", "--lake", &lake, "--backtest", "--format", "json"]);
    let weeks: Value = serde_json::from_str(&out).unwrap();
    let weeks = weeks.as_array().unwrap();
    let fired = |id: &str| weeks.iter().any(|w| w["rule_id"] == id && w["week"] == "2026-W45" && w["findings"] == 1);
    assert!(fired("b83531d4-504b-41ab-8be2-2738c2cf149f") && fired("b83531d4-0002-41ab-8be2-2738c2cf149f"), "{weeks:#?}");
    assert!(weeks.iter().all(|w| w["week"] == "2026-W45"), "{weeks:#?}");
    assert!(!dir.path().join("_authlake/tables/findings").exists(), "a backtest writes no findings");
}

#[test]
fn a_rule_that_cannot_run_as_written_is_refused_by_id_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.yml"),
        "title: Windows logon\nid: 11111111-2222-3333-4444-555555555555\nlogsource: {product: aws, service: cognito}\n\
         detection:\n  s: {CommandLine|contains: whoami}\n  condition: s\n",
    )
    .unwrap();
    let out = authlake(&["detect", "--lake", &dir.path().display().to_string(), "--rules", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("11111111-2222-3333-4444-555555555555") && err.contains("`CommandLine` has no events column"), "{err}");
}

#[test]
fn the_pack_passes_sigma_check() {
    // The ATT&CK and D3FEND tag validators download their data (no
    // network here); every other validator runs.
    let rules = root().join("detections/rules");
    let out = std::process::Command::new("sigma")
        .args(["check", "-x", "attacktag", "-x", "d3_fendtag"])
        .arg(&rules)
        .output()
        .expect("run sigma (tests/run.sh installs sigma-cli)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("Found 0 errors, 0 condition errors and 0 issues"), "{said}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_detection_rule_matches_what_pysigma_matches() {
    let work = tempfile::tempdir().unwrap();
    let script = root().join("tests/sigma_crosscheck.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(crate::support::authlake_bin())
        .arg(work.path())
        .output()
        .expect("run python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).expect("json");
    let result = result.as_object().expect("rules");
    assert!(result.len() >= 19, "{} detection rules compared", result.len());
    let differ: Vec<_> = result.iter().filter(|(_, v)| v[0] != v[1]).collect();
    assert!(differ.is_empty(), "authlake and pySigma disagree: {differ:#?}");
    let matched = result.values().filter(|v| !v[0].as_array().unwrap().is_empty()).count();
    assert_eq!(matched, result.len(), "every rule matches some sample event");
}

/// Generated traffic: quiet days make no finding at the pack's default
/// thresholds, and every incident the generator injects is found.
#[test]
fn generated_baseline_is_quiet_and_injected_incidents_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| -> Vec<Value> {
        let data = dir.path().join(format!("{name}.ndjson"));
        let lake = dir.path().join(name);
        let mut args = vec!["generate", "--events", "150000", "--days", "30", "--seed", "23", "--end", "2026-11-30T00:00:00Z"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", data.to_str().unwrap()]);
        authlake_ok(&args);
        findings_over(&lake, &[data])
    };
    let quiet = run("quiet", &["--no-incidents"]);
    assert!(quiet.is_empty(), "false findings on quiet traffic: {quiet:#?}");

    let truth = dir.path().join("truth.json");
    let found = run("incidents", &["--truth", truth.to_str().unwrap()]);
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(&truth).unwrap()).unwrap();
    let of = |rule: &str| found.iter().filter(|f| f["rule_id"] == rule).collect::<Vec<_>>();
    let stuffing = of("b83531d4-504b-41ab-8be2-2738c2cf149f");
    assert!(!stuffing.is_empty() && stuffing.iter().all(|f| f["ip_address"] == truth["credential_stuffing"]["ip"]), "{found:#?}");
    let fatigue = of("9a24f412-5e6f-4c45-9ae4-15c042c64b04");
    assert!(fatigue.iter().any(|f| f["user_key"] == truth["mfa_fatigue"]["username"]), "{found:#?}");
    let travel = of("15c1ad09-4f46-4f5f-9400-76fc1246d029");
    assert!(travel.iter().any(|f| f["user_key"] == truth["impossible_travel"]["username"]), "{found:#?}");
    let other: Vec<_> = found
        .iter()
        .filter(|f| {
            !["b83531d4-504b-41ab-8be2-2738c2cf149f", "9a24f412-5e6f-4c45-9ae4-15c042c64b04", "15c1ad09-4f46-4f5f-9400-76fc1246d029", "2e106ec6-455c-4c44-9f8f-17dcdca2566c"]
                .contains(&f["rule_id"].as_str().unwrap())
        })
        .collect();
    // Password spraying also fires on the stuffing address (a day's window).
    assert!(other.is_empty(), "findings no injected incident explains: {other:#?}");
}
