//! `authlake forget --user U`: erase one person's rows and dead letters.
//!
//! U is a username or a sub; the lake's own username/sub pairs find the
//! rows that carry only the other. Only affected files are rewritten, in
//! one commit, and an erasure record keeps who asked when and how much was
//! erased, never the erased data (the subject is stored as a SHA-256).

use std::collections::BTreeSet;

use arrow::array::{Array, BooleanArray, RecordBatch, StringArray};
use authlake_core::position::sha256_hex;
use authlake_lake::{AddedFile, CommitLog, TableKind};
use authlake_lake::Lake;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::json;

use super::{apply, live_files, read_table_file, stage, MaintainError};
use crate::context::{lake_context_utf8, run_sql};
use crate::export::user_predicate;

/// Where erasure records live.
pub const ERASURES_DIR: &str = "_authlake/erasures";

/// What an erasure did.
#[derive(Debug, Default)]
pub struct ForgetSummary {
    pub rows: u64,
    pub dead_letters: u64,
    pub files_rewritten: usize,
    pub commit: Option<u64>,
    /// Path of the erasure record, relative to the lake.
    pub record: Option<String>,
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

/// Rows to keep: those naming none of `ids` in any of `columns`.
fn keep_mask(batch: &RecordBatch, columns: &[&str], matches: &dyn Fn(&str) -> bool) -> BooleanArray {
    let cols: Vec<&StringArray> = columns
        .iter()
        .filter_map(|c| batch.column_by_name(c))
        .filter_map(|a| a.as_any().downcast_ref::<StringArray>())
        .collect();
    (0..batch.num_rows()).map(|i| Some(!cols.iter().any(|c| c.is_valid(i) && matches(c.value(i))))).collect()
}

/// Rewrites the files of `table` without the matching rows.
async fn rewrite(
    lake: &Lake,
    files: Vec<AddedFile>,
    table: TableKind,
    columns: &[&str],
    matches: &dyn Fn(&str) -> bool,
    added: &mut Vec<AddedFile>,
    removed: &mut Vec<String>,
) -> Result<u64, MaintainError> {
    let mut erased = 0;
    for f in files {
        let batches = read_table_file(lake, &f.path, table).await?;
        let Some(schema) = batches.first().map(|b| b.schema()) else { continue };
        let mut kept = Vec::new();
        let mut dropped = 0;
        for b in &batches {
            let mask = keep_mask(b, columns, matches);
            dropped += mask.iter().filter(|k| *k == Some(false)).count() as u64;
            kept.push(arrow::compute::filter_record_batch(b, &mask).map_err(|e| MaintainError::Invalid(e.to_string()))?);
        }
        if dropped == 0 {
            continue;
        }
        erased += dropped;
        let dir = f.path.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
        if kept.iter().any(|b| b.num_rows() > 0) {
            added.push(stage(lake, &dir, table, schema, &kept).await?);
        }
        removed.push(f.path);
    }
    Ok(erased)
}

/// Erases every row and dead letter of `user` (a username or a sub).
pub async fn forget(lake: &Lake, user: &str) -> Result<ForgetSummary, MaintainError> {
    if user.trim().is_empty() {
        return Err(MaintainError::Invalid("--user must not be empty".into()));
    }
    let ids = identities(lake, user).await?;
    let mut log = CommitLog::load(lake).await?;
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let exact = |v: &str| ids.contains(v);
    let rows = rewrite(lake, live_files(&log, TableKind::Events), TableKind::Events, &["username", "user_sub"], &exact, &mut added, &mut removed).await?;
    // Dead letters hold raw text: a quoted identifier (or a long one
    // anywhere) marks the person's record.
    let mentions = |raw: &str| ids.iter().any(|id| raw.contains(&format!("\"{id}\"")) || (id.len() >= 8 && raw.contains(id.as_str())));
    let dead = rewrite(lake, live_files(&log, TableKind::DeadLetters), TableKind::DeadLetters, &["raw"], &mentions, &mut added, &mut removed).await?;
    let mut summary = ForgetSummary { rows, dead_letters: dead, files_rewritten: removed.len(), ..Default::default() };
    if removed.is_empty() {
        return Ok(summary);
    }
    let commit = apply(lake, &mut log, "forget", added, removed).await?;
    let record_path = format!("{ERASURES_DIR}/{:020}.json", commit.version);
    let record = json!({
        "commit": commit.version,
        "erased_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "subject_sha256": sha256_hex(user.as_bytes()),
        "identifiers_matched": ids.len(),
        "rows_erased": rows,
        "dead_letters_erased": dead,
        "files_rewritten": summary.files_rewritten,
    });
    let path = Path::from(record_path.as_str());
    lake.store
        .put(&path, PutPayload::from(serde_json::to_vec_pretty(&record).expect("record serializes")))
        .await
        .map_err(|e| authlake_lake::LakeError::store(&path, e))?;
    summary.commit = Some(commit.version);
    summary.record = Some(record_path);
    Ok(summary)
}
