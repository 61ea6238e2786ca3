//! Sigma correlation rules as SQL over `events`.
//!
//! Windows and keys, defined once: a correlation's `timespan` is a
//! tumbling window aligned to UTC (`date_bin` from the epoch, so a 1h
//! window runs from one full hour to the next); an event belongs to the
//! one window its `event_time` falls in. A finding is a (rule, group-by
//! values, window start); an event that lacks a group-by field (a null)
//! belongs to no group. Sliding and session windows are refused, not
//! approximated.
//!
//! - `event_count`: rows matching any referenced rule, per group and window;
//! - `value_count`: distinct values of the condition's field;
//! - `value_sum`, `value_avg`, `value_median`: of the field read as a number;
//! - `temporal`: how many of the referenced rules matched (by default all),
//!   or the boolean condition over them;
//! - `temporal_ordered`: every referenced rule, in order (each after the
//!   first match of the one before), within one window.

use rsigma_parser::{ConditionExpr, ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType};
use rsigma_parser::value::TimespanUnit;

use crate::error::Refusal;
use crate::mapping::Mapping;
use crate::query::{self, Shape};

/// The base rules a correlation reads: (id or name as referenced, SQL condition).
pub type Bases<'a> = &'a [(String, String)];

const PERCENTILE: &str = "value_percentile: DataFusion's percentiles are approximate";

/// The finding query of correlation `c` over its base rules' conditions.
pub fn compile(id: &str, c: &CorrelationRule, bases: Bases<'_>, map: &Mapping) -> Result<(String, u64), Refusal> {
    let refuse = |why: String| Refusal::new(id, why);
    if !c.aliases.is_empty() {
        return Err(refuse("field aliases are not supported".into()));
    }
    if matches!(c.timespan.unit, TimespanUnit::Month | TimespanUnit::Year) || c.timespan.seconds == 0 {
        return Err(refuse(format!("timespan {}: windows are a fixed number of seconds, weeks at most", c.timespan.original)));
    }
    let span = c.timespan.seconds;
    let mut groups = Vec::new();
    for g in &c.group_by {
        let f = map.field(g).ok_or_else(|| refuse(format!("group-by field `{g}` has no events column in the field mapping")))?;
        groups.push(f.sql);
    }
    let field: &[String] = match &c.condition {
        CorrelationCondition::Threshold { percentile: Some(_), .. } => {
            return Err(refuse(PERCENTILE.into()))
        }
        CorrelationCondition::Threshold { field: Some(f), .. } => f,
        _ => &[],
    };
    let value = match c.correlation_type {
        CorrelationType::ValueCount | CorrelationType::ValueSum | CorrelationType::ValueAvg | CorrelationType::ValueMedian => {
            let [name] = field else { return Err(refuse("the condition names one field".into())) };
            Some(map.field(name).ok_or_else(|| refuse(format!("condition field `{name}` has no events column")))?.sql)
        }
        _ => None,
    };
    let having = match &c.condition {
        CorrelationCondition::Threshold { predicates, .. } => {
            let agg = aggregate(c.correlation_type, bases.len())
                .ok_or_else(|| refuse(PERCENTILE.into()))?;
            let every_rule = |(op, n): &(ConditionOperator, u64)| matches!(op, ConditionOperator::Gte | ConditionOperator::Eq) && *n as usize == bases.len();
            if c.correlation_type == CorrelationType::TemporalOrdered && !predicates.iter().all(every_rule) {
                return Err(refuse("temporal_ordered needs every referenced rule, in order".into()));
            }
            predicates.iter().map(|(op, n)| format!("{agg} {} {n}", operator(*op))).collect::<Vec<_>>().join(" AND ")
        }
        CorrelationCondition::Extended(e) if c.correlation_type == CorrelationType::Temporal => extended(id, e, bases)?,
        CorrelationCondition::Extended(_) => return Err(refuse("a boolean condition is for temporal correlations".into())),
    };
    let shape = Shape { span, groups, value, bases: bases.iter().map(|(_, sql)| sql.clone()).collect() };
    let sql = match c.correlation_type {
        CorrelationType::TemporalOrdered => query::ordered(&shape, &having),
        _ => query::windowed(&shape, &having),
    };
    Ok((sql, span))
}

/// What the threshold compares, over the rows of one group and window
/// (`r{i}`: row matched referenced rule `i`); `None` for percentiles.
fn aggregate(t: CorrelationType, rules: usize) -> Option<String> {
    Some(match t {
        CorrelationType::EventCount => "COUNT(*)".to_string(),
        CorrelationType::ValueCount => "COUNT(DISTINCT v)".to_string(),
        CorrelationType::ValueSum => "SUM(TRY_CAST(v AS DOUBLE))".to_string(),
        CorrelationType::ValueAvg => "AVG(TRY_CAST(v AS DOUBLE))".to_string(),
        CorrelationType::ValueMedian => "median(TRY_CAST(v AS DOUBLE))".to_string(),
        // How many of the rules matched.
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => (0..rules).map(|i| format!("MAX(r{i})")).collect::<Vec<_>>().join(" + "),
        CorrelationType::ValuePercentile => return None,
    })
}

fn operator(op: ConditionOperator) -> &'static str {
    match op {
        ConditionOperator::Lt => "<",
        ConditionOperator::Lte => "<=",
        ConditionOperator::Gt => ">",
        ConditionOperator::Gte => ">=",
        ConditionOperator::Eq => "=",
        ConditionOperator::Neq => "<>",
    }
}

/// A temporal correlation's boolean condition over its rules: a rule
/// "is true" in a window when one of its events fell in it.
fn extended(id: &str, e: &ConditionExpr, bases: Bases<'_>) -> Result<String, Refusal> {
    let rec = |x: &ConditionExpr| extended(id, x, bases);
    Ok(match e {
        ConditionExpr::And(xs) => format!("({})", xs.iter().map(rec).collect::<Result<Vec<_>, _>>()?.join(" AND ")),
        ConditionExpr::Or(xs) => format!("({})", xs.iter().map(rec).collect::<Result<Vec<_>, _>>()?.join(" OR ")),
        ConditionExpr::Not(x) => format!("(NOT {})", rec(x)?),
        ConditionExpr::Identifier(name) => match bases.iter().position(|(r, _)| r == name) {
            Some(i) => format!("(SUM(r{i}) > 0)"),
            None => return Err(Refusal::new(id, format!("the condition names `{name}`, which the correlation does not reference"))),
        },
        ConditionExpr::Selector { .. } => return Err(Refusal::new(id, "selectors in a correlation condition")),
    })
}

#[cfg(test)]
#[path = "correlation_tests.rs"]
mod tests;
