//! KPIs: named queries (golden files), detections on generated incidents,
//! metrics pushed to a CloudWatch emulator exactly once and equal to what
//! DuckDB computes from the Parquet files, throttling and outages, alarms
//! and dashboards as code, and the HTML report drawn by Chromium.
//!
//! - `queries`: named queries (golden files) and detections.
//! - `push`: metrics pushed once, equal to DuckDB's counts; faults.
//! - `delivery`: alarms, dashboards, backtests, the HTML report.
//! - `invariants`: the counts add up in every window and dimension.

mod delivery;
mod invariants;
mod push;
mod queries;

use std::path::Path;

use serde_json::Value;

use crate::support::authlake_ok;

/// Generated traffic with the generator's injected incidents.
pub(super) fn generated_lake(dir: &Path, events: u64, days: u32, end: &str) -> (String, Value) {
    let input = dir.join("in.ndjson").display().to_string();
    let truth = dir.join("truth.json").display().to_string();
    authlake_ok(&[
        "generate", "--events", &events.to_string(), "--days", &days.to_string(), "--seed", "17", "--end", end, "--out", &input, "--truth", &truth,
    ]);
    let lake = dir.join("lake").display().to_string();
    authlake_ok(&["ingest", "--from", &format!("file://{input}"), "--lake", &lake]);
    (lake, serde_json::from_str(&std::fs::read_to_string(&truth).unwrap()).unwrap())
}

/// `YYYY-MM-DDTHH:00:00Z` for `hours_ago` hours before now.
pub(super) fn hours_ago(hours_ago: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let t = (now / 3600 - hours_ago) * 3600;
    let date = authlake_core::partition::day_to_date_string(t.div_euclid(86_400) as i32);
    format!("{date}T{:02}:00:00Z", t.rem_euclid(86_400) / 3600)
}

pub(super) fn pools(lake: &str) -> Vec<String> {
    let v: Vec<Value> =
        serde_json::from_str(&authlake_ok(&["query", "--lake", lake, "--format", "json", "SELECT DISTINCT user_pool_id FROM events ORDER BY 1"]))
            .unwrap();
    v.iter().filter_map(|r| r["user_pool_id"].as_str().map(String::from)).collect()
}

