//! `authlake retention --keep 400d`: drop whole event partitions older
//! than the retention period, and dead letters as old, in one commit.

use std::collections::BTreeSet;

use arrow::array::{Array, BooleanArray, RecordBatch, TimestampMicrosecondArray};
use authlake_core::partition::PartitionKey;
use authlake_lake::{CommitLog, Operation, TableKind};
use authlake_lake::Lake;

use super::{apply, live_files, rewrite, Change, MaintainError};

/// Drops event partitions with `event_date` before `cutoff_day` (days
/// since the epoch) and dead letters ingested before that day.
pub async fn retention(lake: &Lake, cutoff_day: i32, dry_run: bool) -> Result<Change, MaintainError> {
    let mut log = CommitLog::load(lake).await?;
    let mut change = Change::default();
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let mut partitions = BTreeSet::new();
    for f in live_files(&log, TableKind::Events) {
        let Some(key) = PartitionKey::parse(&f.path) else { continue };
        if key.event_day < cutoff_day {
            change.rows_removed += f.rows;
            change.bytes_removed += f.bytes;
            partitions.insert(key.dir());
            removed.push(f.path);
        }
    }
    // Dead letters have no partitions: a file wholly older goes, one that
    // straddles the cutoff is rewritten without its older rows.
    let cutoff_micros = cutoff_day as i64 * 86_400_000_000;
    let keep = |b: &RecordBatch| -> Option<BooleanArray> {
        let t = b.column_by_name("ingest_time")?.as_any().downcast_ref::<TimestampMicrosecondArray>()?;
        let mask: BooleanArray = (0..t.len()).map(|i| Some(t.is_null(i) || t.value(i) >= cutoff_micros)).collect();
        mask.iter().any(|k| k == Some(false)).then_some(mask)
    };
    for f in live_files(&log, TableKind::DeadLetters) {
        let (new, dropped, kept) = rewrite(lake, &f, TableKind::DeadLetters, &keep, dry_run).await?;
        if dropped == 0 {
            continue;
        }
        change.dead_letters_removed += dropped;
        change.rows_rewritten += kept;
        change.bytes_removed += f.bytes;
        change.files_added += usize::from(kept > 0);
        added.extend(new);
        removed.push(f.path);
    }
    change.files_removed = removed.len();
    change.partitions = partitions.len();
    if dry_run || removed.is_empty() {
        return Ok(change);
    }
    change.commit = Some(apply(&mut log, "retention", Operation::Delete, added, removed).await?.version);
    Ok(change)
}
