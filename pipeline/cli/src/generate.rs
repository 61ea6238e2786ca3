//! `authlake generate`.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use authlake_generator::{generate, Format, Params, Truth};
use clap::Args;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of events (records) to write.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Days of traffic, ending at --end.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Random seed: the same seed and parameters give the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// End of the time range (RFC 3339); defaults to now.
    #[arg(long)]
    pub end: Option<String>,
    /// mixed, canonical, cognito_activity_log, cognito_auth_event, cloudtrail, lambda_trigger.
    #[arg(long, default_value = "mixed")]
    pub format: String,
    /// Output file (NDJSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the ground truth (migration sizes, incidents) as JSON here.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Worker threads [default: number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Quiet traffic: no injected incidents (for alarm baselines).
    #[arg(long)]
    pub no_incidents: bool,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let truth = write(&args)?;
    tracing::info!(
        "generated {} events in {:.2}s -> {} ({} legacy users: ~80% lazy, {} bulk-imported)",
        truth.events,
        start.elapsed().as_secs_f64(),
        args.out.display(),
        truth.legacy_users,
        truth.bulk_imports
    );
    Ok(())
}

/// Generates per `args`; used by `demo` too.
pub fn write(args: &GenerateArgs) -> anyhow::Result<Truth> {
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let end_ms = match &args.end {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t).with_context(|| format!("invalid --end {t:?} (RFC 3339)"))?.timestamp_millis(),
        None => chrono::Utc::now().timestamp_millis(),
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let params = Params { events: args.events, days: args.days.max(1), seed: args.seed, end_ms, format, threads, incidents: !args.no_incidents };
    let file = File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = BufWriter::with_capacity(8 << 20, file);
    let tty = crate::logging::show_progress();
    let total = args.events;
    let truth = generate(&params, &mut out, &mut |n| {
        if tty {
            eprint!("\r  generating: {n}/{total} events");
        }
    })?;
    if tty {
        eprint!("\r{:60}\r", "");
    }
    if let Some(path) = &args.truth {
        std::fs::write(path, serde_json::to_vec_pretty(&truth.to_json())?).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(truth)
}
