//! The lake's Delta tables: where each lives, how it is created, opened
//! and read.
//!
//! `events` is the table at the lake root, partitioned by `category` and
//! `event_date`. Every other table lives under `_authlake/tables/<name>/`,
//! where a vacuum of the root table cannot touch it.

use std::collections::HashMap;
use std::sync::{Arc, Once};

use arrow::datatypes::SchemaRef;
use authlake_core::schema::{dead_letters_schema, erasures_schema, findings_schema, events_file_schema, events_table_schema, PARTITION_COLUMNS};
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake_core::kernel::StructType;
use deltalake_core::logstore::{default_logstore, logstore_factories, LogStore, LogStoreFactory, StorageConfig};
use deltalake_core::{DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError, ObjectStore};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::asof::AsOf;
use crate::{Lake, LakeError, Location};

/// Which table a data file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Events,
    DeadLetters,
    /// Who `forget` erased, as keyed HMACs ([`crate::erasures`]).
    Erasures,
    /// Detection findings, one row per revision (`authlake detect`).
    Findings,
}

/// Statistics in the log cover only these columns: none identifies a
/// person, because the log's history is never rewritten (`forget` rewrites
/// files, not the log). Pruning on identifiers uses the files' own
/// statistics.
pub const LOG_STATS_COLUMNS: &[&str] = &["event_time", "ingest_time", "event_type", "outcome", "user_pool_id", "risk_level"];

/// Table properties authlake sets on create.
fn properties(kind: TableKind) -> HashMap<String, Option<String>> {
    let mut p: HashMap<String, Option<String>> = HashMap::new();
    p.insert("delta.dataSkippingStatsColumns".into(), Some(kind.log_stats_columns().join(",")));
    // A checkpoint every 10 commits (delta-rs's default interval is 100):
    // a start-up reads one checkpoint and at most 9 commits.
    p.insert("delta.checkpointInterval".into(), Some("10".into()));
    p.insert("delta.enableExpiredLogCleanup".into(), Some("true".into()));
    p
}

impl TableKind {
    /// The table's directory relative to the lake root ("" for events).
    pub fn dir(self) -> &'static str {
        match self {
            Self::Events => "",
            Self::DeadLetters => "_authlake/tables/dead_letters",
            Self::Erasures => "_authlake/tables/erasures",
            Self::Findings => "_authlake/tables/findings",
        }
    }

    /// Every table, in the order maintenance visits them.
    pub const ALL: [TableKind; 4] = [Self::Events, Self::DeadLetters, Self::Erasures, Self::Findings];

    /// The columns whose statistics enter the log (none identifies anyone).
    pub fn log_stats_columns(self) -> &'static [&'static str] {
        match self {
            Self::Events => LOG_STATS_COLUMNS,
            Self::DeadLetters => &["ingest_time"],
            Self::Erasures => &["erased_at"],
            Self::Findings => &["detected_at", "window_start", "rule_id"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::DeadLetters => "dead_letters",
            Self::Erasures => "erasures",
            Self::Findings => "findings",
        }
    }

    /// The table a path relative to the lake belongs to.
    pub fn of_path(lake_path: &str) -> Self {
        Self::ALL.into_iter().find(|k| !k.dir().is_empty() && lake_path.starts_with(&format!("{}/", k.dir()))).unwrap_or(Self::Events)
    }

    /// A file path relative to the table, from one relative to the lake.
    pub fn relative(self, lake_path: &str) -> &str {
        match self.dir() {
            "" => lake_path,
            dir => lake_path.strip_prefix(dir).map_or(lake_path, |p| p.trim_start_matches('/')),
        }
    }

    /// A file path relative to the lake, from one relative to the table.
    pub fn in_lake(self, table_path: &str) -> String {
        match self.dir() {
            "" => table_path.to_string(),
            dir => format!("{dir}/{table_path}"),
        }
    }

    /// The columns of the table's data files (for `events`, without the
    /// partition columns, which the directories carry).
    pub fn file_schema(self) -> SchemaRef {
        match self {
            Self::Events => events_file_schema(),
            Self::DeadLetters => dead_letters_schema(),
            Self::Erasures => erasures_schema(),
            Self::Findings => findings_schema(),
        }
    }

    fn schema(self) -> Result<StructType, LakeError> {
        let arrow = match self {
            Self::Events => events_table_schema(),
            other => other.file_schema(),
        };
        arrow.as_ref().try_into_kernel().map_err(|e| LakeError::delta(self, e.into()))
    }

    fn partitions(self) -> Vec<String> {
        match self {
            Self::Events => PARTITION_COLUMNS.iter().map(|c| c.to_string()).collect(),
            Self::DeadLetters | Self::Erasures | Self::Findings => Vec::new(),
        }
    }
}

/// delta-rs knows `file://` and `memory://` by itself; the lake's own S3
/// store (conditional puts, no DynamoDB lock) serves `s3://`.
struct S3LogStores;

impl LogStoreFactory for S3LogStores {
    fn with_options(
        &self,
        prefixed: Arc<dyn ObjectStore>,
        root: Arc<dyn ObjectStore>,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(prefixed, root, location, options))
    }
}

fn register_s3() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        logstore_factories().insert(Url::parse("s3://").expect("valid url"), Arc::new(S3LogStores));
    });
}

/// The table's URL, with a trailing slash.
pub fn table_url(lake: &Lake, kind: TableKind) -> Result<Url, LakeError> {
    let base = match &lake.location {
        Location::Local(dir) => Url::from_directory_path(dir).map_err(|()| LakeError::BadLocation(dir.display().to_string(), "not absolute".into()))?,
        Location::S3 { .. } => Url::parse(&lake.url()).map_err(|e| LakeError::BadLocation(lake.url(), e.to_string()))?,
    };
    match kind.dir() {
        "" => Ok(base),
        dir => base.join(&format!("{dir}/")).map_err(|e| LakeError::BadLocation(lake.url(), e.to_string())),
    }
}

fn builder(lake: &Lake, kind: TableKind) -> Result<DeltaTableBuilder, LakeError> {
    register_s3();
    let url = table_url(lake, kind)?;
    let b = DeltaTableBuilder::from_url(url.clone()).map_err(|e| LakeError::delta(kind, e))?;
    Ok(b.with_storage_backend(lake.root_store.clone(), url))
}

/// Opens a table at its newest version; `None` when the table has not
/// been created yet.
pub async fn open(lake: &Lake, kind: TableKind) -> Result<Option<DeltaTable>, LakeError> {
    load(lake, kind, |b| b).await
}

/// Opens a table as of a version or a moment ([`crate::asof`]).
pub async fn open_as_of(lake: &Lake, kind: TableKind, at: AsOf) -> Result<Option<DeltaTable>, LakeError> {
    load(lake, kind, |b| match at {
        AsOf::Version(v) => b.with_version(v),
        AsOf::Time(t) => b.with_timestamp(t),
    })
    .await
}

async fn load(lake: &Lake, kind: TableKind, at: impl FnOnce(DeltaTableBuilder) -> DeltaTableBuilder) -> Result<Option<DeltaTable>, LakeError> {
    // delta-rs refuses a local directory that does not exist rather than
    // calling it no table.
    if let Location::Local(root) = &lake.location {
        if !root.join(kind.dir()).join("_delta_log").is_dir() {
            return Ok(None);
        }
    }
    match at(builder(lake, kind)?).load().await {
        Ok(t) => Ok(Some(t)),
        Err(DeltaTableError::NotATable(_)) => Ok(None),
        Err(e) => Err(LakeError::delta(kind, e)),
    }
}

/// Opens a table, creating it first when it does not exist (a writer
/// racing to create it too is fine: the loser opens the winner's).
pub async fn open_or_create(lake: &Lake, kind: TableKind) -> Result<DeltaTable, LakeError> {
    create_with(lake, kind, properties(kind)).await
}

/// Creates the events table of an upgraded lake, recording the oldest
/// schema version among its files (nothing when it exists).
pub async fn create_events(lake: &Lake, oldest_schema: u32) -> Result<DeltaTable, LakeError> {
    let mut props = properties(TableKind::Events);
    if oldest_schema < authlake_core::SCHEMA_VERSION {
        props.insert(crate::OLDEST_SCHEMA_PROPERTY.into(), Some(oldest_schema.to_string()));
    }
    create_with(lake, TableKind::Events, props).await
}

async fn create_with(lake: &Lake, kind: TableKind, props: HashMap<String, Option<String>>) -> Result<DeltaTable, LakeError> {
    if let Some(t) = open(lake, kind).await? {
        return Ok(t);
    }
    let log_store = builder(lake, kind)?.build_storage().map_err(|e| LakeError::delta(kind, e))?;
    let create = deltalake_core::operations::create::CreateBuilder::new()
        .with_log_store(log_store)
        .with_table_name(kind.name())
        .with_columns(kind.schema()?.fields().cloned())
        .with_partition_columns(kind.partitions())
        .with_configuration(props);
    match create.await {
        Ok(t) => Ok(t),
        // Another writer created it first (delta-rs says so in several
        // ways, "already exists" among them): open theirs.
        Err(e) => match open(lake, kind).await? {
            Some(t) => Ok(t),
            None => Err(LakeError::delta(kind, e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_move_between_table_and_lake() {
        let k = TableKind::DeadLetters;
        assert_eq!(k.in_lake("part-1.parquet"), "_authlake/tables/dead_letters/part-1.parquet");
        assert_eq!(k.relative("_authlake/tables/dead_letters/part-1.parquet"), "part-1.parquet");
        assert_eq!(TableKind::Events.relative("category=auth/x.parquet"), "category=auth/x.parquet");
    }

    #[tokio::test]
    async fn tables_are_created_once_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap(), false).unwrap();
        assert!(open(&lake, TableKind::Events).await.unwrap().is_none());
        let t = open_or_create(&lake, TableKind::Events).await.unwrap();
        assert_eq!(t.version(), Some(0));
        let again = open_or_create(&lake, TableKind::DeadLetters).await.unwrap();
        assert_eq!(again.version(), Some(0));
        assert!(dir.path().join("_delta_log/00000000000000000000.json").exists());
        assert!(dir.path().join("_authlake/tables/dead_letters/_delta_log/00000000000000000000.json").exists());
        let meta = t.snapshot().unwrap().metadata().clone();
        assert_eq!(meta.partition_columns(), &["category".to_string(), "event_date".to_string()]);
        let p = t.snapshot().unwrap().protocol().clone();
        assert_eq!((p.min_reader_version(), p.min_writer_version()), (1, 2));
    }
}
