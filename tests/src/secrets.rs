//! Secrets never land: every file written (decompressed: the lake, dead
//! letters, exports in every format, stream telemetry), and what the CLI
//! printed (ingest logs from files and Kinesis, query results, metrics as
//! JSON, EMF and tables), is scanned for the plaintext secrets present in
//! the fixtures. authlake has one log level: everything it logs is here.

use crate::support::{authlake, authlake_env, authlake_ok, fixture_files, fixtures, file_text, walk, Moto};

/// Plaintext secrets that occur in `fixtures/` (passwords, codes,
/// sessions, tokens, challenge answers).
const SECRETS: &[&str] = &[
    "Auth0-Legacy-Pa55!",
    "wrong-guess-123",
    "CorrectHorse9!",
    "482913",
    "918273",
    "NewPassw0rd!",
    "Temp0rary!",
    "AYABeBF-session-token",
    "eyJraWQiOiJBQUFBIn0",
    "eyJjdHkiOiJKV1QifQ.refresh",
    "eyJraWQiOiJCQkJCIn0",
    "Carol-Old-Secret#1",
    "Trunc4ted-Secret",
    "sess-should-not-land",
    "purple-elephant-42",
    "password=plain",
    // From the real corpus (fixtures/real/SOURCES.md lists them).
    "test-password",
    "eyExample",
    "11122233",
    "123xxxx",
    "private_value_1",
    "answer_value",
    "someCode",
    "aAaAaAaAaAaAab1111111111EXAMPLE",
];

#[test]
fn no_secret_reaches_the_lake_dead_letters_or_output() {
    // The fixtures really hold every secret (else the scan proves nothing).
    let all_input: String = fixture_files().iter().map(|p| file_text(p)).collect();
    for s in SECRETS {
        assert!(all_input.contains(s), "fixture secret {s} not in fixtures");
    }
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let out = authlake(&["ingest", "--from", &format!("file://{}", fixtures().display()), "--lake", &lake.display().to_string()]);
    assert!(out.status.success());
    let dump = authlake(&["query", "--lake", &lake.display().to_string(), "--format", "json", "SELECT * FROM events"]);
    let dead = authlake(&["query", "--lake", &lake.display().to_string(), "--format", "csv", "SELECT * FROM dead_letters"]);
    let mut written = vec![
        ("ingest output".to_string(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)),
        ("query output".to_string(), String::from_utf8_lossy(&dump.stdout).to_string()),
        ("dead letter output".to_string(), String::from_utf8_lossy(&dead.stdout).to_string()),
    ];
    let files = walk(&lake);
    assert!(files.len() >= 5, "lake too small to prove anything");
    for f in files {
        written.push((f.display().to_string(), file_text(&f)));
    }
    let dead_text = &written[2].1;
    assert!(dead_text.contains("[REDACTED]"), "dead letters show no scrubbing: {dead_text}");
    for (name, text) in &written {
        for s in SECRETS {
            assert!(!text.contains(s), "secret {s:?} found in {name}");
        }
    }
}

/// The fixtures as Kinesis records: a line of NDJSON each, other files whole.
fn fixture_records() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in fixture_files() {
        let bytes = std::fs::read(&f).unwrap();
        if f.extension().is_some_and(|e| e == "ndjson") {
            out.extend(bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
        } else {
            out.push(bytes);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_exports_metrics_emf_or_stream_logs_and_telemetry() {
    let tmp = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    let k = crate::kinesis::client(&moto).await;
    crate::kinesis::create_stream(&k, "secrets", 2).await;
    crate::kinesis::put(&k, "secrets", &fixture_records()).await;
    let lake = tmp.path().join("lake").display().to_string();
    let telemetry = tmp.path().join("telemetry.prom").display().to_string();
    let args = [
        "ingest", "--from", "kinesis://secrets", "--lake", &lake, "--telemetry-file", &telemetry, "--telemetry-interval", "100ms",
        "--log-format", "json",
    ];
    // Every log line a user can ask for, as a log shipper would get it.
    let mut env = moto.env();
    env.push(("RUST_LOG", "trace".to_string()));
    let ingest = authlake_env(&args, &env);
    assert!(ingest.status.success(), "{}", String::from_utf8_lossy(&ingest.stderr));
    let log = String::from_utf8_lossy(&ingest.stderr).to_string();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 10, "trace logging said almost nothing: {log}");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"));
        assert!(v["timestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')), "no RFC 3339 timestamp: {l}");
    }
    let mut written = vec![("kinesis ingest output".to_string(), String::from_utf8_lossy(&ingest.stdout).to_string() + &String::from_utf8_lossy(&ingest.stderr))];
    for format in ["json", "emf", "table"] {
        let m = authlake(&["metrics", "--lake", &lake, "--window", "1h", "--include-open", "--format", format]);
        assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
        assert!(!m.stdout.is_empty());
        written.push((format!("metrics --format {format}"), String::from_utf8_lossy(&m.stdout).to_string() + &String::from_utf8_lossy(&m.stderr)));
    }
    for format in ["jsonl", "csv", "parquet", "ocsf"] {
        let out = tmp.path().join(format!("export-{format}")).display().to_string();
        authlake_ok(&["export", "--lake", &lake, "--from", "2000-01-01", "--to", "2100-01-01", "--format", format, "--out", &out]);
    }
    let files = walk(tmp.path());
    assert!(files.iter().any(|f| f.display().to_string().contains("export-ocsf")), "no export written");
    assert!(files.iter().any(|f| f.display().to_string() == telemetry), "no telemetry written");
    for f in files {
        written.push((f.display().to_string(), file_text(&f)));
    }
    let rows: usize = written.iter().filter(|(n, _)| n.contains("export-jsonl")).map(|(_, t)| t.lines().count()).sum();
    assert!(rows > 20, "exports too small to prove anything ({rows} lines)");
    for (name, text) in &written {
        for s in SECRETS {
            assert!(!text.contains(s), "secret {s:?} found in {name}");
        }
    }
}
