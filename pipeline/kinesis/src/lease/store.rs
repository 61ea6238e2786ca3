//! The lease table's items and the four operations on them.

use std::future::Future;

/// One shard's lease as the table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The shard id (`leaseKey`).
    pub key: String,
    /// The worker holding it; none when released or never taken.
    pub owner: Option<String>,
    /// Raised by every change (take, renew, release, finish): the fence.
    pub counter: u64,
    /// The shard's parents: it is read only after they are finished.
    pub parents: Vec<String>,
    /// The shard is closed and everything in it is in the lake
    /// (`checkpoint = SHARD_END`).
    pub finished: bool,
}

/// A conditional change of one lease, applied only if its counter is still
/// the one the worker saw; the counter then goes up by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Take, steal or renew: the owner becomes (stays) this worker.
    Own(String),
    /// Give the lease up for anyone to take at once (clean shutdown).
    Release,
    /// The shard is read to its end and committed: nobody reads it again.
    Finish,
}

/// Why a lease table call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LeaseError {
    #[error("lease table {table}: {op}: {message}")]
    Table { table: String, op: &'static str, message: String },
    #[error("lease table {table}: item {key:?} is malformed: {reason}")]
    Malformed { table: String, key: String, reason: String },
}

pub trait LeaseStore: Send + Sync {
    /// Creates the table if it does not exist and waits until it is usable.
    fn ensure_table(&self) -> impl Future<Output = Result<(), LeaseError>> + Send;
    /// Every lease (consistent read, all pages).
    fn scan(&self) -> impl Future<Output = Result<Vec<Lease>, LeaseError>> + Send;
    /// Adds an unowned lease for a shard unless one exists.
    fn create(&self, key: &str, parents: &[String]) -> impl Future<Output = Result<(), LeaseError>> + Send;
    /// Applies `change` if the lease's counter is still `counter`: the new
    /// lease, or None when another worker changed it first.
    fn update(&self, key: &str, counter: u64, change: &Change) -> impl Future<Output = Result<Option<Lease>, LeaseError>> + Send;
}
