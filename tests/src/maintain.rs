//! Lake care on the Delta table, beside a live ingest and another engine
//! reading in a loop: compaction, retention and `forget` change the table
//! whole (no read sees a duplicate or misses a live row), the erased
//! subject is gone from every byte under the lake and stays out of later
//! ingests, dry runs say what the real runs then do, time travel reads old
//! versions (and refuses erased ones), exports pinned to a version repeat
//! byte for byte, and vacuum deletes only what no version needs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::{authlake, authlake_env_ok, authlake_ok, file_text, walk};

const KEY: &str = "AUTHLAKE_ERASURE_KEY";

fn key() -> [(&'static str, String); 1] {
    [(KEY, "maintain-test-erasure-key-0123".to_string())]
}

fn line(id: &str, user: &str, time: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","event_time":"{time}","event_type":"sign_in","outcome":"success","user_pool_id":"us-east-1_Maint","username":"{user}","user_sub":"sub-{user}","source_ip":"10.0.0.1"}}"#
    )
}

fn day(offset: i64) -> String {
    let today = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 86_400;
    authlake_core::partition::day_to_date_string(today as i32 + offset as i32)
}

fn ingest(lake: &str, file: &Path, lines: &[String]) -> String {
    std::fs::write(file, lines.join("\n")).unwrap();
    authlake_env_ok(&["ingest", "--from", &format!("file://{}", file.display()), "--lake", lake], &key())
}

fn count(lake: &str, filter: &str, as_of: Option<u64>) -> u64 {
    let sql = format!("SELECT COUNT(*) AS n FROM events WHERE {filter}");
    let v = as_of.map(|v| v.to_string());
    let mut args = vec!["query", "--lake", lake, "--format", "csv", sql.as_str()];
    if let Some(v) = &v {
        args.extend(["--as-of", v.as_str()]);
    }
    authlake_ok(&args).lines().nth(1).unwrap().trim().parse().unwrap()
}

fn latest_version(lake: &str) -> u64 {
    let out = authlake_ok(&["lake", "history", "--lake", lake, "--limit", "1", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["version"].as_u64().unwrap()
}

/// Waits until the reader loop has read the table `n` times.
fn wait_reads(report: &Path, n: u64) {
    let counter = report.with_extension("json.n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::read_to_string(&counter).ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) < n {
        assert!(std::time::Instant::now() < deadline, "the reader loop made no progress");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn reads(report: &Path) -> u64 {
    std::fs::read_to_string(report.with_extension("json.n")).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The real run's line is the dry run's, done.
fn same_plan(dry: &str, real: &str) {
    let planned = dry.lines().next().unwrap().split(" (dry run").next().unwrap().replace("would remove", "removed");
    let done = real.lines().next().unwrap().split(" in commit").next().unwrap();
    assert_eq!(done, planned, "dry run:\n{dry}\nreal run:\n{real}");
}

/// Python `deltalake` reading the table in a loop until `stop` exists,
/// checking every read: no event id twice, every stable id present.
fn reader(lake: &Path, stable: &Path, stop: &Path, report: &Path) -> Child {
    let code = format!(
        r#"
import json, os, time, deltalake, polars
stable = set(open({stable:?}).read().split())
reads = bad = retried = 0
problems = []
while not os.path.exists({stop:?}):
    try:
        t = deltalake.DeltaTable({lake:?})
        r = deltalake.QueryBuilder().register('events', t).execute('SELECT event_id FROM events')
        ids = polars.DataFrame(r.read_all())['event_id'].to_list()
    except Exception as e:
        # forget deletes the files it replaced at once: a read of the
        # snapshot before it fails whole, never with wrong rows.
        if 'not found' in str(e).lower() or 'no such file' in str(e).lower():
            retried += 1
            continue
        raise
    reads += 1
    open({report:?} + '.n', 'w').write(str(reads))
    seen = set(ids)
    if len(seen) != len(ids) or not stable <= seen:
        bad += 1
        problems.append((t.version(), len(ids), len(seen), len(stable - seen)))
json.dump({{'reads': reads, 'bad': bad, 'retried': retried, 'problems': problems[:5]}}, open({report:?}, 'w'))
"#,
        lake = lake.display().to_string(),
        stable = stable.display().to_string(),
        stop = stop.display().to_string(),
        report = report.display().to_string(),
    );
    Command::new("python3").arg("-c").arg(code).stdin(Stdio::null()).spawn().expect("start python3")
}

#[test]
fn lake_care_beside_live_ingest_and_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let lake_s = lake.display().to_string();
    // Closed recent partitions (compacted, kept), old ones (expired), and
    // a subject ("victim") in both.
    let mut stable = Vec::new();
    let mut victim_lines = Vec::new();
    for part in 0..4 {
        let mut lines = Vec::new();
        for i in 0..30 {
            let user = format!("user{}", i % 6);
            let (id, time) = (format!("r{part}-{i}"), format!("{}T08:{:02}:{:02}Z", day(-2 - (i % 2) as i64), part, i));
            stable.push(id.clone());
            lines.push(line(&id, &user, &time));
            lines.push(line(&format!("o{part}-{i}"), &user, &format!("2020-01-0{}T08:00:{i:02}Z", 1 + i % 3)));
        }
        for i in 0..3 {
            victim_lines.push(line(&format!("v{part}-{i}"), "victim", &format!("{}T09:00:{i:02}Z", day(-2))));
            victim_lines.push(line(&format!("vo{part}-{i}"), "victim", &format!("2020-01-01T09:0{part}:{i:02}Z")));
        }
        lines.extend(victim_lines[victim_lines.len() - 6..].iter().cloned());
        ingest(&lake_s, &tmp.path().join(format!("base{part}.ndjson")), &lines);
    }
    std::fs::write(tmp.path().join("victim.ndjson"), victim_lines.join("\n")).unwrap();
    assert_eq!(count(&lake_s, "username = 'victim'", None), 24);
    let stable_file = tmp.path().join("stable.txt");
    std::fs::write(&stable_file, stable.join("\n")).unwrap();

    // Another engine reads in a loop; a live ingest commits today's events.
    let stop = tmp.path().join("stop");
    let report = tmp.path().join("report.json");
    let mut python = reader(&lake, &stable_file, &stop, &report);
    let done = Arc::new(AtomicBool::new(false));
    let live = {
        let (done, lake_s, dir) = (done.clone(), lake_s.clone(), tmp.path().to_path_buf());
        std::thread::spawn(move || {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) || n < 3 {
                let lines: Vec<String> = (0..20).map(|i| line(&format!("live{n}-{i}"), &format!("live{i}"), &format!("{}T00:00:{i:02}Z", day(0)))).collect();
                ingest(&lake_s, &dir.join(format!("live{n}.ndjson")), &lines);
                n += 1;
            }
            n
        })
    };

    // Each change lands between reads of the other engine.
    wait_reads(&report, 1);
    let dry = authlake_ok(&["compact", "--lake", &lake_s, "--dry-run"]);
    assert!(dry.contains("would remove 20 files") && dry.contains("in 5 partitions, adding 5 files"), "five closed partitions of four files each: {dry}");
    same_plan(&dry, &authlake_ok(&["compact", "--lake", &lake_s]));
    wait_reads(&report, reads(&report) + 2);
    let dry = authlake_ok(&["retention", "--lake", &lake_s, "--keep", "400d", "--dry-run"]);
    same_plan(&dry, &authlake_ok(&["retention", "--lake", &lake_s, "--keep", "400d"]));
    wait_reads(&report, reads(&report) + 2);
    let before_forget = latest_version(&lake_s);
    let dry = authlake_env_ok(&["forget", "--lake", &lake_s, "--user", "victim", "--dry-run"], &key());
    assert!(dry.contains(" 12 rows, 0 dead letters)"), "the 12 recent rows are live (the old ones expired): {dry}");
    let forgot = authlake_env_ok(&["forget", "--lake", &lake_s, "--user", "sub-victim"], &key());
    same_plan(&dry, &forgot);
    let after_forget: u64 = forgot.split(" in commit ").nth(1).and_then(|t| t.split_whitespace().next()).and_then(|v| v.parse().ok()).expect(&forgot);
    let history = authlake_ok(&["lake", "history", "--lake", &lake_s, "--limit", "40"]);
    assert!(latest_version(&lake_s) >= after_forget, "{history}");

    wait_reads(&report, reads(&report) + 2);
    done.store(true, Ordering::Relaxed);
    let live_batches = live.join().unwrap();
    std::fs::write(&stop, "").unwrap();
    assert!(python.wait().unwrap().success(), "reader loop failed");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(r["reads"].as_u64().unwrap() >= 7, "{r}");
    assert_eq!(r["bad"], 0, "a read saw a duplicate or missed a live row: {r}");

    // Every live ingest landed once; the stable rows are all there.
    assert_eq!(count(&lake_s, "event_id LIKE 'live%'", None), 20 * live_batches as u64);
    assert_eq!(count(&lake_s, "event_id LIKE 'r%'", None), stable.len() as u64);
    assert_eq!(count(&lake_s, "event_date < DATE '2021-01-01'", None), 0, "retention");

    // Not a byte of the subject anywhere: data files (decoded), files kept
    // for time travel, the logs, the erasure record.
    for f in walk(&lake) {
        assert!(!file_text(&f).contains("victim"), "{} still names the subject", f.display());
    }
    // A re-delivery does not bring them back, and the ingest says so.
    let again = authlake_env_ok(&["ingest", "--from", &format!("file://{}", tmp.path().join("victim.ndjson").display()), "--lake", &lake_s], &key());
    assert!(again.contains("(24 rows of erased subjects dropped)"), "{again}");
    assert_eq!(count(&lake_s, "username = 'victim' OR user_sub = 'sub-victim'", None), 0);
    let no_key = authlake(&["ingest", "--from", &format!("file://{}", tmp.path().join("victim.ndjson").display()), "--lake", &lake_s]);
    assert!(!no_key.status.success() && String::from_utf8_lossy(&no_key.stderr).contains("has erasures"), "an ingest without the key is refused");

    // Time travel: the version right after the erasure reads as it was;
    // one from before fails, naming the erasure.
    let at_forget = count(&lake_s, "true", Some(after_forget));
    assert_eq!(at_forget, count(&lake_s, "event_id NOT LIKE 'live%'", None) + count(&lake_s, "event_id LIKE 'live%'", Some(after_forget)));
    let old = authlake(&["query", "--lake", &lake_s, "--as-of", &before_forget.to_string(), "SELECT COUNT(*) FROM events"]);
    let err = String::from_utf8_lossy(&old.stderr);
    assert!(!old.status.success() && err.contains(&format!("erased by forget at version {after_forget}")), "{err}");

    // An export pinned to a version repeats byte for byte.
    let export = |out: &Path| {
        let o = out.display().to_string();
        let v = after_forget.to_string();
        authlake_ok(&["export", "--lake", &lake_s, "--from", "2000-01-01", "--to", "2100-01-01", "--out", &o, "--as-of", &v])
    };
    let (a, b) = (tmp.path().join("export-a"), tmp.path().join("export-b"));
    assert!(export(&a).contains(&format!("(table version {after_forget})")));
    export(&b);
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["table_version"], after_forget);
    assert_eq!(manifest["rows"], at_forget);
    let data = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = walk(d).into_iter().filter(|p| p.file_name().is_some_and(|n| n != "manifest.json")).collect();
        files.sort();
        files.into_iter().map(|p| (p.strip_prefix(d).unwrap().to_path_buf(), std::fs::read(&p).unwrap())).collect()
    };
    assert_eq!(data(&a), data(&b));

    // Vacuum: nothing younger than its threshold goes (every file here is
    // minutes old); an abandoned file of a writer that never came back,
    // two days old, does, and only it.
    let partition = walk(&lake).into_iter().find(|p| p.to_string_lossy().contains("/category=auth/event_date=") && p.extension().is_some_and(|e| e == "parquet")).unwrap();
    let orphan = partition.with_file_name("part-0000000000000000-abandoned.parquet");
    std::fs::copy(&partition, &orphan).unwrap();
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::options().write(true).open(&orphan).unwrap().set_modified(two_days_ago).unwrap();
    let total = count(&lake_s, "true", None);
    let dry = authlake_ok(&["vacuum", "--lake", &lake_s, "--older-than", "1d", "--dry-run"]);
    assert!(dry.contains("vacuum: events would delete 1 files") && dry.contains("vacuum: erasures would delete 0 files"), "{dry}");
    assert!(orphan.exists());
    let real = authlake_ok(&["vacuum", "--lake", &lake_s, "--older-than", "1d"]);
    assert_eq!(real.replace("deleted", "would delete"), dry.replace("vacuum: dry run, nothing changed\n", ""));
    assert!(!orphan.exists());
    assert_eq!(count(&lake_s, "true", None), total);
    let short = authlake(&["vacuum", "--lake", &lake_s, "--older-than", "10m"]);
    assert_eq!(short.status.code(), Some(2), "{}", String::from_utf8_lossy(&short.stderr));
}
