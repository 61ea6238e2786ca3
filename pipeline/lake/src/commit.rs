//! The commit log: `_authlake/commits/<n>.json`, created if absent.
//!
//! A commit lists the files it adds (with the staging path they are moved
//! from) and removes, together with the source positions those files cover.
//! Writers race with optimistic concurrency: the first to create commit `n`
//! wins; the loser re-reads, checks its source positions are still the ones
//! it started from, and tries `n + 1`.

use std::collections::{BTreeMap, HashMap};

use authlake_core::SCHEMA_VERSION;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::recover::move_file;
use crate::{Lake, LakeError, COMMITS_DIR};
use crate::Checkpoint;

/// Which table a data file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Events,
    DeadLetters,
}

/// One file added by a commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddedFile {
    /// Final path relative to the lake root.
    pub path: String,
    /// Where the file was written before the commit; moved to `path` right
    /// after it (and by recovery, if a crash came in between).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging: Option<String>,
    pub table: TableKind,
    pub rows: u64,
    pub bytes: u64,
    /// The schema version of the commit that added it (not stored: the
    /// commit holds it). Files of older versions lack later columns.
    #[serde(skip)]
    pub schema_version: u32,
}

impl AddedFile {
    /// A file written to `staging` by this version of authlake, to be
    /// named by the commit that adds it.
    pub fn staged(staging: String, table: TableKind, rows: u64, bytes: u64) -> Self {
        Self { path: String::new(), staging: Some(staging), table, rows, bytes, schema_version: SCHEMA_VERSION }
    }
}

/// Counts a commit covers, for summaries and audits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitStats {
    pub events: u64,
    pub dead_letters: u64,
    pub skipped: u64,
    pub payloads: u64,
}

/// One entry of the commit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    pub version: u64,
    pub schema_version: u32,
    pub writer: String,
    pub operation: String,
    /// RFC 3339 UTC.
    pub committed_at: String,
    pub add: Vec<AddedFile>,
    #[serde(default)]
    pub remove: Vec<String>,
    /// Source positions after this commit, per source partition.
    #[serde(default)]
    pub positions: BTreeMap<String, Checkpoint>,
    #[serde(default)]
    pub stats: CommitStats,
    /// Source positions skipped because the source no longer had them
    /// (e.g. a Kafka offset past retention): data lost before it reached
    /// the lake, recorded rather than skipped silently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
}

/// Path of commit `n`.
pub fn commit_path(n: u64) -> Path {
    Path::from(format!("{COMMITS_DIR}/{n:020}.json"))
}

fn parse_commit_number(path: &Path) -> Option<u64> {
    let name = path.filename()?;
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

/// What the log says now: the replayed state of every commit read.
#[derive(Debug, Default, Clone)]
pub struct LakeState {
    /// Highest commit number read.
    pub latest: Option<u64>,
    /// Latest committed position per source partition.
    pub positions: BTreeMap<String, Checkpoint>,
    /// Live files: final path → the file.
    pub live: HashMap<String, AddedFile>,
}

impl LakeState {
    fn apply(&mut self, c: &Commit) {
        for r in &c.remove {
            self.live.remove(r);
        }
        for a in &c.add {
            let file = AddedFile { schema_version: c.schema_version, ..a.clone() };
            self.live.insert(a.path.clone(), file);
        }
        for (k, p) in &c.positions {
            self.positions.insert(k.clone(), p.clone());
        }
        self.latest = Some(c.version);
    }
}

/// Reads the log and appends to it.
pub struct CommitLog {
    lake: Lake,
    pub state: LakeState,
}

impl CommitLog {
    /// Reads every commit of the lake.
    pub async fn load(lake: &Lake) -> Result<Self, LakeError> {
        let mut log = Self { lake: lake.clone(), state: LakeState::default() };
        log.refresh().await?;
        Ok(log)
    }

    /// Reads commits newer than the last one read.
    pub async fn refresh(&mut self) -> Result<(), LakeError> {
        let dir = Path::from(COMMITS_DIR);
        let after = self.state.latest.map(commit_path);
        let listing = match &after {
            Some(a) => self.lake.store.list_with_offset(Some(&dir), a),
            None => self.lake.store.list(Some(&dir)),
        };
        let metas: Vec<_> = listing.try_collect().await.map_err(|e| LakeError::store(&dir, e))?;
        let mut numbers: Vec<u64> = metas.iter().filter_map(|m| parse_commit_number(&m.location)).collect();
        numbers.retain(|n| self.state.latest.is_none_or(|l| *n > l));
        numbers.sort_unstable();
        for n in numbers {
            let c = self.read(n).await?;
            self.state.apply(&c);
        }
        Ok(())
    }

    async fn read(&self, n: u64) -> Result<Commit, LakeError> {
        let path = commit_path(n);
        let bytes = self
            .lake
            .store
            .get(&path)
            .await
            .map_err(|e| LakeError::store(&path, e))?
            .bytes()
            .await
            .map_err(|e| LakeError::store(&path, e))?;
        let c: Commit = serde_json::from_slice(&bytes)
            .map_err(|e| LakeError::CorruptCommit { path: path.to_string(), reason: e.to_string() })?;
        if c.version != n {
            return Err(LakeError::CorruptCommit {
                path: path.to_string(),
                reason: format!("holds version {} at position {n}", c.version),
            });
        }
        Ok(c)
    }

    /// Appends a commit. `expected` are the positions this writer started
    /// from for every source partition it commits; `name_files` names the
    /// added files for the commit number that is finally used.
    pub async fn commit(
        &mut self,
        mut draft: Commit,
        expected: &BTreeMap<String, Option<Checkpoint>>,
        name_files: impl Fn(u64, &mut [AddedFile]),
    ) -> Result<Commit, LakeError> {
        loop {
            self.refresh().await?;
            for (key, want) in expected {
                let found = self.state.positions.get(key);
                if found != want.as_ref() {
                    return Err(LakeError::PositionConflict {
                        key: key.clone(),
                        expected: want.as_ref().map(|c| format!("{c:?}")),
                        found: found.map(|c| format!("{c:?}")),
                    });
                }
            }
            let n = self.state.latest.map_or(0, |l| l + 1);
            draft.version = n;
            draft.schema_version = SCHEMA_VERSION;
            draft.committed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            name_files(n, &mut draft.add);
            let body = serde_json::to_vec_pretty(&draft).expect("commit serializes");
            let path = commit_path(n);
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            match self.lake.store.put_opts(&path, PutPayload::from(body), opts).await {
                Ok(_) => {
                    self.state.apply(&draft);
                    return Ok(draft);
                }
                // Another writer took n: read what it did and try n + 1.
                Err(object_store::Error::AlreadyExists { .. }) | Err(object_store::Error::Precondition { .. }) => {
                    continue
                }
                Err(e) => return Err(LakeError::store(&path, e)),
            }
        }
    }

    /// The whole write of a commit: names each added file
    /// `<dirs[i]>/part-<n>-<i>.parquet`, commits, moves the files from
    /// staging into place and deletes the removed ones. When the commit
    /// fails, the staged files are deleted (nothing will reference them).
    pub async fn commit_files(
        &mut self,
        draft: Commit,
        dirs: &[String],
        expected: &BTreeMap<String, Option<Checkpoint>>,
    ) -> Result<Commit, LakeError> {
        let staged: Vec<Path> = draft.add.iter().filter_map(|a| a.staging.as_deref().map(Path::from)).collect();
        let name = |n: u64, adds: &mut [AddedFile]| {
            for (i, a) in adds.iter_mut().enumerate() {
                a.path = format!("{}/part-{n:020}-{i}.parquet", dirs[i]);
            }
        };
        let commit = match self.commit(draft, expected, name).await {
            Ok(c) => c,
            Err(e) => {
                for s in &staged {
                    let _ = self.lake.store.delete(s).await;
                }
                return Err(e);
            }
        };
        for a in &commit.add {
            if let Some(s) = &a.staging {
                move_file(&self.lake, &Path::from(s.as_str()), &Path::from(a.path.as_str())).await?;
            }
        }
        for r in &commit.remove {
            let path = Path::from(r.as_str());
            match self.lake.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(LakeError::store(&path, e)),
            }
        }
        Ok(commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_numbers_parse_only_from_commit_files() {
        assert_eq!(parse_commit_number(&commit_path(42)), Some(42));
        assert_eq!(parse_commit_number(&Path::from("_authlake/commits/00000000000000000042.json#1")), None);
        assert_eq!(parse_commit_number(&Path::from("_authlake/commits/x.json")), None);
    }
}
