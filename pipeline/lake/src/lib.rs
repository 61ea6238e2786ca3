//! authlake-lake: the tables every other stage reads and writes.
//!
//! A lake is a local directory or an S3 prefix behind one object store
//! ([`Lake`]) holding Delta Lake tables ([`table`]): `events` at the root,
//! partitioned by `category` and `event_date`, and every other table under
//! `_authlake/tables/<name>/`. Any Delta reader (Spark, Trino, Athena,
//! DuckDB, Polars, Python `deltalake`) reads them. What they promise:
//!
//! - **A file is in a table only through a commit.** Writers encode
//!   Parquet ([`files::writer_properties`]) in place, under names that
//!   carry the writer's tag ([`files::data_file_path`]); a commit
//!   ([`commit::CommitLog`]) adds them, with statistics over
//!   non-identifying columns only ([`files::log_stats`]): no username,
//!   sub, email or address enters the log, whose history `forget` cannot
//!   rewrite.
//! - **Exactly once per source position.** The events commit that adds
//!   the data carries a `txn` action per source key it advances
//!   ([`positions`]: offsets as the version; Kinesis sequence numbers, which
//!   exceed 64 bits, as a counter plus the digits in further `txn`s of the
//!   same commit). A writer whose starting position no longer matches the
//!   table's is refused ([`LakeError::PositionConflict`]); Delta's conflict
//!   check refuses two commits racing on one key; appends of disjoint
//!   sources retry.
//! - **A crash leaves nothing visible**: files written but never committed
//!   are in no snapshot; the writer's [`recover`] deletes them at its next
//!   start, a vacuum those of writers that never return.
//!
//! Layout: docs/lake.md.

mod actions;
pub mod append;
pub mod asof;
mod cache;
mod checkpoint;
pub mod commit;
pub mod erasures;
pub mod files;
pub mod history;
pub mod positions;
pub mod ranges;
pub mod recover;
pub mod table;
pub mod upgrade;
pub mod vacuum;

pub use asof::AsOf;
pub use checkpoint::Checkpoint;
pub use commit::{AddedFile, Commit, CommitLog, CommitStats, Operation};
pub use table::TableKind;

use std::path::PathBuf;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

/// Where lakes written before the Delta format kept their commit log.
pub const LEGACY_COMMITS_DIR: &str = "_authlake/commits";
/// Where lakes written before the Delta format staged files.
pub const LEGACY_STAGING_DIR: &str = "_authlake/staging";
/// Table property naming the oldest `events` schema version among the
/// table's files (set by `authlake lake upgrade`; absent: all current).
pub const OLDEST_SCHEMA_PROPERTY: &str = "authlake.oldestSchemaVersion";

/// Errors opening or writing the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("invalid lake location {0:?}: {1}")]
    BadLocation(String, String),
    #[error("lake {0} does not exist")]
    Missing(String),
    #[error("object store error at {path}: {source}")]
    Store { path: String, source: object_store::Error },
    #[error("corrupt commit {path}: {reason}")]
    CorruptCommit { path: String, reason: String },
    #[error("another writer committed {key} to {found:?} while this one read it from {expected:?}; rerun to continue from the new position")]
    PositionConflict { key: String, expected: Option<String>, found: Option<String> },
    #[error("cannot write parquet {path}: {reason}")]
    Parquet { path: String, reason: String },
    #[error("{0} was written by an earlier authlake (its own commit log, _authlake/commits/): run `authlake lake upgrade --lake {0}` once to make it a Delta table")]
    NeedsUpgrade(String),
    #[error("Delta table {table}: {attempts} commits in a row conflicted with other writers' (a file removed twice, or a source position moved); rerun")]
    Contended { table: &'static str, attempts: usize },
    #[error("{0} has erasures (`authlake forget`): rows of erased subjects must be dropped, so give the key forget used (--erasure-key-file, or the environment variable AUTHLAKE_ERASURE_KEY)")]
    ErasureKeyMissing(String),
    #[error("invalid erasure key: {0}")]
    BadErasureKey(String),
    #[error("{at} cannot be read: files it holds were erased by forget at version {version}")]
    Erased { at: String, version: u64 },
    #[error("{0}")]
    Refused(String),
    #[error("Delta table {table} (log {log})")]
    Delta { table: &'static str, log: String, source: Box<deltalake_core::DeltaTableError> },
}

impl LakeError {
    pub fn delta(table: TableKind, source: deltalake_core::DeltaTableError) -> Self {
        let log = match table.dir() {
            "" => "_delta_log/".to_string(),
            dir => format!("{dir}/_delta_log/"),
        };
        Self::Delta { table: table.name(), log, source: Box::new(source) }
    }

    pub fn store(path: &Path, source: object_store::Error) -> Self {
        Self::Store { path: path.to_string(), source }
    }
}

/// Where the lake is: enough to rebuild the store for a query engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

/// An opened lake: an object store whose paths are relative to the root.
#[derive(Clone)]
pub struct Lake {
    pub store: Arc<dyn ObjectStore>,
    pub location: Location,
    /// Unprefixed store for the query engine (S3: the bucket).
    pub root_store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lake({})", self.display())
    }
}

impl Lake {
    /// Opens `DIR`, `file://DIR` or `s3://bucket/prefix`. A local lake is
    /// created when `create` is set, else it must exist.
    pub fn open(spec: &str, create: bool) -> Result<Self, LakeError> {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(LakeError::BadLocation(spec.into(), "missing bucket".into()));
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            let endpoint = std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL")).ok();
            if let Some(ep) = endpoint {
                builder = builder.with_endpoint(&ep).with_allow_http(ep.starts_with("http://"));
            }
            if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
                builder = builder.with_region("us-east-1");
            }
            let s3: Arc<dyn ObjectStore> =
                Arc::new(builder.build().map_err(|e| LakeError::BadLocation(spec.into(), e.to_string()))?);
            let prefix = prefix.trim_matches('/').to_string();
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                s3.clone()
            } else {
                Arc::new(PrefixStore::new(s3.clone(), Path::from(prefix.as_str())))
            };
            return Ok(Self { store, root_store: s3, location: Location::S3 { bucket: bucket.into(), prefix } });
        }
        let dir = PathBuf::from(spec.strip_prefix("file://").unwrap_or(spec));
        if dir.as_os_str().is_empty() {
            return Err(LakeError::BadLocation(spec.into(), "empty path".into()));
        }
        if !dir.exists() {
            if !create {
                return Err(LakeError::Missing(dir.display().to_string()));
            }
            std::fs::create_dir_all(&dir).map_err(|e| LakeError::BadLocation(spec.into(), e.to_string()))?;
        }
        let dir = std::fs::canonicalize(&dir).map_err(|e| LakeError::BadLocation(spec.into(), e.to_string()))?;
        if !dir.is_dir() {
            return Err(LakeError::BadLocation(spec.into(), "not a directory".into()));
        }
        let store: Arc<dyn ObjectStore> = Arc::new(
            LocalFileSystem::new_with_prefix(&dir).map_err(|e| LakeError::BadLocation(spec.into(), e.to_string()))?,
        );
        Ok(Self { root_store: Arc::new(LocalFileSystem::new()), store, location: Location::Local(dir) })
    }

    /// The lake as a URL: `file:///abs/dir/` or `s3://bucket/prefix/`.
    pub fn url(&self) -> String {
        match &self.location {
            Location::Local(dir) => format!("file://{}/", dir.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}/"),
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}/"),
        }
    }

    /// How the lake is shown to people.
    pub fn display(&self) -> String {
        match &self.location {
            Location::Local(dir) => dir.display().to_string(),
            _ => self.url(),
        }
    }
}
