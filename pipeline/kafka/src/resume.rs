//! Checking where a partition really resumed.
//!
//! A partition assigned at the lake's offset `L` should first deliver `L`.
//! When the first message is past `L`, either the offsets are gone from the
//! topic (retention: a gap to record loudly) or the broker started at the
//! next record batch instead of the batch holding `L` (tansu 0.6 does this
//! when `L` is inside a compressed batch). The two are told apart by
//! seeking back: stepping back far enough to reach a batch that starts at
//! or before `L` proves the messages are there (they are read, the ones
//! before `L` dropped as already in the lake); reaching the low watermark
//! without that proves a gap. Later jumps inside a partition are normal
//! (transaction markers, compaction) and are not checked.
//!
//! When `L` is inside the partition's *last* batch, such a broker sends
//! nothing at all: there is no next batch. A check waiting for the first
//! message would wait forever (the rest of that batch never reaching the
//! lake), so a partition that stays silent for [`QUIET`] after an
//! assignment or a seek is probed: the same seek back, without a message
//! to prompt it. Once the probe reached the low watermark and still nothing
//! came, the partition holds nothing to read yet and the check ends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The first seek back is this many offsets; each next one four times more.
const FIRST_STEP: i64 = 64;
/// The step recorded once a seek back went to the low watermark.
const SEARCHED_FROM_LOW: i64 = i64::MAX;
/// A partition silent this long after its assignment or last seek is
/// probed. A fetch with data answers at once, one without waits
/// `fetch.wait.max.ms` (500 ms). A probe too early costs little: on a
/// broker that needs none it re-reads up to 64 messages, dropped as
/// already in the lake.
pub const QUIET: Duration = Duration::from_secs(1);

/// What to do with a partition's first message after it was (re)assigned.
#[derive(Debug, PartialEq, Eq)]
pub enum Resume {
    /// It is the expected one (or earlier): read on.
    Ok,
    /// Seek back to this offset and look again; drop the message.
    SeekBack(i64),
    /// Offsets `expected..first` are not in the topic.
    Gap { expected: i64, first: i64 },
}

/// One partition's check in progress.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// The offset that should come first (the lake's position).
    expected: i64,
    /// How far the next seek back goes.
    step: i64,
    /// When it was assigned or last seeked: a probe is due [`QUIET`] later.
    since: Instant,
}

impl Pending {
    /// Nothing left to search before `expected`: it is at or below the
    /// low watermark, or a seek already went there.
    fn searched(&self, low: i64) -> bool {
        self.expected <= low || self.step == SEARCHED_FROM_LOW
    }
}

/// Partitions whose first message after an assignment is still awaited.
#[derive(Debug, Default)]
pub struct ResumeChecks {
    /// (topic, partition) → its check.
    pending: HashMap<(String, i32), Pending>,
}

impl ResumeChecks {
    /// `partition` was (re)assigned to start at `expected`.
    pub fn expect(&mut self, topic: &str, partition: i32, expected: i64) {
        self.pending.insert((topic.to_string(), partition), Pending { expected, step: FIRST_STEP, since: Instant::now() });
    }

    /// Every check is done: a backfill may end only then (a partition
    /// still being probed may hold messages the broker has not sent).
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// `partition` is no longer ours.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.pending.remove(&(topic.to_string(), partition));
    }

    /// A message at `offset` arrived; `low` is the partition's low
    /// watermark when the broker could say.
    pub fn check(&mut self, topic: &str, partition: i32, offset: i64, low: impl FnOnce() -> Option<i64>) -> Resume {
        // Every message passes here: once all partitions are checked, nothing
        // is allocated or looked up.
        if self.pending.is_empty() {
            return Resume::Ok;
        }
        let key = (topic.to_string(), partition);
        let Some(&p) = self.pending.get(&key) else { return Resume::Ok };
        if offset <= p.expected {
            self.pending.remove(&key);
            return Resume::Ok;
        }
        // Already looked from the low watermark: the offsets really are gone.
        let low = low().unwrap_or(0).max(0);
        if p.searched(low) {
            self.pending.remove(&key);
            return Resume::Gap { expected: p.expected, first: offset };
        }
        Resume::SeekBack(self.target(key, low, Instant::now()))
    }

    /// Seeks back for the partitions silent for [`QUIET`] as of `now`:
    /// (topic, partition, offset to seek to). `low` gives a partition's low
    /// watermark, `None` when the broker does not answer: then the silence
    /// may be an outage, and the partition only waits (stepping back through
    /// an outage would end up re-reading the whole retention). A partition
    /// with nothing left to search (searched from the low watermark, or
    /// starting at it) has nothing before its position: its check ends.
    pub fn probes(&mut self, now: Instant, low: impl Fn(&str, i32) -> Option<i64>) -> Vec<(String, i32, i64)> {
        let due: Vec<(String, i32)> =
            self.pending.iter().filter(|(_, p)| now.duration_since(p.since) >= QUIET).map(|(k, _)| k.clone()).collect();
        let mut seeks = Vec::new();
        for key in due {
            let Some(low) = low(&key.0, key.1).map(|l| l.max(0)) else {
                self.pending.get_mut(&key).expect("a pending check").since = now;
                continue;
            };
            if self.pending[&key].searched(low) {
                self.pending.remove(&key);
                continue;
            }
            let target = self.target(key.clone(), low, now);
            seeks.push((key.0, key.1, target));
        }
        seeks
    }

    /// A seek back to `to` went through: the next one, if still needed,
    /// goes further. Until then a failed seek is tried again at the same
    /// offset (a step counted for a seek that never happened could end the
    /// search before it reached the batch).
    pub fn sought(&mut self, topic: &str, partition: i32, to: i64) {
        if let Some(p) = self.pending.get_mut(&(topic.to_string(), partition)) {
            // Clamped to the low watermark: nothing further back to search.
            p.step = if to > p.expected - p.step { SEARCHED_FROM_LOW } else { p.step.saturating_mul(4) };
        }
    }

    /// The offset to seek back to now; a probe is due [`QUIET`] after `now`.
    fn target(&mut self, key: (String, i32), low: i64, now: Instant) -> i64 {
        let p = self.pending.get_mut(&key).expect("a pending check");
        p.since = now;
        (p.expected - p.step).max(low)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_first_message_needs_nothing() {
        let mut c = ResumeChecks::default();
        c.expect("t", 0, 100);
        assert_eq!(c.check("t", 0, 100, || Some(0)), Resume::Ok);
        // Checked once: later jumps are normal (transaction markers).
        assert_eq!(c.check("t", 0, 500, || Some(0)), Resume::Ok);
    }

    #[test]
    fn broker_starting_at_the_next_batch_is_walked_back() {
        let mut c = ResumeChecks::default();
        c.expect("t", 1, 3912);
        assert_eq!(c.check("t", 1, 3957, || Some(0)), Resume::SeekBack(3912 - 64));
        // The seek failed: the same offset again.
        assert_eq!(c.check("t", 1, 3957, || Some(0)), Resume::SeekBack(3912 - 64));
        c.sought("t", 1, 3912 - 64);
        // A batch larger than the step: the broker started past 3912 again.
        assert_eq!(c.check("t", 1, 3957, || Some(0)), Resume::SeekBack(3912 - 256));
        c.sought("t", 1, 3912 - 256);
        assert_eq!(c.check("t", 1, 3700, || Some(0)), Resume::Ok);
    }

    #[test]
    fn offsets_below_the_low_watermark_are_a_gap() {
        let mut c = ResumeChecks::default();
        c.expect("t", 2, 10);
        assert_eq!(c.check("t", 2, 5000, || Some(5000)), Resume::Gap { expected: 10, first: 5000 });
    }

    #[test]
    fn a_silent_partition_is_probed_back_to_the_low_watermark() {
        let mut c = ResumeChecks::default();
        c.expect("t", 3, 1000);
        c.expect("t", 4, 0);
        let start = Instant::now();
        // Not yet quiet long enough.
        assert!(c.probes(start, |_, _| Some(0)).is_empty());
        // The broker sent nothing: step back as a message past 1000 would.
        let later = start + QUIET;
        assert_eq!(c.probes(later, |_, _| Some(0)), vec![("t".to_string(), 3, 1000 - 64)]);
        c.sought("t", 3, 1000 - 64);
        // Partition 4 starts at its low watermark: nothing before it to find.
        assert!(!c.pending.contains_key(&("t".to_string(), 4)));
        // Each probe waits QUIET again, then goes four times further back.
        assert!(c.probes(later, |_, _| Some(0)).is_empty());
        let again = later + QUIET;
        assert_eq!(c.probes(again, |_, _| Some(900)), vec![("t".to_string(), 3, 900)]);
        c.sought("t", 3, 900);
        // Searched from the low watermark and still silent: nothing to read.
        assert!(c.probes(again + QUIET, |_, _| Some(900)).is_empty());
        assert!(c.is_empty());
    }

    #[test]
    fn a_silent_partition_of_a_silent_broker_only_waits() {
        let mut c = ResumeChecks::default();
        c.expect("t", 0, 1000);
        let mut now = Instant::now();
        // An outage: no watermark, no seek, however long it lasts.
        for _ in 0..10 {
            now += QUIET;
            assert!(c.probes(now, |_, _| None).is_empty());
        }
        // The broker is back: the search starts at the first step.
        now += QUIET;
        assert_eq!(c.probes(now, |_, _| Some(0)), vec![("t".to_string(), 0, 1000 - 64)]);
        // That seek failed: the next probe tries the same offset.
        now += QUIET;
        assert_eq!(c.probes(now, |_, _| Some(0)), vec![("t".to_string(), 0, 1000 - 64)]);
    }

    #[test]
    fn a_message_after_a_probe_ends_the_check() {
        let mut c = ResumeChecks::default();
        c.expect("t", 0, 500);
        let probes = c.probes(Instant::now() + QUIET, |_, _| Some(0));
        assert_eq!(probes, vec![("t".to_string(), 0, 436)]);
        c.sought("t", 0, 436);
        // The batch holding 500 starts at 450: read from there, drop what is before 500.
        assert_eq!(c.check("t", 0, 450, || Some(0)), Resume::Ok);
        assert!(c.is_empty());
    }

    #[test]
    fn a_gap_is_confirmed_once_the_low_watermark_was_searched() {
        let mut c = ResumeChecks::default();
        c.expect("t", 0, 100);
        assert_eq!(c.check("t", 0, 300, || Some(20)), Resume::SeekBack(36));
        c.sought("t", 0, 36);
        assert_eq!(c.check("t", 0, 300, || Some(20)), Resume::SeekBack(20));
        c.sought("t", 0, 20);
        assert_eq!(c.check("t", 0, 300, || Some(20)), Resume::Gap { expected: 100, first: 300 });
    }
}
