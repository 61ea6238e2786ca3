//! The decode stage of stream sources: decoding off the reader's thread,
//! delivered in order.
//!
//! A stream reader (Kafka, Kinesis) polls on one thread. Decoding there
//! capped it at one core while the other sat idle: the reader copies
//! payloads into a raw chunk and hands the chunk's decode
//! ([`crate::decode::Decoder`]) to the blocking pool, several at a time. The run loop must still see events in the order
//! the reader sent them (a `CommitNow` after the chunk it covers, a chunk
//! before a later chunk of the same partition), so a forwarder task waits
//! for each decode in turn and passes the events on in sending order.

use std::sync::{Arc, OnceLock};

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::source::{Chunk, SourceEvent};

/// Chunks decoding at once: enough to keep every core busy while the
/// reader polls.
pub fn decode_depth() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) + 1
}

/// A decode task failed (a decoder bug): nothing after its chunk reached
/// the run loop.
#[derive(Debug, Clone, thiserror::Error)]
#[error("a decode task failed: {0}")]
pub struct DecodeFailed(String);

/// What the forwarder passes on, in order.
enum Pending {
    /// Boxed: a decoded chunk is large, and the queue holds many handles.
    Ready(Box<SourceEvent>),
    Decoding(JoinHandle<Chunk>),
}

/// Sends events to the run loop in order while chunks decode in parallel.
/// Dropping it lets the forwarder finish what is in flight, then close.
pub struct OrderedSender {
    fifo: mpsc::Sender<Pending>,
    /// The run loop's channel: an idle forwarder (nothing in flight) does
    /// not notice the run loop is gone, so the reader asks this. Weak, so
    /// that the channel still closes when the forwarder stops.
    run_loop: mpsc::WeakSender<SourceEvent>,
    runtime: Handle,
    failure: Arc<OnceLock<DecodeFailed>>,
    /// Disconnects when the forwarder has stopped.
    stopped: std::sync::mpsc::Receiver<()>,
}

impl OrderedSender {
    /// Forwards to `tx`, with at most `depth` events (decoding or ready)
    /// in flight: the reader blocks beyond that, so memory stays bounded.
    pub fn new(runtime: Handle, tx: mpsc::Sender<SourceEvent>, depth: usize) -> Self {
        let run_loop = tx.downgrade();
        let (fifo, mut rx) = mpsc::channel::<Pending>(depth.max(1));
        let failure: Arc<OnceLock<DecodeFailed>> = Arc::default();
        let failed = failure.clone();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        runtime.spawn(async move {
            let _stop = stop;
            while let Some(pending) = rx.recv().await {
                let event = match pending {
                    Pending::Ready(event) => *event,
                    Pending::Decoding(task) => match task.await {
                        Ok(chunk) => SourceEvent::Chunk(chunk),
                        // Nothing after this chunk may reach the lake
                        // either: stop, and let the reader say why.
                        Err(e) => {
                            let _ = failed.set(DecodeFailed(e.to_string()));
                            return;
                        }
                    },
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        Self { fifo, run_loop, runtime, failure, stopped }
    }

    /// Closes the stream once everything sent is passed on (blocking);
    /// an error if a decode failed, so nothing after it reached the run loop.
    pub fn finish(self) -> Result<(), DecodeFailed> {
        let Self { fifo, run_loop, failure, stopped, .. } = self;
        drop((fifo, run_loop));
        // Only disconnection comes: the forwarder sends nothing.
        let _ = stopped.recv();
        failure.get().cloned().map_or(Ok(()), Err)
    }

    /// Passes `event` on after everything sent before it; false when the
    /// run loop is gone (or a decode failed, see [`OrderedSender::failure`]).
    pub fn send(&self, event: SourceEvent) -> bool {
        self.fifo.blocking_send(Pending::Ready(Box::new(event))).is_ok()
    }

    /// Runs `decode` on the blocking pool; its chunk is passed on in
    /// sending order.
    pub fn decode(&self, decode: impl FnOnce() -> Chunk + Send + 'static) -> bool {
        let task = self.runtime.spawn_blocking(decode);
        self.fifo.blocking_send(Pending::Decoding(task)).is_ok()
    }

    /// [`OrderedSender::send`] from async code.
    pub async fn send_async(&self, event: SourceEvent) -> bool {
        self.fifo.send(Pending::Ready(Box::new(event))).await.is_ok()
    }

    /// [`OrderedSender::decode`] from async code.
    pub async fn decode_async(&self, decode: impl FnOnce() -> Chunk + Send + 'static) -> bool {
        let task = self.runtime.spawn_blocking(decode);
        self.fifo.send(Pending::Decoding(task)).await.is_ok()
    }

    /// True once nothing more can be passed on.
    pub fn is_closed(&self) -> bool {
        self.fifo.is_closed() || self.run_loop.upgrade().is_none_or(|tx| tx.is_closed())
    }

    /// Why the forwarder stopped early, if a decode failed.
    pub fn failure(&self) -> Option<DecodeFailed> {
        self.failure.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authlake_lake::Checkpoint;

    fn chunk(n: u64) -> Chunk {
        Chunk { positions: vec![("p".into(), Checkpoint::offset(n))], payloads: n, ..Default::default() }
    }

    #[test]
    fn events_arrive_in_sending_order_whatever_order_decodes_finish_in() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (tx, mut rx) = mpsc::channel(2);
        let sender = OrderedSender::new(runtime.handle().clone(), tx, 4);
        let reader = std::thread::spawn(move || {
            for n in 1..=6u64 {
                // Earlier chunks take longer: a fifo of finish times would reorder them.
                let delay = std::time::Duration::from_millis(60 - 10 * n);
                assert!(sender.decode(move || {
                    std::thread::sleep(delay);
                    chunk(n)
                }));
                if n == 3 {
                    assert!(sender.send(SourceEvent::Started(Default::default())));
                }
            }
        });
        let got: Vec<String> = runtime.block_on(async {
            let mut got = Vec::new();
            while let Some(e) = rx.recv().await {
                got.push(match e {
                    SourceEvent::Chunk(c) => c.payloads.to_string(),
                    SourceEvent::Started(_) => "started".into(),
                    SourceEvent::CommitNow(_) => "commit".into(),
                });
            }
            got
        });
        reader.join().unwrap();
        assert_eq!(got, ["1", "2", "3", "started", "4", "5", "6"]);
    }

    #[test]
    fn a_failed_decode_stops_the_stream_and_says_why() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let sender = OrderedSender::new(runtime.handle().clone(), tx, 4);
        assert!(sender.decode(|| chunk(1)));
        assert!(sender.decode(|| panic!("decoder bug")));
        let mut got = Vec::new();
        runtime.block_on(async {
            while let Some(e) = rx.recv().await {
                got.push(e);
            }
        });
        assert_eq!(got.len(), 1, "the chunk before the failure is passed on, nothing after it");
        let why = sender.failure().expect("a failure").to_string();
        assert!(why.contains("decode task failed"), "{why}");
        assert!(!sender.send(SourceEvent::Started(Default::default())));
        assert!(sender.finish().unwrap_err().to_string().contains("decode task failed"));
    }

    #[test]
    fn the_reader_sees_the_run_loop_gone_while_nothing_is_in_flight() {
        // A following reader at the tips sends nothing: it must still stop
        // when the run loop ends (SIGTERM), not poll on forever.
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (tx, rx) = mpsc::channel(8);
        let sender = OrderedSender::new(runtime.handle().clone(), tx, 4);
        assert!(!sender.is_closed());
        drop(rx);
        assert!(sender.is_closed());
    }

    #[test]
    fn finish_waits_for_chunks_in_flight() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let sender = OrderedSender::new(runtime.handle().clone(), tx, 4);
        assert!(sender.decode(|| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            chunk(7)
        }));
        sender.finish().unwrap();
        match rx.try_recv() {
            Ok(SourceEvent::Chunk(c)) => assert_eq!(c.payloads, 7),
            _ => panic!("the chunk is passed on before finish returns"),
        }
        assert!(rx.try_recv().is_err());
    }
}
