//! `authlake lake history`: the events table's commits, newest first.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;

use crate::table::{self, TableKind};
use crate::{Lake, LakeError};

/// One commit of the events table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub version: u64,
    pub time: Option<DateTime<Utc>>,
    /// Delta's name for it (`WRITE`, `OPTIMIZE`, `DELETE`, `CREATE TABLE`).
    pub operation: String,
    /// authlake's name for it (`ingest`, `compact`, `retention`, `forget`,
    /// `upgrade`), when authlake wrote it.
    pub authlake_operation: Option<String>,
    pub writer: Option<String>,
    pub rows_added: Option<u64>,
    pub rows_removed: Option<u64>,
}

/// The newest `limit` commits (all that the log keeps when `None`).
pub async fn history(lake: &Lake, limit: Option<usize>) -> Result<Vec<Entry>, LakeError> {
    let kind = TableKind::Events;
    let Some(t) = table::open(lake, kind).await? else { return Ok(Vec::new()) };
    let latest = t.version().unwrap_or(0);
    let infos: Vec<_> = t.history(limit).try_collect().await.map_err(|e| LakeError::delta(kind, e))?;
    // Newest first, one per version down from the latest (every commit
    // carries its commitInfo).
    Ok(infos
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let text = |k: &str| c.info.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let count = |k: &str| c.info.get(k).and_then(|v| v.as_u64());
            Entry {
                version: latest.saturating_sub(i as u64),
                time: c.timestamp.and_then(DateTime::from_timestamp_millis),
                operation: c.operation.clone().unwrap_or_default(),
                authlake_operation: text("authlake.operation"),
                writer: text("authlake.writer"),
                rows_added: count("authlake.rowsAdded"),
                rows_removed: count("authlake.rowsRemoved"),
            }
        })
        .collect())
}
