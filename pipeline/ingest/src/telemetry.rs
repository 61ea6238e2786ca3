//! Stream consumer telemetry (Kafka, Kinesis): lag per partition or shard,
//! events/s, dead letters and commit latency, logged periodically and
//! written for scrapers.
//!
//! The export is a Prometheus text file (`--telemetry-file`), replaced
//! atomically each period: node_exporter's textfile collector, the
//! CloudWatch agent's Prometheus scraper or a plain `cat` can read it.
//! The lake-derived `EventsIngested`, `DeadLetters` and `IngestLagSeconds`
//! reach CloudWatch through `--push-metrics`; this file is the live view
//! of the consumer itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::run::Progress;

/// One partition's (shard's) position against the stream's end.
#[derive(Debug, Clone, PartialEq)]
pub struct Lag {
    /// Prometheus labels naming it, e.g. `topic` and `partition`.
    pub labels: Vec<(&'static str, String)>,
    /// Messages between the next one to read and the end, where the source
    /// says (Kafka's high watermark; Kinesis gives only time).
    pub messages: Option<i64>,
    /// How far behind the newest record the reader is: the age of the last
    /// message read while more wait (Kafka), `MillisBehindLatest` (Kinesis);
    /// 0 when caught up.
    pub seconds: f64,
}

impl Lag {
    fn label_text(&self) -> String {
        let pairs: Vec<String> = self.labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        format!("{{{}}}", pairs.join(","))
    }

    fn short(&self) -> String {
        let name: Vec<&str> = self.labels.iter().map(|(_, v)| v.as_str()).collect();
        match self.messages {
            Some(m) => format!("{}={m}({:.0}s)", name.join("/"), self.seconds),
            None => format!("{}={:.1}s", name.join("/"), self.seconds),
        }
    }
}

/// A telemetry period's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `kafka` or `kinesis`: names the lag metrics and the log line.
    pub source: &'static str,
    pub lags: Vec<Lag>,
    pub events_per_second: f64,
    pub events: u64,
    pub dead_letters: u64,
    pub commits: u64,
    pub last_commit_seconds: f64,
}

/// Counts the rate between periods.
pub struct Telemetry {
    source: &'static str,
    file: Option<PathBuf>,
    last: Instant,
    last_events: u64,
}

impl Telemetry {
    pub fn new(source: &'static str, file: Option<PathBuf>) -> Self {
        Telemetry { source, file, last: Instant::now(), last_events: 0 }
    }

    /// A snapshot from the run's counters and the partitions' lag.
    pub fn snapshot(&mut self, progress: &Progress, lags: Vec<Lag>) -> Snapshot {
        let events = progress.events.load(Ordering::Relaxed);
        let over = self.last.elapsed().max(Duration::from_millis(1)).as_secs_f64();
        let rate = events.saturating_sub(self.last_events) as f64 / over;
        self.last = Instant::now();
        self.last_events = events;
        Snapshot {
            source: self.source,
            lags,
            events_per_second: rate,
            events,
            dead_letters: progress.dead_letters.load(Ordering::Relaxed),
            commits: progress.commits.load(Ordering::Relaxed),
            last_commit_seconds: progress.last_commit_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }

    /// Logs the snapshot and replaces the export file.
    pub fn report(&self, s: &Snapshot) {
        let lags: Vec<String> = s.lags.iter().map(Lag::short).collect();
        tracing::info!(
            "{}: {:.0} events/s, {} events, {} dead letters, {} commits (last {:.2}s), lag {}",
            s.source,
            s.events_per_second,
            s.events,
            s.dead_letters,
            s.commits,
            s.last_commit_seconds,
            lags.join(" ")
        );
        if let Some(path) = &self.file {
            if let Err(e) = write_atomically(path, &prometheus(s)) {
                tracing::warn!("{}: cannot write telemetry to {}: {e}", s.source, path.display());
            }
        }
    }
}

/// The snapshot in Prometheus text exposition format.
pub fn prometheus(s: &Snapshot) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, values: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in values {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let src = s.source;
    let with_messages: Vec<(String, f64)> = s.lags.iter().filter_map(|l| Some((l.label_text(), l.messages? as f64))).collect();
    if !with_messages.is_empty() {
        metric(&format!("authlake_{src}_consumer_lag_messages"), "gauge", "Messages between the next one to read and the end.", &with_messages);
    }
    let seconds: Vec<(String, f64)> = s.lags.iter().map(|l| (l.label_text(), l.seconds)).collect();
    metric(&format!("authlake_{src}_consumer_lag_seconds"), "gauge", "How far behind the newest record the reader is (IngestLagSeconds).", &seconds);
    metric("authlake_events_ingested_total", "counter", "Events written to the lake by this process (EventsIngested).", &[(String::new(), s.events as f64)]);
    metric("authlake_dead_letters_total", "counter", "Records kept as dead letters by this process (DeadLetters).", &[(String::new(), s.dead_letters as f64)]);
    metric("authlake_events_per_second", "gauge", "Events per second over the last period.", &[(String::new(), s.events_per_second)]);
    metric("authlake_lake_commits_total", "counter", "Lake commits by this process.", &[(String::new(), s.commits as f64)]);
    metric("authlake_last_commit_seconds", "gauge", "Duration of the last lake commit.", &[(String::new(), s.last_commit_seconds)]);
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_every_figure_with_labels() {
        let s = Snapshot {
            source: "kafka",
            lags: vec![Lag { labels: vec![("topic", "a\"b".into()), ("partition", "3".into())], messages: Some(12), seconds: 1.5 }],
            events_per_second: 250.0,
            events: 1000,
            dead_letters: 2,
            commits: 4,
            last_commit_seconds: 0.25,
        };
        let text = prometheus(&s);
        assert!(text.contains("authlake_kafka_consumer_lag_messages{topic=\"a\\\"b\",partition=\"3\"} 12\n"), "{text}");
        assert!(text.contains("authlake_kafka_consumer_lag_seconds{topic=\"a\\\"b\",partition=\"3\"} 1.5\n"));
        assert!(text.contains("authlake_events_ingested_total 1000\n"));
        assert!(text.contains("authlake_dead_letters_total 2\n"));
        assert!(text.contains("authlake_last_commit_seconds 0.25\n"));
        assert_eq!(text.matches("# TYPE").count(), 7);
        // Kinesis gives time behind only: no message gauge.
        let k = Snapshot { source: "kinesis", lags: vec![Lag { labels: vec![("stream", "auth".into()), ("shard", "shardId-1".into())], messages: None, seconds: 2.5 }], ..s };
        let text = prometheus(&k);
        assert!(text.contains("authlake_kinesis_consumer_lag_seconds{stream=\"auth\",shard=\"shardId-1\"} 2.5\n"), "{text}");
        assert!(!text.contains("lag_messages"));
    }
}
