//! Faults around the lake: the disk filling up under an ingest, and files
//! of the lake damaged behind its back.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{authlake, authlake_ok, counts, traffic};

/// A size-limited tmpfs, unmounted when dropped (tests/run.sh runs as root;
/// the test fails, never skips, when mounting is refused).
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir).output().unwrap();
        assert!(out.status.success(), "mount tmpfs (needs root, as tests/run.sh runs): {}", String::from_utf8_lossy(&out.stderr));
        SmallDisk { dir: dir.to_path_buf() }
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount").args(["-o", &format!("remount,size={size}")]).arg(&self.dir).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

#[test]
fn a_full_disk_stops_the_ingest_clearly_and_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (_, rows) = traffic(dir.path(), 150_000, 61);
    let input = format!("file://{}", dir.path().join("traffic-61.ndjson").display());
    let disk = SmallDisk::mount(&dir.path().join("disk"), "6m");
    let lake = disk.dir.join("lake").display().to_string();
    let args = ["ingest", "--from", &input, "--lake", &lake, "--commit-interval", "100ms", "--target-file-size", "256KiB", "--quiet"];

    let out = authlake(&args);
    assert!(!out.status.success(), "the ingest fit in 6 MiB: grow the input");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains(&lake) || err.contains("_authlake/"), "the error names where: {err}");
    assert!(err.trim().lines().count() <= 2, "a clear error, not a trace: {err}");
    // What was committed before the disk filled is intact and readable.
    let (n, ids, _) = counts(&lake);
    assert_eq!(n, ids);
    assert!(n > 0 && n < rows, "{n} of {rows} committed before the disk filled");

    // Space back: the rerun finishes, every event once, and removes what
    // the failed run wrote and never committed.
    disk.resize("512m");
    let out = authlake_ok(&args);
    assert!(out.contains(&format!("ingested {} events", rows - n)), "{out}");
    assert!(crate::support::uncommitted_files(Path::new(&lake)).is_empty());
    assert_eq!(counts(&lake), (rows, rows, rows));
}

#[test]
fn damaged_lake_files_are_reported_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let (_, rows) = traffic(dir.path(), 3_000, 62);
    let input = format!("file://{}", dir.path().join("traffic-62.ndjson").display());
    let lake = dir.path().join("lake");
    let lake_s = lake.display().to_string();
    authlake_ok(&["ingest", "--from", &input, "--lake", &lake_s, "--quiet"]);
    assert_eq!(counts(&lake_s).0, rows);
    let query = ["query", "--lake", &lake_s, "SELECT COUNT(*) FROM events"];
    let fails_naming = |what: &str| {
        let out = authlake(&query);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "a damaged lake answered: {}", String::from_utf8_lossy(&out.stdout));
        assert!(err.contains(what), "{err}");
    };
    let files = crate::support::partition_files(&lake);
    let rel = |p: &Path| p.strip_prefix(&lake).unwrap().display().to_string();

    // Truncated Parquet: named, with the size the commit recorded.
    let victim = &files[0];
    let original = std::fs::read(victim).unwrap();
    std::fs::write(victim, &original[..original.len() / 2]).unwrap();
    fails_naming(&rel(victim));
    // Deleted: named, never read as empty.
    std::fs::remove_file(victim).unwrap();
    fails_naming(&format!("{} is missing", rel(victim)));
    // Same size, damaged footer: the failed query reads every live file
    // and names the one that cannot be read.
    let mut flipped = original.clone();
    let n = flipped.len();
    flipped[n - 40..n - 20].iter_mut().for_each(|b| *b ^= 0xff);
    std::fs::write(victim, &flipped).unwrap();
    fails_naming(&format!("{} cannot be read", rel(victim)));
    std::fs::write(victim, &original).unwrap();
    assert_eq!(counts(&lake_s).0, rows);

    // A corrupt commit in the Delta log: the query and the next ingest
    // fail naming the log, never answer or write past it.
    let commit = lake.join("_delta_log/00000000000000000001.json");
    let good = std::fs::read(&commit).unwrap();
    std::fs::write(&commit, &good[..good.len() / 3]).unwrap();
    fails_naming("Delta table events (log _delta_log/)");
    let out = authlake(&["ingest", "--from", &input, "--lake", &lake_s, "--quiet"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Delta table events (log _delta_log/)"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&commit, &good).unwrap();
    assert_eq!(counts(&lake_s).0, rows);
}
