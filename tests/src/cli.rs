//! The command line's manners (docs/cli.md): a closed pipe, exit codes,
//! `--version`, completions, where the lake comes from, `query`'s inputs
//! and formats, impossible dates, `config check`, a damaged `.gz`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{authlake, authlake_bin, authlake_env, authlake_ok, fixtures};

/// A lake holding the canonical fixtures.
fn lake(dir: &Path) -> String {
    let lake = dir.join("lake").display().to_string();
    let input = format!("file://{}", fixtures().join("canonical").display());
    authlake_ok(&["ingest", "--from", &input, "--lake", &lake, "--quiet"]);
    lake
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or_else(|| panic!("killed by a signal: {:?}", out.status))
}

#[test]
fn a_closed_pipe_ends_the_command_quietly_with_zero() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    // Many rows, so the writer is still writing when the reader leaves.
    let sql = "SELECT e.*, n.n FROM events e CROSS JOIN (SELECT * FROM unnest(range(2000)) AS t(n)) n";
    let mut child = Command::new(authlake_bin())
        .args(["query", "--lake", &lake, "--format", "csv", sql])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("event_id,"), "{first}");
    // The reader is gone (as `| head -1` leaves).
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 0, "{err}");
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}

#[test]
fn version_names_the_commit_and_completions_are_scripts() {
    let v = authlake_ok(&["--version"]);
    assert!(v.starts_with("authlake ") && v.contains("(commit "), "{v}");
    for shell in ["bash", "zsh", "fish"] {
        let script = authlake_ok(&["completions", shell]);
        assert!(script.contains("authlake") && script.contains("ingest") && script.lines().count() > 20, "{shell}: {script}");
    }
    let help = authlake_ok(&["--help"]);
    assert!(help.contains("Exit codes:") && help.contains("4  a check it ran failed"), "{help}");
}

#[test]
fn usage_errors_exit_two_and_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let out = authlake(&["metrics", "--lake", &lake, "--since", "2026-11-31"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("2026-11-31 is not a date: November 2026 has 30 days"), "{err}");
    let out = authlake(&["export", "--lake", &lake, "--from", "2026-02-30", "--to", "2026-03-01", "--out", "x"]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
    // No lake anywhere: run where no authlake.toml is.
    let out = Command::new(authlake_bin()).args(["query", "SELECT 1"]).current_dir(dir.path()).env_remove("AUTHLAKE_LAKE").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("AUTHLAKE_LAKE"), "{err}");
    let out = authlake(&["metrics", "--lake", &lake, "--metric", "NoSuchMetric"]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
    // A query error is a failure to do the job, not a usage error.
    let out = authlake(&["query", "--lake", &lake, "SELECT no_such_column FROM events"]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_lake_comes_from_the_flag_the_environment_or_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let count = "SELECT count(*) AS n FROM events";
    let want = authlake_ok(&["query", "--lake", &lake, "--format", "csv", count]);
    assert!(want.lines().nth(1).is_some_and(|n| n.parse::<u64>().unwrap() > 0), "{want}");
    let by_env = authlake_env(&["query", "--format", "csv", count], &[("AUTHLAKE_LAKE", lake.clone())]);
    assert_eq!(String::from_utf8_lossy(&by_env.stdout), want, "{}", String::from_utf8_lossy(&by_env.stderr));
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("authlake.toml"), format!("lake = {lake:?}\n")).unwrap();
    let by_config = Command::new(authlake_bin()).args(["query", "--format", "csv", count]).current_dir(&work).env_remove("AUTHLAKE_LAKE").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&by_config.stdout), want, "{}", String::from_utf8_lossy(&by_config.stderr));
}

#[test]
fn query_reads_sql_from_a_file_or_stdin_and_writes_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let sql = "SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 1";
    let want = authlake_ok(&["query", "--lake", &lake, "--format", "ndjson", sql]);
    let rows: Vec<serde_json::Value> = want.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(rows.len() >= 2 && rows.iter().all(|r| r["event_type"].is_string() && r["n"].is_u64()), "{want}");
    let file = dir.path().join("q.sql");
    std::fs::write(&file, sql).unwrap();
    assert_eq!(authlake_ok(&["query", "--lake", &lake, "--format", "ndjson", "-f", &file.display().to_string()]), want);
    for args in [vec!["-f", "-"], vec!["-"]] {
        let mut child = Command::new(authlake_bin())
            .args(["query", "--lake", &lake, "--format", "ndjson"])
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{args:?}");
    }
}

#[test]
fn metrics_filter_by_metric_and_pool() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let all = authlake_ok(&["metrics", "--lake", &lake, "--window", "1d", "--include-open", "--format", "json"]);
    let all: Vec<serde_json::Value> = serde_json::from_str(&all).unwrap();
    let pool = all.iter().find_map(|p| p["dimensions"]["UserPoolId"].as_str()).expect("a pool in the fixtures").to_string();
    let some = authlake_ok(&["metrics", "--lake", &lake, "--window", "1d", "--include-open", "--format", "json", "--metric", "SignInAttempts", "--pool", &pool]);
    let some: Vec<serde_json::Value> = serde_json::from_str(&some).unwrap();
    assert!(!some.is_empty() && some.len() < all.len());
    assert!(some.iter().all(|p| p["metric"] == "SignInAttempts" && p["dimensions"]["UserPoolId"] == pool.as_str()), "{some:?}");
}

#[test]
fn config_check_passes_a_valid_file_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "lake = \"lake\"\n[ingest]\ncommit_interval = \"30s\"\nmax_buffer = \"64MiB\"\n[metrics]\nwindow = \"5m\"\n").unwrap();
    let out = authlake_ok(&["config", "check", "--config", &good.display().to_string()]);
    assert!(out.contains("valid"), "{out}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[ingest]\ncommit_interval = \"soon\"\n[metrics]\nwindow = \"7q\"\n").unwrap();
    let out = authlake(&["config", "check", "--config", &bad.display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 4, "{err}");
    assert!(err.contains("ingest.commit_interval") && err.contains("metrics.window"), "{err}");
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[ingest]\ncommit_intreval = \"30s\"\n").unwrap();
    let out = authlake(&["config", "check", "--config", &typo.display().to_string()]);
    assert_eq!(code(&out), 4, "{}", String::from_utf8_lossy(&out.stderr));
    // Any other command refuses a bad config file as a usage error.
    let out = authlake(&["query", "--config", &typo.display().to_string(), "--lake", "x", "SELECT 1"]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_directory_with_stray_files_and_a_truncated_gz_says_what_it_skipped_and_exits_three() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let generated = dir.path().join("events.ndjson");
    authlake_ok(&["generate", "--events", "2000", "--days", "1", "--seed", "5", "--format", "canonical", "--out", &generated.display().to_string()]);
    let text = std::fs::read_to_string(&generated).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let (first, second) = lines.split_at(1000);
    std::fs::write(logs.join("good.ndjson"), first.join("\n") + "\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all((second.join("\n") + "\n").as_bytes()).unwrap();
    let whole = gz.finish().unwrap();
    std::fs::write(logs.join("events.ndjson.gz"), &whole[..whole.len() * 2 / 3]).unwrap();
    // What users keep beside their logs.
    std::fs::write(logs.join("README.md"), "# Cognito logs\n\nExported nightly.\n").unwrap();
    std::fs::write(logs.join("diagram.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    std::fs::write(logs.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();

    let lake = dir.path().join("lake").display().to_string();
    let from = format!("file://{}", logs.display());
    let out = authlake(&["ingest", "--from", &from, "--lake", &lake]);
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(code(&out), 3, "{err}");
    assert!(err.contains("breaks off") && err.contains("events.ndjson.gz"), "{err}");
    let skipped = stdout.lines().find(|l| l.starts_with("skipped 2 file(s) that hold no records")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(skipped.contains("README.md") && skipped.contains("diagram.png") && !skipped.contains("DS_Store"), "{skipped}");
    let count = |sql: &str| authlake_ok(&["query", "--lake", &lake, "--format", "csv", sql]).lines().nth(1).unwrap().parse::<usize>().unwrap();
    let rows = count("SELECT count(*) FROM events");
    let dead = count("SELECT count(*) FROM dead_letters");
    assert_eq!(count("SELECT count(*) FROM events WHERE source LIKE '%good.ndjson@%'"), 1000, "the other file is read whole");
    assert!(rows > 1000 && rows < 2000, "{rows} rows: every whole record before the cut");
    assert!(dead <= 1, "only the cut line is a dead letter: {dead}");
    if dead == 1 {
        assert_eq!(count("SELECT count(*) FROM dead_letters WHERE source LIKE '%events.ndjson.gz@%'"), 1, "the tail names its position");
    }
    // Again: nothing new, nothing twice, still damaged.
    let out = authlake(&["ingest", "--from", &from, "--lake", &lake]);
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count("SELECT count(*) FROM events"), rows);
    assert_eq!(count("SELECT count(DISTINCT source) FROM events"), rows);
}
