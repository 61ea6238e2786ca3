//! `authlake compact`: merge the small files of closed partitions.

use std::collections::BTreeMap;

use authlake_core::partition::PartitionKey;
use authlake_lake::{AddedFile, CommitLog, TableKind};
use authlake_lake::Lake;

use super::{apply, live_files, read_table_file, stage, MaintainError};

/// What compaction did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CompactSummary {
    pub partitions: usize,
    pub files_before: usize,
    pub files_after: usize,
    pub commit: Option<u64>,
}

/// Merges, in each partition dated before `closed_before_day` (and
/// matching `only`, a `category=../event_date=..` prefix, if given), the
/// files smaller than half of `target_bytes` into files of about
/// `target_bytes`.
pub async fn compact(lake: &Lake, closed_before_day: i32, target_bytes: u64, only: Option<&str>) -> Result<CompactSummary, MaintainError> {
    let mut log = CommitLog::load(lake).await?;
    let mut by_partition: BTreeMap<String, Vec<AddedFile>> = BTreeMap::new();
    for f in live_files(&log, TableKind::Events) {
        let Some(key) = PartitionKey::parse(&f.path) else { continue };
        let dir = key.dir();
        if key.event_day >= closed_before_day || only.is_some_and(|p| !dir.starts_with(p.trim_end_matches('/'))) {
            continue;
        }
        if f.bytes < target_bytes / 2 {
            by_partition.entry(dir).or_default().push(f);
        }
    }
    let mut summary = CompactSummary::default();
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for (dir, files) in by_partition.into_iter().filter(|(_, f)| f.len() > 1) {
        summary.partitions += 1;
        summary.files_before += files.len();
        // Group consecutive files up to the target size.
        let mut group: Vec<AddedFile> = Vec::new();
        let mut size = 0;
        let mut groups = Vec::new();
        for f in files {
            if size + f.bytes > target_bytes && !group.is_empty() {
                groups.push(std::mem::take(&mut group));
                size = 0;
            }
            size += f.bytes;
            group.push(f);
        }
        groups.push(group);
        for g in groups.into_iter().filter(|g| g.len() > 1) {
            let mut batches = Vec::new();
            for f in &g {
                batches.extend(read_table_file(lake, &f.path, TableKind::Events).await?);
                removed.push(f.path.clone());
            }
            let Some(schema) = batches.first().map(|b| b.schema()) else { continue };
            added.push(stage(lake, &dir, TableKind::Events, schema, &batches).await?);
            summary.files_after += 1;
        }
    }
    if removed.is_empty() {
        return Ok(summary);
    }
    summary.commit = Some(apply(lake, &mut log, "compact", added, removed).await?.version);
    Ok(summary)
}
