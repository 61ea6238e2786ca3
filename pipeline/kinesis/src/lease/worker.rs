//! The lease loop of one worker: sync leases with the shards → renew →
//! scan → take → tell the reader, every third of the lease timeout; mark
//! shards finished as the reader reports them; release everything at the
//! end, once the last commit is in.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::plan::Planner;
use super::store::{Change, LeaseError, LeaseStore};
use super::LeaseOptions;
use crate::api::KinesisApi;

/// New shards (splits, merges) get leases this often.
const SYNC_SHARDS_EVERY: Duration = Duration::from_secs(30);

/// The reader's side: which shards this worker owns now, and where to
/// report a shard read to its end.
#[derive(Clone)]
pub struct LeaseHandle {
    owned: watch::Receiver<BTreeSet<String>>,
    finished: mpsc::UnboundedSender<String>,
}

impl LeaseHandle {
    /// The shards to read now.
    pub fn owned(&mut self) -> BTreeSet<String> {
        self.owned.borrow_and_update().clone()
    }

    /// Whether the owned set changed since [`owned`](Self::owned) was read.
    pub fn changed(&self) -> bool {
        self.owned.has_changed().unwrap_or(false)
    }

    /// `shard` is closed, read to its end, and that is committed.
    pub fn finished(&self, shard: &str) {
        let _ = self.finished.send(shard.to_string());
    }
}

/// A held lease: its counter after our last write, and when that was.
struct Held {
    counter: u64,
    renewed: Instant,
    /// Stolen leases are handed to the reader only from then on (one lease
    /// timeout later), giving the previous owner time to notice at its next
    /// renewal and commit what it read, so this worker starts from there.
    readable_from: Instant,
}

/// The running lease loop.
pub struct LeaseWorker {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl LeaseWorker {
    /// Creates the table if needed, then runs the loop on the runtime. Once
    /// `draining` turns true (shutdown) no more leases are taken; those held
    /// are renewed until [`stop`](Self::stop).
    pub async fn start<S, A>(
        store: Arc<S>,
        api: Arc<A>,
        stream: String,
        opts: LeaseOptions,
        draining: watch::Receiver<bool>,
    ) -> Result<(Self, LeaseHandle), LeaseError>
    where
        S: LeaseStore + 'static,
        A: KinesisApi + 'static,
    {
        store.ensure_table().await?;
        let (owned_tx, owned) = watch::channel(BTreeSet::new());
        let (finished, finished_rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = oneshot::channel();
        let mut lp = Loop { store, api, stream, opts, held: BTreeMap::new(), planner: Planner::default(), owned: owned_tx, draining };
        lp.sync_shards().await;
        let task = tokio::spawn(async move { lp.run(finished_rx, stop_rx).await });
        Ok((LeaseWorker { stop, task }, LeaseHandle { owned, finished }))
    }

    /// Stops renewing and releases every held lease (call after the last
    /// commit: the next owner starts from the lake's position).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }

    /// Ends the loop without releasing anything, as a crash would.
    #[cfg(test)]
    pub fn abort(self) {
        self.task.abort();
    }
}

struct Loop<S, A> {
    store: Arc<S>,
    api: Arc<A>,
    stream: String,
    opts: LeaseOptions,
    held: BTreeMap<String, Held>,
    planner: Planner,
    owned: watch::Sender<BTreeSet<String>>,
    draining: watch::Receiver<bool>,
}

impl<S: LeaseStore, A: KinesisApi> Loop<S, A> {
    async fn run(&mut self, mut finished: mpsc::UnboundedReceiver<String>, mut stop: oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval(self.opts.renew_every());
        let mut synced = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                Some(shard) = finished.recv() => { self.finish(&shard).await; continue; }
                _ = &mut stop => break,
            }
            // Sync: a lease for every shard ListShards names.
            if synced.elapsed() >= SYNC_SHARDS_EVERY {
                self.sync_shards().await;
                synced = Instant::now();
            }
            // Renew what we hold; a lease we could not renew is lost.
            self.renew().await;
            // Scan and take our share (not while shutting down).
            if *self.draining.borrow() {
                continue;
            }
            if let Err(e) = self.take().await {
                tracing::warn!("kinesis: {e} (retrying)");
            }
            self.publish();
        }
        self.release().await;
    }

    async fn sync_shards(&self) {
        let shards = match self.api.list_shards(&self.stream).await {
            Ok(s) => s,
            Err(e) => return tracing::warn!("kinesis: listing shards of {}: {e} (retrying)", self.stream),
        };
        for s in shards {
            let parents: Vec<String> = s.parent.iter().chain(s.adjacent_parent.iter()).cloned().collect();
            if let Err(e) = self.store.create(&s.id, &parents).await {
                tracing::warn!("kinesis: {e} (retrying)");
            }
        }
    }

    async fn renew(&mut self) {
        let me = Change::Own(self.opts.owner.clone());
        let mut lost = Vec::new();
        for (key, h) in &mut self.held {
            match self.store.update(key, h.counter, &me).await {
                Ok(Some(l)) => {
                    h.counter = l.counter;
                    h.renewed = Instant::now();
                }
                Ok(None) => lost.push(key.clone()),
                // Unreachable table: ours until the timeout, then assume taken.
                Err(e) if h.renewed.elapsed() >= self.opts.timeout => {
                    tracing::warn!("kinesis: {e}; giving up lease {key}");
                    lost.push(key.clone());
                }
                Err(e) => tracing::warn!("kinesis: {e} (retrying)"),
            }
        }
        for key in lost {
            tracing::warn!("kinesis: lease on {key} taken by another worker");
            self.held.remove(&key);
        }
    }

    async fn take(&mut self) -> Result<(), LeaseError> {
        let leases = self.store.scan().await?;
        let now = Instant::now();
        self.planner.observe(&leases, now);
        let held: BTreeSet<String> = self.held.keys().cloned().collect();
        for t in self.planner.plan(&leases, &self.opts.owner, &held, self.opts.timeout, now) {
            if let Some(l) = self.store.update(&t.key, t.counter, &Change::Own(self.opts.owner.clone())).await? {
                let wait = if t.stolen { self.opts.timeout } else { Duration::ZERO };
                tracing::info!("kinesis: {} lease on {}", if t.stolen { "stole" } else { "took" }, t.key);
                self.held.insert(t.key, Held { counter: l.counter, renewed: Instant::now(), readable_from: Instant::now() + wait });
            }
        }
        Ok(())
    }

    fn publish(&self) {
        let now = Instant::now();
        let owned: BTreeSet<String> = self.held.iter().filter(|(_, h)| h.readable_from <= now).map(|(k, _)| k.clone()).collect();
        self.owned.send_if_modified(|cur| {
            let changed = *cur != owned;
            *cur = owned;
            changed
        });
    }

    async fn finish(&mut self, shard: &str) {
        if let Some(h) = self.held.remove(shard) {
            match self.store.update(shard, h.counter, &Change::Finish).await {
                Ok(_) => tracing::info!("kinesis: {shard} read to its end"),
                // The next owner reads nothing more from it and finishes it.
                Err(e) => tracing::warn!("kinesis: {e}"),
            }
        }
        self.publish();
    }

    async fn release(&mut self) {
        for (key, h) in std::mem::take(&mut self.held) {
            if let Err(e) = self.store.update(&key, h.counter, &Change::Release).await {
                tracing::warn!("kinesis: {e} (the lease expires by itself)");
            }
        }
    }
}
