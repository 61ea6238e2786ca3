//! Hostile records through `authlake ingest`: huge, deep, broken,
//! out-of-range and path-like values. Each is a row or a dead letter with a
//! reason; nothing leaves the lake's partition directories (nor an export's
//! directory); memory stays bounded.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::{authlake_ok, authlake_peak_rss, counts, partition_files, walk};

/// Values that would climb out of a directory if pasted into a path.
const PATHS: &[&str] = &["../../x", "a/b", "category=evil", "..", "/etc/passwd", "event_date=2020-01-01/../../../x", "x\u{0}y", "c:\\\\win"];

/// Every string field of a canonical record that could reach a path.
const FIELDS: &[&str] = &[
    "category", "event_date", "event_type", "tenant_id", "user_pool_id", "username", "user_sub", "aws_region", "account_id", "client_id",
    "source_format", "country", "city", "provider_name", "migration_source", "device_name",
];

fn base(id: &str) -> Value {
    json!({"event_id": id, "event_time": "2026-11-20T10:00:00Z", "event_type": "sign_in", "outcome": "success",
           "user_pool_id": "us-east-1_P", "username": "u", "aws_region": "us-east-1", "account_id": "123456789012"})
}

fn with(id: &str, key: &str, v: Value) -> Vec<u8> {
    let mut b = base(id);
    b[key] = v;
    b.to_string().into_bytes()
}

/// The hostile lines and how many become rows.
fn hostile() -> (Vec<Vec<u8>>, u64) {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut rows = 0;
    let mut row = |l: Vec<u8>, lines: &mut Vec<Vec<u8>>| {
        rows += 1;
        lines.push(l);
    };
    row(with("big", "user_agent", json!("A".repeat(10 * 1024 * 1024))), &mut lines);
    row(with("nul", "username", json!("a\u{0}b")), &mut lines);
    row(with("y1970", "event_time", json!("1970-01-01T00:00:00Z")), &mut lines);
    row(with("y9999", "event_time", json!("9999-12-31T23:59:59Z")), &mut lines);
    row(with("arr", "groups", json!((0..10_000).collect::<Vec<_>>())), &mut lines);
    row(br#"{"event_id":"dup","event_id":"dup2","event_time":"2026-11-20T10:00:00Z","event_type":"sign_in","outcome":"success"}"#.to_vec(), &mut lines);
    // Path-like values: data (`source_format` and `event_date` are derived,
    // whatever the record says), or a dead letter where the field decides
    // the partition and the value is not one.
    for f in FIELDS {
        for (i, v) in PATHS.iter().enumerate() {
            let line = with(&format!("p-{f}-{i}"), f, json!(v));
            if matches!(*f, "category" | "event_type") {
                lines.push(line);
            } else {
                row(line, &mut lines);
            }
        }
    }
    // Dead letters.
    lines.push([b"{\"event_id\":\"deep\",\"x\":".to_vec(), b"[".repeat(5_000), b"]".repeat(5_000), b"}".to_vec()].concat());
    lines.push(b"{\"event_id\":\"bad-utf8-\xff\xfe\",\"event_time\":\"2026-11-20T10:00:00Z\",\"event_type\":\"sign_in\"}".to_vec());
    lines.push(with("y0", "event_time", json!("0000-01-01T00:00:00Z")));
    lines.push(with("y10000", "event_time", json!(253_402_300_800_000i64)));
    lines.push(br#"{"event_id":"nan","event_time":"2026-11-20T10:00:00Z","event_type":"sign_in","token_size_bytes":NaN}"#.to_vec());
    lines.push(br#"{"event_id":"inf","event_time":"2026-11-20T10:00:00Z","event_type":"sign_in","token_size_bytes":1e999}"#.to_vec());
    lines.push(b"\x00\x00\x00\x00".to_vec());
    (lines, rows)
}

#[test]
fn hostile_records_become_rows_or_dead_letters_and_stay_in_the_lake() {
    let tmp = tempfile::tempdir().unwrap();
    let (lines, rows) = hostile();
    let input = tmp.path().join("hostile.ndjson");
    std::fs::write(&input, lines.iter().flat_map(|l| [l.as_slice(), b"\n"].concat()).collect::<Vec<u8>>()).unwrap();
    let lake = tmp.path().join("lake");
    let lake_s = lake.display().to_string();

    let (out, rss) = authlake_peak_rss(&["ingest", "--from", &format!("file://{}", input.display()), "--lake", &lake_s, "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dead = lines.len() as u64 - rows;
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains(&format!("ingested {rows} events, {dead} dead letters")), "{summary}");
    // A 10 MiB record and 10,000-element arrays, in bounded memory.
    assert!(rss < 512 << 20, "peak RSS {} MiB", rss >> 20);

    // Every dead letter says why.
    let reasons = authlake_ok(&["query", "--lake", &lake_s, "--format", "csv", "SELECT COUNT(*) AS n FROM dead_letters WHERE reason IS NULL OR reason = ''"]);
    assert_eq!(reasons, "n\n0\n");
    assert_eq!(counts(&lake_s), (rows, rows, rows));
    let (duck, _) = crate::support::duckdb_snapshot_counts(std::path::Path::new(&lake_s));
    assert_eq!(duck, rows);

    // Exports, including the Security Lake layout built from region and
    // account values: every file inside the output directory.
    let out_dir = tmp.path().join("export");
    authlake_ok(&["export", "--lake", &lake_s, "--from", "1970-01-01", "--to", "9999-12-31", "--format", "ocsf", "--layout", "security-lake", "--out", &out_dir.display().to_string()]);
    for f in walk(tmp.path()) {
        assert!(f.starts_with(&lake) || f.starts_with(&out_dir) || f == input, "{} escaped", f.display());
        let rel = f.strip_prefix(tmp.path()).unwrap().display().to_string();
        assert!(!rel.contains("..") && !rel.contains('\0'), "{rel}");
    }
    // Two partition levels, each `key=value` with a known value.
    for f in partition_files(&lake) {
        let dir = f.parent().unwrap().strip_prefix(&lake).unwrap();
        let parts: Vec<String> = dir.iter().map(|p| p.to_string_lossy().to_string()).collect();
        assert_eq!(parts.len(), 2, "{}", dir.display());
        let category = parts[0].strip_prefix("category=").unwrap();
        assert!(authlake_core::event::CATEGORIES.contains(&category), "{}", dir.display());
        let date = parts[1].strip_prefix("event_date=").unwrap();
        let ymd: Vec<&str> = date.split('-').collect();
        assert!(ymd.len() == 3 && [4, 2, 2] == [ymd[0].len(), ymd[1].len(), ymd[2].len()] && date.bytes().all(|b| b.is_ascii_digit() || b == b'-'), "{}", dir.display());
    }
    assert!(Path::new(&lake).join("category=auth/event_date=9999-12-31").is_dir());
}
