//! `kinesis://STREAM[?start=trim_horizon|latest|at_timestamp:T]` and the
//! ingest entry point.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use authlake_ingest::source::SourceError;
use authlake_ingest::{run_source, IngestError, IngestOptions, IngestSummary, Lake, Progress};

use crate::api::{KinesisApi, StartFrom};
use crate::client::SdkKinesis;
use crate::reader::{read, ReadOptions};

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

/// Ingests the stream into the lake: to the tips captured as it reads
/// (backfill), or (`follow`) until `shutdown`.
pub async fn run_kinesis(
    lake: &Lake,
    spec: &KinesisSpec,
    follow: bool,
    telemetry_interval: Duration,
    opts: &IngestOptions,
    progress: Arc<Progress>,
    shutdown: impl Future<Output = ()>,
) -> Result<IngestSummary, IngestError> {
    let api = Arc::new(SdkKinesis::from_env().await);
    // An unknown stream or unreachable endpoint is a one-line error up front.
    api.list_shards(&spec.stream).await.map_err(|e| SourceError::Stream(format!("kinesis: {e}")))?;
    let read_opts = ReadOptions { stream: spec.stream.clone(), start: spec.start.clone(), follow, telemetry_interval };
    let defaults = opts.defaults.clone();
    let runtime = tokio::runtime::Handle::current();
    let reader = move |start, tx| {
        runtime.block_on(read(&*api, &read_opts, &start, &defaults, &tx)).map_err(|e| SourceError::Stream(format!("kinesis: {e}")))
    };
    run_source(lake, opts, progress, shutdown, reader, |_| {}).await
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
