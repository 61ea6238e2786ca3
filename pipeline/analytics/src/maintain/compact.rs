//! `authlake compact`: merge the small files of closed partitions.
//!
//! One commit with `dataChange = false` (Delta's `OPTIMIZE`): readers see
//! the same rows before and after, an ingest committing meanwhile is not
//! in conflict (its files are new), and the merged files stay on disk for
//! older snapshots until a vacuum. Files are copied one batch at a time.

use std::collections::BTreeMap;

use authlake_core::partition::PartitionKey;
use authlake_lake::files::{stream, FileWriter};
use authlake_lake::{AddedFile, CommitLog, Operation, TableKind};
use authlake_lake::Lake;
use futures::TryStreamExt;

use super::{apply, live_files, Change, MaintainError, MAINTAIN_WRITER};
use authlake_core::schema::conform_events;

/// Which files to merge.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Only partitions dated before this day (days since the epoch): the
    /// open ones still receive late events.
    pub closed_before_day: i32,
    /// Size of a merged file; files of at least half of it are left alone.
    pub target_bytes: u64,
    /// Only this partition or prefix (`category=auth/event_date=2026-11-26`).
    pub only: Option<String>,
}

/// Groups of small files to merge, per partition directory.
fn plan(log: &CommitLog, o: &CompactOptions) -> BTreeMap<String, Vec<Vec<AddedFile>>> {
    let mut by_partition: BTreeMap<String, Vec<AddedFile>> = BTreeMap::new();
    for f in live_files(log, TableKind::Events) {
        let Some(key) = PartitionKey::parse(&f.path) else { continue };
        let dir = key.dir();
        let wanted = o.only.as_deref().is_none_or(|p| dir.starts_with(p.trim_end_matches('/')));
        if key.event_day < o.closed_before_day && wanted && f.bytes < o.target_bytes / 2 {
            by_partition.entry(dir).or_default().push(f);
        }
    }
    let mut out = BTreeMap::new();
    for (dir, files) in by_partition {
        // Consecutive files up to the target size.
        let (mut groups, mut group, mut size) = (Vec::new(), Vec::<AddedFile>::new(), 0);
        for f in files {
            if size + f.bytes > o.target_bytes && !group.is_empty() {
                groups.push(std::mem::take(&mut group));
                size = 0;
            }
            size += f.bytes;
            group.push(f);
        }
        groups.push(group);
        groups.retain(|g| g.len() > 1);
        if !groups.is_empty() {
            out.insert(dir, groups);
        }
    }
    out
}

/// Merges the small files of closed partitions (all of it planned, none
/// of it written, in a dry run).
pub async fn compact(lake: &Lake, o: &CompactOptions, dry_run: bool) -> Result<Change, MaintainError> {
    let mut log = CommitLog::load(lake).await?;
    let groups = plan(&log, o);
    let mut change = Change { partitions: groups.len(), ..Default::default() };
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for (dir, groups) in groups {
        for g in groups {
            change.files_removed += g.len();
            change.files_added += 1;
            change.bytes_removed += g.iter().map(|f| f.bytes).sum::<u64>();
            change.rows_rewritten += g.iter().map(|f| f.rows).sum::<u64>();
            removed.extend(g.iter().map(|f| f.path.clone()));
            if !dry_run {
                added.push(merge(lake, &dir, &g).await?);
            }
        }
    }
    if dry_run || removed.is_empty() {
        return Ok(change);
    }
    change.commit = Some(apply(&mut log, "compact", Operation::Compact, added, removed).await?.version);
    Ok(change)
}

/// Copies the rows of `files` into one new file, one batch at a time.
async fn merge(lake: &Lake, dir: &str, files: &[AddedFile]) -> Result<AddedFile, MaintainError> {
    let mut out = FileWriter::create(lake, MAINTAIN_WRITER, TableKind::Events, dir, TableKind::Events.file_schema())?;
    for f in files {
        let mut s = stream(lake, &f.path).await?;
        while let Some(b) = s.try_next().await? {
            let b = conform_events(b).map_err(|e| MaintainError::Invalid(format!("{}: {e}", f.path)))?;
            out.write(&b).await?;
        }
    }
    Ok(out.finish(lake).await?)
}
