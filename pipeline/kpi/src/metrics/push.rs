//! Exactly-once delivery of closed windows to CloudWatch (PutMetricData),
//! with the record of what was pushed kept in the lake ([`super::ledger`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use authlake_lake::Lake;
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, Statistic};
use chrono::{DateTime, Duration, Utc};

use super::catalogue::MetricPoint;
use super::ledger::{self, Datum, Entry, Request};
use super::MetricsError;
use crate::cloudwatch::describe;

/// PutMetricData takes at most 1000 data per request.
pub const MAX_DATA_PER_REQUEST: usize = 1000;
/// ... and at most 1 MB; stay well below it.
const MAX_REQUEST_BYTES: usize = 900_000;
/// CloudWatch refuses data older than two weeks (less a margin for the
/// time a push takes) or more than two hours ahead.
const OLDEST_ACCEPTED: Duration = Duration::hours(14 * 24 - 1);
const NEWEST_ACCEPTED: Duration = Duration::hours(2);

/// A failed send.
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    /// The request certainly never reached the service (no connection).
    pub unsent: bool,
}

/// Where metric data goes: CloudWatch, or a stand-in in tests.
#[async_trait]
pub trait MetricSink: Send + Sync {
    /// Sends one PutMetricData request.
    async fn put(&self, namespace: &str, timestamp: DateTime<Utc>, data: &[Datum]) -> Result<(), SendError>;
    /// The sample count CloudWatch holds for `datum` at `timestamp`.
    async fn sample_count(&self, namespace: &str, timestamp: DateTime<Utc>, datum: &Datum) -> Result<f64, String>;
}

/// The CloudWatch [`MetricSink`].
pub struct CloudWatchSink(pub aws_sdk_cloudwatch::Client);

fn dimensions(d: &Datum) -> Vec<Dimension> {
    d.dimensions.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect()
}

#[async_trait]
impl MetricSink for CloudWatchSink {
    async fn put(&self, namespace: &str, timestamp: DateTime<Utc>, data: &[Datum]) -> Result<(), SendError> {
        let ts = aws_sdk_cloudwatch::primitives::DateTime::from_secs(timestamp.timestamp());
        let data: Vec<MetricDatum> = data
            .iter()
            .map(|d| {
                MetricDatum::builder()
                    .metric_name(&d.metric)
                    .set_dimensions(Some(dimensions(d)))
                    .timestamp(ts)
                    .value(d.value)
                    .unit(StandardUnit::from(d.unit.as_str()))
                    .storage_resolution(60)
                    .build()
            })
            .collect();
        self.0.put_metric_data().namespace(namespace).set_metric_data(Some(data)).send().await.map_err(|e| {
            let message = describe(&e);
            // Refused connections and failures to build the request never
            // reached CloudWatch; anything else may have.
            let unsent = matches!(&e, SdkError::ConstructionFailure(_))
                || matches!(&e, SdkError::DispatchFailure(_)) && (message.contains("Connection refused") || message.contains("dns error"));
            SendError { message, unsent }
        })?;
        Ok(())
    }

    async fn sample_count(&self, namespace: &str, timestamp: DateTime<Utc>, datum: &Datum) -> Result<f64, String> {
        let out = self
            .0
            .get_metric_statistics()
            .namespace(namespace)
            .metric_name(&datum.metric)
            .set_dimensions(Some(dimensions(datum)))
            .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(timestamp.timestamp()))
            .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(timestamp.timestamp() + 60))
            .period(60)
            .statistics(Statistic::SampleCount)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(out.datapoints().iter().filter_map(|d| d.sample_count()).sum())
    }
}

/// How to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub namespace: String,
    /// A request whose outcome is unknown (the process died, or the call
    /// failed after it may have reached CloudWatch) is looked up in
    /// CloudWatch only after this long, since new data takes a while to
    /// become visible there.
    pub reconcile_after: Duration,
    pub now: DateTime<Utc>,
}

/// Default wait before a request of unknown outcome is looked up.
pub const DEFAULT_RECONCILE_AFTER_SECS: i64 = 180;

/// What a push did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PushReport {
    /// Windows pushed completely by this run.
    pub windows_pushed: usize,
    /// Windows the ledger shows as already pushed (skipped).
    pub windows_already_pushed: usize,
    pub requests_sent: usize,
    pub data_sent: usize,
    /// Requests found in CloudWatch after a crash, so not sent again.
    pub requests_reconciled: usize,
    /// Windows another pusher is working on, or whose unknown requests
    /// are not yet old enough to look up.
    pub windows_deferred: usize,
    /// Windows CloudWatch would refuse: older than two weeks or more than
    /// two hours ahead. Not pushed, and said so.
    pub windows_out_of_range: Vec<DateTime<Utc>>,
    /// Open windows sent to `<namespace>/Provisional` (never recorded).
    pub provisional_data_sent: usize,
    /// The failure that stopped the push; what was not sent is sent by the
    /// next push.
    pub failed: Option<String>,
}

/// Pushes `points`: closed windows exactly once into `opts.namespace`,
/// open (provisional) ones into `<namespace>/Provisional`.
pub async fn push(lake: &Lake, sink: &dyn MetricSink, points: &[MetricPoint], opts: &PushOptions) -> Result<PushReport, MetricsError> {
    let mut report = PushReport::default();
    let mut windows: BTreeMap<(DateTime<Utc>, String, bool), Vec<Datum>> = BTreeMap::new();
    for p in points {
        let datum = Datum { metric: p.metric.clone(), dimensions: p.dimensions.clone(), unit: format!("{:?}", p.unit), value: p.value };
        windows.entry((p.window_start, p.window.clone(), p.provisional)).or_default().push(datum);
    }
    for ((start, window, provisional), data) in windows {
        if start < opts.now - OLDEST_ACCEPTED || start > opts.now + NEWEST_ACCEPTED {
            report.windows_out_of_range.push(start);
            continue;
        }
        if provisional {
            let ns = format!("{}/Provisional", opts.namespace);
            for chunk in split(data) {
                if let Err(e) = sink.put(&ns, start, &chunk).await {
                    report.failed = Some(format!("provisional window {start}: {}", e.message));
                    return Ok(report);
                }
                report.provisional_data_sent += chunk.len();
            }
            continue;
        }
        if let Err(e) = push_window(lake, sink, &window, start, data, opts, &mut report).await {
            report.failed = Some(format!("window {window} {start}: {e}"));
            break;
        }
    }
    Ok(report)
}

/// Pushes one closed window through its ledger entry.
async fn push_window(
    lake: &Lake,
    sink: &dyn MetricSink,
    window: &str,
    start: DateTime<Utc>,
    data: Vec<Datum>,
    opts: &PushOptions,
    report: &mut PushReport,
) -> Result<(), String> {
    let path = ledger::entry_path(&opts.namespace, window, start);
    let mut entry = match ledger::read(lake, &path).await.map_err(|e| e.to_string())? {
        Some(e) if e.is_done() => {
            report.windows_already_pushed += 1;
            return Ok(());
        }
        // Nothing of it can have reached CloudWatch (every send so far
        // failed to connect): send what the lake holds now, late data too.
        Some(mut e) if e.requests.iter().all(|r| r.unsent) => {
            e.requests = split(data).into_iter().map(|data| Request { data, done: false, unsent: true, last_error: None }).collect();
            e
        }
        Some(e) => e,
        None => {
            // Take the window: record every datum before the first send.
            let requests = split(data).into_iter().map(|data| Request { data, done: false, unsent: true, last_error: None }).collect();
            let entry = Entry {
                namespace: opts.namespace.clone(),
                window: window.into(),
                window_start: start,
                created_at: opts.now,
                updated_at: opts.now,
                requests,
            };
            if !ledger::create(lake, &path, &entry).await.map_err(|e| e.to_string())? {
                report.windows_deferred += 1;
                return Ok(());
            }
            entry
        }
    };
    let save = |entry: &mut Entry| {
        entry.updated_at = opts.now;
        let entry = entry.clone();
        let path = path.clone();
        async move { ledger::update(lake, &path, &entry).await.map_err(|e| e.to_string()) }
    };
    for i in 0..entry.requests.len() {
        if entry.requests[i].done {
            continue;
        }
        if !entry.requests[i].unsent {
            // It may have reached CloudWatch: look it up before resending,
            // once new data has had time to become visible there.
            if opts.now - entry.updated_at < opts.reconcile_after {
                report.windows_deferred += 1;
                return Ok(());
            }
            let first = &entry.requests[i].data[0];
            if sink.sample_count(&opts.namespace, start, first).await? > 0.0 {
                entry.requests[i].done = true;
                entry.requests[i].last_error = None;
                report.requests_reconciled += 1;
                save(&mut entry).await?;
                continue;
            }
        }
        // From here until CloudWatch answers, the request may be sent.
        entry.requests[i].unsent = false;
        save(&mut entry).await?;
        match sink.put(&opts.namespace, start, &entry.requests[i].data).await {
            Ok(()) => {
                entry.requests[i].done = true;
                entry.requests[i].last_error = None;
                report.requests_sent += 1;
                report.data_sent += entry.requests[i].data.len();
                save(&mut entry).await?;
            }
            Err(e) => {
                entry.requests[i].unsent = e.unsent;
                entry.requests[i].last_error = Some(e.message.clone());
                save(&mut entry).await?;
                return Err(e.message);
            }
        }
    }
    report.windows_pushed += 1;
    Ok(())
}

/// Splits data into requests within PutMetricData's limits.
fn split(data: Vec<Datum>) -> Vec<Vec<Datum>> {
    let mut out: Vec<Vec<Datum>> = Vec::new();
    let mut bytes = 0;
    for d in data {
        let size = 64 + d.metric.len() + d.dimensions.iter().map(|(k, v)| k.len() + v.len() + 16).sum::<usize>();
        match out.last_mut() {
            Some(last) if last.len() < MAX_DATA_PER_REQUEST && bytes + size <= MAX_REQUEST_BYTES => {
                bytes += size;
                last.push(d);
            }
            _ => {
                bytes = size;
                out.push(vec![d]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::metrics::catalogue::Unit;

    /// An in-memory CloudWatch that fails chosen calls: `Unsent` before
    /// anything arrives, `Lost` after the data arrived but before the
    /// answer (the case that makes resending dangerous).
    #[derive(Default)]
    struct FakeCloudWatch {
        samples: Mutex<HashMap<(i64, String), u32>>,
        calls: Mutex<u32>,
        faults: Mutex<HashMap<u32, Fault>>,
    }

    #[derive(Clone, Copy)]
    enum Fault {
        Unsent,
        Lost,
    }

    #[async_trait]
    impl MetricSink for FakeCloudWatch {
        async fn put(&self, _ns: &str, t: DateTime<Utc>, data: &[Datum]) -> Result<(), SendError> {
            let call = {
                let mut c = self.calls.lock().unwrap();
                *c += 1;
                *c
            };
            let fault = self.faults.lock().unwrap().get(&call).copied();
            if let Some(Fault::Unsent) = fault {
                return Err(SendError { message: "connection refused".into(), unsent: true });
            }
            for d in data {
                *self.samples.lock().unwrap().entry((t.timestamp(), d.metric.clone())).or_default() += 1;
            }
            match fault {
                Some(Fault::Lost) => Err(SendError { message: "timeout".into(), unsent: false }),
                _ => Ok(()),
            }
        }

        async fn sample_count(&self, _ns: &str, t: DateTime<Utc>, d: &Datum) -> Result<f64, String> {
            Ok(self.samples.lock().unwrap().get(&(t.timestamp(), d.metric.clone())).copied().unwrap_or(0) as f64)
        }
    }

    fn points(now: DateTime<Utc>, windows: i64, per_window: usize) -> Vec<MetricPoint> {
        let mut out = Vec::new();
        for w in 0..windows {
            for m in 0..per_window {
                out.push(MetricPoint {
                    window_start: now - Duration::hours(w + 2),
                    window: "1h".into(),
                    dimensions: vec![("UserPoolId".into(), "p".into())],
                    metric: format!("M{m}"),
                    unit: Unit::Count,
                    value: m as f64,
                    provisional: false,
                });
            }
        }
        out
    }

    #[tokio::test]
    async fn every_datum_lands_once_whatever_fails() {
        let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        // 3 windows of 2,500 data: 3 requests each.
        let pts = points(now, 3, 2_500);
        for faults in [vec![(1, Fault::Unsent)], vec![(2, Fault::Lost)], vec![(1, Fault::Lost), (2, Fault::Unsent), (4, Fault::Lost)]] {
            let dir = tempfile::tempdir().unwrap();
            let lake = Lake::open(&dir.path().display().to_string(), true).unwrap();
            let cw = FakeCloudWatch::default();
            cw.faults.lock().unwrap().extend(faults);
            let opts = PushOptions { namespace: "T".into(), reconcile_after: Duration::zero(), now };
            for _ in 0..6 {
                let r = push(&lake, &cw, &pts, &opts).await.unwrap();
                if r.failed.is_none() && r.windows_deferred == 0 {
                    break;
                }
            }
            {
                let samples = cw.samples.lock().unwrap();
                assert_eq!(samples.len(), 3 * 2_500);
                assert!(samples.values().all(|n| *n == 1), "a datum was sent twice or never");
            }
            let again = push(&lake, &cw, &pts, &opts).await.unwrap();
            assert_eq!((again.windows_already_pushed, again.requests_sent), (3, 0));
        }
    }

    #[tokio::test]
    async fn out_of_range_windows_are_reported_not_pushed() {
        let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        let mut pts = points(now, 1, 1);
        pts[0].window_start = now - Duration::days(20);
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&dir.path().display().to_string(), true).unwrap();
        let cw = FakeCloudWatch::default();
        let opts = PushOptions { namespace: "T".into(), reconcile_after: Duration::zero(), now };
        let r = push(&lake, &cw, &pts, &opts).await.unwrap();
        assert_eq!(r.windows_out_of_range, vec![now - Duration::days(20)]);
        assert!(cw.samples.lock().unwrap().is_empty());
    }
}
