//! Lake maintenance through commits: retention, erasure, compaction.
//!
//! Every change is one Delta commit that adds the new files and removes
//! the old ones; the old files are deleted right after it (docs/lake.md).
//!
//! - [`retention`]: drop whole expired partitions.
//! - [`forget`]: erase one person's rows and dead letters.
//! - [`compact`]: merge small files of closed partitions.

pub mod compact;
pub mod forget;
pub mod retention;

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use authlake_core::schema::conform_events;
use authlake_lake::{AddedFile, Commit, CommitLog, Operation, TableKind};
use authlake_lake::{Lake, LakeError};
use authlake_lake::files::{data_file_path, log_stats, writer_properties};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::AsyncArrowWriter;

/// Why a maintenance command failed.
#[derive(Debug, thiserror::Error)]
pub enum MaintainError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Query(#[from] crate::QueryError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

/// Writer id of maintenance commands (the tag of the files they write).
pub const MAINTAIN_WRITER: &str = "maintain";

/// Reads a whole Parquet file of the lake.
async fn read_file(lake: &Lake, path: &str) -> Result<Vec<RecordBatch>, MaintainError> {
    let err = |reason: String| MaintainError::Read { path: path.to_string(), reason };
    let bytes = lake.store.get(&Path::from(path)).await.map_err(|e| err(e.to_string()))?.bytes().await.map_err(|e| err(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).and_then(|b| b.build()).map_err(|e| err(e.to_string()))?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|e| err(e.to_string()))
}

/// The batches of a file of `table`; `events` files of an older column
/// set come with the current file schema (later columns null), so files
/// of several versions can be rewritten into one.
pub async fn read_table_file(lake: &Lake, path: &str, table: TableKind) -> Result<Vec<RecordBatch>, MaintainError> {
    let batches = read_file(lake, path).await?;
    match table {
        TableKind::Events => batches
            .into_iter()
            .map(|b| conform_events(b).map_err(|e| MaintainError::Read { path: path.to_string(), reason: e.to_string() }))
            .collect(),
        _ => Ok(batches),
    }
}

/// Writes batches to a new Parquet file of `table` (in partition `dir`
/// for events), in place: in the table once [`apply`] commits it.
pub async fn stage(lake: &Lake, dir: &str, table: TableKind, schema: SchemaRef, batches: &[RecordBatch]) -> Result<AddedFile, MaintainError> {
    let path = data_file_path(MAINTAIN_WRITER, table, dir);
    let perr = |e: parquet::errors::ParquetError| LakeError::Parquet { path: path.to_string(), reason: e.to_string() };
    let mut w = AsyncArrowWriter::try_new(BufWriter::new(lake.store.clone(), path.clone()), schema, Some(writer_properties(256 * 1024)))
        .map_err(perr)?;
    let mut rows = 0;
    for b in batches {
        w.write(b).await.map_err(perr)?;
        rows += b.num_rows() as u64;
    }
    let meta = w.close().await.map_err(perr)?;
    let bytes = lake.store.head(&path).await.map_err(|e| LakeError::store(&path, e))?.size;
    Ok(AddedFile::written(path.to_string(), table, rows, bytes, Some(log_stats(&meta, table))))
}

/// Commits `added` and `removed` in one commit, then deletes the removed
/// files.
pub async fn apply(lake: &Lake, log: &mut CommitLog, operation: &str, added: Vec<AddedFile>, removed: Vec<String>) -> Result<Commit, MaintainError> {
    let kind = if operation == "compact" { Operation::Compact } else { Operation::Delete };
    let draft = Commit { add: added, remove: removed, ..Commit::draft(MAINTAIN_WRITER, operation) };
    let commit = log.commit_files(draft, &BTreeMap::new(), kind).await?;
    for r in &commit.remove {
        let path = Path::from(r.as_str());
        match lake.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(LakeError::store(&path, e).into()),
        }
    }
    prune_empty_dirs(lake);
    Ok(commit)
}

/// Removes partition directories left empty (local lakes; S3 has none).
fn prune_empty_dirs(lake: &Lake) {
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
