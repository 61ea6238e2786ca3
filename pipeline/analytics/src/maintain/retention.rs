//! `authlake retention --keep 400d`: drop whole partitions whose date is
//! older than the retention period, through one commit.

use authlake_core::partition::PartitionKey;
use authlake_lake::{CommitLog, TableKind};
use authlake_lake::Lake;

use super::{apply, live_files, MaintainError};

/// What retention removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RetentionSummary {
    pub files: usize,
    pub rows: u64,
    pub partitions: usize,
    pub commit: Option<u64>,
}

/// Drops event partitions with `event_date` before `cutoff_day` (days
/// since the epoch).
pub async fn retention(lake: &Lake, cutoff_day: i32) -> Result<RetentionSummary, MaintainError> {
    let mut log = CommitLog::load(lake).await?;
    let mut summary = RetentionSummary::default();
    let mut removed = Vec::new();
    let mut partitions = std::collections::BTreeSet::new();
    for f in live_files(&log, TableKind::Events) {
        let Some(key) = PartitionKey::parse(&f.path) else { continue };
        if key.event_day < cutoff_day {
            summary.rows += f.rows;
            partitions.insert(key.dir());
            removed.push(f.path);
        }
    }
    if removed.is_empty() {
        return Ok(summary);
    }
    summary.files = removed.len();
    summary.partitions = partitions.len();
    summary.commit = Some(apply(lake, &mut log, "retention", Vec::new(), removed).await?.version);
    Ok(summary)
}
