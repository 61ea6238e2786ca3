//! `kinesis://STREAM[?start=trim_horizon|latest|at_timestamp:T]` and the
//! ingest entry point.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeMap;

use authlake_ingest::SourceEvent;
use authlake_lake::positions::Shape;
use authlake_lake::CommitLog;
use authlake_lake::LakeError;
use authlake_ingest::source::ordered::{decode_depth, OrderedSender};
use authlake_ingest::source::SourceError;
use authlake_ingest::{run_source, IngestError, IngestOptions, IngestSummary, Progress};
use authlake_lake::Lake;
use tokio::sync::watch;

use crate::api::{KinesisApi, StartFrom};
use crate::error::KinesisError;
use crate::client::SdkKinesis;
use crate::lease::dynamo::DynamoLeases;
use crate::lease::{LeaseOptions, LeaseWorker};
use crate::reader::{position_key, read, Ownership, ReadOptions};

/// A parsed `--from kinesis://...`.
#[derive(Debug, Clone, PartialEq)]
pub struct KinesisSpec {
    pub stream: String,
    /// Where shards without a lake position start (default TRIM_HORIZON).
    pub start: StartFrom,
}

impl KinesisSpec {
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("kinesis://").ok_or_else(|| format!("{url}: expected kinesis://STREAM"))?;
        let (stream, query) = rest.split_once('?').unwrap_or((rest, ""));
        if stream.is_empty() || stream.contains('/') {
            return Err(format!("{url}: expected kinesis://STREAM[?start=trim_horizon|latest|at_timestamp:T]"));
        }
        let mut start = StartFrom::TrimHorizon;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            start = match pair.split_once('=') {
                Some(("start", "trim_horizon")) => StartFrom::TrimHorizon,
                Some(("start", "latest")) => StartFrom::Latest,
                Some(("start", v)) if v.starts_with("at_timestamp:") => {
                    let t = &v["at_timestamp:".len()..];
                    let secs = t.parse::<f64>().ok().or_else(|| chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.timestamp_millis() as f64 / 1000.0));
                    StartFrom::AtTimestamp(secs.ok_or_else(|| format!("{url}: at_timestamp:{t} is neither RFC 3339 nor epoch seconds"))?)
                }
                _ => return Err(format!("{url}: unknown option {pair:?} (start=trim_horizon|latest|at_timestamp:T)")),
            };
        }
        Ok(KinesisSpec { stream: stream.to_string(), start })
    }
}

/// How a Kinesis ingest runs, besides the stream.
#[derive(Debug, Clone)]
pub struct KinesisOptions {
    /// Keep polling the tips until shutdown instead of ending there.
    pub follow: bool,
    /// Lag and rate are logged (and written to `telemetry_file`) this often.
    pub telemetry_interval: Duration,
    /// Where the telemetry is written as Prometheus text, if anywhere.
    pub telemetry_file: Option<PathBuf>,
    /// Share the shards with other workers through this lease table.
    pub leases: Option<LeaseOptions>,
}

/// Ingests the stream into the lake: to the tips captured as it reads
/// (backfill), or (`follow`) until `shutdown`.
pub async fn run_kinesis(
    lake: &Lake,
    spec: &KinesisSpec,
    kopts: &KinesisOptions,
    opts: &IngestOptions,
    progress: Arc<Progress>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<IngestSummary, IngestError> {
    let api = Arc::new(SdkKinesis::from_env().await);
    // An unknown stream or unreachable endpoint is a one-line error up front.
    let listed = api.list_shards(&spec.stream).await;
    listed.map_err(|source| SourceError::from(KinesisError::ListShards { stream: spec.stream.clone(), source }))?;
    // One shutdown for the lease loop and every run below.
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let leases = match &kopts.leases {
        None => None,
        Some(l) => {
            let table = Arc::new(DynamoLeases::from_env(&l.table).await);
            let started = LeaseWorker::start(table, api.clone(), spec.stream.clone(), l.clone(), stop.clone()).await;
            Some(started.map_err(|source| SourceError::from(KinesisError::Leases { table: l.table.clone(), source }))?)
        }
    };
    let result = loop {
        let read_opts = ReadOptions {
            stream: spec.stream.clone(),
            start: spec.start.clone(),
            follow: kopts.follow,
            telemetry_interval: kopts.telemetry_interval,
            telemetry_file: kopts.telemetry_file.clone(),
            progress: progress.clone(),
        };
        let (api, defaults, lake2) = (api.clone(), opts.defaults.clone(), lake.clone());
        let handle = leases.as_ref().map(|(_, h)| h.clone());
        let runtime = tokio::runtime::Handle::current();
        let reader = move |_, tx| {
            // Pages decode on the blocking pool, in order (the one decode stage).
            let sender = OrderedSender::new(runtime.clone(), tx, decode_depth());
            let read = runtime.block_on(async {
                let mut log = CommitLog::load(&lake2).await?;
                let stream = read_opts.stream.clone();
                let fail = |source| KinesisError::Read { stream: stream.clone(), source };
                let (mut owner, start) = match handle {
                    // Every shard there is now starts from the lake's position.
                    None => {
                        let shards = api.list_shards(&stream).await.map_err(fail)?;
                        let keys: Vec<String> = shards.iter().map(|s| position_key(&stream, &s.id)).collect();
                        let start = log.positions(&keys, Shape::Sequence).await?;
                        if !sender.send_async(SourceEvent::Started(start.clone())).await {
                            return Ok(());
                        }
                        (Ownership::Every, start)
                    }
                    Some(handle) => (Ownership::Leased { handle, log: Box::new(log) }, BTreeMap::new()),
                };
                read(&*api, &read_opts, &start, &defaults, &sender, &mut owner).await.map_err(fail)
            });
            let finished = sender.finish();
            read?;
            Ok(finished.map_err(KinesisError::from)?)
        };
        let mut stopped = stop.clone();
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        match run_source(lake, opts, &[], progress.clone(), shutdown, reader, |_| {}).await {
            // Another worker committed a shard this one read: what this one
            // buffered is dropped (uncommitted, so nothing is lost) and every
            // shard restarts from the lake.
            Err(IngestError::Lake(LakeError::PositionConflict { key, .. })) if leases.is_some() && !*stop.borrow() => {
                tracing::warn!("kinesis: another worker committed {key}; restarting from the lake's positions");
            }
            Ok(s) => break Ok(s),
            Err(e) => break Err(e),
        }
    };
    // Leases go back only now, after the last commit.
    if let Some((worker, _)) = leases {
        worker.stop().await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(KinesisSpec::parse("kinesis://auth").unwrap(), KinesisSpec { stream: "auth".into(), start: StartFrom::TrimHorizon });
        assert_eq!(KinesisSpec::parse("kinesis://auth?start=latest").unwrap().start, StartFrom::Latest);
        assert_eq!(KinesisSpec::parse("kinesis://a?start=at_timestamp:2026-11-20T00:00:00Z").unwrap().start, StartFrom::AtTimestamp(1_795_132_800.0));
        assert_eq!(KinesisSpec::parse("kinesis://a?start=at_timestamp:12.5").unwrap().start, StartFrom::AtTimestamp(12.5));
        for bad in ["kinesis://", "kinesis://a/b", "kinesis://a?start=never", "kinesis://a?from=x", "kafka://a"] {
            assert!(KinesisSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
