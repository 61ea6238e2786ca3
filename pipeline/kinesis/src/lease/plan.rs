//! Which leases a worker takes in a round, from a scan of the table.
//!
//! As in the Kinesis Client Library: a lease has expired when its counter
//! has not moved for the lease timeout *as this worker observed it* (no
//! clocks are compared across machines); each worker aims at its share,
//! `ceil(ready leases / live workers)`; it first takes unowned and expired
//! leases, and when there are none and another worker holds more than its
//! share, steals one lease from the busiest (one per round, so the table
//! settles instead of swinging).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::store::Lease;

/// One take decided by a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    pub key: String,
    /// The counter the lease had when scanned (the condition of the write).
    pub counter: u64,
    /// Taken from a live worker, which may still be reading it for a moment.
    pub stolen: bool,
}

/// What this worker has seen of each lease: its counter and since when.
#[derive(Debug, Default)]
pub struct Planner {
    seen: HashMap<String, (u64, Option<String>, Instant)>,
}

impl Planner {
    /// Notes a scan: a lease whose counter or owner moved is alive as of `now`.
    pub fn observe(&mut self, leases: &[Lease], now: Instant) {
        let keys: BTreeSet<&str> = leases.iter().map(|l| l.key.as_str()).collect();
        self.seen.retain(|k, _| keys.contains(k.as_str()));
        for l in leases {
            let entry = self.seen.entry(l.key.clone()).or_insert((l.counter, l.owner.clone(), now));
            if entry.0 != l.counter || entry.1 != l.owner {
                *entry = (l.counter, l.owner.clone(), now);
            }
        }
    }

    fn expired(&self, l: &Lease, timeout: Duration, now: Instant) -> bool {
        l.owner.is_none() || self.seen.get(&l.key).is_none_or(|(_, _, since)| now.duration_since(*since) >= timeout)
    }

    /// The takes of this round for worker `me`, which holds `held`.
    pub fn plan(&self, leases: &[Lease], me: &str, held: &BTreeSet<String>, timeout: Duration, now: Instant) -> Vec<Take> {
        let ready = ready(leases);
        let mine = ready.iter().filter(|l| held.contains(&l.key)).count();
        // Live workers: owners of ready leases that have not expired.
        let mut load: BTreeMap<&str, Vec<&Lease>> = BTreeMap::new();
        for l in &ready {
            if let Some(o) = l.owner.as_deref() {
                if o != me && !self.expired(l, timeout, now) {
                    load.entry(o).or_default().push(l);
                }
            }
        }
        let workers = load.len() + 1;
        let target = ready.len().div_ceil(workers);
        if mine >= target {
            return Vec::new();
        }
        let free: Vec<Take> = ready
            .iter()
            .filter(|l| !held.contains(&l.key) && l.owner.as_deref() != Some(me) && self.expired(l, timeout, now))
            .take(target - mine)
            .map(|l| Take { key: l.key.clone(), counter: l.counter, stolen: false })
            .collect();
        if !free.is_empty() {
            return free;
        }
        // Nothing free: steal one from the busiest worker above its share.
        let busiest = load.values().max_by_key(|v| v.len());
        match busiest {
            Some(v) if v.len() > target => {
                let l = v.last().expect("non-empty");
                vec![Take { key: l.key.clone(), counter: l.counter, stolen: true }]
            }
            _ => Vec::new(),
        }
    }
}

/// Leases that may be read now: not finished, and every parent finished
/// (or gone from the table: aged out of the stream's retention).
pub fn ready(leases: &[Lease]) -> Vec<&Lease> {
    let finished: BTreeSet<&str> = leases.iter().filter(|l| l.finished).map(|l| l.key.as_str()).collect();
    let known: BTreeSet<&str> = leases.iter().map(|l| l.key.as_str()).collect();
    leases
        .iter()
        .filter(|l| !l.finished)
        .filter(|l| l.parents.iter().all(|p| finished.contains(p.as_str()) || !known.contains(p.as_str())))
        .collect()
}
