//! What the partial-aggregate replacements share: the plan node, which
//! aggregates qualify, and how each aggregate is fed.
//!
//! [`crate::runs`] and [`crate::keys`] each replace DataFusion's partial
//! `AggregateExec` with a [`PartialExec`] that computes the same partial
//! states another way. The final aggregate above is untouched: it merges
//! their states as it merges any partial states, so both are free to emit
//! a group more than once.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, Schema};
use arrow::compute::cast;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Accumulator, ColumnarValue};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::expressions::{CaseExpr, Literal};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, ReplaceChildrenOptions,
};

/// How a [`PartialExec`] computes its states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Run by run over equal partition keys ([`crate::runs`]).
    Runs,
    /// By per-column codes of string keys, emitting past `max_groups`
    /// groups ([`crate::keys`]).
    Keys { max_groups: usize },
}

/// A partial aggregate computed by one of this crate's strategies.
#[derive(Debug)]
pub struct PartialExec {
    /// The partial aggregate replaced: its input, expressions, schema and
    /// properties.
    pub(crate) agg: Arc<AggregateExec>,
    pub(crate) strategy: Strategy,
}

impl PartialExec {
    /// `agg` replaced, as a plan node.
    pub(crate) fn plan(agg: &AggregateExec, strategy: Strategy) -> Arc<dyn ExecutionPlan> {
        Arc::new(PartialExec { agg: Arc::new(agg.clone()), strategy })
    }
}

/// `plan` with each partial aggregate for which `strategy` names one
/// computed that way: the body of both optimizer rules.
pub(crate) fn replace(
    plan: Arc<dyn ExecutionPlan>,
    strategy: impl Fn(&AggregateExec) -> Option<Strategy>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let chosen = node.downcast_ref::<AggregateExec>().and_then(|agg| Some((agg, strategy(agg)?)));
        Ok(match chosen {
            Some((agg, strategy)) => Transformed::yes(PartialExec::plan(agg, strategy)),
            None => Transformed::no(node),
        })
    })
    .map(|t| t.data)
}

/// States as the partial aggregate's output batch: a column whose type
/// differs only in naming (a list's item field built from scalars) is cast
/// to the schema's.
pub(crate) fn states_batch(agg: &AggregateExec, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    let schema = agg.schema();
    let columns = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| match c.data_type() == f.data_type() {
            true => Ok(c),
            false => Ok(cast(&c, f.data_type())?),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// A partial aggregate with one grouping set of plain keys, and aggregates
/// that may see rows in any order and in any split into groups: no FILTER,
/// no ORDER BY inside an aggregate, no limit, no dynamic filter fed from it.
pub(crate) fn plain_partial(agg: &AggregateExec) -> bool {
    let group = agg.group_expr();
    *agg.mode() == AggregateMode::Partial
        && group.is_single()
        && !group.expr().is_empty()
        && agg.filter_expr().iter().all(Option::is_none)
        && agg.aggr_expr().iter().all(|a| a.order_bys().is_empty())
        && agg.limit_options().is_none()
        && agg.dynamic_expressions_produced().is_empty()
}

impl DisplayAs for PartialExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: ", self.name())?;
        self.agg.fmt_as(t, f)
    }
}

impl ExecutionPlan for PartialExec {
    fn name(&self) -> &str {
        match self.strategy {
            Strategy::Runs => "RunAggregateExec",
            Strategy::Keys { .. } => "KeyAggregateExec",
        }
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.agg.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.agg.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.agg.apply_expressions(f)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let agg = Arc::clone(&self.agg).replace_children(children, options)?;
        let agg = agg.downcast_ref::<AggregateExec>().expect("an aggregate stays an aggregate");
        Ok(PartialExec::plan(agg, self.strategy))
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let input = self.agg.input().execute(partition, context)?;
        match self.strategy {
            Strategy::Runs => crate::runs::stream(Arc::clone(&self.agg), input),
            Strategy::Keys { max_groups } => crate::keys::stream(Arc::clone(&self.agg), input, max_groups),
        }
    }
}

/// How one aggregate is fed: what it reads (found once per stream, not per
/// batch, with string `=`s compared by views) and whether it is a count of
/// where a condition holds.
pub(crate) struct Feed {
    pub(crate) aggregate: Arc<AggregateFunctionExpr>,
    pub(crate) arguments: Vec<Arc<dyn PhysicalExpr>>,
    /// Each constant argument (`COUNT(*)`'s 1) as an array, sliced to each
    /// batch's length instead of built again for each batch.
    constants: Vec<Option<ArrayRef>>,
    /// `SUM(CASE WHEN p THEN 1 ELSE 0 END)`: `arguments` is `[p]` and the
    /// rows where it holds are counted (no column of 0s and 1s built and
    /// summed).
    pub(crate) count_true: bool,
}

impl Feed {
    /// How `a` is fed, over rows of `input`'s schema.
    pub(crate) fn of(a: &Arc<AggregateFunctionExpr>, input: &Schema) -> Feed {
        let when = counted_condition(a);
        let count_true = when.is_some();
        let arguments = when.map_or_else(|| a.expressions(), |w| vec![w]);
        // String `=`s compared by views (`crate::view_eq`).
        let arguments: Vec<_> = arguments.iter().map(|e| crate::view_eq::fast_eq(e, input)).collect();
        let constants = vec![None; arguments.len()];
        Feed { aggregate: Arc::clone(a), count_true, arguments, constants }
    }

    /// The arguments' values over `batch`.
    pub(crate) fn evaluate(&mut self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let rows = batch.num_rows();
        let mut values = Vec::with_capacity(self.arguments.len());
        for (argument, constant) in self.arguments.iter().zip(&mut self.constants) {
            let value = match (argument.evaluate(batch)?, constant.as_ref()) {
                (ColumnarValue::Array(a), _) => a,
                (ColumnarValue::Scalar(_), Some(c)) if c.len() >= rows => c.slice(0, rows),
                (ColumnarValue::Scalar(s), _) => {
                    let array = s.to_array_of_size(rows.max(BATCH_ROWS))?;
                    *constant = Some(Arc::clone(&array));
                    array.slice(0, rows)
                }
            };
            values.push(value);
        }
        Ok(values)
    }

    /// A plain accumulator for this aggregate.
    pub(crate) fn accumulator(&self) -> Result<Box<dyn Accumulator>> {
        match self.count_true {
            true => Ok(Box::<CountTrue>::default()),
            false => self.aggregate.create_accumulator(),
        }
    }
}

/// `p` when `a` is `SUM(CASE WHEN p THEN 1 ELSE 0 END)`.
pub(crate) fn counted_condition(a: &AggregateFunctionExpr) -> Option<Arc<dyn PhysicalExpr>> {
    let int = |e: Option<&Arc<dyn PhysicalExpr>>, v: i64| {
        e.and_then(|e| e.downcast_ref::<Literal>()).is_some_and(|l| *l.value() == ScalarValue::Int64(Some(v)))
    };
    let arguments = a.expressions();
    let case = match arguments.as_slice() {
        [arg] if a.fun().name() == "sum" && !a.is_distinct() => arg.downcast_ref::<CaseExpr>()?,
        _ => return None,
    };
    match (case.expr(), case.when_then_expr(), case.else_expr()) {
        (None, [(when, then)], otherwise) if int(Some(then), 1) && int(otherwise, 0) => Some(Arc::clone(when)),
        _ => None,
    }
}

/// The usual batch length: a constant built once covers every batch.
const BATCH_ROWS: usize = 8192;

/// Sums 1 for every true value: `SUM`'s state for a `CASE` of 1 and 0.
#[derive(Debug, Default)]
pub(crate) struct CountTrue(i64);

impl Accumulator for CountTrue {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.0 += values[0].as_boolean().true_count() as i64;
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.0)))
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.0 += arrow::compute::sum(states[0].as_primitive::<Int64Type>()).unwrap_or(0);
        Ok(())
    }
}
