//! Exactly once per event: the same records delivered again by another
//! path add no row; identical records within one object stay distinct.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::support::{authlake, authlake_ok, fixtures};

fn compact(path: &Path) -> String {
    let v: Value = serde_json::from_str(crate::support::file_text(path).trim_start_matches('\u{feff}')).unwrap();
    v.to_string()
}

fn trigger(name: &str) -> String {
    compact(&fixtures().join("real/lambda_triggers").join(name))
}

fn query(lake: &str, sql: &str) -> Vec<Value> {
    serde_json::from_str(&authlake_ok(&["query", "--lake", lake, "--format", "json", sql])).unwrap()
}

fn count(lake: &str) -> u64 {
    query(lake, "SELECT COUNT(*) AS n FROM events")[0]["n"].as_u64().unwrap()
}

fn ingest(from: &Path, lake: &str, extra: &[&str]) -> String {
    let from = format!("file://{}", from.display());
    let mut args = vec!["ingest", "--from", from.as_str(), "--lake", lake];
    args.extend_from_slice(extra);
    authlake_ok(&args)
}

/// A CloudWatch Logs subscription payload holding `messages`, each with its
/// own log event id.
fn cloudwatch_payload(messages: &[(&str, &str)]) -> String {
    let events: Vec<Value> = messages.iter().map(|(id, m)| json!({"id": id, "timestamp": 1_700_000_000_000_i64, "message": m})).collect();
    json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/post-auth", "logStream": "s",
           "subscriptionFilters": ["f"], "logEvents": events})
    .to_string()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn copies_and_other_paths_add_nothing_while_repeats_in_one_object_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    for d in [&a, &b, &c] {
        std::fs::create_dir_all(d).unwrap();
    }
    let lake = tmp.path().join("lake").display().to_string();
    let post_auth = trigger("java-cognito_userpool_postauthentication.json");
    let pre_signup = trigger("java-cognito_userpool_presignup.json");
    // The same user signed in twice: two identical trigger events, two events.
    std::fs::write(a.join("triggers.ndjson"), format!("{post_auth}\n{pre_signup}\n{post_auth}\n")).unwrap();
    std::fs::copy(fixtures().join("cloudtrail/cloudtrail-records.ndjson"), a.join("cloudtrail.ndjson")).unwrap();
    let first = ingest(&a, &lake, &[]);
    assert!(!first.contains("duplicates dropped"), "{first}");
    let rows = count(&lake);
    let ids = query(&lake, "SELECT event_id FROM events WHERE source_format = 'lambda_trigger' ORDER BY source");
    let ids: Vec<&str> = ids.iter().map(|r| r["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.iter().all(|i| i.starts_with("ac-")), "{ids:?}");
    assert_eq!(ids[2], format!("{}.1", ids[0]), "the repeat is told apart from the first");

    // A copy of the directory under another name: nothing added.
    for f in ["triggers.ndjson", "cloudtrail.ndjson"] {
        std::fs::copy(a.join(f), b.join(format!("copy-of-{f}"))).unwrap();
    }
    let copy = ingest(&b, &lake, &[]);
    assert!(copy.contains(&format!("({rows} duplicates dropped)")), "{copy}");
    assert_eq!(count(&lake), rows);

    // The trigger events again, as a Lambda's log lines in a CloudWatch
    // Logs payload: records in CloudWatch Logs carry log event ids, so they
    // are other events than the file's (which had none) and stay two.
    let logged = cloudwatch_payload(&[("3719", &post_auth), ("3720", &post_auth)]);
    std::fs::write(c.join("cwl.json"), &logged).unwrap();
    let cwl = ingest(&c, &lake, &[]);
    assert!(cwl.starts_with("ingested 2 events"), "{cwl}");
    // The same payload delivered again, gzipped and concatenated with
    // another as Firehose writes them: only the new log event is added.
    let mut object = gzip(logged.as_bytes());
    object.extend(gzip(cloudwatch_payload(&[("3721", &pre_signup)]).as_bytes()));
    std::fs::write(c.join("firehose-1.gz"), object).unwrap();
    let again = ingest(&c, &lake, &[]);
    assert!(again.starts_with("ingested 1 events") && again.contains("(2 duplicates dropped)"), "{again}");
    assert_eq!(count(&lake), rows + 3);
    let dupes: Vec<Value> = serde_json::from_str(&authlake_ok(&["query", "--lake", &lake, "--format", "json", "--named", "duplicates"])).unwrap();
    assert!(dupes.is_empty(), "{dupes:?}");

    // With dedupe off, a copy lands again, and the check command shows it.
    let d = tmp.path().join("d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(a.join("cloudtrail.ndjson"), d.join("again.ndjson")).unwrap();
    let off = ingest(&d, &lake, &["--dedupe-window", "0s"]);
    assert!(!off.contains("duplicates dropped"), "{off}");
    let dupes: Vec<Value> = serde_json::from_str(&authlake_ok(&["query", "--lake", &lake, "--format", "json", "--named", "duplicates"])).unwrap();
    let cloudtrail_rows = query(&lake, &format!("SELECT COUNT(*) AS n FROM events WHERE source LIKE 'file:{}%'", d.display()))[0]["n"].as_u64().unwrap();
    assert!(cloudtrail_rows > 0);
    assert_eq!(dupes.len() as u64, cloudtrail_rows, "{dupes:?}");
    assert!(dupes.iter().all(|r| r["copies"] == json!(2)), "{dupes:?}");
}

#[test]
fn a_file_read_on_after_a_commit_keeps_counting_its_repeats() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake").display().to_string();
    let file = tmp.path().join("triggers.ndjson");
    let post_auth = trigger("java-cognito_userpool_postauthentication.json");
    std::fs::write(&file, format!("{post_auth}\n{post_auth}\n")).unwrap();
    let first = ingest(&file, &lake, &[]);
    assert!(first.starts_with("ingested 2 events"), "{first}");
    // The file grows; the next run starts at the committed offset, in the
    // middle of the object, and counts the repeats already in.
    std::fs::OpenOptions::new().append(true).open(&file).unwrap().write_all(format!("{post_auth}\n").as_bytes()).unwrap();
    let second = ingest(&file, &lake, &[]);
    assert!(second.starts_with("ingested 1 events"), "{second}");
    let ids = query(&lake, "SELECT event_id FROM events ORDER BY source");
    let ids: Vec<&str> = ids.iter().map(|r| r["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [ids[0].to_string(), format!("{}.1", ids[0]), format!("{}.2", ids[0])]);
}

#[test]
fn a_bad_window_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = authlake(&["ingest", "--from", &format!("file://{}", fixtures().join("cloudtrail").display()), "--lake", &tmp.path().display().to_string(), "--dedupe-window", "7"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}
