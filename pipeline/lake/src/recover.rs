//! Recovery at start: a writer killed between writing its Parquet files
//! and committing them left files no snapshot references. No reader sees
//! them (the table is the log, not the directory); this removes them.
//!
//! Only the writer's own files are removed (their names carry its tag,
//! [`crate::files::writer_tag`]): another live writer may be about to
//! commit its own. Orphans of writers that never come back are left to a
//! vacuum.

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;

use crate::commit::LakeState;
use crate::files::writer_tag;
use crate::{Lake, LakeError, LEGACY_STAGING_DIR};

/// What recovery did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// This writer's files that no commit added, deleted.
    pub removed: usize,
}

/// Deletes `writer`'s data files that the tables do not hold.
pub async fn recover(lake: &Lake, state: &LakeState, writer: &str) -> Result<Recovery, LakeError> {
    let own = format!("part-{}-", writer_tag(writer));
    let mut report = Recovery::default();
    let listing: Vec<_> = lake.store.list(None).try_collect().await.map_err(|e| LakeError::store(&Path::from(""), e))?;
    for meta in listing {
        let path = meta.location.to_string();
        let is_log = path.starts_with("_delta_log/") || path.contains("/_delta_log/");
        let ours = meta.location.filename().is_some_and(|n| n.starts_with(&own) && n.ends_with(".parquet"));
        let legacy = path.starts_with(&format!("{LEGACY_STAGING_DIR}/{writer}/"));
        if is_log || !(ours || legacy) || state.live.contains_key(&path) {
            continue;
        }
        match lake.store.delete(&meta.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => report.removed += 1,
            Err(e) => return Err(LakeError::store(&meta.location, e)),
        }
    }
    Ok(report)
}

/// Renames `from` to `to`; a file already there (moved by an earlier,
/// interrupted run) is fine.
pub async fn move_if_present(lake: &Lake, from: &Path, to: &Path) -> Result<(), LakeError> {
    if from == to {
        return Ok(());
    }
    match lake.store.rename(from, to).await {
        Ok(()) => Ok(()),
        Err(object_store::Error::NotFound { .. }) if lake.store.head(to).await.is_ok() => Ok(()),
        Err(e) => Err(LakeError::store(from, e)),
    }
}
