//! Consumer telemetry: lag per partition, events/s, dead letters and
//! commit latency, logged periodically and written for scrapers.
//!
//! The export is a Prometheus text file (`--telemetry-file`), replaced
//! atomically each period: node_exporter's textfile collector, the
//! CloudWatch agent's Prometheus scraper or a plain `cat` can read it.
//! The lake-derived `EventsIngested`, `DeadLetters` and `IngestLagSeconds`
//! reach CloudWatch through `--push-metrics`; this file is the live view
//! of the consumer itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use authlake_ingest::Progress;

/// One partition's position against the broker's end.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// Messages between the next offset to read and the high watermark.
    pub messages: i64,
    /// Age of the last message read, when messages are waiting; 0 when
    /// caught up.
    pub seconds: f64,
}

/// A telemetry period's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub lags: Vec<PartitionLag>,
    pub events_per_second: f64,
    pub events: u64,
    pub dead_letters: u64,
    pub commits: u64,
    pub last_commit_seconds: f64,
}

/// Counts the rate between periods.
pub struct Telemetry {
    file: Option<PathBuf>,
    last: Instant,
    last_events: u64,
}

impl Telemetry {
    pub fn new(file: Option<PathBuf>) -> Self {
        Telemetry { file, last: Instant::now(), last_events: 0 }
    }

    /// A snapshot from the run's counters and the partitions' lag.
    pub fn snapshot(&mut self, progress: &Progress, lags: Vec<PartitionLag>) -> Snapshot {
        let events = progress.events.load(Ordering::Relaxed);
        let over = self.last.elapsed().max(Duration::from_millis(1)).as_secs_f64();
        let rate = events.saturating_sub(self.last_events) as f64 / over;
        self.last = Instant::now();
        self.last_events = events;
        Snapshot {
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
        let lags: Vec<String> = s.lags.iter().map(|l| format!("{}/{}={}({:.0}s)", l.topic, l.partition, l.messages, l.seconds)).collect();
        eprintln!(
            "authlake: kafka: {:.0} events/s, {} events, {} dead letters, {} commits (last {:.2}s), lag {}",
            s.events_per_second,
            s.events,
            s.dead_letters,
            s.commits,
            s.last_commit_seconds,
            lags.join(" ")
        );
        if let Some(path) = &self.file {
            if let Err(e) = write_atomically(path, &prometheus(s)) {
                eprintln!("authlake: kafka: cannot write telemetry to {}: {e}", path.display());
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
    let per_partition = |f: fn(&PartitionLag) -> f64| -> Vec<(String, f64)> {
        s.lags.iter().map(|l| (format!("{{topic=\"{}\",partition=\"{}\"}}", escape(&l.topic), l.partition), f(l))).collect()
    };
    metric("authlake_kafka_consumer_lag_messages", "gauge", "Messages between the next offset and the high watermark.", &per_partition(|l| l.messages as f64));
    metric("authlake_kafka_consumer_lag_seconds", "gauge", "Age of the last message read while messages wait (IngestLagSeconds).", &per_partition(|l| l.seconds));
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

/// Lag per partition from next offsets, high watermarks and last message times.
pub fn lags(next: &BTreeMap<(String, i32), i64>, high: &BTreeMap<(String, i32), i64>, last_ms: &BTreeMap<(String, i32), i64>, now_ms: i64) -> Vec<PartitionLag> {
    next.iter()
        .filter_map(|(k, n)| {
            let messages = (high.get(k)? - n).max(0);
            let seconds = match (messages, last_ms.get(k)) {
                (0, _) | (_, None) => 0.0,
                (_, Some(t)) => ((now_ms - t).max(0)) as f64 / 1000.0,
            };
            Some(PartitionLag { topic: k.0.clone(), partition: k.1, messages, seconds })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_messages_behind_and_the_age_of_the_last_read() {
        let k = |p| ("auth".to_string(), p);
        let next = BTreeMap::from([(k(0), 90), (k(1), 50), (k(2), 7)]);
        let high = BTreeMap::from([(k(0), 100), (k(1), 50)]);
        let last = BTreeMap::from([(k(0), 10_000), (k(1), 11_000)]);
        let l = lags(&next, &high, &last, 14_000);
        assert_eq!(l.len(), 2, "no watermark, no figure");
        assert_eq!((l[0].messages, l[0].seconds), (10, 4.0));
        assert_eq!((l[1].messages, l[1].seconds), (0, 0.0));
    }

    #[test]
    fn prometheus_text_has_every_figure_with_labels() {
        let s = Snapshot {
            lags: vec![PartitionLag { topic: "a\"b".into(), partition: 3, messages: 12, seconds: 1.5 }],
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
    }
}
