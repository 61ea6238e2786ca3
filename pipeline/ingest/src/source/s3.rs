//! S3 as a source: the objects under `s3://bucket/prefix` (CloudTrail's
//! `AWSLogs/...` tree, Firehose deliveries, Cognito's log export), read as
//! files are (gzip or not; NDJSON, JSON, arrays, documents back to back),
//! oldest first by S3's `LastModified`.
//!
//! **Position: one watermark per source**, not one per object, so the
//! position set does not grow with the bucket: every object last modified
//! before the watermark is in the lake. It is the source key's `txn`
//! version (milliseconds since the epoch). After an object is read the
//! watermark moves to the older of the next unread object's time and the
//! listing's time less the lateness (`--lateness`, 15 minutes: S3 dates a
//! multipart upload by its start, so an object can appear in a listing
//! after newer ones; it also covers the clock difference between this
//! machine and S3) and a second (`LastModified` is listed to the second). Objects at or past the watermark that this run read
//! are remembered in memory. A restart reads them again, and the dedupe
//! stage drops their rows ([`crate::dedupe`]): exactly once per event,
//! which is why this source needs the dedupe window on. An object killed
//! in its middle is read again whole, the same way.
//!
//! Objects are copied to a local temporary file first (the file reader
//! seeks and cuts its buffers from disk), one at a time. An object deleted
//! between the listing and its read is passed over with a warning; any
//! other failure the object store did not overcome with its retries stops
//! the ingest (what was committed stays).

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use super::{file, is_not_a_log, Chunk, ChunkSink, SourceError};
use crate::decode::Defaults;
use authlake_lake::Checkpoint;

/// How long an object may show up in a listing after objects S3 dates
/// later (a multipart upload is dated by its start).
pub const DEFAULT_LATENESS: Duration = Duration::from_secs(15 * 60);

/// How often a follower lists the prefix.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// S3 lists `LastModified` to the second: an object written in the second
/// of a listing may carry a time before it.
const LAST_MODIFIED_PRECISION_MS: i64 = 1000;

/// `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Spec {
    pub bucket: String,
    /// Without leading or trailing `/` ("" for the whole bucket).
    pub prefix: String,
}

impl S3Spec {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let rest = spec.strip_prefix("s3://").ok_or_else(|| format!("{spec:?} is not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{spec:?}: missing bucket (s3://BUCKET/PREFIX)"));
        }
        Ok(Self { bucket: bucket.to_string(), prefix: prefix.trim_matches('/').to_string() })
    }

    /// The URL, as given to the lake opener.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The source's position key: `s3:<bucket>/<prefix>`.
    pub fn position_key(&self) -> String {
        format!("s3:{}/{}", self.bucket, self.prefix)
    }

    /// The `s3://` URL of an object listed under the prefix.
    fn object_url(&self, location: &object_store::path::Path) -> String {
        match self.prefix.is_empty() {
            true => format!("s3://{}/{location}", self.bucket),
            false => format!("s3://{}/{}/{location}", self.bucket, self.prefix),
        }
    }
}

/// How the prefix is read.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// List again every `poll_interval` until shut down.
    pub follow: bool,
    pub poll_interval: Duration,
    pub lateness: Duration,
}

impl Default for S3Options {
    fn default() -> Self {
        Self { follow: false, poll_interval: DEFAULT_POLL_INTERVAL, lateness: DEFAULT_LATENESS }
    }
}


/// Reads the objects under `spec` from the watermark in `start`, on the
/// reader thread (`handle` runs the S3 calls).
#[allow(clippy::too_many_arguments)]
pub fn read_objects(
    store: Arc<dyn ObjectStore>,
    spec: &S3Spec,
    opts: &S3Options,
    start: &BTreeMap<String, Checkpoint>,
    defaults: &Defaults,
    clock: &(dyn Fn() -> i64 + Sync),
    sink: &mut dyn ChunkSink,
    handle: &tokio::runtime::Handle,
) -> Result<(), SourceError> {
    let key = spec.position_key();
    let mut watermark = start.get(&key).and_then(|c| c.offset).unwrap_or(0) as i64;
    // Objects at or past the watermark read by this run, by key and date
    // (an object written again under its key is another object).
    let mut read: HashSet<(String, i64)> = HashSet::new();
    let spool = Spool::new()?;
    loop {
        let listed_at = chrono::Utc::now().timestamp_millis();
        let mut objects: Vec<ObjectMeta> = handle.block_on(store.list(None).try_collect()).map_err(|e| stream_err(spec, e))?;
        objects.retain(|o| millis(o) >= watermark && !read.contains(&(o.location.to_string(), millis(o))) && !is_not_a_log(o.location.as_ref()));
        objects.sort_by(|a, b| (millis(a), &a.location).cmp(&(millis(b), &b.location)));
        let settled = listed_at - LAST_MODIFIED_PRECISION_MS - i64::try_from(opts.lateness.as_millis()).unwrap_or(i64::MAX / 2);
        tracing::debug!(objects = objects.len(), watermark, "listed {}", spec.url());
        for (i, o) in objects.iter().enumerate() {
            let url = spec.object_url(&o.location);
            // Deleted since the listing (a lifecycle rule): nothing to read.
            if let Some(local) = spool.fetch(&*store, o, &url, handle)? {
                let more = file::read_object(&local, &url, defaults, clock, sink);
                let _ = std::fs::remove_file(&local);
                if !more? {
                    return Ok(());
                }
            }
            read.insert((o.location.to_string(), millis(o)));
            let next = objects.get(i + 1).map_or(settled, |n| millis(n).min(settled));
            if next > watermark {
                watermark = next;
                read.retain(|(_, t)| *t >= watermark);
                let chunk = Chunk { positions: vec![(key.clone(), Checkpoint::offset(watermark as u64))], ..Chunk::default() };
                if !sink.send(chunk) {
                    return Ok(());
                }
            }
        }
        if !opts.follow || !wait(sink, opts.poll_interval) {
            return Ok(());
        }
    }
}

/// Sleeps `interval` unless the run loop hangs up first; false if it did.
fn wait(sink: &dyn ChunkSink, interval: Duration) -> bool {
    let until = std::time::Instant::now() + interval;
    while std::time::Instant::now() < until {
        if sink.is_closed() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100).min(interval));
    }
    !sink.is_closed()
}

fn millis(o: &ObjectMeta) -> i64 {
    o.last_modified.timestamp_millis()
}

fn stream_err(spec: &S3Spec, e: object_store::Error) -> SourceError {
    SourceError::Stream(format!("{}: {e}", spec.url()).into())
}

/// Where objects are copied before they are read: a directory per reader,
/// `authlake-s3-<pid>-<n>` in the temporary directory.
struct Spool {
    dir: PathBuf,
    n: AtomicU64,
}

static SPOOLS: AtomicU64 = AtomicU64::new(0);

impl Spool {
    fn new() -> Result<Self, SourceError> {
        let tmp = std::env::temp_dir();
        remove_stale_spools(&tmp);
        let dir = tmp.join(format!("authlake-s3-{}-{}", std::process::id(), SPOOLS.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).map_err(|e| SourceError::Io(dir.clone(), e))?;
        Ok(Self { dir, n: AtomicU64::new(0) })
    }

    /// Copies `o` to a local file; `None` when it was deleted since it was
    /// listed. The object store has retried transient failures already.
    fn fetch(&self, store: &dyn ObjectStore, o: &ObjectMeta, url: &str, handle: &tokio::runtime::Handle) -> Result<Option<PathBuf>, SourceError> {
        let path = self.dir.join(self.n.fetch_add(1, Ordering::Relaxed).to_string());
        let io = |e| SourceError::Io(path.clone(), e);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
        let copied = handle.block_on(async {
            let mut body = store.get(&o.location).await?.into_stream();
            while let Some(bytes) = body.try_next().await? {
                out.write_all(&bytes).map_err(|e| object_store::Error::Generic { store: "spool", source: Box::new(e) })?;
            }
            Ok::<_, object_store::Error>(())
        });
        match copied {
            Ok(()) => {}
            Err(object_store::Error::NotFound { .. }) => {
                tracing::warn!("{url} was deleted after it was listed; passed over");
                let _ = std::fs::remove_file(&path);
                return Ok(None);
            }
            Err(e) => return Err(SourceError::Stream(format!("{url}: {e}").into())),
        }
        out.flush().map_err(io)?;
        Ok(Some(path))
    }
}

/// Spool directories of processes that are gone (killed while reading an
/// object), on systems that show processes in /proc.
fn remove_stale_spools(tmp: &std::path::Path) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("authlake-s3-").and_then(|r| r.split('-').next()) else { continue };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_keys() {
        let s = S3Spec::parse("s3://logs/AWSLogs/123/").unwrap();
        assert_eq!((s.bucket.as_str(), s.prefix.as_str()), ("logs", "AWSLogs/123"));
        assert_eq!(s.position_key(), "s3:logs/AWSLogs/123");
        assert_eq!(s.object_url(&"CloudTrail/a.json.gz".into()), "s3://logs/AWSLogs/123/CloudTrail/a.json.gz");
        assert_eq!(S3Spec::parse("s3://logs").unwrap().object_url(&"a".into()), "s3://logs/a");
        assert!(S3Spec::parse("s3:///x").is_err());
    }
}
