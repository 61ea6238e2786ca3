//! Shard leases: several `authlake ingest --follow` processes share the
//! shards of one stream through a DynamoDB table, in the manner of the
//! Kinesis Client Library.
//!
//! - [`store`]: the table (one item per shard: owner, lease counter,
//!   parents, `checkpoint = SHARD_END` once read to its end) behind a trait;
//!   [`dynamo`] is DynamoDB's.
//! - [`plan`]: which leases a worker takes in a round (expired or unowned
//!   ones, or one stolen from the busiest worker), as a pure function of
//!   what the table says and when each counter last moved.
//! - [`worker`]: the loop that renews, scans, takes and releases, and tells
//!   the reader which shards it owns.
//!
//! Every change to a lease is a conditional write on its counter, so two
//! workers never both think they took the same lease. The lease decides who
//! *reads* a shard; what decides what is *in the lake* is the lake's commit
//! log: a commit carries the position each shard started from, and is
//! refused when another worker committed that shard in between
//! (`PositionConflict`), so a worker that lost a lease without noticing
//! (paused, partitioned) can never double a record. The loser drops what it
//! buffered and restarts from the lake.

pub mod dynamo;
pub mod plan;
pub mod store;
pub mod worker;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use store::{Change, Lease, LeaseError, LeaseStore};
pub use worker::{LeaseHandle, LeaseWorker};

/// How a lease table is used.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// The DynamoDB table (created on first use).
    pub table: String,
    /// This worker's name in the table (`leaseOwner`).
    pub owner: String,
    /// A lease whose counter has not moved for this long is taken over.
    pub timeout: Duration,
}

impl LeaseOptions {
    /// Leases are renewed (and the table scanned) this often: three tries
    /// before a lease can expire.
    pub fn renew_every(&self) -> Duration {
        self.timeout / 3
    }
}

/// The default lease timeout: a dead worker's shards move on after this.
pub const DEFAULT_LEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// This process's default owner name: host and process id.
pub fn default_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')).collect::<String>())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}-{}", std::process::id())
}
