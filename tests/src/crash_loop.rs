//! The crash loop every source goes through: start an ingest, SIGKILL it
//! at a reproducible pseudo-random moment, check the lake, again and again.
//!
//! Between kills the lake must be readable by authlake and by DuckDB
//! reading the partition directories directly, hold no event twice, and
//! hold no partition file that no commit lists (an orphan a directory
//! reader would count).

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::support::{counts, duckdb_snapshot_counts, walk};

/// The kth pause of a loop: between `min` and `max`, spread by a hash.
pub fn kill_delay(k: u64, min: Duration, max: Duration) -> Duration {
    let span = (max - min).as_millis() as u64;
    min + Duration::from_millis(k.wrapping_mul(2_654_435_761) % span.max(1))
}

/// When a loop kills the process it started.
#[derive(Debug, Clone, Copy)]
pub enum Moment {
    /// This long after the start: may fall before the first commit.
    After(Duration),
    /// This long after the process's first commit lands. A fixed delay
    /// alone cannot promise that a commit lands between kills: on a loaded
    /// machine a debug build's start-up can outlast the whole window.
    AfterCommit(Duration),
}

/// How long a `Moment::AfterCommit` kill waits for that commit before the
/// loop gives up on the process.
const COMMIT_WAIT: Duration = Duration::from_secs(60);

/// What a loop saw.
#[derive(Debug, Default)]
pub struct Loop {
    /// Processes killed while running (those that ended first do not count).
    pub kills: u64,
    /// Rows in the lake after each kill.
    pub rows: Vec<u64>,
}

/// Starts `spawn()` and kills it at `moment(k)`, `kills` times (a process
/// that ends first is restarted without counting), checking the lake after
/// each kill. Gives up after `3 * kills` starts.
pub fn crash_loop(lake: &str, kills: u64, moment: impl Fn(u64) -> Moment, spawn: impl Fn() -> Child) -> Loop {
    let mut seen = Loop::default();
    let mut k = 0;
    while seen.kills < kills && k < 3 * kills {
        let commits = commit_count(Path::new(lake));
        let mut child = spawn();
        match moment(k) {
            Moment::After(delay) => std::thread::sleep(delay),
            Moment::AfterCommit(delay) => {
                let started = Instant::now();
                while commit_count(Path::new(lake)) == commits && child.try_wait().unwrap().is_none() {
                    assert!(started.elapsed() < COMMIT_WAIT, "no commit within {COMMIT_WAIT:?} of start {k}");
                    std::thread::sleep(Duration::from_millis(5));
                }
                std::thread::sleep(delay);
            }
        }
        k += 1;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            seen.kills += 1;
        }
        child.wait().unwrap();
        seen.rows.push(check_between_kills(lake, seen.kills));
    }
    seen
}

/// Commits in the events table's log.
fn commit_count(root: &Path) -> usize {
    walk(&root.join("_delta_log")).iter().filter(|p| p.extension().is_some_and(|e| e == "json")).count()
}

/// The lake after a kill: rows once, and DuckDB over the snapshot's file
/// list agreeing. Files the killed writer wrote but never committed may
/// be there, in no snapshot; its next start removes them.
pub fn check_between_kills(lake: &str, kill: u64) -> u64 {
    let root = Path::new(lake);
    if !root.join("_delta_log").exists() {
        return 0;
    }
    let (n, ids, _) = counts(lake);
    assert_eq!(n, ids, "a duplicate after kill {kill}");
    let (duck, duck_ids) = duckdb_snapshot_counts(root);
    assert_eq!((duck, duck_ids), (n, n), "DuckDB over the snapshot disagrees with authlake after kill {kill}");
    n
}
