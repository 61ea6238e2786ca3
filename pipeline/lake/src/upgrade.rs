//! `authlake lake upgrade`: a lake written with authlake's own commit log
//! (`_authlake/commits/<n>.json`) becomes a Delta lake, in place.
//!
//! No data file is rewritten: the live files are added to the new events
//! table where they are (dead letters are renamed into their table's
//! directory), with statistics read from their footers, and every source
//! position is carried into the same Delta commit as `txn` actions, so an
//! ingest resumed afterwards adds exactly the rest. The old log is then
//! closed with a last entry that the old commit log's reader refuses
//! (`unknown field "upgraded_to_delta"`), so an old binary stops with that
//! message rather than writing beside the Delta table. Running it again
//! does nothing; a run cut short resumes where it stopped.

use std::collections::{BTreeMap, HashMap};

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaDataReader;
use serde::Deserialize;

use crate::files::log_stats;
use crate::positions::Shape;
use crate::table::{self, TableKind};
use crate::{AddedFile, Checkpoint, Commit, CommitLog, Lake, LakeError, Operation, LEGACY_COMMITS_DIR};

/// The app id whose version records the old log's last commit carried in.
const UPGRADE_KEY: &str = "upgrade:legacy-commit-log";

/// What the old log's entries hold (read leniently).
#[derive(Debug, Deserialize)]
struct LegacyCommit {
    #[serde(default)]
    schema_version: u32,
    #[serde(default)]
    add: Vec<LegacyFile>,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    positions: BTreeMap<String, Checkpoint>,
    #[serde(default)]
    upgraded_to_delta: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct LegacyFile {
    path: String,
    #[serde(default)]
    staging: Option<String>,
    table: TableKind,
    rows: u64,
    bytes: u64,
}

/// What an upgrade did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Upgraded {
    /// The old log's commits read (0: nothing to upgrade).
    pub legacy_commits: usize,
    pub event_files: usize,
    pub dead_letter_files: usize,
    pub positions: usize,
    /// An earlier run had done it all.
    pub already: bool,
}

/// Numbers of the old log's entries, ascending.
pub async fn legacy_commits(lake: &Lake) -> Result<Vec<u64>, LakeError> {
    let dir = Path::from(LEGACY_COMMITS_DIR);
    let metas: Vec<_> = lake.store.list(Some(&dir)).try_collect().await.map_err(|e| LakeError::store(&dir, e))?;
    let mut numbers: Vec<u64> = metas
        .iter()
        .filter_map(|m| m.location.filename()?.strip_suffix(".json")?.parse().ok())
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

fn legacy_path(n: u64) -> Path {
    Path::from(format!("{LEGACY_COMMITS_DIR}/{n:020}.json"))
}

/// Converts the lake at `lake` in place.
pub async fn upgrade(lake: &Lake) -> Result<Upgraded, LakeError> {
    let numbers = legacy_commits(lake).await?;
    let mut report = Upgraded { legacy_commits: numbers.len(), ..Default::default() };
    if numbers.is_empty() {
        return Ok(report);
    }
    // Replay the old log.
    let (mut live, mut positions, mut oldest) = (HashMap::<String, (LegacyFile, u32)>::new(), BTreeMap::new(), authlake_core::SCHEMA_VERSION);
    let mut closed = false;
    for n in &numbers {
        let path = legacy_path(*n);
        let bytes = lake.store.get(&path).await.map_err(|e| LakeError::store(&path, e))?.bytes().await.map_err(|e| LakeError::store(&path, e))?;
        let c: LegacyCommit = serde_json::from_slice(&bytes).map_err(|e| LakeError::CorruptCommit { path: path.to_string(), reason: e.to_string() })?;
        if c.upgraded_to_delta.is_some() {
            closed = true;
            continue;
        }
        for r in &c.remove {
            live.remove(r);
        }
        for a in c.add {
            live.insert(a.path.clone(), (a, c.schema_version.max(1)));
        }
        positions.extend(c.positions);
    }
    let last = *numbers.last().expect("not empty");
    let mut log = CommitLog::load_any(lake).await?;
    let done = log.positions(&[UPGRADE_KEY.to_string()], Shape::Offset).await?.contains_key(UPGRADE_KEY);
    if closed && done {
        report.already = true;
        return Ok(report);
    }
    if !done {
        // Files a crash left in staging belong where their commit put them;
        // dead letters move into their table's directory.
        let mut adds = Vec::new();
        for (file, version) in live.values() {
            oldest = oldest.min(*version);
            let mut at = file.path.clone();
            if let Some(staging) = &file.staging {
                crate::recover::move_if_present(lake, &Path::from(staging.as_str()), &Path::from(at.as_str())).await?;
            }
            if file.table == TableKind::DeadLetters {
                let name = at.rsplit('/').next().unwrap_or(&at).to_string();
                let to = TableKind::DeadLetters.in_lake(&name);
                crate::recover::move_if_present(lake, &Path::from(at.as_str()), &Path::from(to.as_str())).await?;
                at = to;
            }
            let stats = footer_stats(lake, &at, file.table).await?;
            adds.push(AddedFile { path: at, table: file.table, rows: file.rows, bytes: file.bytes, schema_version: *version, stats: Some(stats) });
        }
        adds.sort_by(|a, b| a.path.cmp(&b.path));
        report.event_files = adds.iter().filter(|a| a.table == TableKind::Events).count();
        report.dead_letter_files = adds.len() - report.event_files;
        report.positions = positions.len();
        table::create_events(lake, oldest).await?;
        let mut carried = positions.clone();
        carried.insert(UPGRADE_KEY.to_string(), Checkpoint::offset(last));
        let expected = carried.keys().map(|k| (k.clone(), None)).collect();
        let draft = Commit { add: adds, positions: carried, ..Commit::draft("upgrade", "upgrade") };
        log.commit(draft, &expected, Operation::Ingest).await?;
    }
    if !closed {
        let marker = serde_json::json!({
            "upgraded_to_delta": "this lake is a Delta Lake table now (its log is _delta_log/): use an authlake release that reads Delta",
            "version": last + 1,
        });
        let path = legacy_path(last + 1);
        let body = serde_json::to_vec_pretty(&marker).expect("marker serializes");
        lake.store.put(&path, PutPayload::from(body)).await.map_err(|e| LakeError::store(&path, e))?;
    }
    Ok(report)
}

/// Delta statistics of an existing file, from its footer (the file's
/// tail only, read again larger if the footer is bigger).
async fn footer_stats(lake: &Lake, path: &str, table: TableKind) -> Result<String, LakeError> {
    let at = Path::from(path);
    let fail = |e: ParquetError| LakeError::Parquet { path: path.to_string(), reason: e.to_string() };
    let size = lake.store.head(&at).await.map_err(|e| LakeError::store(&at, e))?.size;
    let mut want = size.min(64 * 1024);
    loop {
        let tail = lake.store.get_range(&at, size - want..size).await.map_err(|e| LakeError::store(&at, e))?;
        let mut reader = ParquetMetaDataReader::new();
        match reader.try_parse_sized(&tail, size) {
            Ok(()) => return Ok(log_stats(&reader.finish().map_err(fail)?, table)),
            Err(ParquetError::NeedMoreData(n)) if (n as u64) > want && (n as u64) <= size => want = n as u64,
            Err(e) => return Err(fail(e)),
        }
    }
}
