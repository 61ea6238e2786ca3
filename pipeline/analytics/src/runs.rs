//! Partial aggregation in runs, for queries grouped by partition columns.
//!
//! A lake file holds one `(category, event_date)` partition, so a scan
//! yields long runs of rows with the same partition values. DataFusion's
//! partial aggregate still hashes every row's key and updates grouped
//! accumulators row by row: in `GROUP BY event_date` over 10M events that
//! was a third of the query. [`RunAggregate`] replaces a partial
//! aggregate whose keys are all partition columns with
//! a [`crate::partial::PartialExec`] (shown as `RunAggregateExec`), which cuts each batch into runs of equal keys
//! (one comparison per row, one run per batch from one file) and feeds
//! each run to plain accumulators (a vectorized sum or count over the
//! run; `SUM(CASE WHEN p THEN 1 ELSE 0 END)` counts where `p` holds). It
//! emits one state row per run, in the partial aggregate's
//! schema, so the final aggregate above merges them as it merges any
//! partial states. Correct for any input order; fast when runs are long,
//! which is why only partition keys qualify.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Int32Type, Int64Type};
use arrow::compute::partition;
use datafusion::common::config::ConfigOptions;
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use futures::StreamExt;

use crate::partial::{plain_partial, Feed, Strategy};

/// The physical optimizer rule; see the module doc.
#[derive(Debug, Default)]
pub struct RunAggregate;

impl PhysicalOptimizerRule for RunAggregate {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        crate::partial::replace(plan, |agg| qualifies(agg).then_some(Strategy::Runs))
    }

    fn name(&self) -> &str {
        "authlake_run_aggregate"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A plain partial aggregate ([`plain_partial`]) whose group keys are all
/// partition columns.
fn qualifies(agg: &AggregateExec) -> bool {
    plain_partial(agg)
        && agg.group_expr().expr().iter().all(|(e, _)| {
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

/// The partial states of `agg` over `input`, run by run (module doc).
pub(crate) fn stream(agg: Arc<AggregateExec>, input: SendableRecordBatchStream) -> Result<SendableRecordBatchStream> {
    let schema = agg.schema();
    let mut runs = Runs::new(agg);
    let stream = futures::stream::once(async move {
        let mut input = input;
        while let Some(batch) = input.next().await {
            runs.update(&batch?)?;
        }
        runs.finish()
    });
    Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
}

/// One run of equal keys being aggregated.
struct Run {
    key: Vec<ScalarValue>,
    accumulators: Vec<Box<dyn Accumulator>>,
}

/// Whether every row of `key` holds the same value (checked for the
/// types of partition values; others are cut into runs).
fn constant(key: &ArrayRef) -> bool {
    fn same<T: PartialEq>(values: &[T]) -> bool {
        values.iter().all(|v| *v == values[0])
    }
    if key.is_empty() || key.null_count() > 0 {
        return false;
    }
    match key.data_type() {
        DataType::Date32 => same(key.as_primitive::<Date32Type>().values()),
        DataType::Int32 => same(key.as_primitive::<Int32Type>().values()),
        DataType::Int64 => same(key.as_primitive::<Int64Type>().values()),
        DataType::Utf8 => {
            let strings = key.as_string::<i32>();
            strings.iter().all(|s| s == Some(strings.value(0)))
        }
        DataType::Dictionary(..) => key.as_any_dictionary().values().len() == 1,
        _ => false,
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
        let input = agg.input().schema();
        let feeds = agg.aggr_expr().iter().map(|a| Feed::of(a, &input)).collect();
        Runs { agg, feeds, current: None, done: Vec::new() }
    }

    fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let eval = |e: &Arc<dyn PhysicalExpr>| e.evaluate(batch).and_then(|v| v.into_array(batch.num_rows()));
        let keys: Vec<ArrayRef> = self.agg.group_expr().expr().iter().map(|(e, _)| eval(e)).collect::<Result<_>>()?;
        let args: Vec<Vec<ArrayRef>> = self.feeds.iter_mut().map(|f| f.evaluate(batch)).collect::<Result<_>>()?;
        // A batch from one file is one run; cutting it would compare
        // every row with the next.
        let runs = match keys.iter().all(constant) {
            true => std::iter::once(0..batch.num_rows()).collect(),
            false => partition(&keys)?.ranges(),
        };
        for run in runs {
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
            .map(|(values, field)| match values.is_empty() {
                true => Ok(arrow::array::new_empty_array(field.data_type())),
                false => ScalarValue::iter_to_array(values),
            })
            .collect::<Result<Vec<_>>>()?;
        crate::partial::states_batch(&self.agg, arrays)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arrow::util::pretty::pretty_format_batches;
    use authlake_lake::Lake;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// 600 events over three days and three categories, in an order that
    /// mixes days, with nulls in the grouped and counted columns.
    pub(crate) async fn lake() -> (tempfile::TempDir, Lake) {
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

    pub(crate) async fn answer(ctx: &SessionContext, sql: &str) -> (String, String) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let plan = datafusion::physical_plan::displayable(plan.as_ref()).indent(false).to_string();
        (pretty_format_batches(&df.collect().await.unwrap()).unwrap().to_string(), plan)
    }

    #[test]
    fn a_batch_is_one_run_only_when_every_row_has_the_key() {
        use arrow::array::{Date32Array, DictionaryArray, StringArray};
        use arrow::datatypes::UInt16Type;
        let one: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from(vec![20_000; 9])),
            Arc::new(StringArray::from(vec!["auth"; 9])),
            Arc::new(DictionaryArray::<UInt16Type>::from_iter(["auth"; 9])),
        ];
        let mixed: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from(vec![20_000, 20_000, 20_001])),
            Arc::new(Date32Array::from(vec![Some(20_000), None, Some(20_000)])),
            Arc::new(StringArray::from(vec!["auth", "auth", "admin"])),
            Arc::new(DictionaryArray::<UInt16Type>::from_iter(["auth", "admin"])),
            Arc::new(arrow::array::Float64Array::from(vec![1.0, 1.0])),
        ];
        assert!(one.iter().all(constant));
        assert!(mixed.iter().all(|k| !constant(k)));
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
