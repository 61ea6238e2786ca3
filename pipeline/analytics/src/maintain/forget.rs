//! `authlake forget --user U`: erase one subject's rows and dead letters,
//! so that they stay erased.
//!
//! U is a username or a sub; the lake's own username/sub pairs find the
//! rows that carry only the other. In one commit, every live file holding
//! the subject is replaced by a copy without them; then those files, and
//! any older copy still kept for time travel that holds the subject, are
//! deleted at once. The erasure is recorded in the `erasures` table under
//! a keyed HMAC of each identifier ([`authlake_lake::erasures`]), which
//! every later ingest uses to drop the subject's rows, and which makes a
//! read of a version from before the erasure fail rather than come back
//! with holes.

use std::collections::{BTreeSet, HashSet};

use arrow::array::{Array, BooleanArray, RecordBatch, StringArray};
use authlake_lake::erasures::{record, Erasure, ErasureKey};
use authlake_lake::vacuum::{removed_files, MIN_AGE};
use authlake_lake::{CommitLog, Lake, LakeError, Operation, TableKind};
use futures::TryStreamExt;
use object_store::path::Path;

use super::{apply, delete_files, live_files, read_batches, rewrite, Change, MaintainError};
use crate::context::{lake_context_utf8, run_sql};
use crate::export::user_predicate;

/// What an erasure did (or in a dry run would do).
#[derive(Debug, Default)]
pub struct Forgotten {
    pub change: Change,
    /// Usernames and subs found to name the subject.
    pub identifiers: usize,
    /// Files deleted at once: the replaced ones, and older copies kept for
    /// time travel that held the subject.
    pub files_deleted: usize,
    /// The `erasures` table's version holding the record.
    pub record: Option<u64>,
}

/// The usernames and subs that name the same person as `user`.
async fn identities(lake: &Lake, user: &str) -> Result<BTreeSet<String>, MaintainError> {
    let ctx = lake_context_utf8(lake).await?;
    let sql = format!("SELECT DISTINCT username, user_sub FROM events WHERE {}", user_predicate(user));
    let (_, batches) = run_sql(&ctx, &sql).await?;
    let mut ids = BTreeSet::from([user.to_string()]);
    for b in &batches {
        for col in 0..b.num_columns() {
            let a = b.column(col).as_any().downcast_ref::<StringArray>().expect("string columns");
            ids.extend(a.iter().flatten().map(str::to_string));
        }
    }
    Ok(ids)
}

/// Rows to keep: those naming none of the identifiers (`None`: all).
fn keep_mask(batch: &RecordBatch, columns: &[&str], matches: &dyn Fn(&str) -> bool) -> Option<BooleanArray> {
    let cols: Vec<&StringArray> = columns
        .iter()
        .filter_map(|c| batch.column_by_name(c))
        .filter_map(|a| a.as_any().downcast_ref::<StringArray>())
        .collect();
    let mask: BooleanArray = (0..batch.num_rows()).map(|i| Some(!cols.iter().any(|c| c.is_valid(i) && matches(c.value(i))))).collect();
    mask.iter().any(|k| k == Some(false)).then_some(mask)
}

/// Data files of `kind` on storage that no snapshot has live but that are
/// kept for time travel (removed by a commit) or left long ago by a writer
/// that never committed them. Younger uncommitted files may be a live
/// writer's, about to be committed: those are left alone.
async fn stale_files(lake: &Lake, kind: TableKind, live: &HashSet<String>) -> Result<Vec<String>, MaintainError> {
    let tombstones = removed_files(lake, kind).await?;
    let prefix = (!kind.dir().is_empty()).then(|| Path::from(kind.dir()));
    let old = chrono::Utc::now() - MIN_AGE;
    let listed: Vec<object_store::ObjectMeta> =
        lake.store.list(prefix.as_ref()).try_collect().await.map_err(|e| LakeError::store(&prefix.clone().unwrap_or_default(), e))?;
    let mut out: Vec<String> = listed
        .into_iter()
        .filter(|m| {
            let p = m.location.as_ref();
            let in_table = match kind {
                TableKind::Events => p.starts_with("category="),
                _ => !p[kind.dir().len()..].trim_start_matches('/').starts_with('_'),
            };
            in_table && p.ends_with(".parquet") && !live.contains(p) && (tombstones.contains(p) || m.last_modified < old)
        })
        .map(|m| m.location.to_string())
        .collect();
    out.sort();
    Ok(out)
}

/// Erases every row and dead letter of `user` (a username or a sub).
pub async fn forget(lake: &Lake, user: &str, key: &ErasureKey, allow_missing: bool, dry_run: bool) -> Result<Forgotten, MaintainError> {
    if user.trim().is_empty() {
        return Err(MaintainError::Invalid("--user must not be empty".into()));
    }
    let ids = identities(lake, user).await?;
    let mut log = CommitLog::load(lake).await?;
    let live: HashSet<String> = log.state.live.keys().cloned().collect();
    let exact = |v: &str| ids.contains(v);
    // Dead letters hold raw text: a quoted identifier (or a long one
    // anywhere) marks the subject's record.
    let mentions = |raw: &str| ids.iter().any(|id| raw.contains(&format!("\"{id}\"")) || (id.len() >= 8 && raw.contains(id.as_str())));
    let mut f = Forgotten { identifiers: ids.len(), ..Default::default() };
    let (mut added, mut removed, mut stale) = (Vec::new(), Vec::new(), Vec::new());
    let mut partitions = BTreeSet::new();
    for (kind, columns, matches) in [
        (TableKind::Events, &["username", "user_sub"][..], &exact as &dyn Fn(&str) -> bool),
        (TableKind::DeadLetters, &["raw"][..], &mentions as &dyn Fn(&str) -> bool),
    ] {
        let keep = |b: &RecordBatch| keep_mask(b, columns, matches);
        for file in live_files(&log, kind) {
            let (new, dropped, kept) = rewrite(lake, &file, kind, &keep, dry_run).await?;
            if dropped == 0 {
                continue;
            }
            match kind {
                TableKind::Events => f.change.rows_removed += dropped,
                _ => f.change.dead_letters_removed += dropped,
            }
            f.change.rows_rewritten += kept;
            f.change.bytes_removed += file.bytes;
            f.change.files_added += usize::from(kept > 0);
            partitions.insert(super::dir_of(&file.path));
            added.extend(new);
            removed.push(file.path);
        }
        for path in stale_files(lake, kind, &live).await? {
            let batches = read_batches(lake, &path, kind).await?;
            if batches.iter().any(|b| keep_mask(b, columns, matches).is_some()) {
                stale.push(path);
            }
        }
    }
    f.change.files_removed = removed.len();
    f.change.partitions = partitions.len();
    f.files_deleted = removed.len() + stale.len();
    // A misspelt name must not read as an erasure done.
    if removed.is_empty() && stale.is_empty() && !allow_missing {
        return Err(MaintainError::NoSuchSubject(user.to_string()));
    }
    if dry_run {
        return Ok(f);
    }
    let version = match removed.is_empty() {
        true => log.state.latest.unwrap_or(0),
        false => apply(&mut log, "forget", Operation::Delete, added, removed.clone()).await?.version,
    };
    f.change.commit = (!removed.is_empty()).then_some(version);
    removed.extend(stale);
    delete_files(lake, &removed).await?;
    let erasure = Erasure {
        erased_at: chrono::Utc::now(),
        events_version: version,
        rows_erased: f.change.rows_removed,
        dead_letters_erased: f.change.dead_letters_removed,
        files_rewritten: f.change.files_removed as u64,
        files_deleted: f.files_deleted as u64,
    };
    let ids: Vec<String> = ids.into_iter().collect();
    f.record = Some(record(lake, key, &ids, &erasure).await?);
    Ok(f)
}
