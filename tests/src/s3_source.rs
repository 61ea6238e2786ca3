//! S3 as a source (moto): CloudTrail, log-export and CloudWatch Logs
//! objects in the layouts AWS delivers them (tests/fixtures/s3-layouts/,
//! built by tests/make_s3_layouts.py), read once, followed while more
//! arrive, killed in the middle of an object, and delivered again by other
//! paths without a row added.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{authlake_bin, authlake_env, authlake_env_ok, authlake_ok, finish_within, root, sigterm, walk, Moto};

fn layouts() -> PathBuf {
    root().join("tests/fixtures/s3-layouts")
}

/// Uploads `(key, file)` pairs with boto3.
fn put(moto: &Moto, bucket: &str, objects: &[(String, PathBuf)]) {
    let pairs: Vec<(String, String)> = objects.iter().map(|(k, p)| (k.clone(), p.display().to_string())).collect();
    let code = format!(
        "import boto3, json\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\nfor k, p in json.loads('''{}'''):\n    s3.upload_file(p, '{bucket}', k)\n",
        moto.endpoint,
        serde_json::to_string(&pairs).unwrap()
    );
    let out = Command::new("python3").arg("-c").arg(code).output().unwrap();
    assert!(out.status.success(), "upload: {}", String::from_utf8_lossy(&out.stderr));
}

/// The layout files as objects under `prefix`, keyed by their path below
/// the layouts directory (LAYOUTS.md is no object).
fn layout_objects(prefix: &str) -> Vec<(String, PathBuf)> {
    walk(&layouts())
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .map(|p| (format!("{prefix}{}", p.strip_prefix(layouts()).unwrap().display()), p))
        .collect()
}

fn count(lake: &str, sql: &str) -> u64 {
    let out = authlake_ok(&["query", "--lake", lake, "--format", "json", sql]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["n"].as_u64().unwrap()
}

fn rows(lake: &str) -> (u64, u64) {
    (count(lake, "SELECT COUNT(*) AS n FROM events"), count(lake, "SELECT COUNT(DISTINCT event_id) AS n FROM events"))
}

#[test]
fn layouts_are_read_from_s3_and_files_once_and_other_paths_add_nothing() {
    let moto = Moto::start();
    moto.create_bucket("logs");
    let env = moto.env();
    put(&moto, "logs", &layout_objects(""));
    let tmp = tempfile::tempdir().unwrap();

    // From files, into a lake of its own: what the layouts hold. The
    // digest is no log; the notes beside the layouts hold no records.
    let by_file = tmp.path().join("by-file").display().to_string();
    let out = authlake_ok(&["ingest", "--from", &format!("file://{}", layouts().display()), "--lake", &by_file]);
    assert!(out.contains("0 dead letters"), "{out}");
    assert!(out.contains("skipped 1 file(s) that hold no records") && out.contains("LAYOUTS.md"), "{out}");
    let (expected, distinct) = rows(&by_file);
    assert_eq!(expected, distinct);
    // 11 CloudTrail records, the log export's 10 (through Firehose; its
    // direct delivery repeats 3, a Lambda's log line 1) and 5 trigger events.
    assert_eq!(expected, 11 + 10 + 5);
    assert!(out.contains("(4 duplicates dropped)"), "{out}");
    let by_format = |lake: &str, f: &str| count(lake, &format!("SELECT COUNT(*) AS n FROM events WHERE source_format = '{f}'"));

    // From S3: the same rows, named by their objects.
    let lake = tmp.path().join("lake").display().to_string();
    let out = authlake_env_ok(&["ingest", "--from", "s3://logs/", "--lake", &lake], &env);
    assert!(out.starts_with(&format!("ingested {expected} events, 0 dead letters")), "{out}");
    assert_eq!(rows(&lake), (expected, expected));
    for f in ["cloudtrail", "cognito_activity_log", "lambda_trigger"] {
        assert_eq!(by_format(&lake, f), by_format(&by_file, f), "{f}");
    }
    let s3_sources = count(&lake, "SELECT COUNT(*) AS n FROM events WHERE source LIKE 's3://logs/%'");
    assert_eq!(s3_sources, expected);

    // Again: the watermark and the dedupe window leave nothing to add.
    let again = authlake_env_ok(&["ingest", "--from", "s3://logs/", "--lake", &lake], &env);
    assert!(again.starts_with("ingested 0 events"), "{again}");

    // The same records by other paths: a copied prefix, the files, the
    // CloudTrail records wrapped as EventBridge delivers them, and
    // concatenated as a Firehose stream of CloudTrail events writes them.
    put(&moto, "logs", &layout_objects("copy/"));
    let copy = authlake_env_ok(&["ingest", "--from", "s3://logs/copy", "--lake", &lake], &env);
    // Every record the layouts hold: the 26 events and their 4 repeats.
    assert!(copy.starts_with("ingested 0 events") && copy.contains(&format!("({} duplicates dropped)", expected + 4)), "{copy}");
    let files = authlake_ok(&["ingest", "--from", &format!("file://{}", layouts().display()), "--lake", &lake]);
    assert!(files.starts_with("ingested 0 events"), "{files}");
    let trail: Vec<serde_json::Value> =
        crate::support::file_text(&crate::support::fixtures().join("cloudtrail/cloudtrail-records.ndjson")).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let wrapped: String = trail
        .iter()
        .map(|r| serde_json::json!({"version": "0", "id": format!("eb-{}", r["eventID"]), "detail-type": "AWS API Call via CloudTrail", "source": "aws.cognito-idp",
            "account": "123456789012", "time": r["eventTime"], "region": "ap-northeast-1", "resources": [], "detail": r}).to_string() + "\n")
        .collect();
    let concatenated: String = trail.iter().map(|r| r.to_string()).collect();
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("eventbridge.ndjson"), wrapped).unwrap();
    std::fs::write(other.join("firehose-cloudtrail"), concatenated).unwrap();
    put(&moto, "logs", &[("eventbridge/1.ndjson".into(), other.join("eventbridge.ndjson")), ("ct-firehose/2025/10/09/08/ct-1".into(), other.join("firehose-cloudtrail"))]);
    for from in ["s3://logs/eventbridge/", "s3://logs/ct-firehose"] {
        let out = authlake_env_ok(&["ingest", "--from", from, "--lake", &lake], &env);
        assert!(out.starts_with("ingested 0 events") && out.contains(&format!("({} duplicates dropped)", trail.len())), "{from}: {out}");
    }
    assert_eq!(rows(&lake), (expected, expected));
}

fn follower(lake: &str, from: &str, env: &[(&str, String)], extra: &[&str]) -> std::process::Child {
    let mut args = vec!["ingest", "--from", from, "--lake", lake, "--follow", "--poll-interval", "200ms", "--lateness", "0s", "--commit-interval", "500ms"];
    args.extend_from_slice(extra);
    Command::new(authlake_bin()).args(&args).envs(env.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn wait_rows(lake: &str, n: u64) -> u64 {
    let until = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = if Path::new(lake).join("_delta_log").exists() { rows(lake).0 } else { 0 };
        if got >= n || std::time::Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `n` canonical events from the generator, as one NDJSON file.
fn generated(dir: &Path, name: &str, n: u64, seed: u64) -> PathBuf {
    let out = dir.join(name);
    authlake_ok(&["generate", "--events", &n.to_string(), "--days", "2", "--seed", &seed.to_string(), "--format", "canonical", "--out", &out.display().to_string()]);
    out
}

#[test]
fn a_follower_picks_up_new_objects_and_kills_lose_and_double_nothing() {
    let moto = Moto::start();
    moto.create_bucket("live");
    let env = moto.env();
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake").display().to_string();

    // CloudTrail's log files first, the log export and CloudWatch Logs
    // objects after a SIGKILL.
    let (trail, rest): (Vec<_>, Vec<_>) = layout_objects("").into_iter().partition(|(k, _)| k.contains("/CloudTrail/"));
    put(&moto, "live", &trail);
    let mut child = follower(&lake, "s3://live/", &env, &[]);
    assert_eq!(wait_rows(&lake, 11), 11);
    child.kill().unwrap();
    child.wait().unwrap();
    put(&moto, "live", &rest);
    child = follower(&lake, "s3://live/", &env, &[]);
    assert_eq!(wait_rows(&lake, 26), 26, "the objects added while it was down");

    // Objects added while following.
    let small = [generated(tmp.path(), "a.ndjson", 500, 1), generated(tmp.path(), "b.ndjson", 700, 2)];
    put(&moto, "live", &[("gen/2025/01/a.ndjson".into(), small[0].clone())]);
    assert_eq!(wait_rows(&lake, 526), 526);
    put(&moto, "live", &[("gen/2025/01/b.ndjson".into(), small[1].clone())]);
    assert_eq!(wait_rows(&lake, 1226), 1226, "an object added while following");
    sigterm(&child);
    let out = finish_within(child, Duration::from_secs(30));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Killed while an object is half in: big enough that a 1 MiB buffer
    // commits several times inside it.
    let big = generated(tmp.path(), "c.ndjson", 200_000, 3);
    put(&moto, "live", &[("gen/2025/01/c.ndjson".into(), big)]);
    child = follower(&lake, "s3://live/", &env, &["--max-buffer", "1MiB"]);
    let partial = wait_rows(&lake, 1227);
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = rows(&lake).0;
    assert!(partial > 1226 && after_kill < 201_226, "the kill fell inside the object: {after_kill} rows");

    let out = authlake_env(&["ingest", "--from", "s3://live/", "--lake", &lake], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(line.contains("duplicates dropped"), "objects read again after the kill are dropped: {line}");
    assert_eq!(rows(&lake), (201_226, 201_226), "every record once");
}

#[test]
fn an_s3_source_needs_the_dedupe_window() {
    let out = authlake_env(&["ingest", "--from", "s3://b/p", "--lake", "/tmp/x", "--dedupe-window", "0s"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}
