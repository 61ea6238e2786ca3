//! Golden tests: every fixture file decoded by the file source, compared
//! with `tests/golden/decode/<fixture>.json`. `UPDATE_GOLDEN=1` rewrites
//! the golden files; review the diff before committing it.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};
use authlake_ingest::decode::Defaults;
use authlake_ingest::source::{file, Chunk, ChunkSink};
use serde_json::{json, Value};

use crate::support::{fixture_files, fixtures, root};

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
        for (key, batch) in &chunk.decoded.batches {
            for mut v in rows_of(batch) {
                v["source"] = json!(strip(v["source"].as_str().unwrap()));
                v["category"] = json!(key.category);
                events.push(v);
            }
        }
        for d in chunk.decoded.dead_letters {
            dead.push(json!({"source": strip(&d.source), "reason": d.reason, "raw": d.raw}));
        }
        skipped += chunk.decoded.skipped;
    }
    // Rows come grouped by partition; the golden files list them in file
    // order (payload offset, then record index).
    events.sort_by_key(|v| source_order(v["source"].as_str().unwrap()));
    json!({"events": events, "dead_letters": dead, "skipped": skipped})
}

/// `file:<path>@<offset>[#<index>]` as (path, offset, index).
fn source_order(source: &str) -> (String, u64, i64) {
    let (path, rest) = source.rsplit_once('@').unwrap();
    let (offset, index) = rest.split_once('#').map_or((rest, -1), |(o, i)| (o, i.parse().unwrap()));
    (path.to_string(), offset.parse().unwrap(), index)
}

/// The rows of an events batch as JSON objects, times in RFC 3339.
fn rows_of(batch: &RecordBatch) -> Vec<Value> {
    let mut rows = vec![serde_json::Map::new(); batch.num_rows()];
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        for (i, row) in rows.iter_mut().enumerate() {
            let v = if col.is_null(i) {
                Value::Null
            } else {
                match field.data_type() {
                    DataType::Utf8 => json!(col.as_string::<i32>().value(i)),
                    DataType::Boolean => json!(col.as_boolean().value(i)),
                    DataType::Int64 => json!(col.as_primitive::<Int64Type>().value(i)),
                    DataType::Timestamp(..) => json!(iso(col.as_primitive::<TimestampMicrosecondType>().value(i))),
                    other => panic!("unexpected column type {other}"),
                }
            };
            row.insert(field.name().clone(), v);
        }
    }
    rows.into_iter().map(Value::Object).collect()
}

#[test]
fn every_fixture_matches_its_golden_file() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let golden_dir = root().join("tests/golden/decode");
    let mut mismatches = Vec::new();
    let fixture_files = fixture_files();
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
    for path in fixture_files() {
        for e in decode_fixture(&path)["events"].as_array().unwrap() {
            formats.insert(e["source_format"].as_str().unwrap().to_string());
        }
    }
    let want = ["canonical", "cloudtrail", "cognito_activity_log", "cognito_auth_event", "lambda_trigger"];
    assert_eq!(formats.into_iter().collect::<Vec<_>>(), want);
}
