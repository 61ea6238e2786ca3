//! Commits to the lake's Delta tables, with the source positions they
//! cover.
//!
//! A commit adds files (already written in place, invisible until added),
//! removes files, and moves source positions (`txn` actions, see
//! [`crate::positions`]). Dead letters go to their own table first, then
//! the events table takes the files and the positions in one Delta commit:
//! that commit is the one that counts. Writers race with Delta's optimistic
//! concurrency: appends of disjoint sources retry; a writer whose starting
//! position for a key no longer matches the table's is refused
//! ([`LakeError::PositionConflict`]), and so is one that loses a race on
//! the same key (Delta's own conflict check on `txn` app ids).

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use authlake_core::SCHEMA_VERSION;
use deltalake_core::kernel::Action;
use deltalake_core::DeltaTable;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

pub(crate) use crate::actions::live_files;
use crate::actions::{add_action, commit_actions, remove_action, Retry, MAX_CONFLICTS};
use crate::positions::{self, Shape};
use crate::table::{self, TableKind};
use crate::{Checkpoint, Lake, LakeError};

/// One file added by a commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddedFile {
    /// Path relative to the lake root.
    pub path: String,
    pub table: TableKind,
    pub rows: u64,
    pub bytes: u64,
    /// Schema version of the file: files of older versions lack later
    /// columns (a lake upgraded from the old commit log may hold some).
    pub schema_version: u32,
    /// Delta statistics (JSON) over [`table::LOG_STATS_COLUMNS`] only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
}

impl AddedFile {
    /// A file written at `path` by this version of authlake.
    pub fn written(path: String, table: TableKind, rows: u64, bytes: u64, stats: Option<String>) -> Self {
        Self { path, table, rows, bytes, schema_version: SCHEMA_VERSION, stats }
    }
}

/// Counts a commit covers, for summaries and audits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitStats {
    pub events: u64,
    pub dead_letters: u64,
    pub skipped: u64,
    pub payloads: u64,
    /// Rows of subjects `forget` erased, dropped rather than written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub erased: u64,
    /// Rows dropped because the lake already held their event (same
    /// `event_id`, `event_time` within the dedupe window).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicates: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a commit does to the table, as Delta records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// New data (`WRITE`, append).
    Ingest,
    /// The same rows in fewer files (`OPTIMIZE`, no data change).
    Compact,
    /// Rows deleted: expired partitions or an erased subject (`DELETE`,
    /// with no predicate, so no subject enters the log).
    Delete,
}

/// One commit, as drafted by a writer and as committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    /// The events table's version this commit became.
    pub version: u64,
    pub writer: String,
    /// What authlake calls it (`ingest`, `compact`, `retention`, `forget`).
    pub operation: String,
    pub add: Vec<AddedFile>,
    /// Paths relative to the lake root.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Source positions after this commit, per source key.
    #[serde(default)]
    pub positions: BTreeMap<String, Checkpoint>,
    #[serde(default)]
    pub stats: CommitStats,
    /// Source positions skipped because the source no longer had them
    /// (e.g. a Kafka offset past retention): data lost before it reached
    /// the lake, recorded rather than skipped silently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
}

impl Commit {
    pub fn draft(writer: &str, operation: &str) -> Self {
        Self {
            version: 0,
            writer: writer.into(),
            operation: operation.into(),
            add: Vec::new(),
            remove: Vec::new(),
            positions: BTreeMap::new(),
            stats: CommitStats::default(),
            gaps: Vec::new(),
        }
    }
}

/// What the tables hold, as of the last [`CommitLog::refresh`] plus this
/// writer's own commits since.
#[derive(Debug, Default, Clone)]
pub struct LakeState {
    /// The events table's version.
    pub latest: Option<u64>,
    /// Positions read or committed by this writer, per source key.
    pub positions: BTreeMap<String, Checkpoint>,
    /// Live files of both tables: path relative to the lake → the file.
    pub live: HashMap<String, AddedFile>,
}

/// The tables' live files now: from the copy a local lake keeps of its
/// latest snapshot ([`crate::cache`]), else from snapshots kept for the
/// life of the process, each call reading only the commits made since the
/// last one (queries, KPIs and a long-running process ask often).
pub async fn snapshot(lake: &Lake) -> Result<LakeState, LakeError> {
    static OPEN: LazyLock<tokio::sync::Mutex<HashMap<String, CommitLog>>> = LazyLock::new(Default::default);
    if let Some(cached) = crate::cache::read(lake) {
        return Ok(cached);
    }
    let mut open = OPEN.lock().await;
    let key = lake.url();
    match open.get_mut(&key) {
        Some(log) => log.refresh().await?,
        None => {
            open.insert(key.clone(), CommitLog::load(lake).await?);
        }
    }
    let log = &open[&key];
    crate::cache::write(lake, [log.events.as_ref(), log.dead_letters.as_ref()].map(|t| t.and_then(|t| t.version())), &log.state);
    Ok(log.state.clone())
}

/// The lake's tables, read and appended to.
pub struct CommitLog {
    lake: Lake,
    events: Option<DeltaTable>,
    dead_letters: Option<DeltaTable>,
    /// Sequence keys' counters (see [`crate::positions`]).
    counters: HashMap<String, i64>,
    pub state: LakeState,
}

impl CommitLog {
    /// Opens the lake's tables (none yet is an empty lake). A lake written
    /// with the old commit log is refused until it is upgraded.
    pub async fn load(lake: &Lake) -> Result<Self, LakeError> {
        let log = Self::load_any(lake).await?;
        if log.events.is_none() && !crate::upgrade::legacy_commits(lake).await?.is_empty() {
            return Err(LakeError::NeedsUpgrade(lake.display()));
        }
        Ok(log)
    }

    /// [`CommitLog::load`] without the check for the old format (for the
    /// upgrade itself).
    pub async fn load_any(lake: &Lake) -> Result<Self, LakeError> {
        let mut log = Self { lake: lake.clone(), events: None, dead_letters: None, counters: HashMap::new(), state: LakeState::default() };
        log.refresh().await?;
        Ok(log)
    }

    /// Reads what other writers committed since.
    pub async fn refresh(&mut self) -> Result<(), LakeError> {
        let lake = self.lake.clone();
        for kind in [TableKind::Events, TableKind::DeadLetters] {
            let slot = self.table_slot(kind);
            match slot {
                Some(t) => t.update_incremental(None).await.map_err(|e| LakeError::delta(kind, e))?,
                None => *slot = table::open(&lake, kind).await?,
            }
        }
        self.state.latest = self.events.as_ref().and_then(|t| t.version());
        let mut live = HashMap::new();
        for kind in [TableKind::Events, TableKind::DeadLetters] {
            if let Some(t) = self.table(kind) {
                for f in live_files(t, kind)? {
                    live.insert(f.path.clone(), f);
                }
            }
        }
        self.state.live = live;
        Ok(())
    }

    fn table(&self, kind: TableKind) -> Option<&DeltaTable> {
        match kind {
            TableKind::Events => self.events.as_ref(),
            TableKind::DeadLetters => self.dead_letters.as_ref(),
            TableKind::Erasures | TableKind::Findings => None,
        }
    }

    fn table_slot(&mut self, kind: TableKind) -> &mut Option<DeltaTable> {
        match kind {
            TableKind::Events => &mut self.events,
            TableKind::DeadLetters => &mut self.dead_letters,
            TableKind::Erasures | TableKind::Findings => unreachable!("a CommitLog writes events and dead_letters; side tables commit through append"),
        }
    }

    /// The committed positions of `keys` (offsets unless `shape` says
    /// otherwise), read from the events table's snapshot and cached.
    pub async fn positions(&mut self, keys: &[String], shape: Shape) -> Result<BTreeMap<String, Checkpoint>, LakeError> {
        let mut out = BTreeMap::new();
        for key in keys {
            if let Some(at) = self.read_position(TableKind::Events, key, shape).await? {
                out.insert(key.clone(), at);
            }
        }
        Ok(out)
    }

    async fn read_position(&mut self, kind: TableKind, key: &str, shape: Shape) -> Result<Option<Checkpoint>, LakeError> {
        let Some(t) = self.table(kind) else { return Ok(None) };
        let state = t.snapshot().map_err(|e| LakeError::delta(kind, e))?.clone();
        let log_store = t.log_store();
        let lookup = |app_id: String| {
            let (state, log_store) = (state.clone(), log_store.clone());
            async move { state.transaction_version(log_store.as_ref(), app_id).await }
        };
        let found = positions::read(key, shape, lookup).await.map_err(|e| LakeError::delta(kind, e))?;
        Ok(found.map(|(at, counter)| {
            if kind == TableKind::Events {
                self.counters.insert(key.to_string(), counter);
                self.state.positions.insert(key.to_string(), at.clone());
            }
            at
        }))
    }

    /// Commits `draft`. `expected` are the positions this writer started
    /// from for every key it moves (None: the key must be new). Files in
    /// `draft.add` must already be written in place.
    pub async fn commit(
        &mut self,
        mut draft: Commit,
        expected: &BTreeMap<String, Option<Checkpoint>>,
        operation: Operation,
    ) -> Result<Commit, LakeError> {
        let (dead, events): (Vec<AddedFile>, Vec<AddedFile>) = draft.add.iter().cloned().partition(|a| a.table == TableKind::DeadLetters);
        let now_ms = chrono::Utc::now().timestamp_millis();
        let meta = app_metadata(&draft, &self.state.live);
        if !dead.is_empty() || draft.remove.iter().any(|r| r.starts_with(TableKind::DeadLetters.dir())) {
            self.commit_dead_letters(&draft, &dead, now_ms, &meta).await?;
        }
        for _ in 0..MAX_CONFLICTS {
            let table = self.open_for_write(TableKind::Events).await?;
            table.update_incremental(None).await.map_err(|e| LakeError::delta(TableKind::Events, e))?;
            let mut txns = Vec::new();
            for (key, want) in expected {
                let Some(next) = draft.positions.get(key) else { continue };
                let found = self.read_position(TableKind::Events, key, Shape::of(next)).await?;
                if found.as_ref() != want.as_ref() {
                    return Err(LakeError::PositionConflict {
                        key: key.clone(),
                        expected: want.as_ref().map(|c| format!("{c:?}")),
                        found: found.map(|c| format!("{c:?}")),
                    });
                }
            }
            for (key, next) in &draft.positions {
                let counter = self.counters.get(key).copied().unwrap_or(0) + 1;
                txns.push((key.clone(), counter, positions::to_txns(key, next, counter, now_ms)));
            }
            let mut actions: Vec<Action> = events.iter().map(|a| add_action(a, TableKind::Events, operation)).collect();
            actions.extend(draft.remove.iter().filter(|r| !r.starts_with(TableKind::DeadLetters.dir())).map(|r| remove_action(r, operation, now_ms)));
            actions.extend(txns.iter().flat_map(|(_, _, t)| t.iter().cloned().map(Action::Txn)));
            let table = self.events.as_mut().expect("opened above");
            match commit_actions(table, TableKind::Events, actions, operation, meta.clone()).await {
                Ok(version) => {
                    tracing::debug!(version, writer = %draft.writer, positions = ?draft.positions, "committed");
                    for (key, counter, _) in txns {
                        self.counters.insert(key, counter);
                    }
                    draft.version = version;
                    self.apply(&draft);
                    return Ok(draft);
                }
                // Another writer moved one of these keys between the read
                // above and this commit: read again, and refuse if it moved.
                Err(Retry::Conflict) => continue,
                Err(Retry::Fail(e)) => return Err(e),
            }
        }
        Err(LakeError::Contended { table: TableKind::Events.name(), attempts: MAX_CONFLICTS })
    }

    /// Dead letters first, in their own table, with the positions they
    /// cover: replaying the same range after a crash between the two
    /// commits finds them there and does not add them twice.
    async fn commit_dead_letters(&mut self, draft: &Commit, dead: &[AddedFile], now_ms: i64, meta: &HashMap<String, serde_json::Value>) -> Result<(), LakeError> {
        let kind = TableKind::DeadLetters;
        let operation = if dead.is_empty() { Operation::Delete } else { Operation::Ingest };
        for _ in 0..MAX_CONFLICTS {
            let table = self.open_for_write(kind).await?;
            table.update_incremental(None).await.map_err(|e| LakeError::delta(kind, e))?;
            let mut covered = !draft.positions.is_empty() && !dead.is_empty();
            for (key, next) in &draft.positions {
                covered &= self.read_position(kind, key, Shape::of(next)).await?.as_ref() == Some(next);
            }
            if covered {
                return Ok(());
            }
            let mut actions: Vec<Action> = dead.iter().map(|a| add_action(a, kind, operation)).collect();
            actions.extend(draft.remove.iter().filter(|r| r.starts_with(kind.dir())).map(|r| remove_action(&kind.in_lake(kind.relative(r)), operation, now_ms)));
            for (key, next) in &draft.positions {
                actions.extend(positions::to_txns(key, next, 0, now_ms).into_iter().map(Action::Txn));
            }
            let table = self.dead_letters.as_mut().expect("opened above");
            match commit_actions(table, kind, actions, operation, meta.clone()).await {
                Ok(_) => return Ok(()),
                Err(Retry::Conflict) => continue,
                Err(Retry::Fail(e)) => return Err(e),
            }
        }
        Err(LakeError::Contended { table: kind.name(), attempts: MAX_CONFLICTS })
    }

    async fn open_for_write(&mut self, kind: TableKind) -> Result<&mut DeltaTable, LakeError> {
        if self.table(kind).is_none() {
            let t = table::open_or_create(&self.lake, kind).await?;
            *self.table_slot(kind) = Some(t);
        }
        Ok(self.table_slot(kind).as_mut().expect("set above"))
    }

    fn apply(&mut self, c: &Commit) {
        for r in &c.remove {
            self.state.live.remove(r);
        }
        for a in &c.add {
            self.state.live.insert(a.path.clone(), a.clone());
        }
        for (k, p) in &c.positions {
            self.state.positions.insert(k.clone(), p.clone());
        }
        self.state.latest = Some(c.version);
    }

    /// The whole write of a commit: commits, then deletes the removed
    /// files. When the commit fails, the added files are deleted (nothing
    /// will ever reference them).
    pub async fn commit_files(
        &mut self,
        draft: Commit,
        expected: &BTreeMap<String, Option<Checkpoint>>,
        operation: Operation,
    ) -> Result<Commit, LakeError> {
        let added: Vec<Path> = draft.add.iter().map(|a| Path::from(a.path.as_str())).collect();
        match self.commit(draft, expected, operation).await {
            Ok(c) => Ok(c),
            Err(e) => {
                for p in &added {
                    let _ = self.lake.store.delete(p).await;
                }
                Err(e)
            }
        }
    }
}

/// What authlake records in each commit's `commitInfo`: who, what, and
/// counts; never a subject or a predicate naming one.
fn app_metadata(draft: &Commit, live: &HashMap<String, AddedFile>) -> HashMap<String, serde_json::Value> {
    let events = |f: &&AddedFile| f.table == TableKind::Events;
    let added: u64 = draft.add.iter().filter(events).map(|f| f.rows).sum();
    let removed: u64 = draft.remove.iter().filter_map(|r| live.get(r)).filter(events).map(|f| f.rows).sum();
    let mut m = HashMap::new();
    m.insert("authlake.rowsAdded".into(), serde_json::Value::from(added));
    m.insert("authlake.rowsRemoved".into(), serde_json::Value::from(removed));
    m.insert("authlake.writer".into(), serde_json::Value::from(draft.writer.clone()));
    m.insert("authlake.operation".into(), serde_json::Value::from(draft.operation.clone()));
    m.insert("authlake.stats".into(), serde_json::to_value(&draft.stats).unwrap_or_default());
    if !draft.gaps.is_empty() {
        m.insert("authlake.gaps".into(), serde_json::Value::from(draft.gaps.clone()));
    }
    m
}
