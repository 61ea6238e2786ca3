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

use std::collections::HashMap;

/// The first seek back is this many offsets; each next one four times more.
const FIRST_STEP: i64 = 64;
/// The step recorded once a seek back went to the low watermark.
const SEARCHED_FROM_LOW: i64 = i64::MAX;

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

/// Partitions whose first message after an assignment is still awaited.
#[derive(Debug, Default)]
pub struct ResumeChecks {
    /// (topic, partition) → (offset expected first, next step back).
    pending: HashMap<(String, i32), (i64, i64)>,
}

impl ResumeChecks {
    /// `partition` was (re)assigned to start at `expected`.
    pub fn expect(&mut self, topic: &str, partition: i32, expected: i64) {
        self.pending.insert((topic.to_string(), partition), (expected, FIRST_STEP));
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
        let Some(&(expected, step)) = self.pending.get(&key) else { return Resume::Ok };
        if offset <= expected {
            self.pending.remove(&key);
            return Resume::Ok;
        }
        // Already looked from the low watermark: the offsets really are gone.
        let low = low().unwrap_or(0).max(0);
        if expected <= low || step == SEARCHED_FROM_LOW {
            self.pending.remove(&key);
            return Resume::Gap { expected, first: offset };
        }
        let target = (expected - step).max(low);
        let next_step = if target == low { SEARCHED_FROM_LOW } else { step.saturating_mul(4) };
        self.pending.insert(key, (expected, next_step));
        Resume::SeekBack(target)
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
        // A batch larger than the step: the broker started past 3912 again.
        assert_eq!(c.check("t", 1, 3957, || Some(0)), Resume::SeekBack(3912 - 256));
        assert_eq!(c.check("t", 1, 3700, || Some(0)), Resume::Ok);
    }

    #[test]
    fn offsets_below_the_low_watermark_are_a_gap() {
        let mut c = ResumeChecks::default();
        c.expect("t", 2, 10);
        assert_eq!(c.check("t", 2, 5000, || Some(5000)), Resume::Gap { expected: 10, first: 5000 });
    }

    #[test]
    fn a_gap_is_confirmed_once_the_low_watermark_was_searched() {
        let mut c = ResumeChecks::default();
        c.expect("t", 0, 100);
        assert_eq!(c.check("t", 0, 300, || Some(20)), Resume::SeekBack(36));
        assert_eq!(c.check("t", 0, 300, || Some(20)), Resume::SeekBack(20));
        assert_eq!(c.check("t", 0, 300, || Some(20)), Resume::Gap { expected: 100, first: 300 });
    }
}
