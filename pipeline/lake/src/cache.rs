//! The tables' live files, kept on a local lake's disk between processes.
//!
//! Every `authlake query` is a new process, and opening the Delta tables
//! (the log listed, the checkpoint read, the commits since replayed by
//! delta-kernel) costs more than a short query. What a committed version
//! holds never changes, so the first process to open the tables writes
//! their live files to `_authlake/cache/snapshot.json`, keyed by each
//! table's latest commit file: its version, size and modification time (a
//! table deleted and made again at the same path starts its versions
//! again, not its files' times). A later process whose listing of the logs
//! finds the same latest commits reads that list instead of the logs.
//!
//! The cache is only ever a copy: missing, stale, unreadable or unwritable
//! (a read-only lake) means the tables are opened as without it. S3 lakes
//! have none: listing their logs costs as much as opening them.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::commit::{AddedFile, LakeState};
use crate::table::TableKind;
use crate::{Lake, Location};

/// The tables a snapshot lists, in the order of [`Key`].
const TABLES: [TableKind; 2] = [TableKind::Events, TableKind::DeadLetters];

const FILE: &str = "_authlake/cache/snapshot.json";

/// A table's latest commit file (`None`: no table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Latest {
    version: u64,
    bytes: u64,
    modified_ns: u128,
}

type Key = [Option<Latest>; 2];

#[derive(Serialize, Deserialize)]
struct Cached {
    key: Key,
    latest: Option<u64>,
    live: Vec<AddedFile>,
}

/// The cached snapshot, if the tables' latest commits are still the ones
/// it was written at.
pub(crate) fn read(lake: &Lake) -> Option<LakeState> {
    let root = local_root(lake)?;
    let key = current_key(root)?;
    key[0]?;
    let cached: Cached = serde_json::from_slice(&std::fs::read(root.join(FILE)).ok()?).ok()?;
    if cached.key != key {
        return None;
    }
    let live = cached.live.into_iter().map(|f| (f.path.clone(), f)).collect();
    Some(LakeState { latest: cached.latest, live, ..LakeState::default() })
}

/// Keeps `state` for later processes: `versions` are the tables' versions
/// it was read at (events, dead letters). Written only while those are
/// still the latest commits, and atomically (a reader sees the old copy or
/// the new one).
pub(crate) fn write(lake: &Lake, versions: [Option<u64>; 2], state: &LakeState) {
    let Some(root) = local_root(lake) else { return };
    let Some(key) = current_key(root) else { return };
    if key.map(|l| l.map(|l| l.version)) != versions || key[0].is_none() {
        return;
    }
    let mut live: Vec<AddedFile> = state.live.values().cloned().collect();
    live.sort_by(|a, b| a.path.cmp(&b.path));
    let cached = Cached { key, latest: state.latest, live };
    let path = root.join(FILE);
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let written = path.parent().map(std::fs::create_dir_all).transpose().and_then(|_| {
        std::fs::write(&tmp, serde_json::to_vec(&cached).map_err(std::io::Error::other)?)?;
        std::fs::rename(&tmp, &path)
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::debug!(path = %path.display(), error = %e, "snapshot cache not written");
    }
}

fn local_root(lake: &Lake) -> Option<&Path> {
    match &lake.location {
        Location::Local(root) => Some(root),
        Location::S3 { .. } => None,
    }
}

/// Each table's latest commit file, from one listing of its log. `None`
/// when a log cannot be read (the tables are then opened the usual way).
fn current_key(root: &Path) -> Option<Key> {
    let mut key: Key = [None; 2];
    for (slot, kind) in key.iter_mut().zip(TABLES) {
        *slot = latest_commit(&root.join(kind.dir()).join("_delta_log"))?;
    }
    Some(key)
}

fn latest_commit(log: &PathBuf) -> Option<Option<Latest>> {
    let entries = match std::fs::read_dir(log) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(None),
        Err(_) => return None,
    };
    let version = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name();
            let stem = name.to_str()?.strip_suffix(".json")?;
            (stem.len() == 20).then(|| stem.parse::<u64>().ok()).flatten()
        })
        .max();
    let Some(version) = version else { return Some(None) };
    let meta = std::fs::metadata(log.join(format!("{version:020}.json"))).ok()?;
    let modified_ns = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some(Some(Latest { version, bytes: meta.len(), modified_ns }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> AddedFile {
        AddedFile::written(path.into(), TableKind::Events, 3, 100, None)
    }

    fn state(paths: &[&str], latest: u64) -> LakeState {
        LakeState { latest: Some(latest), live: paths.iter().map(|p| (p.to_string(), file(p))).collect(), ..LakeState::default() }
    }

    fn commit_file(root: &Path, kind: TableKind, version: u64, body: &str) {
        let log = root.join(kind.dir()).join("_delta_log");
        std::fs::create_dir_all(&log).unwrap();
        std::fs::write(log.join(format!("{version:020}.json")), body).unwrap();
    }

    #[test]
    fn a_snapshot_is_read_back_only_while_its_commits_are_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap(), true).unwrap();
        assert!(read(&lake).is_none(), "no table, no cache");
        commit_file(dir.path(), TableKind::Events, 0, "{}");
        commit_file(dir.path(), TableKind::Events, 1, "{\"a\":1}");
        write(&lake, [Some(0), None], &state(&["a.parquet"], 0));
        assert!(read(&lake).is_none(), "written at version 0 while 1 was the latest: not kept");

        write(&lake, [Some(1), None], &state(&["a.parquet", "b.parquet"], 1));
        let back = read(&lake).expect("cached");
        assert_eq!(back.latest, Some(1));
        let mut paths: Vec<_> = back.live.keys().cloned().collect();
        paths.sort();
        assert_eq!(paths, ["a.parquet", "b.parquet"]);

        commit_file(dir.path(), TableKind::DeadLetters, 0, "{}");
        assert!(read(&lake).is_none(), "a dead-letter commit since");
        write(&lake, [Some(1), Some(0)], &state(&["a.parquet"], 1));
        assert!(read(&lake).is_some());

        // The same version number written again (a table made again at
        // the same path) is another commit.
        commit_file(dir.path(), TableKind::Events, 1, "{\"a\":22}");
        assert!(read(&lake).is_none(), "the latest commit file changed");
    }

    #[test]
    fn a_damaged_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap(), true).unwrap();
        commit_file(dir.path(), TableKind::Events, 0, "{}");
        write(&lake, [Some(0), None], &state(&["a.parquet"], 0));
        std::fs::write(dir.path().join(FILE), b"{\"key\":").unwrap();
        assert!(read(&lake).is_none());
    }
}
