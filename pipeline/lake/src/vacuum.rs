//! `authlake vacuum`: delete the files no version within the retention
//! needs, in every table of the lake.
//!
//! Compaction and retention remove files from the table without deleting
//! them, so readers of an older snapshot and `--as-of` keep working; a
//! vacuum deletes files removed longer ago than `older_than` and files no
//! commit ever added that are older than that (a writer that crashed
//! between writing and committing, and never came back). Delta's own
//! vacuum (full mode) does the work, one table at a time; it never looks
//! into `_`-prefixed directories, so the events table's vacuum cannot
//! touch the other tables under `_authlake/tables/`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use deltalake_core::operations::vacuum::{Clock, VacuumMode};
use deltalake_core::table::config::TablePropertiesExt as _;
use object_store::path::Path;
use object_store::ObjectStoreExt;

use crate::table::{self, TableKind};
use crate::{Lake, LakeError};

/// The youngest files a vacuum may delete: a writer stages a file for at
/// most its commit interval (seconds to minutes) before committing it.
pub const MIN_AGE: Duration = Duration::hours(1);

/// What a vacuum deleted (or, in a dry run, would delete) in one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vacuumed {
    pub table: &'static str,
    /// Paths relative to the lake.
    pub files: Vec<String>,
    pub bytes: u64,
}

/// The time a vacuum takes as now (tests move it forward).
#[derive(Debug)]
struct At(i64);

impl Clock for At {
    fn current_timestamp_millis(&self) -> i64 {
        self.0
    }
}

/// Vacuums every table of the lake. `now_ms` replaces the clock (tests).
pub async fn vacuum(lake: &Lake, older_than: Duration, dry_run: bool, now_ms: Option<i64>) -> Result<Vec<Vacuumed>, LakeError> {
    if older_than < MIN_AGE {
        return Err(LakeError::Refused(format!(
            "--older-than must be at least {}h: a younger file may be one a writer is about to commit",
            MIN_AGE.num_hours()
        )));
    }
    let mut out = Vec::new();
    for kind in TableKind::ALL {
        let Some(t) = table::open(lake, kind).await? else { continue };
        let keep = t.snapshot().ok().and_then(|s| Duration::from_std(s.table_config().deleted_file_retention_duration()).ok());
        if let Some(keep) = keep.filter(|k| older_than < *k) {
            tracing::warn!(table = kind.name(), "vacuum --older-than {}h is below the table's deletedFileRetentionDuration ({}h): reading versions older than that (--as-of) will fail", older_than.num_hours(), keep.num_hours());
        }
        // delta-rs reports deleted paths, not sizes: the plan (a second
        // listing) is what lets the real run say how many bytes it freed,
        // and what a dry run prints.
        let planned = run(t.clone(), older_than, true, now_ms, kind).await?;
        let mut sizes = HashMap::new();
        for f in &planned {
            let p = Path::from(kind.in_lake(f));
            if let Ok(meta) = lake.store.head(&p).await {
                sizes.insert(f.clone(), meta.size);
            }
        }
        let done = if dry_run { planned } else { run(t, older_than, false, now_ms, kind).await? };
        let bytes = done.iter().filter_map(|f| sizes.get(f)).sum();
        let mut files: Vec<String> = done.iter().map(|f| kind.in_lake(f)).collect();
        files.sort();
        tracing::info!(table = kind.name(), files = files.len(), bytes, dry_run, "vacuum");
        out.push(Vacuumed { table: kind.name(), files, bytes });
    }
    Ok(out)
}

/// Delta's vacuum of one table; the files it deletes, relative to it.
async fn run(t: deltalake_core::DeltaTable, older_than: Duration, dry_run: bool, now_ms: Option<i64>, kind: TableKind) -> Result<Vec<String>, LakeError> {
    let mut b = t
        .vacuum()
        .with_mode(VacuumMode::Full)
        .with_retention_period(older_than)
        .with_enforce_retention_duration(false)
        .with_dry_run(dry_run);
    if let Some(now) = now_ms {
        b = b.with_clock(Arc::new(At(now)));
    }
    let (_, metrics) = b.await.map_err(|e| LakeError::delta(kind, e))?;
    Ok(metrics.files_deleted.into_iter().map(|f| f.trim_start_matches('/').to_string()).collect())
}

/// Files of `kind` removed from the table but kept for time travel
/// (its tombstones), relative to the lake.
pub async fn removed_files(lake: &Lake, kind: TableKind) -> Result<std::collections::HashSet<String>, LakeError> {
    use futures::TryStreamExt;
    let Some(t) = table::open(lake, kind).await? else { return Ok(Default::default()) };
    let state = t.snapshot().map_err(|e| LakeError::delta(kind, e))?;
    let log_store = t.log_store();
    let tombstones: Vec<_> = state.all_tombstones(log_store.as_ref()).try_collect().await.map_err(|e| LakeError::delta(kind, e))?;
    Ok(tombstones.iter().map(|r| kind.in_lake(&r.path())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::FileWriter;
    use crate::{Commit, CommitLog, Operation};
    use authlake_core::schema::{dead_letters_schema, dead_letters_to_batch};
    use authlake_core::DeadLetter;

    async fn dead_letter_file(lake: &Lake, n: usize) -> crate::AddedFile {
        let rows: Vec<DeadLetter> = (0..n)
            .map(|i| DeadLetter { source: format!("s{i}"), reason: "r".into(), raw: "{".into(), raw_sha256: "h".into(), ingest_time: 1 })
            .collect();
        let mut w = FileWriter::create(lake, "t", TableKind::DeadLetters, "", dead_letters_schema()).unwrap();
        w.write(&dead_letters_to_batch(&rows).unwrap()).await.unwrap();
        w.finish(lake).await.unwrap()
    }

    #[tokio::test]
    async fn removed_and_abandoned_files_go_once_old_enough_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap(), false).unwrap();
        let mut log = CommitLog::load(&lake).await.unwrap();
        let (kept, gone) = (dead_letter_file(&lake, 2).await, dead_letter_file(&lake, 3).await);
        let add = Commit { add: vec![kept.clone(), gone.clone()], ..Commit::draft("t", "ingest") };
        log.commit_files(add, &Default::default(), Operation::Ingest).await.unwrap();
        let remove = Commit { remove: vec![gone.path.clone()], ..Commit::draft("t", "retention") };
        log.commit_files(remove, &Default::default(), Operation::Delete).await.unwrap();
        let abandoned = dead_letter_file(&lake, 1).await;
        crate::erasures::record(&lake, &crate::erasures::ErasureKey::new(b"0123456789abcdef", "t").unwrap(), &["x".into()], &Default::default()).await.unwrap();
        let exists = |p: &str| dir.path().join(p).exists();

        let now = chrono::Utc::now().timestamp_millis();
        assert!(vacuum(&lake, Duration::minutes(10), false, None).await.is_err(), "below the floor");
        // Within the retention: nothing goes.
        let young = vacuum(&lake, Duration::days(7), false, Some(now)).await.unwrap();
        assert!(young.iter().all(|t| t.files.is_empty()), "{young:?}");
        // Eight days on: the removed and the abandoned file, in a dry run
        // and then for real; the live file and the other tables stay.
        let later = Some(now + Duration::days(8).num_milliseconds());
        let dry = vacuum(&lake, Duration::days(7), true, later).await.unwrap();
        let dead = dry.iter().find(|t| t.table == "dead_letters").unwrap();
        let mut expected = vec![gone.path.clone(), abandoned.path.clone()];
        expected.sort();
        assert_eq!(dead.files, expected);
        assert!(dead.bytes > 0 && exists(&gone.path));
        let done = vacuum(&lake, Duration::days(7), false, later).await.unwrap();
        assert_eq!(done, dry);
        assert!(!exists(&gone.path) && !exists(&abandoned.path) && exists(&kept.path));
        assert_eq!(crate::append::read_all(&lake, TableKind::Erasures).await.unwrap()[0].num_rows(), 1);
    }
}
