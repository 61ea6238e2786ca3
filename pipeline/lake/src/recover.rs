//! Recovery at start: finish the moves a crash interrupted and remove
//! staging files that no commit will ever reference.

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;

use crate::commit::LakeState;
use crate::{Lake, LakeError, STAGING_DIR};

/// Staging files of other writers younger than this are left alone: their
/// writer may still be about to commit them.
pub const STAGING_GRACE: Duration = Duration::from_secs(3600);

/// What recovery did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Committed files moved from staging into their partition.
    pub moved: usize,
    /// Uncommitted staging files deleted.
    pub removed: usize,
}

/// Staging directory of one writer.
pub fn staging_dir(writer: &str) -> String {
    format!("{STAGING_DIR}/{writer}")
}

/// Finishes interrupted moves (for every writer: a committed file belongs
/// in its partition whoever wrote it) and deletes uncommitted staging files
/// of `writer`, plus those of any writer older than `grace`.
pub async fn recover(lake: &Lake, state: &LakeState, writer: &str, grace: Duration) -> Result<Recovery, LakeError> {
    let committed: HashMap<&str, &str> =
        state.live.values().filter_map(|f| f.staging.as_deref().map(|s| (s, f.path.as_str()))).collect();
    let root = Path::from(STAGING_DIR);
    let staged: Vec<_> = lake.store.list(Some(&root)).try_collect().await.map_err(|e| LakeError::store(&root, e))?;
    let own = format!("{}/", staging_dir(writer));
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::hours(1));
    let mut report = Recovery::default();
    for meta in staged {
        let path = meta.location.to_string();
        if let Some(dest) = committed.get(path.as_str()) {
            move_file(lake, &meta.location, &Path::from(*dest)).await?;
            report.moved += 1;
        } else if path.starts_with(&own) || meta.last_modified < cutoff {
            match lake.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => report.removed += 1,
                Err(e) => return Err(LakeError::store(&meta.location, e)),
            }
        }
    }
    Ok(report)
}

/// Moves a committed file into place. A file already moved (by its writer
/// racing this recovery) is fine.
pub async fn move_file(lake: &Lake, from: &Path, to: &Path) -> Result<(), LakeError> {
    match lake.store.rename(from, to).await {
        Ok(()) => Ok(()),
        Err(object_store::Error::NotFound { .. }) if lake.store.head(to).await.is_ok() => Ok(()),
        Err(e) => Err(LakeError::store(from, e)),
    }
}
