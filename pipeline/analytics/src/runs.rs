//! Partial aggregation in runs, for queries grouped by partition columns.
//!
//! A lake file holds one `(category, event_date)` partition, so a scan
//! yields long runs of rows with the same partition values. DataFusion's
//! partial aggregate still hashes every row's key and updates grouped
//! accumulators row by row: in `GROUP BY event_date` over 10M events that
//! was a third of the query. [`RunAggregate`] replaces a partial
//! aggregate whose keys are all partition columns with
//! [`RunAggregateExec`], which cuts each batch into runs of equal keys
//! (one comparison per row, one run per batch from one file) and feeds
//! each run to plain accumulators (a vectorized sum or count over the
//! run; `SUM(CASE WHEN p THEN 1 ELSE 0 END)` counts where `p` holds). It
//! emits one state row per run, in the partial aggregate's
//! schema, so the final aggregate above merges them as it merges any
//! partial states. Correct for any input order; fast when runs are long,
//! which is why only partition keys qualify.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use arrow::compute::{cast, partition};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::expressions::{CaseExpr, Column, Literal};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions,
};
use futures::StreamExt;

/// The physical optimizer rule; see the module doc.
#[derive(Debug, Default)]
pub struct RunAggregate;

impl PhysicalOptimizerRule for RunAggregate {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(agg) = node.downcast_ref::<AggregateExec>() else { return Ok(Transformed::no(node)) };
            if !qualifies(agg) {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(Arc::new(RunAggregateExec { agg: Arc::new(agg.clone()) }) as Arc<dyn ExecutionPlan>))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "authlake_run_aggregate"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A partial aggregate with plain group keys that are all partition
/// columns, and aggregates a plain accumulator computes in any order
/// (no FILTER, no ORDER BY inside the aggregate, no limit, no dynamic
/// filter fed from it).
fn qualifies(agg: &AggregateExec) -> bool {
    let group = agg.group_expr();
    *agg.mode() == AggregateMode::Partial
        && group.is_single()
        && !group.expr().is_empty()
        && agg.filter_expr().iter().all(Option::is_none)
        && agg.aggr_expr().iter().all(|a| a.order_bys().is_empty())
        && agg.limit_options().is_none()
        && agg.dynamic_expressions_produced().is_empty()
        && group.expr().iter().all(|(e, _)| {
            e.downcast_ref::<Column>().is_some_and(|c| is_partition_column(agg.input(), c.name()))
        })
}

/// Whether `name` in `plan`'s output is a partition column of the file
/// scan below, passed up unchanged.
fn is_partition_column(plan: &Arc<dyn ExecutionPlan>, name: &str) -> bool {
    if let Some(scan) = plan.downcast_ref::<DataSourceExec>() {
        return scan
            .data_source()
            .downcast_ref::<FileScanConfig>()
            .is_some_and(|c| c.table_partition_cols().iter().any(|f| f.name() == name));
    }
    if let Some(p) = plan.downcast_ref::<ProjectionExec>() {
        return p.expr().iter().any(|e| {
            e.alias == name
                && e.expr.downcast_ref::<Column>().is_some_and(|c| is_partition_column(p.input(), c.name()))
        });
    }
    let passes = plan.is::<FilterExec>()
        || plan
            .downcast_ref::<RepartitionExec>()
            .is_some_and(|r| matches!(r.partitioning(), Partitioning::RoundRobinBatch(_)));
    passes && plan.children().first().is_some_and(|c| is_partition_column(c, name))
}

/// Computes a qualifying partial aggregate run by run (module doc).
#[derive(Debug)]
pub struct RunAggregateExec {
    /// The partial aggregate replaced: its input, expressions, schema and
    /// properties.
    agg: Arc<AggregateExec>,
}

impl DisplayAs for RunAggregateExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "RunAggregateExec: ")?;
        self.agg.fmt_as(t, f)
    }
}

impl ExecutionPlan for RunAggregateExec {
    fn name(&self) -> &str {
        "RunAggregateExec"
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
        let agg = agg.downcast_ref::<AggregateExec>().expect("an aggregate stays an aggregate").clone();
        Ok(Arc::new(RunAggregateExec { agg: Arc::new(agg) }))
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let input = self.agg.input().execute(partition, context)?;
        let mut runs = Runs::new(Arc::clone(&self.agg));
        let schema = self.agg.schema();
        let stream = futures::stream::once(async move {
            let mut input = input;
            while let Some(batch) = input.next().await {
                runs.update(&batch?)?;
            }
            runs.finish()
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// One run of equal keys being aggregated.
struct Run {
    key: Vec<ScalarValue>,
    accumulators: Vec<Box<dyn Accumulator>>,
}

/// How one aggregate is fed, run by run: what it reads (found once per
/// stream, not per batch) and the accumulator that takes it.
struct Feed {
    aggregate: Arc<AggregateFunctionExpr>,
    arguments: Vec<Arc<dyn PhysicalExpr>>,
    /// `SUM(CASE WHEN p THEN 1 ELSE 0 END)`: `arguments` is `[p]` and the
    /// rows where it holds are counted (no column of 0s and 1s built and
    /// summed).
    count_true: bool,
}

impl Feed {
    fn of(a: &Arc<AggregateFunctionExpr>) -> Feed {
        let arguments = a.expressions();
        let int = |e: Option<&Arc<dyn PhysicalExpr>>, v: i64| {
            e.and_then(|e| e.downcast_ref::<Literal>()).is_some_and(|l| *l.value() == ScalarValue::Int64(Some(v)))
        };
        let case = match arguments.as_slice() {
            [arg] if a.fun().name() == "sum" && !a.is_distinct() => arg.downcast_ref::<CaseExpr>(),
            _ => None,
        };
        let when = match case.map(|c| (c.expr(), c.when_then_expr(), c.else_expr())) {
            Some((None, [(when, then)], otherwise)) if int(Some(then), 1) && int(otherwise, 0) => Some(Arc::clone(when)),
            _ => None,
        };
        Feed { aggregate: Arc::clone(a), count_true: when.is_some(), arguments: when.map_or(arguments, |w| vec![w]) }
    }

    fn accumulator(&self) -> Result<Box<dyn Accumulator>> {
        match self.count_true {
            true => Ok(Box::<CountTrue>::default()),
            false => self.aggregate.create_accumulator(),
        }
    }
}

/// Sums 1 for every true value: `SUM`'s state for a `CASE` of 1 and 0.
#[derive(Debug, Default)]
struct CountTrue(i64);

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

/// The aggregation state of one partition's stream.
struct Runs {
    agg: Arc<AggregateExec>,
    feeds: Vec<Feed>,
    /// The run being aggregated.
    current: Option<Run>,
    /// Finished runs: their keys and accumulator states.
    done: Vec<(Vec<ScalarValue>, Vec<Vec<ScalarValue>>)>,
}

impl Runs {
    fn new(agg: Arc<AggregateExec>) -> Self {
        let feeds = agg.aggr_expr().iter().map(Feed::of).collect();
        Runs { agg, feeds, current: None, done: Vec::new() }
    }

    fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let eval = |e: &Arc<dyn PhysicalExpr>| e.evaluate(batch).and_then(|v| v.into_array(batch.num_rows()));
        let keys: Vec<ArrayRef> = self.agg.group_expr().expr().iter().map(|(e, _)| eval(e)).collect::<Result<_>>()?;
        let args: Vec<Vec<ArrayRef>> =
            self.feeds.iter().map(|f| f.arguments.iter().map(eval).collect::<Result<Vec<_>>>()).collect::<Result<_>>()?;
        for run in partition(&keys)?.ranges() {
            let key: Vec<ScalarValue> =
                keys.iter().map(|k| ScalarValue::try_from_array(k, run.start)).collect::<Result<_>>()?;
            if self.current.as_ref().is_none_or(|r| r.key != key) {
                self.close()?;
                let accumulators = self.feeds.iter().map(Feed::accumulator).collect::<Result<_>>()?;
                self.current = Some(Run { key, accumulators });
            }
            let open = self.current.as_mut().expect("a run is open");
            for (acc, values) in open.accumulators.iter_mut().zip(&args) {
                let slices: Vec<ArrayRef> = values.iter().map(|v| v.slice(run.start, run.end - run.start)).collect();
                acc.update_batch(&slices)?;
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some(Run { key, mut accumulators }) = self.current.take() {
            let states = accumulators.iter_mut().map(|a| a.state()).collect::<Result<_>>()?;
            self.done.push((key, states));
        }
        Ok(())
    }

    /// One row per run: the keys, then each aggregate's state fields.
    fn finish(mut self) -> Result<RecordBatch> {
        self.close()?;
        let schema = self.agg.schema();
        let mut columns: Vec<Vec<ScalarValue>> = vec![Vec::with_capacity(self.done.len()); schema.fields().len()];
        for (key, states) in self.done {
            for (column, value) in columns.iter_mut().zip(key.into_iter().chain(states.into_iter().flatten())) {
                column.push(value);
            }
        }
        let arrays = columns
            .into_iter()
            .zip(schema.fields())
            .map(|(values, field)| {
                let array = match values.is_empty() {
                    true => arrow::array::new_empty_array(field.data_type()),
                    false => ScalarValue::iter_to_array(values)?,
                };
                // States built from scalars may name a list's item field
                // differently from the schema.
                match array.data_type() == field.data_type() {
                    true => Ok(array),
                    false => Ok(cast(&array, field.data_type())?),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(schema, arrays)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::util::pretty::pretty_format_batches;
    use authlake_ingest::Lake;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// 600 events over three days and three categories, in an order that
    /// mixes days, with nulls in the grouped and counted columns.
    async fn lake() -> (tempfile::TempDir, Lake) {
        let dir = tempfile::tempdir().unwrap();
        let types = ["sign_in", "sign_up", "user_migration", "mfa_challenge"];
        let outcomes = ["success", "failure", "throttled"];
        let lines: Vec<String> = (0..600)
            .map(|i| {
                let user = match i % 7 {
                    0 => String::new(),
                    n => format!(r#","username":"u{}""#, (i * n) % 40),
                };
                format!(
                    r#"{{"event_id":"e{i}","event_time":"2026-11-{:02}T{:02}:00:00Z","event_type":"{}","outcome":"{}","user_pool_id":"p"{user},"token_size_bytes":{}}}"#,
                    10 + (i * 7) % 3,
                    i % 24,
                    types[i % 4],
                    outcomes[(i / 4) % 3],
                    i % 500
                )
            })
            .collect();
        let input = dir.path().join("in.ndjson");
        std::fs::write(&input, lines.join("\n")).unwrap();
        let lake = Lake::open(&dir.path().join("lake").display().to_string(), true).unwrap();
        authlake_ingest::run_files(&lake, vec![input], &Default::default(), Default::default(), std::future::pending())
            .await
            .unwrap();
        (dir, lake)
    }

    async fn answer(ctx: &SessionContext, sql: &str) -> (String, String) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let plan = datafusion::physical_plan::displayable(plan.as_ref()).indent(false).to_string();
        (pretty_format_batches(&df.collect().await.unwrap()).unwrap().to_string(), plan)
    }

    #[tokio::test]
    async fn runs_answer_as_hash_aggregation_does() {
        let (_dir, lake) = lake().await;
        let events = crate::lake_context(&lake).await.unwrap().table_provider("events").await.unwrap();
        // Small batches: runs cross batch ends, and a file spans batches.
        let config = || SessionConfig::new().with_target_partitions(3).with_batch_size(7);
        let ruled = SessionContext::new_with_state(
            SessionStateBuilder::new()
                .with_config(config())
                .with_default_features()
                .with_physical_optimizer_rule(Arc::new(RunAggregate))
                .build(),
        );
        let plain = SessionContext::new_with_config(config());
        for ctx in [&ruled, &plain] {
            ctx.register_table("events", Arc::clone(&events)).unwrap();
        }
        let cases = [
            ("SELECT event_date, COUNT(*), SUM(CASE WHEN outcome = 'throttled' THEN 1 ELSE 0 END), COUNT(DISTINCT username), AVG(token_size_bytes), MIN(event_time), MAX(username) FROM events GROUP BY event_date ORDER BY 1", true),
            ("SELECT category, event_date, COUNT(username), SUM(token_size_bytes), SUM(CASE WHEN username = 'u3' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 'failure' THEN 2 ELSE 0 END) FROM events WHERE outcome <> 'success' GROUP BY 1, 2 ORDER BY 1, 2", true),
            ("SELECT event_date, COUNT(*) FROM events WHERE category = 'auth' GROUP BY event_date ORDER BY 1", true),
            // Not partition keys, or an aggregate a plain accumulator may
            // not see in any order: left to DataFusion.
            ("SELECT outcome, COUNT(*) FROM events GROUP BY outcome ORDER BY 1", false),
            ("SELECT event_date, COUNT(*) FILTER (WHERE outcome = 'failure') FROM events GROUP BY 1 ORDER BY 1", false),
        ];
        for (sql, runs) in cases {
            let (got, plan) = answer(&ruled, sql).await;
            let (want, plain_plan) = answer(&plain, sql).await;
            assert_eq!(got, want, "{sql}\n{plan}");
            assert_eq!(plan.contains("RunAggregateExec"), runs, "{sql}\n{plan}");
            assert!(!plain_plan.contains("RunAggregateExec"));
            assert!(got.lines().count() > 5, "{sql} answered too little to compare:\n{got}");
        }
    }
}
