//! The Delta actions a commit is made of (`add`, `remove`), committed
//! with delta-rs's conflict checks, and a snapshot's live files read back:
//! shared by the events and dead-letter commits ([`crate::commit`]) and
//! the side tables ([`crate::append`]).

use std::collections::HashMap;

use authlake_core::partition::PartitionKey;
use authlake_core::SCHEMA_VERSION;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake_core::kernel::{Action, Add, Remove};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableError};

use crate::table::TableKind;
use crate::{AddedFile, LakeError, Operation};

/// Conflicting commits (not mere races for a version number, which
/// delta-rs retries itself) a commit goes through before it gives up.
pub(crate) const MAX_CONFLICTS: usize = 8;

pub(crate) enum Retry {
    Conflict,
    Fail(LakeError),
}

pub(crate) async fn commit_actions(
    table: &mut DeltaTable,
    kind: TableKind,
    actions: Vec<Action>,
    operation: Operation,
    meta: HashMap<String, serde_json::Value>,
) -> Result<u64, Retry> {
    let op = match operation {
        Operation::Ingest => DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: (kind == TableKind::Events).then(|| authlake_core::schema::PARTITION_COLUMNS.iter().map(|c| c.to_string()).collect()),
            predicate: None,
        },
        Operation::Compact => DeltaOperation::Optimize { predicate: None, target_size: 0 },
        Operation::Delete => DeltaOperation::Delete { predicate: None },
    };
    let snapshot = table.snapshot().map_err(|e| Retry::Fail(LakeError::delta(kind, e)))?.clone();
    // Checkpoints (every `delta.checkpointInterval` versions) and log
    // cleanup run after the commit, as the table's properties say.
    let properties = CommitProperties::default().with_metadata(meta).with_max_retries(20);
    let finished = CommitBuilder::from(properties).with_actions(actions).build(Some(&snapshot), table.log_store(), op).await;
    match finished {
        Ok(done) => {
            let version = done.version();
            table.update_incremental(None).await.map_err(|e| Retry::Fail(LakeError::delta(kind, e)))?;
            Ok(version)
        }
        Err(DeltaTableError::Transaction { source: TransactionError::CommitConflict(_) }) => Err(Retry::Conflict),
        Err(e) => Err(Retry::Fail(LakeError::delta(kind, e))),
    }
}

pub(crate) fn add_action(a: &AddedFile, kind: TableKind, operation: Operation) -> Action {
    let relative = kind.relative(&a.path).to_string();
    let partition_values = match (kind, PartitionKey::parse(&relative)) {
        (TableKind::Events, Some(p)) => HashMap::from([
            ("category".to_string(), Some(p.category.clone())),
            ("event_date".to_string(), Some(p.date_string())),
        ]),
        _ => HashMap::new(),
    };
    Action::Add(Add {
        path: relative,
        partition_values,
        size: a.bytes as i64,
        modification_time: chrono::Utc::now().timestamp_millis(),
        data_change: operation != Operation::Compact,
        stats: a.stats.clone(),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    })
}

pub(crate) fn remove_action(path: &str, operation: Operation, now_ms: i64) -> Action {
    let kind = TableKind::of_path(path);
    Action::Remove(Remove {
        path: kind.relative(path).to_string(),
        data_change: operation != Operation::Compact,
        deletion_timestamp: Some(now_ms),
        extended_file_metadata: None,
        partition_values: None,
        size: None,
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
    })
}

/// The live files of a table's snapshot.
pub(crate) fn live_files(t: &DeltaTable, kind: TableKind) -> Result<Vec<AddedFile>, LakeError> {
    let state = t.snapshot().map_err(|e| LakeError::delta(kind, e))?;
    let schema_version = schema_version_of(t);
    Ok(state
        .log_data()
        .iter()
        .map(|f| AddedFile {
            path: kind.in_lake(&f.path()),
            table: kind,
            rows: f.num_records().unwrap_or(0) as u64,
            bytes: f.size().max(0) as u64,
            schema_version,
            stats: None,
        })
        .collect())
}

/// The oldest schema version among a table's files: the current one,
/// unless `authlake lake upgrade` recorded older files.
fn schema_version_of(t: &DeltaTable) -> u32 {
    t.snapshot()
        .ok()
        .and_then(|s| s.metadata().configuration().get(crate::OLDEST_SCHEMA_PROPERTY).and_then(|v| v.parse().ok()))
        .unwrap_or(SCHEMA_VERSION)
}
