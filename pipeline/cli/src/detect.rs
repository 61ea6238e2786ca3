//! `authlake detect`: the Sigma rule pack over the lake's history.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use authlake_analytics::output::render;
use authlake_detect::findings::{self, Finding};
use authlake_detect::run::{self, RuleRun};
use authlake_detect::{DetectError, Mapping, Pack, Range};
use authlake_lake::Lake;
use clap::Args;

use crate::cli::OutputFormat;
use crate::exit::{coded, Exit};

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Start of the range: RFC 3339, a date (UTC) or an age (`30d`) [default: the lake's beginning].
    /// Correlation windows are widened to whole windows.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range, exclusive (a date means the end of that day) [default: no end].
    #[arg(long)]
    pub to: Option<String>,
    /// Directory of Sigma rules (every .yml/.yaml under it) [default: the built-in pack, detections/rules].
    #[arg(long, env = "AUTHLAKE_RULES")]
    pub rules: Option<PathBuf>,
    /// Field mapping from Sigma field names to `events` columns [default: the built-in detections/mapping.yml].
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Report per rule and ISO week how many findings the rules would have made; write nothing.
    #[arg(long)]
    pub backtest: bool,
    /// List the rules (id, level, window, title) and exit.
    #[arg(long)]
    pub list: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

fn refused(e: DetectError) -> anyhow::Error {
    match e {
        e @ (DetectError::Refused(_) | DetectError::Parse { .. } | DetectError::Mapping { .. }) => coded(Exit::Usage, e),
        other => other.into(),
    }
}

pub async fn run(args: DetectArgs) -> anyhow::Result<()> {
    let mapping = match &args.mapping {
        Some(p) => Mapping::load(p).map_err(refused)?,
        None => Mapping::builtin(),
    };
    let pack = Pack::load(args.rules.as_deref(), &mapping).map_err(refused)?;
    if args.list {
        print!("{}", render(&list_schema(), &[list(&pack)?], args.format.into())?);
        return Ok(());
    }
    let lake = Lake::open(crate::cli::lake(&args.lake)?, false)?;
    let range = Range {
        since: args.from.as_deref().map(|s| crate::export::parse_time(s, false)).transpose()?.unwrap_or(Range::ALL.since),
        until: args.to.as_deref().map(|s| crate::export::parse_time(s, true)).transpose()?.unwrap_or(Range::ALL.until),
    };
    if args.backtest {
        let ctx = run::context(&lake).await?;
        let (runs, failed) = run::evaluate(&ctx, &pack, range).await;
        print!("{}", render(&backtest_schema(), &[backtest(&runs)?], args.format.into())?);
        return failures(failed);
    }
    let run::Detected { runs, written, failed } = run::detect(&lake, &pack, range, "detect").await?;
    let all: Vec<&Finding> = runs.iter().flat_map(|r| r.findings.iter()).collect();
    print!("{}", render_findings(&all, args.format)?);
    let slowest = runs.iter().max_by_key(|r| r.elapsed);
    tracing::info!(
        rules = runs.len(),
        findings = all.len(),
        slowest = slowest.map(|r| r.rule.id.as_str()).unwrap_or(""),
        "detections evaluated"
    );
    eprintln!(
        "{} findings from {} rules: {} new, {} revised (late events), {} already recorded",
        all.len(),
        runs.len(),
        written.new,
        written.revised,
        written.unchanged
    );
    failures(failed)
}

/// Rules that failed (the others ran and were written): exit 1 naming them.
fn failures(failed: Vec<DetectError>) -> anyhow::Result<()> {
    match failed.len() {
        0 => Ok(()),
        n => anyhow::bail!("{n} rule(s) failed:\n  {}", failed.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  ")),
    }
}

fn render_findings(all: &[&Finding], format: OutputFormat) -> anyhow::Result<String> {
    let batch = findings::to_batch(&all.iter().map(|f| (0, *f)).collect::<Vec<_>>(), 0)?;
    // The table and CSV leave out the lists (tags, evidence) and the
    // revision bookkeeping; JSON keeps every column.
    let batch = match format {
        OutputFormat::Table | OutputFormat::Csv => {
            let keep = ["rule_level", "rule_title", "window_start", "user_pool_id", "user_key", "ip_address", "event_count", "finding_id"];
            let idx: Vec<usize> = keep.iter().map(|c| batch.schema().index_of(c)).collect::<Result<_, _>>()?;
            batch.project(&idx)?
        }
        _ => {
            let drop = ["revision", "detected_at"];
            let idx: Vec<usize> =
                (0..batch.num_columns()).filter(|i| !drop.contains(&batch.schema().field(*i).name().as_str())).collect();
            batch.project(&idx)?
        }
    };
    Ok(render(&batch.schema(), &[batch], format.into())?)
}

fn list_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("rule_id", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, false),
        Field::new("window", DataType::Utf8, false),
        Field::new("group_by", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
    ]))
}

fn list(pack: &Pack) -> anyhow::Result<RecordBatch> {
    let col = |f: &dyn Fn(&authlake_detect::Rule) -> String| -> ArrayRef {
        Arc::new(pack.rules.iter().map(|r| Some(f(r))).collect::<StringArray>())
    };
    Ok(RecordBatch::try_new(
        list_schema(),
        vec![
            col(&|r| r.id.clone()),
            col(&|r| r.level.clone()),
            col(&|r| r.span.map_or("per event".to_string(), |s| format!("{s}s"))),
            col(&|r| r.group_by.join(", ")),
            col(&|r| r.title.clone()),
            col(&|r| r.file.clone()),
        ],
    )?)
}

fn backtest_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("rule_id", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, false),
        Field::new("week", DataType::Utf8, false),
        Field::new("findings", DataType::Int64, false),
    ]))
}

fn backtest(runs: &[RuleRun]) -> anyhow::Result<RecordBatch> {
    let rows = run::backtest(runs);
    let s = |f: &dyn Fn(&run::Week) -> String| -> ArrayRef { Arc::new(rows.iter().map(|r| Some(f(r))).collect::<StringArray>()) };
    Ok(RecordBatch::try_new(
        backtest_schema(),
        vec![
            s(&|r| r.rule_id.clone()),
            s(&|r| r.level.clone()),
            s(&|r| r.week.clone()),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.findings as i64).collect::<Vec<_>>())),
        ],
    )?)
}

/// `ingest --detect`: after every commit, the pack over the windows the
/// commit's events fall in (each rule widens the span to its whole
/// windows); first, once, over the whole lake, so that what a stopped
/// follower left unevaluated is caught up. Findings are written once, so
/// overlapping passes add nothing twice. A failed pass keeps its span and
/// is retried after the next commit.
pub struct Follower {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Follower {
    pub fn start(lake: Lake, rules: Option<PathBuf>, progress: Arc<authlake_ingest::Progress>) -> anyhow::Result<Self> {
        let pack = Pack::load(rules.as_deref(), &Mapping::builtin()).map_err(refused)?;
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut pending = Some((Range::ALL.since, Range::ALL.until - 1));
            let mut ending = false;
            loop {
                let last = ending || *stopped.borrow();
                if let Some((lo, hi)) = progress.committed.take() {
                    pending = Some(pending.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
                }
                if let Some((lo, hi)) = pending {
                    let started = std::time::Instant::now();
                    match run::detect(&lake, &pack, Range { since: lo, until: hi + 1 }, "detect").await {
                        Ok(d) => {
                            // A failed rule is not retried: the next pass would fail it the same way.
                            pending = None;
                            let found: usize = d.runs.iter().map(|r| r.findings.len()).sum();
                            let seconds = started.elapsed().as_secs_f64();
                            tracing::info!(findings = found, new = d.written.new, revised = d.written.revised, failed_rules = d.failed.len(), seconds, "detections after commit");
                        }
                        Err(e) => tracing::warn!("detections failed ({e}); retried after the next commit"),
                    }
                }
                if last {
                    break;
                }
                tokio::select! {
                    () = progress.committed.notify.notified() => {}
                    // Told to stop, or the ingest ended without telling (an error): one last pass.
                    _ = stopped.changed() => {}
                }
                ending = stopped.has_changed().is_err();
            }
        });
        Ok(Self { task, stop })
    }

    /// One last pass over what the final commits landed.
    pub async fn finish(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.map_err(|e| anyhow::anyhow!("the detections task failed: {e}"))
    }
}
