//! Exactly once per event: a row whose `event_id` is already in the lake,
//! or earlier in this run, with an `event_time` within the dedupe window
//! is dropped and counted.
//!
//! The index maps a 128-bit hash of each id (two aHash keys drawn per
//! run: a false match needs both to collide) to the newest `event_time`
//! seen with it. It holds the event dates a row has needed, each loaded
//! once from the lake: the `event_id` and `event_time` columns of the
//! committed files of that date. Rows this writer absorbs enter as they
//! come; files other writers committed since are read at each commit.
//! Dates no row needed since the commit before last are evicted after a
//! commit (their rows are then in the lake) and read again if a later row
//! needs them, so memory follows the dates being ingested, not the lake (a
//! backfill of old dates after new ones, or one row dated in the future,
//! evicts nothing that is still in use).
//!
//! The known limit: two writers that own different sources and commit the
//! same event between their refreshes both land it (docs/lake.md; `lake
//! duplicates` counts such rows).

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use ahash::RandomState;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;
use authlake_core::partition::PartitionKey;
use authlake_lake::commit::LakeState;
use authlake_lake::{Lake, LakeError, TableKind};
use authlake_lake::ranges::read_columns;

/// The window a user gets without asking: CloudTrail's and Firehose's
/// re-deliveries and copied files arrive within days.
pub const DEFAULT_WINDOW: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

const DAY_US: i64 = 86_400_000_000;

/// Ids seen within the window of the dates being ingested.
pub struct Dedupe {
    window_us: i64,
    /// The window in whole days, rounded up.
    window_days: i32,
    keys: [RandomState; 2],
    /// Hash of an id → the newest `event_time` (µs) seen with it.
    seen: HashMap<IdHash, i64, BuildHasherDefault<FirstWord>>,
    /// Event dates whose committed rows are in `seen`.
    loaded: BTreeSet<i32>,
    /// The commit count when a row last needed each loaded date.
    used: HashMap<i32, u64>,
    /// Commits so far.
    generation: u64,
    /// Lake files whose rows are in `seen` (or are this writer's own).
    indexed: HashSet<String>,
}

impl Dedupe {
    pub fn new(window: std::time::Duration) -> Self {
        let window_us = i64::try_from(window.as_micros()).unwrap_or(i64::MAX / 4);
        let window_days = i32::try_from((window_us + DAY_US - 1) / DAY_US).unwrap_or(i32::MAX / 4);
        Self {
            window_us,
            window_days,
            keys: [RandomState::new(), RandomState::new()],
            seen: HashMap::default(),
            loaded: BTreeSet::new(),
            indexed: HashSet::new(),
            used: HashMap::new(),
            generation: 0,
        }
    }

    /// Ids held, for tests and telemetry.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Drops the rows of `batches` already seen within the window; returns
    /// how many. `lake` is the snapshot the dates are loaded from.
    pub async fn drop_seen(&mut self, batches: &mut Vec<(PartitionKey, RecordBatch)>, lake: &Lake, state: &LakeState) -> Result<u64, LakeError> {
        let mut dropped = 0;
        for (key, batch) in batches.iter_mut() {
            self.load_around(key.event_day, lake, state).await?;
            if let Some(keep) = self.keep(batch) {
                let kept = arrow::compute::filter_record_batch(batch, &keep).expect("a mask of the batch's length");
                dropped += (batch.num_rows() - kept.num_rows()) as u64;
                *batch = kept;
            }
        }
        batches.retain(|(_, b)| b.num_rows() > 0);
        Ok(dropped)
    }

    /// Marks the rows of `batch` seen; the mask of those to keep (`None`:
    /// all of them).
    fn keep(&mut self, batch: &RecordBatch) -> Option<arrow::array::BooleanArray> {
        let (ids, times) = id_columns(batch)?;
        let mut any = false;
        let mask = (0..batch.num_rows())
            .map(|i| {
                let dup = ids.is_valid(i) && times.is_valid(i) && self.see(ids.value(i), times.value(i));
                any |= dup;
                Some(!dup)
            })
            .collect();
        any.then_some(mask)
    }

    /// Records `id` at `time`; true when it was already seen within the
    /// window of `time`.
    fn see(&mut self, id: &str, time: i64) -> bool {
        let hash = IdHash(self.keys[0].hash_one(id), self.keys[1].hash_one(id));
        match self.seen.entry(hash) {
            Entry::Occupied(mut seen) => {
                let t = seen.get_mut();
                if (*t - time).abs() <= self.window_us {
                    return true;
                }
                *t = (*t).max(time);
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(time);
                false
            }
        }
    }

    /// Loads every date a row of `day` may match.
    async fn load_around(&mut self, day: i32, lake: &Lake, state: &LakeState) -> Result<(), LakeError> {
        for d in day - self.window_days..=day + self.window_days {
            self.used.insert(d, self.generation);
        }
        let wanted: Vec<i32> = (day - self.window_days..=day + self.window_days).filter(|d| !self.loaded.contains(d)).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let files: Vec<_> = state
            .live
            .values()
            .filter(|f| f.table == TableKind::Events && !self.indexed.contains(&f.path))
            .filter(|f| PartitionKey::parse(&f.path).is_some_and(|k| wanted.contains(&k.event_day)))
            .map(|f| (f.path.clone(), f.bytes))
            .collect();
        self.loaded.extend(wanted);
        self.read_files(lake, files).await
    }

    /// After a commit: files other writers added to loaded dates are read,
    /// this writer's own are marked, and dates behind the window evicted.
    pub async fn committed(&mut self, own: &[String], lake: &Lake, state: &LakeState) -> Result<(), LakeError> {
        self.indexed.extend(own.iter().cloned());
        let others: Vec<_> = state
            .live
            .values()
            .filter(|f| f.table == TableKind::Events && !self.indexed.contains(&f.path))
            .filter(|f| PartitionKey::parse(&f.path).is_some_and(|k| self.loaded.contains(&k.event_day)))
            .map(|f| (f.path.clone(), f.bytes))
            .collect();
        self.read_files(lake, others).await?;
        self.generation += 1;
        self.evict();
        Ok(())
    }

    /// Forgets the dates no row needed in the last two commit intervals.
    fn evict(&mut self) {
        let stale: HashSet<i32> = self.loaded.iter().copied().filter(|d| self.used.get(d).is_none_or(|g| g + 2 <= self.generation)).collect();
        if stale.is_empty() {
            return;
        }
        self.loaded.retain(|d| !stale.contains(d));
        self.used.retain(|d, _| !stale.contains(d));
        self.seen.retain(|_, t| !stale.contains(&(t.div_euclid(DAY_US) as i32)));
        // Files of evicted dates are read again when a later row needs them.
        self.indexed.retain(|p| PartitionKey::parse(p).is_none_or(|k| !stale.contains(&k.event_day)));
    }

    async fn read_files(&mut self, lake: &Lake, files: Vec<(String, u64)>) -> Result<(), LakeError> {
        for (path, bytes) in files {
            // A file a maintenance commit removed since the snapshot: its
            // rows are in its replacements, read after the next refresh.
            let read = read_columns(lake, &path, bytes, &["event_id", "event_time"], |batch| {
                let Some((ids, times)) = id_columns(batch) else { return };
                for i in 0..batch.num_rows() {
                    if ids.is_valid(i) && times.is_valid(i) {
                        self.see(ids.value(i), times.value(i));
                    }
                }
            })
            .await?;
            if read {
                self.indexed.insert(path);
            }
        }
        Ok(())
    }
}

/// An id's 128-bit hash: already uniform, so the map hashes it no further.
#[derive(Clone, Copy, PartialEq, Eq)]
struct IdHash(u64, u64);

impl Hash for IdHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// The map's hasher for [`IdHash`]: its first word as it is.
#[derive(Default)]
struct FirstWord(u64);

impl Hasher for FirstWord {
    fn write(&mut self, bytes: &[u8]) {
        // Only IdHash is hashed with it, through write_u64.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn id_columns(batch: &RecordBatch) -> Option<(&arrow::array::StringArray, &arrow::array::PrimitiveArray<TimestampMicrosecondType>)> {
    let ids = batch.column_by_name("event_id")?.as_string_opt::<i32>()?;
    let times = batch.column_by_name("event_time")?.as_primitive_opt::<TimestampMicrosecondType>()?;
    Some((ids, times))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = DAY_US;

    #[test]
    fn an_id_is_a_duplicate_only_within_the_window() {
        let mut d = Dedupe::new(std::time::Duration::from_secs(7 * 86_400));
        assert!(!d.see("a", 10 * DAY));
        assert!(d.see("a", 10 * DAY), "the same event again");
        assert!(d.see("a", 17 * DAY), "seven days later: within");
        assert!(!d.see("a", 17 * DAY + 1), "past the window: another event");
        assert!(d.see("a", 20 * DAY), "within the window of the newest");
        assert!(!d.see("b", 10 * DAY));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn dates_no_row_needed_for_two_commits_are_evicted() {
        let mut d = Dedupe::new(std::time::Duration::from_secs(86_400));
        d.loaded.extend([1, 2, 3, 10]);
        d.used.extend([(1, 0), (2, 0), (3, 0), (10, 0)]);
        d.see("old", 2 * DAY);
        d.see("new", 10 * DAY);
        d.indexed.insert("category=auth/event_date=1970-01-03/a.parquet".into());
        d.generation = 1;
        d.evict();
        assert_eq!(d.loaded.len(), 4, "needed in the previous interval: kept");
        // Rows of day 10 keep coming; days 1 to 3 are no longer needed.
        d.used.insert(10, 1);
        d.generation = 2;
        d.evict();
        assert_eq!(d.loaded.iter().copied().collect::<Vec<_>>(), [10]);
        assert_eq!(d.len(), 1);
        assert!(d.indexed.is_empty(), "the evicted date's files are read again when needed");
    }
}
