//! Before a query reads the lake: every file the commit log says is live
//! must be there, whole. Query engines list directories, so a deleted
//! file would otherwise vanish from the answer without a word, and a
//! truncated one fail with a Parquet error that names no file.
//!
//! One listing of the lake and a read of the commit log (a corrupt commit
//! is reported with its path by the log itself). Sizes are compared with
//! the ones recorded at commit time, which catches truncation and
//! replacement without opening a file. The files found are what a query
//! reads: queries see the committed files, not whatever a listing finds.

use std::collections::HashMap;

use authlake_core::SCHEMA_VERSION;
use authlake_lake::commit::LakeState;
use authlake_lake::{AddedFile, AsOf, TableKind};
use authlake_lake::{Lake, LakeError, Location};
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A live file that is not as its commit recorded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lake file {path} {problem}: the lake is damaged (restore the file from a backup, or `authlake forget`/compact it away)")]
pub struct Damage {
    /// Relative to the lake root.
    pub path: String,
    pub problem: String,
}

/// Why a lake could not be checked or failed the check.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Damaged(#[from] Damage),
}

/// The live files, checked.
#[derive(Debug)]
pub struct Verified {
    /// The events table's version they are the snapshot of (`None`: no
    /// table yet).
    pub version: Option<u64>,
    /// As listed (locations relative to the lake root, in path order).
    pub files: Vec<ObjectMeta>,
    /// Some live `events` file was written with an older column set
    /// ([`authlake_core::SCHEMA_VERSION`]): it is read with the later
    /// columns null, so it cannot be given the current file schema.
    pub older_schema: bool,
}

/// Checks the live files against the commit log and returns them as
/// listed (locations relative to the lake root, in path order). A file
/// found missing is checked once more against a fresh read of the log and
/// the store: a commit landing or a compaction removing files while the
/// check ran is not damage.
pub async fn verify_lake(lake: &Lake) -> Result<Verified, VerifyError> {
    let latest = || async { authlake_lake::commit::snapshot(lake).await };
    match check_once(lake, latest().await?).await? {
        Ok(files) => Ok(files),
        Err(_) => match check_once(lake, latest().await?).await? {
            Ok(files) => Ok(files),
            Err(d) => Err(d.into()),
        },
    }
}

/// [`verify_lake`] of the lake as of a version or a moment (`None`: now).
/// A file missing there because `forget` deleted it fails with
/// [`LakeError::Erased`]; one a vacuum deleted says so.
pub async fn verify_lake_at(lake: &Lake, at: Option<AsOf>) -> Result<Verified, VerifyError> {
    let Some(at) = at else { return verify_lake(lake).await };
    let Some(state) = authlake_lake::asof::snapshot_at(lake, at).await? else {
        return Ok(Verified { version: None, files: Vec::new(), older_schema: false });
    };
    let version = state.latest.unwrap_or(0);
    match check_once(lake, state).await? {
        Ok(v) => Ok(v),
        Err(d) if d.problem == MISSING => match authlake_lake::erasures::erased_after(lake, version).await? {
            Some(erasure) => Err(LakeError::Erased { at: format!("{at} (events version {version})"), version: erasure }.into()),
            None => Err(Damage { problem: format!("{MISSING} (deleted by a vacuum: versions older than its --older-than cannot be read)"), ..d }.into()),
        },
        Err(d) => Err(d.into()),
    }
}

const MISSING: &str = "is missing";

async fn check_once(lake: &Lake, state: LakeState) -> Result<Result<Verified, Damage>, LakeError> {
    // The log first: a file committed after this read is not asked for.
    let version = state.latest;
    let live = sorted(state);
    let older_schema = live.iter().any(|f| f.table == TableKind::Events && f.schema_version < SCHEMA_VERSION);
    let mut listed = present(lake, &live).await?;
    let mut files = Vec::with_capacity(live.len());
    for f in live {
        let problem = match listed.remove(&f.path) {
            Some(meta) if meta.size == f.bytes => {
                files.push(meta);
                continue;
            }
            Some(meta) => format!("has {} bytes, its commit recorded {}", meta.size, f.bytes),
            None => MISSING.to_string(),
        };
        return Ok(Err(Damage { path: f.path, problem }));
    }
    Ok(Ok(Verified { version, files, older_schema }))
}

/// What storage holds of `live`: on a local lake one `stat` per file (a
/// walk would also visit the Delta logs and the files kept for time
/// travel); on S3 one listing of the lake.
async fn present(lake: &Lake, live: &[AddedFile]) -> Result<HashMap<String, ObjectMeta>, LakeError> {
    match &lake.location {
        Location::Local(root) => {
            // The store's own mapping from object paths to file names.
            let fs = object_store::local::LocalFileSystem::new_with_prefix(root).map_err(|e| LakeError::store(&object_store::path::Path::from(""), e))?;
            Ok(live
                .iter()
                .filter_map(|f| {
                    let location = object_store::path::Path::parse(&f.path).ok()?;
                    let meta = std::fs::metadata(fs.path_to_filesystem(&location).ok()?).ok()?;
                    let last_modified = meta.modified().ok().map(chrono::DateTime::<chrono::Utc>::from).unwrap_or_default();
                    Some((f.path.clone(), ObjectMeta { location, last_modified, size: meta.len(), e_tag: None, version: None }))
                })
                .collect())
        }
        Location::S3 { .. } => lake
            .store
            .list(None)
            .map_ok(|m| (m.location.to_string(), m))
            .try_collect()
            .await
            .map_err(|e| LakeError::store(&object_store::path::Path::from(""), e)),
    }
}

/// The tables' live files (their snapshots), in path order.
async fn live_files(lake: &Lake) -> Result<Vec<AddedFile>, LakeError> {
    Ok(sorted(authlake_lake::commit::snapshot(lake).await?))
}

fn sorted(state: LakeState) -> Vec<AddedFile> {
    let mut live: Vec<AddedFile> = state.live.into_values().collect();
    live.sort_by(|a, b| a.path.cmp(&b.path));
    live
}

/// After a query failed on a Parquet error (which names no file): reads
/// every live file (footer, then every row group) and names the first one
/// that cannot be read. Costly, so only run once something failed.
pub async fn find_unreadable(lake: &Lake) -> Result<Option<Damage>, LakeError> {
    for f in live_files(lake).await? {
        let path = object_store::path::Path::from(f.path.as_str());
        let bytes = lake.store.get(&path).await.map_err(|e| LakeError::store(&path, e))?.bytes().await.map_err(|e| LakeError::store(&path, e))?;
        let read = ParquetRecordBatchReaderBuilder::try_new(bytes).and_then(|b| b.build()).map_err(|e| e.to_string()).and_then(|reader| {
            reader.map(|batch| batch.map(|_| ()).map_err(|e| e.to_string())).collect::<Result<Vec<()>, String>>()
        });
        let problem = read.err().map(|e| format!("cannot be read: {e}"));
        if let Some(problem) = problem {
            return Ok(Some(Damage { path: f.path, problem }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_and_truncated_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.ndjson");
        let line = |i: usize, day: u32| {
            format!(r#"{{"event_id":"e{i}","event_time":"2026-11-{day:02}T10:00:00Z","event_type":"sign_in","outcome":"success","user_pool_id":"p","username":"u"}}"#)
        };
        let lines: Vec<String> = (0..40).map(|i| line(i, 10 + (i % 2) as u32)).collect();
        std::fs::write(&input, lines.join("\n")).unwrap();
        let lake = Lake::open(&dir.path().join("lake").display().to_string(), true).unwrap();
        let files = vec![input];
        authlake_ingest::run_files(&lake, files, &Default::default(), Default::default(), std::future::pending()).await.unwrap();
        let files = verify_lake(&lake).await.unwrap().files;
        let paths: Vec<String> = files.iter().map(|m| m.location.to_string()).collect();
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert!(paths[0].starts_with("category=auth/event_date=2026-11-10/") && paths[1].starts_with("category=auth/event_date=2026-11-11/"), "{paths:?}");
        let root = dir.path().join("lake");
        let day = |d: &str| std::fs::read_dir(root.join(format!("category=auth/event_date=2026-11-{d}"))).unwrap().next().unwrap().unwrap().path();

        let truncated = day("10");
        let len = std::fs::metadata(&truncated).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&truncated).unwrap().set_len(len / 2).unwrap();
        let err = verify_lake(&lake).await.unwrap_err().to_string();
        assert!(err.contains("event_date=2026-11-10/") && err.contains(&format!("has {} bytes, its commit recorded {len}", len / 2)), "{err}");

        // Same size, damaged footer: only reading it tells.
        let mut bytes = std::fs::read(day("11")).unwrap();
        let n = bytes.len();
        bytes[n - 40..n - 20].iter_mut().for_each(|b| *b ^= 0xff);
        std::fs::write(day("11"), &bytes).unwrap();
        let found = find_unreadable(&lake).await.unwrap().expect("a damaged file");
        assert!(found.path.contains("event_date=2026-11-10/") || found.path.contains("event_date=2026-11-11/"), "{found}");

        std::fs::remove_file(day("11")).unwrap();
        std::fs::remove_file(&truncated).unwrap();
        let err = verify_lake(&lake).await.unwrap_err().to_string();
        assert!(err.contains("event_date=2026-11-10/") && err.contains("is missing"), "{err}");
    }
}
