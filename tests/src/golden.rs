//! Golden tests: every fixture file decoded by the file source, compared
//! with `tests/golden/decode/<fixture>.json`. `UPDATE_GOLDEN=1` rewrites
//! the golden files; review the diff before committing it.

use std::collections::BTreeMap;
use std::path::Path;

use authlake_ingest::decode::Defaults;
use authlake_ingest::source::{file, Chunk, ChunkSink};
use serde_json::{json, Value};

use crate::support::{fixtures, root, walk};

/// 2025-11-27T00:00:00Z: the ingest time of every golden run.
const INGEST_TIME: i64 = 1_764_201_600_000_000;

struct Collect(Vec<Chunk>);

impl ChunkSink for Collect {
    fn send(&mut self, chunk: Chunk) -> bool {
        self.0.push(chunk);
        true
    }
}

/// RFC 3339 without pulling chrono into the tests crate.
fn iso(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let date = authlake_core::partition::day_to_date_string(days as i32);
    format!("{date}T{:02}:{:02}:{:02}.{micros:06}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Decodes one fixture file into its golden form.
pub fn decode_fixture(path: &Path) -> Value {
    let files = vec![path.to_path_buf()];
    let defaults = Defaults { user_pool_id: Some("us-west-2_EXAMPLE".into()), ..Default::default() };
    let mut sink = Collect(Vec::new());
    file::read_files(&files, &BTreeMap::new(), &defaults, &|| INGEST_TIME, &mut sink).expect("read fixture");
    let prefix = format!("{}/", root().display());
    let strip = |s: &str| s.replace(&prefix, "");
    let mut events = Vec::new();
    let mut dead = Vec::new();
    let mut skipped = 0;
    for chunk in sink.0 {
        for e in chunk.decoded.events {
            let mut v = serde_json::to_value(&e).unwrap();
            v["event_time"] = json!(iso(e.event_time));
            v["ingest_time"] = json!(iso(e.ingest_time));
            v["source"] = json!(strip(&e.source));
            v["category"] = json!(e.category());
            if e.event_id.starts_with("al-") {
                v["event_id"] = json!("<derived>");
            }
            events.push(v);
        }
        for d in chunk.decoded.dead_letters {
            dead.push(json!({"source": strip(&d.source), "reason": d.reason, "raw": d.raw}));
        }
        skipped += chunk.decoded.skipped;
    }
    json!({"events": events, "dead_letters": dead, "skipped": skipped})
}

#[test]
fn every_fixture_matches_its_golden_file() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let golden_dir = root().join("tests/golden/decode");
    let mut mismatches = Vec::new();
    let fixture_files = walk(&fixtures());
    assert!(fixture_files.len() >= 10, "fixtures missing");
    for path in fixture_files {
        let rel = path.strip_prefix(fixtures()).unwrap();
        let golden = golden_dir.join(format!("{}.json", rel.display()));
        let actual = serde_json::to_string_pretty(&decode_fixture(&path)).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if expected != actual {
            mismatches.push(format!("{} differs from {}", rel.display(), golden.display()));
        }
    }
    assert!(mismatches.is_empty(), "golden mismatches (UPDATE_GOLDEN=1 to regenerate, then review):\n{}", mismatches.join("\n"));
}

#[test]
fn fixture_formats_are_all_detected() {
    let mut formats = std::collections::BTreeSet::new();
    for path in walk(&fixtures()) {
        for e in decode_fixture(&path)["events"].as_array().unwrap() {
            formats.insert(e["source_format"].as_str().unwrap().to_string());
        }
    }
    let want = ["canonical", "cloudtrail", "cognito_activity_log", "cognito_auth_event", "lambda_trigger"];
    assert_eq!(formats.into_iter().collect::<Vec<_>>(), want);
}
