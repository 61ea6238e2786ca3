//! Lake maintenance as Delta operations, one commit each.
//!
//! - [`compact`]: merge small files of closed partitions (`dataChange =
//!   false`).
//! - [`retention`]: drop whole expired partitions, and dead letters as old.
//! - [`forget`]: erase one subject's rows and dead letters, delete their
//!   files at once, and record the erasure.
//!
//! Compaction and retention leave the removed files in place for readers
//! of older snapshots and `--as-of`; `authlake vacuum`
//! ([`authlake_lake::vacuum`]) deletes them later. Every command plans
//! first; a dry run stops after the plan, and the plan is what the real
//! run reports ([`Change`]).

pub mod compact;
pub mod forget;
pub mod retention;

use std::collections::BTreeMap;

use arrow::array::{BooleanArray, RecordBatch};
use authlake_core::schema::conform_events;
use authlake_lake::files::{stream, FileWriter};
use authlake_lake::{AddedFile, Commit, CommitLog, Operation, TableKind};
use authlake_lake::{Lake, LakeError};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use serde::Serialize;

/// Why a maintenance command failed.
#[derive(Debug, thiserror::Error)]
pub enum MaintainError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("{0}")]
    Invalid(String),
    #[error("no rows of {0:?} in the lake (events or dead letters): nothing erased, nothing recorded; check the name, or pass --allow-missing to record the erasure anyway (later ingests then drop the subject's rows)")]
    NoSuchSubject(String),
    #[error(transparent)]
    Query(#[from] crate::QueryError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

/// Writer id of maintenance commands (the tag of the files they write).
pub const MAINTAIN_WRITER: &str = "maintain";

/// What a maintenance command changed, or in a dry run would change.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Partitions touched (`category=../event_date=..`).
    pub partitions: usize,
    /// Files taken out of the table.
    pub files_removed: usize,
    pub bytes_removed: u64,
    /// Rows no longer in the table (compaction: none).
    pub rows_removed: u64,
    /// Dead letters no longer in their table.
    pub dead_letters_removed: u64,
    /// Files put in (merged or rewritten).
    pub files_added: usize,
    /// Rows moved from removed files into added ones.
    pub rows_rewritten: u64,
    /// The commit that made the change (`None`: dry run, or nothing to do).
    pub commit: Option<u64>,
}

/// A table's file as an events or dead-letter batch stream in the current
/// schema: `events` files of an older column set come with the later
/// columns null, so files of several versions can be rewritten into one.
async fn read_batches(lake: &Lake, path: &str, table: TableKind) -> Result<Vec<RecordBatch>, MaintainError> {
    let s = stream(lake, path).await?;
    let batches: Vec<RecordBatch> = s.try_collect().await?;
    match table {
        TableKind::Events => batches
            .into_iter()
            .map(|b| conform_events(b).map_err(|e| LakeError::Parquet { path: path.to_string(), reason: e.to_string() }.into()))
            .collect(),
        _ => Ok(batches),
    }
}

/// The partition directory of a file relative to the lake ("" outside).
fn dir_of(path: &str) -> String {
    path.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string())
}

/// Rewrites `f` keeping the rows `keep` says (the file is read whole:
/// files are at most the target size). Returns the new file (`None` when no row is left, or in a dry run) and
/// the rows dropped and kept. A file with nothing to drop is left alone
/// (`dropped == 0`, no new file).
async fn rewrite(
    lake: &Lake,
    f: &AddedFile,
    table: TableKind,
    keep: &dyn Fn(&RecordBatch) -> Option<BooleanArray>,
    dry_run: bool,
) -> Result<(Option<AddedFile>, u64, u64), MaintainError> {
    // Most files hold nothing to drop: look before writing anything.
    let batches = read_batches(lake, &f.path, table).await?;
    let masks: Vec<Option<BooleanArray>> = batches.iter().map(keep).collect();
    let dropped: u64 = masks.iter().flatten().map(|m| m.iter().filter(|k| *k == Some(false)).count() as u64).sum();
    let total: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    if dropped == 0 || dry_run || dropped == total {
        return Ok((None, dropped, total - dropped));
    }
    let mut out = FileWriter::create(lake, MAINTAIN_WRITER, table, &dir_of(&f.path), table.file_schema())?;
    for (b, m) in batches.iter().zip(&masks) {
        let kept = match m {
            Some(m) => arrow::compute::filter_record_batch(b, m).map_err(|e| MaintainError::Invalid(e.to_string()))?,
            None => b.clone(),
        };
        out.write(&kept).await?;
    }
    Ok((Some(out.finish(lake).await?), dropped, total - dropped))
}

/// Commits `added` and `removed` in one commit; the removed files stay
/// for older snapshots until a vacuum.
pub async fn apply(log: &mut CommitLog, operation: &str, kind: Operation, added: Vec<AddedFile>, removed: Vec<String>) -> Result<Commit, MaintainError> {
    let draft = Commit { add: added, remove: removed, ..Commit::draft(MAINTAIN_WRITER, operation) };
    Ok(log.commit_files(draft, &BTreeMap::new(), kind).await?)
}

/// Deletes files now (`forget`), then partition directories left empty.
pub async fn delete_files(lake: &Lake, paths: &[String]) -> Result<(), MaintainError> {
    for p in paths {
        let path = Path::from(p.as_str());
        match lake.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(LakeError::store(&path, e).into()),
        }
    }
    prune_empty_dirs(lake);
    Ok(())
}

/// Removes partition directories left empty (local lakes; S3 has none).
pub fn prune_empty_dirs(lake: &Lake) {
    if let authlake_lake::Location::Local(root) = &lake.location {
        let Ok(cats) = std::fs::read_dir(root) else { return };
        for cat in cats.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("category=")) {
            if let Ok(days) = std::fs::read_dir(cat.path()) {
                for d in days.flatten() {
                    let _ = std::fs::remove_dir(d.path()); // fails unless empty
                }
            }
            let _ = std::fs::remove_dir(cat.path());
        }
    }
}

/// Live files of a table, sorted by path.
pub fn live_files(log: &CommitLog, table: TableKind) -> Vec<AddedFile> {
    let mut files: Vec<AddedFile> = log.state.live.values().filter(|f| f.table == table).cloned().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}
