//! The side tables under `_authlake/tables/` (erasures now; findings and
//! pool snapshots as they come): written whole by one command, appended
//! with a plain Delta commit, read back whole. No source positions: they
//! belong to the events table's commits.

use std::collections::HashMap;

use arrow::array::RecordBatch;

use crate::actions::{add_action, commit_actions, live_files, Retry, MAX_CONFLICTS};
use crate::commit::Operation;
use crate::files::{read, FileWriter};
use crate::table::{self, TableKind};
use crate::{Lake, LakeError};

/// Writes `batches` as one new file of `kind` and commits it; returns the
/// table's new version.
pub async fn append(lake: &Lake, writer: &str, kind: TableKind, batches: &[RecordBatch]) -> Result<u64, LakeError> {
    let schema = batches.first().map(|b| b.schema()).ok_or_else(|| LakeError::Missing(format!("rows to append to {}", kind.name())))?;
    let mut file = FileWriter::create(lake, writer, kind, "", schema)?;
    for b in batches {
        file.write(b).await?;
    }
    let added = file.finish(lake).await?;
    let mut t = table::open_or_create(lake, kind).await?;
    let meta = HashMap::from([
        ("authlake.writer".to_string(), serde_json::Value::from(writer)),
        ("authlake.rowsAdded".to_string(), serde_json::Value::from(added.rows)),
    ]);
    for _ in 0..MAX_CONFLICTS {
        t.update_incremental(None).await.map_err(|e| LakeError::delta(kind, e))?;
        let actions = vec![add_action(&added, kind, Operation::Ingest)];
        match commit_actions(&mut t, kind, actions, Operation::Ingest, meta.clone()).await {
            Ok(v) => return Ok(v),
            Err(Retry::Conflict) => continue,
            Err(Retry::Fail(e)) => return Err(e),
        }
    }
    Err(LakeError::Contended { table: kind.name(), attempts: MAX_CONFLICTS })
}

/// Every live row of a side table (none when it does not exist yet).
pub async fn read_all(lake: &Lake, kind: TableKind) -> Result<Vec<RecordBatch>, LakeError> {
    let Some(t) = table::open(lake, kind).await? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for f in live_files(&t, kind)? {
        out.extend(read(lake, &f.path).await?);
    }
    Ok(out)
}

/// The live files of a table (relative to the lake); `None` when the
/// table does not exist.
pub async fn live_paths(lake: &Lake, kind: TableKind) -> Result<Option<Vec<String>>, LakeError> {
    let Some(t) = table::open(lake, kind).await? else { return Ok(None) };
    Ok(Some(live_files(&t, kind)?.into_iter().map(|f| f.path).collect()))
}
