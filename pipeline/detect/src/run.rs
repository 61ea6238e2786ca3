//! Running a pack over a range of the lake.

use std::time::{Duration, Instant};

use authlake_lake::Lake;
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use datafusion::prelude::SessionContext;

use crate::error::DetectError;
use crate::findings::{self, Finding};
use crate::rules::{Pack, Rule};

/// The range rules read: `[since, until)`, microseconds since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub since: i64,
    pub until: i64,
}

impl Range {
    /// Everything: 1970 to 2200.
    pub const ALL: Range = Range { since: 0, until: 7_258_118_400_000_000 };

    /// The range widened to whole windows of `span` seconds, so that no
    /// window is judged on part of its events.
    pub fn aligned(self, span: Option<u64>) -> Range {
        let Some(span) = span.map(|s| s as i64 * 1_000_000).filter(|s| *s > 0) else { return self };
        Range { since: self.since.div_euclid(span) * span, until: (self.until + span - 1).div_euclid(span) * span }
    }
}

/// What one rule found, and how long it took.
#[derive(Debug)]
pub struct RuleRun {
    pub rule: Rule,
    pub findings: Vec<Finding>,
    pub elapsed: Duration,
}

fn timestamp(us: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_micros(us).unwrap_or_default();
    format!("TIMESTAMP '{}'", t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// The rule's query over `range` (within [`Range::ALL`]).
pub fn bind(rule: &Rule, range: Range) -> String {
    let r = range.aligned(rule.span);
    let clamp = |t: i64| t.clamp(Range::ALL.since, Range::ALL.until);
    let r = Range { since: clamp(r.since), until: clamp(r.until) };
    rule.sql.replace("${since}", &timestamp(r.since)).replace("${until}", &timestamp(r.until))
}

/// A query session over the lake with the rules' functions.
pub async fn context(lake: &Lake) -> Result<SessionContext, DetectError> {
    let ctx = authlake_analytics::lake_context(lake).await.map_err(|source| DetectError::Query { rule: "(opening the lake)".into(), source })?;
    crate::udf::register(&ctx);
    Ok(ctx)
}

/// Runs every rule of `pack` over `range`. A rule that fails does not
/// stop the others: its error is returned beside their runs.
pub async fn evaluate(ctx: &SessionContext, pack: &Pack, range: Range) -> (Vec<RuleRun>, Vec<DetectError>) {
    let (mut out, mut failed) = (Vec::new(), Vec::new());
    for rule in &pack.rules {
        let started = Instant::now();
        let sql = bind(rule, range);
        let found = match authlake_analytics::run_sql(ctx, &sql).await {
            Ok((_, batches)) => findings::from_batches(rule, &batches),
            Err(source) => Err(DetectError::Query { rule: rule.id.clone(), source }),
        };
        match found {
            Ok(found) => {
                tracing::debug!(rule = %rule.id, findings = found.len(), seconds = started.elapsed().as_secs_f64(), "rule evaluated");
                out.push(RuleRun { rule: rule.clone(), findings: found, elapsed: started.elapsed() });
            }
            Err(e) => {
                tracing::error!("{e}");
                failed.push(e);
            }
        }
    }
    (out, failed)
}

/// What a pass over the lake did.
#[derive(Debug)]
pub struct Detected {
    pub runs: Vec<RuleRun>,
    pub written: findings::Written,
    /// Rules that failed (their findings, none, are not written).
    pub failed: Vec<DetectError>,
}

/// Evaluates `pack` over `range` and writes what it found once (what the
/// rules that ran found, when some failed).
pub async fn detect(lake: &Lake, pack: &Pack, range: Range, writer: &str) -> Result<Detected, DetectError> {
    let ctx = context(lake).await?;
    let (runs, failed) = evaluate(&ctx, pack, range).await;
    let all: Vec<Finding> = runs.iter().flat_map(|r| r.findings.iter().cloned()).collect();
    let now = Utc::now().timestamp_micros();
    let written = findings::write(lake, writer, &all, now).await?;
    Ok(Detected { runs, written, failed })
}

/// How often one rule would have fired in one ISO week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    pub rule_id: String,
    pub level: String,
    /// `2026-W45`: the ISO week of the findings' window start.
    pub week: String,
    pub findings: usize,
}

/// Per rule and ISO week (of the window start): how many findings.
pub fn backtest(runs: &[RuleRun]) -> Vec<Week> {
    let mut weeks: std::collections::BTreeMap<(String, String), (String, usize)> = Default::default();
    for r in runs {
        for f in &r.findings {
            let t = DateTime::<Utc>::from_timestamp_micros(f.window_start).unwrap_or_default();
            let w = t.iso_week();
            let e = weeks.entry((r.rule.id.clone(), format!("{}-W{:02}", w.year(), w.week()))).or_insert((r.rule.level.clone(), 0));
            e.1 += 1;
        }
    }
    weeks.into_iter().map(|((rule_id, week), (level, findings))| Week { rule_id, level, week, findings }).collect()
}
