//! `authlake ingest`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use authlake_core::position::sha256_hex;
use authlake_ingest::decode::Defaults;
use authlake_ingest::source::file;
use authlake_ingest::{run_files, IngestOptions, IngestSummary, Progress};
use authlake_lake::Lake;
use clap::Args;

use crate::config::{parse_duration, parse_size, IngestConfig};

use crate::exit::{coded, Exit};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Source: file://PATH (a file, a directory or a glob; NDJSON, JSON, JSON arrays, .gz),
    /// s3://BUCKET/PREFIX (the objects under it, oldest first), kafka://BROKERS/TOPIC or
    /// kinesis://STREAM.
    #[arg(long)]
    pub from: Option<String>,
    /// Lake: a directory or s3://bucket/prefix (created if missing).
    #[arg(long)]
    pub lake: Option<String>,
    /// User pool id for AdminListUserAuthEvents pages, which carry none.
    #[arg(long)]
    pub user_pool_id: Option<String>,
    /// User name for AdminListUserAuthEvents pages, which carry none.
    #[arg(long)]
    pub username: Option<String>,
    /// Tenant id for events that do not carry `custom:tenantId`.
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Legacy system name for migration events (e.g. auth0).
    #[arg(long)]
    pub migration_source: Option<String>,
    /// Commit at least this often while data is buffered [default: 60s].
    #[arg(long)]
    pub commit_interval: Option<String>,
    /// Target size of each Parquet file [default: 128MiB].
    #[arg(long)]
    pub target_file_size: Option<String>,
    /// Memory for buffered data before a commit is forced [default: 256MiB].
    #[arg(long)]
    pub max_buffer: Option<String>,
    /// Drop a row whose event_id the lake (or this run) already holds with
    /// an event_time this close: the same event delivered twice, by another
    /// path or in a copied file [default: 7d]. 0s turns it off.
    #[arg(long, value_name = "DURATION")]
    pub dedupe_window: Option<String>,
    /// Writer id (names the staging area); defaults to one derived from the source.
    #[arg(long)]
    pub writer_id: Option<String>,
    /// File holding the erasure key `authlake forget` used [default: the
    /// environment variable AUTHLAKE_ERASURE_KEY]: rows of erased subjects
    /// are dropped. Required once the lake has erasures.
    #[arg(long, value_name = "FILE")]
    pub erasure_key_file: Option<std::path::PathBuf>,
    /// Keep consuming until SIGTERM/Ctrl-C (stream sources).
    #[arg(long)]
    pub follow: bool,
    /// Run the Sigma rule pack after every commit over the windows the commit touched
    /// (and once over the whole lake at start); findings go to the `findings` table, once.
    #[arg(long)]
    pub detect: bool,
    /// With --detect: a directory of Sigma rules [default: the built-in pack].
    #[arg(long, requires = "detect")]
    pub rules: Option<std::path::PathBuf>,
    /// S3: how often a follower lists the prefix for new objects [default: 30s].
    #[arg(long, value_name = "DURATION")]
    pub poll_interval: Option<String>,
    /// S3: how long an object may appear after objects S3 dates later (a
    /// multipart upload is dated by its start); objects this recent are
    /// read again after a restart and their rows dropped as duplicates
    /// [default: 15m].
    #[arg(long, value_name = "DURATION")]
    pub lateness: Option<String>,
    /// Kafka consumer group [default: authlake, or [kafka] group].
    #[arg(long)]
    pub group: Option<String>,
    /// A librdkafka property, `key=value` (repeatable; e.g. security.protocol=SASL_SSL).
    #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
    pub kafka_options: Vec<String>,
    /// Where a partition without a position in the lake starts: earliest or latest [default: earliest].
    #[arg(long)]
    pub start: Option<String>,
    /// Kafka: authenticate to Amazon MSK with IAM (SASL_SSL + OAUTHBEARER,
    /// tokens signed with the AWS credential chain and region).
    #[arg(long)]
    pub msk_iam: bool,
    /// Kinesis: share the stream's shards with other `--follow` workers
    /// through this DynamoDB lease table (created if missing; one table per
    /// stream and lake). Without it, one process reads every shard.
    #[arg(long, value_name = "TABLE", requires = "follow")]
    pub lease_table: Option<String>,
    /// Kinesis: a worker's lease not renewed for this long is taken over by
    /// the others [default: 10s].
    #[arg(long, requires = "lease_table")]
    pub lease_timeout: Option<String>,
    /// Write the stream consumer's telemetry (lag per partition, events/s,
    /// dead letters, commit latency) to this file in Prometheus text
    /// format, replaced every --telemetry-interval.
    #[arg(long)]
    pub telemetry_file: Option<std::path::PathBuf>,
    /// How often stream telemetry is logged (and written).
    #[arg(long, default_value = "10s")]
    pub telemetry_interval: String,
    /// Push the metrics catalogue to CloudWatch as windows close (and once at
    /// the end), each window exactly once; failures are retried later and
    /// never stop the ingest.
    #[arg(long)]
    pub push_metrics: bool,
    /// Window of pushed metrics [default: 1h, or [metrics] window].
    #[arg(long, requires = "push_metrics")]
    pub metrics_window: Option<String>,
    /// How often to look for newly closed windows while ingesting.
    #[arg(long, default_value = "60s", requires = "push_metrics")]
    pub metrics_interval: String,
}

pub async fn run(
    args: IngestArgs,
    cfg: &IngestConfig,
    kafka_cfg: &crate::config::KafkaConfig,
    metrics: &crate::config::MetricsConfig,
) -> anyhow::Result<()> {
    // First: a SIGTERM while the lake opens or the group forms stops cleanly.
    let shutdown = crate::shutdown::signal();
    let from = args.from.or(cfg.from.clone()).context("--from is required (e.g. --from file://events/)")?;
    let lake_spec = args.lake.or(cfg.lake.clone()).context("--lake is required (a directory or s3://bucket/prefix)")?;
    let mut opts = IngestOptions {
        defaults: Defaults {
            user_pool_id: args.user_pool_id.or(cfg.user_pool_id.clone()),
            username: args.username.or(cfg.username.clone()),
            tenant_id: args.tenant_id.or(cfg.tenant_id.clone()),
            migration_source: args.migration_source.or(cfg.migration_source.clone()),
        },
        erasure_key: authlake_lake::erasures::ErasureKey::resolve(args.erasure_key_file.as_deref())?,
        ..Default::default()
    };
    if let Some(s) = args.commit_interval.or(cfg.commit_interval.clone()) {
        opts.commit_interval = parse_duration(&s)?;
    }
    if let Some(s) = args.target_file_size.or(cfg.target_file_size.clone()) {
        opts.targets.target_file_bytes = parse_size(&s)?;
    }
    if let Some(s) = args.max_buffer.or(cfg.max_buffer.clone()) {
        opts.max_buffer_bytes = parse_size(&s)?;
    }
    if let Some(s) = args.dedupe_window.or(cfg.dedupe_window.clone()) {
        opts.dedupe_window = Some(parse_duration(&s)?);
    }
    // Resolve the source before anything is opened or started.
    let source = if from.starts_with("kinesis://") {
        let spec = authlake_kinesis::source::KinesisSpec::parse(&from).map_err(anyhow::Error::msg)?;
        let stream_id = &sha256_hex(spec.stream.as_bytes())[..12];
        let leases = match args.lease_table {
            None => None,
            Some(table) => Some(authlake_kinesis::lease::LeaseOptions {
                table,
                owner: authlake_kinesis::lease::default_owner(),
                timeout: match &args.lease_timeout {
                    Some(t) => parse_duration(t)?,
                    None => authlake_kinesis::lease::DEFAULT_LEASE_TIMEOUT,
                },
            }),
        };
        // Lease workers stage apart: none may clean up another's files.
        opts.writer_id = args.writer_id.unwrap_or_else(|| match &leases {
            Some(l) => format!("kinesis-{stream_id}-{}", l.owner),
            None => format!("kinesis-{stream_id}"),
        });
        let kopts = authlake_kinesis::source::KinesisOptions {
            follow: args.follow,
            telemetry_interval: parse_duration(&args.telemetry_interval)?,
            telemetry_file: args.telemetry_file.clone(),
            leases,
        };
        Source::Kinesis(spec, kopts)
    } else if from.starts_with("kafka://") {
        let spec = authlake_kafka::KafkaSpec::parse(&from).map_err(anyhow::Error::msg)?;
        let kcfg = kafka_cfg.clone();
        let mut properties: Vec<(String, String)> = kcfg.properties.into_iter().collect();
        properties.extend(crate::query::parse_params(&args.kafka_options)?);
        let start = match args.start.or(kcfg.start).as_deref() {
            None | Some("earliest") => authlake_kafka::StartAt::Earliest,
            Some("latest") => authlake_kafka::StartAt::Latest,
            Some(other) => bail!("--start {other:?}: use earliest or latest"),
        };
        let kopts = authlake_kafka::KafkaOptions {
            group: args.group.or(kcfg.group),
            follow: args.follow,
            start,
            properties,
            msk_iam: args.msk_iam || kcfg.msk_iam,
            telemetry_file: args.telemetry_file.clone(),
            telemetry_interval: parse_duration(&args.telemetry_interval)?,
        };
        // Each process stages apart: group members must not clean up each
        // other's files in progress.
        opts.writer_id = args.writer_id.unwrap_or_else(|| {
            format!("kafka-{}-{}", &sha256_hex(format!("{}{:?}", kopts.group_id(), spec.topics).as_bytes())[..8], std::process::id())
        });
        Source::Kafka(spec, kopts)
    } else if from.starts_with("s3://") {
        let spec = authlake_ingest::source::s3::S3Spec::parse(&from).map_err(anyhow::Error::msg)?;
        if opts.dedupe_window.is_none_or(|w| w.is_zero()) {
            return Err(crate::exit::coded(crate::exit::Exit::Usage, "an s3:// source needs --dedupe-window: objects read again after a restart are dropped by it"));
        }
        let mut sopts = authlake_ingest::source::s3::S3Options { follow: args.follow, ..Default::default() };
        if let Some(s) = &args.poll_interval {
            sopts.poll_interval = parse_duration(s)?;
        }
        if let Some(s) = &args.lateness {
            sopts.lateness = parse_duration(s)?;
        }
        opts.writer_id = args.writer_id.unwrap_or_else(|| format!("s3-{}", &sha256_hex(spec.position_key().as_bytes())[..12]));
        Source::S3(spec, sopts)
    } else {
        if args.follow {
            bail!("--follow applies to stream sources (s3://, kafka://, kinesis://); a file:// source is read to its end");
        }
        opts.writer_id = args.writer_id.unwrap_or_else(|| format!("file-{}", &sha256_hex(from.as_bytes())[..12]));
        Source::Files(file::resolve(&from)?)
    };
    let lake = Lake::open(&lake_spec, true)?;
    let pusher = match args.push_metrics {
        true => {
            let every = parse_duration(&args.metrics_interval)?;
            Some(crate::kpi::MetricsPusher::start(lake.clone(), args.metrics_window.as_deref(), metrics, every).await?)
        }
        false => None,
    };
    let progress = Arc::new(Progress::default());
    let detector = match args.detect {
        true => Some(crate::detect::Follower::start(lake.clone(), args.rules.clone(), progress.clone())?),
        false => None,
    };
    let summary = match source {
        Source::Kafka(spec, kopts) => authlake_kafka::run_kafka(&lake, &spec, &kopts, &opts, progress, shutdown).await?,
        Source::Kinesis(spec, kopts) => authlake_kinesis::source::run_kinesis(&lake, &spec, &kopts, &opts, progress, shutdown).await?,
        Source::S3(spec, sopts) => {
            authlake_ingest::run_s3(&lake, &spec, &sopts, &opts, progress, shutdown).await.with_context(|| format!("ingest {} into {}", spec.url(), lake.display()))?
        }
        Source::Files(files) => ingest_files(&lake, files, &opts, progress, shutdown).await?,
    };
    if let Some(d) = detector {
        d.finish().await?;
    }
    println!("{}", summary_line(&summary, &lake));
    if !summary.not_records.is_empty() {
        println!("{}", not_records_line(&summary.not_records));
    }
    if let Some(p) = pusher {
        p.finish().await;
    }
    if !summary.damaged.is_empty() {
        for d in &summary.damaged {
            tracing::warn!("damaged input: {d}");
        }
        return Err(coded(Exit::DamagedInput, format!("{} damaged input(s); every whole record before the damage is in the lake, the rest dead-lettered", summary.damaged.len())));
    }
    Ok(())
}

/// A resolved `--from`.
enum Source {
    Files(Vec<std::path::PathBuf>),
    S3(authlake_ingest::source::s3::S3Spec, authlake_ingest::source::s3::S3Options),
    Kafka(authlake_kafka::KafkaSpec, authlake_kafka::KafkaOptions),
    Kinesis(authlake_kinesis::source::KinesisSpec, authlake_kinesis::source::KinesisOptions),
}

/// Runs an ingest with a progress line on a terminal.
pub async fn ingest_files(
    lake: &Lake,
    files: Vec<std::path::PathBuf>,
    opts: &IngestOptions,
    progress: Arc<Progress>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<IngestSummary> {
    let ticker = crate::logging::show_progress().then(|| {
        let p = progress.clone();
        tokio::spawn(async move {
            let start = std::time::Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let secs = start.elapsed().as_secs_f64().max(0.001);
                let events = p.events.load(Ordering::Relaxed);
                let mb = p.bytes.load(Ordering::Relaxed) as f64 / 1e6;
                eprint!(
                    "\r  {events} events ({:.0}/s), {} dead letters, {} skipped, {} duplicates, {mb:.1} MB read, {} commits   ",
                    events as f64 / secs,
                    p.dead_letters.load(Ordering::Relaxed),
                    p.skipped.load(Ordering::Relaxed),
                    p.duplicates.load(Ordering::Relaxed),
                    p.commits.load(Ordering::Relaxed)
                );
            }
        })
    });
    let result = run_files(lake, files, opts, progress, shutdown).await;
    if let Some(t) = ticker {
        t.abort();
        eprint!("\r{:100}\r", "");
    }
    result.with_context(|| format!("ingest into {}", lake.display()))
}

/// One line naming the files skipped as holding no records.
fn not_records_line(files: &[String]) -> String {
    const NAMED: usize = 5;
    let mut line = format!("skipped {} file(s) that hold no records (neither JSON nor gzip): {}", files.len(), files[..files.len().min(NAMED)].join(", "));
    if files.len() > NAMED {
        line.push_str(&format!(" and {} more", files.len() - NAMED));
    }
    line
}

pub fn summary_line(s: &IngestSummary, lake: &Lake) -> String {
    let mut line = format!(
        "ingested {} events, {} dead letters, {} skipped, {} files in {} commits, {:.2}s -> {}",
        s.events,
        s.dead_letters,
        s.skipped,
        s.files,
        s.commits,
        s.elapsed.as_secs_f64(),
        lake.display()
    );
    if s.duplicates > 0 {
        line.push_str(&format!(" ({} duplicates dropped)", s.duplicates));
    }
    if s.erased > 0 {
        line.push_str(&format!(" ({} rows of erased subjects dropped)", s.erased));
    }
    if s.recovered_removals > 0 {
        line.push_str(&format!(" (recovered: {} uncommitted files of an earlier run removed)", s.recovered_removals));
    }
    if s.interrupted {
        line.push_str(" (interrupted; rerun to continue)");
    }
    line
}
