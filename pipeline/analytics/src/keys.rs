//! Partial aggregation by codes, for queries grouped by strings.
//!
//! Security questions group by a few short strings: risk level and
//! decision, outcome, event type. DataFusion's partial aggregate hashes
//! every row's strings and compares them with the group's stored copy; in
//! `risk_mix` over 10M events that was a sixth of the query. [`KeyAggregate`]
//! replaces a partial aggregate whose keys are all strings read as views
//! with a [`crate::partial::PartialExec`] (shown as `KeyAggregateExec`) that, a column at
//! a time, gives each row the small code of its string
//! ([`crate::codes::Codes`]: a row with the view of the row before takes
//! its code with no lookup, a few views are scanned, others hashed), then
//! gives each row the group of its codes (a dense table while the codes
//! are few), and feeds DataFusion's grouped accumulators
//! (`SUM(CASE WHEN p THEN 1 ELSE 0 END)` counts where `p` holds, as in
//! [`crate::runs`]).
//!
//! It emits the partial aggregate's schema. Past `max_groups` groups it
//! emits the states so far and starts a new table, so a key of many
//! distinct values (a user name) holds no more than that in memory; the
//! final aggregate merges a group emitted twice as any partial states.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringViewBuilder};
use arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::ExecutionPlan;
use futures::StreamExt;

use crate::codes::{Codes, Groups};
use crate::partial::{counted_condition, plain_partial, Feed, Strategy};

/// Groups held before the states so far are emitted (module doc).
pub const MAX_GROUPS: usize = 1 << 16;

/// Key columns a group's codes are packed for.
const MAX_KEYS: usize = 4;


/// The physical optimizer rule; see the module doc.
#[derive(Debug)]
pub struct KeyAggregate {
    /// Groups held before emitting; [`MAX_GROUPS`] but in tests.
    pub max_groups: usize,
}

impl Default for KeyAggregate {
    fn default() -> Self {
        KeyAggregate { max_groups: MAX_GROUPS }
    }
}

impl PhysicalOptimizerRule for KeyAggregate {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        crate::partial::replace(plan, |agg| qualifies(agg).then_some(Strategy::Keys { max_groups: self.max_groups }))
    }

    fn name(&self) -> &str {
        "authlake_key_aggregate"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A plain partial aggregate ([`plain_partial`]) with up to [`MAX_KEYS`]
/// keys, all strings read as views, and aggregates with grouped
/// accumulators.
fn qualifies(agg: &AggregateExec) -> bool {
    let input = agg.input().schema();
    let keys = agg.group_expr().expr();
    plain_partial(agg)
        && keys.len() <= MAX_KEYS
        && keys.iter().all(|(e, _)| e.data_type(&input).is_ok_and(|t| t == DataType::Utf8View))
        && agg.aggr_expr().iter().all(|a| counted_condition(a).is_some() || a.groups_accumulator_supported())
}

/// The partial states of `agg` over `input`, by codes (module doc).
pub(crate) fn stream(
    agg: Arc<AggregateExec>,
    input: SendableRecordBatchStream,
    max_groups: usize,
) -> Result<SendableRecordBatchStream> {
    let schema = agg.schema();
    let table = Table::new(agg, max_groups)?;
    let stream = futures::stream::try_unfold((input, table, false), |(mut input, mut table, ended)| async move {
        if ended {
            return Ok(None);
        }
        while let Some(batch) = input.next().await {
            table.update(&batch?)?;
            if table.full() {
                let states = table.emit()?;
                return Ok(Some((states, (input, table, false))));
            }
        }
        let states = table.emit()?;
        Ok(Some((states, (input, table, true))))
    });
    Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
}

/// An aggregate's grouped state.
enum Accumulator {
    Grouped(Box<dyn GroupsAccumulator>),
    /// `SUM(CASE WHEN p THEN 1 ELSE 0 END)`: the rows where `p` holds.
    CountTrue(Vec<i64>),
}

/// One stream's groups and their states.
struct Table {
    agg: Arc<AggregateExec>,
    max_groups: usize,
    feeds: Vec<Feed>,
    /// Each key column's codes, and the groups of codes.
    columns: Vec<Codes>,
    groups: Groups<MAX_KEYS>,
    accumulators: Vec<Accumulator>,
    /// Per batch: each key column's codes, each row's group.
    row_codes: Vec<Vec<u32>>,
    row_groups: Vec<usize>,
}

impl Table {
    fn new(agg: Arc<AggregateExec>, max_groups: usize) -> Result<Self> {
        let input = agg.input().schema();
        let feeds: Vec<Feed> = agg.aggr_expr().iter().map(|a| Feed::of(a, &input)).collect();
        let keys = agg.group_expr().expr().len();
        let mut table = Table {
            agg,
            max_groups,
            feeds,
            columns: Vec::new(),
            groups: Groups::new(),
            accumulators: Vec::new(),
            row_codes: vec![Vec::new(); keys],
            row_groups: Vec::new(),
        };
        table.reset()?;
        Ok(table)
    }

    /// An empty table, as after `emit`.
    fn reset(&mut self) -> Result<()> {
        self.columns = self.row_codes.iter().map(|_| Codes::new()).collect();
        self.groups = Groups::new();
        self.accumulators = self
            .feeds
            .iter()
            .map(|f| match f.count_true {
                true => Ok(Accumulator::CountTrue(Vec::new())),
                false => f.aggregate.create_groups_accumulator().map(Accumulator::Grouped),
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn full(&self) -> bool {
        self.groups.len() >= self.max_groups
    }

    fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(());
        }
        let eval = |e: &Arc<dyn PhysicalExpr>| e.evaluate(batch).and_then(|v| v.into_array(rows));
        // Each key column's codes, then each row's group.
        for (((key, _), codes), out) in self.agg.group_expr().expr().iter().zip(&mut self.columns).zip(&mut self.row_codes) {
            codes.code_rows(eval(key)?.as_string_view(), out);
        }
        let counts: Vec<usize> = self.columns.iter().map(Codes::len).collect();
        self.groups.group_rows(&self.row_codes, &counts, &mut self.row_groups);
        // Each aggregate over its arguments, by group.
        let groups = self.groups.len();
        for (feed, acc) in self.feeds.iter_mut().zip(&mut self.accumulators) {
            let args = feed.evaluate(batch)?;
            match acc {
                Accumulator::Grouped(acc) => acc.update_batch(&args, &self.row_groups, None, groups)?,
                Accumulator::CountTrue(counts) => {
                    counts.resize(groups, 0);
                    let holds: &BooleanArray = args[0].as_boolean();
                    let holds = match holds.nulls() {
                        Some(nulls) => holds.values() & nulls.inner(),
                        None => holds.values().clone(),
                    };
                    for row in holds.set_indices() {
                        counts[self.row_groups[row]] += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// The states of every group so far, in the partial schema; the table
    /// starts again empty.
    fn emit(&mut self) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (k, codes) in self.columns.iter().enumerate() {
            let mut keys = StringViewBuilder::with_capacity(self.groups.len());
            for group in self.groups.codes() {
                keys.append_option(codes.value(group[k]));
            }
            columns.push(Arc::new(keys.finish()));
        }
        for acc in &mut self.accumulators {
            match acc {
                Accumulator::Grouped(acc) => columns.extend(acc.state(EmitTo::All)?),
                Accumulator::CountTrue(counts) => {
                    counts.resize(self.groups.len(), 0);
                    columns.push(Arc::new(Int64Array::from(std::mem::take(counts))));
                }
            }
        }
        let states = crate::partial::states_batch(&self.agg, columns)?;
        self.reset()?;
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::tests::{answer, lake};
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    #[tokio::test]
    async fn codes_answer_as_hash_aggregation_does() {
        let (_dir, lake) = lake().await;
        let events = crate::lake_context(&lake).await.unwrap().table_provider("events").await.unwrap();
        // Small batches, and a table that fills after 5 groups: a group is
        // emitted more than once and merged above.
        let config = || SessionConfig::new().with_target_partitions(3).with_batch_size(7);
        let ruled = SessionContext::new_with_state(
            SessionStateBuilder::new()
                .with_config(config())
                .with_default_features()
                .with_physical_optimizer_rule(Arc::new(KeyAggregate { max_groups: 5 }))
                .build(),
        );
        ruled.register_udf(crate::coalesce::Coalesce::udf());
        let plain = SessionContext::new_with_config(config());
        for ctx in [&ruled, &plain] {
            ctx.register_table("events", Arc::clone(&events)).unwrap();
        }
        let cases = [
            ("SELECT outcome, event_type, COUNT(*), SUM(CASE WHEN username = 'u3' THEN 1 ELSE 0 END), AVG(token_size_bytes), MIN(event_time), MAX(username) FROM events GROUP BY 1, 2 ORDER BY 1, 2", true),
            ("SELECT COALESCE(username, 'none') AS u, event_type, COUNT(*), COUNT(username), SUM(token_size_bytes) FROM events WHERE outcome <> 'success' GROUP BY 1, 2 ORDER BY 1, 2", true),
            // A null key is a group of its own; long strings are keys too.
            ("SELECT username, event_type || ' of a longer key', outcome, COUNT(*) FROM events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", true),
            // Not strings, or an aggregate that must see its rows filtered:
            // left to DataFusion.
            ("SELECT token_size_bytes % 5, COUNT(*) FROM events GROUP BY 1 ORDER BY 1", false),
            ("SELECT outcome, username, COUNT(*) FILTER (WHERE event_type = 'sign_in') FROM events GROUP BY 1, 2 ORDER BY 1, 2", false),
        ];
        for (sql, keyed) in cases {
            let got = keyed_as_plain(&ruled, &plain, sql, keyed).await;
            assert!(got.lines().count() > 7, "{sql} answered too little to compare:\n{got}");
        }

        // Two batches in one stream, each long string at offset 0 of the
        // batch's buffer with the same length and prefix: equal views,
        // different strings.
        let batch = |v: &str| {
            let s: ArrayRef = Arc::new(arrow::array::StringViewArray::from(vec![v, v, "short"]));
            RecordBatch::try_from_iter([("s", s)]).unwrap()
        };
        let (one, two) = (batch("a string longer than twelve: 1"), batch("a string longer than twelve: 2"));
        let table = Arc::new(datafusion::datasource::MemTable::try_new(one.schema(), vec![vec![one, two]]).unwrap());
        for ctx in [&ruled, &plain] {
            ctx.register_table("views", table.clone()).unwrap();
        }
        let got = keyed_as_plain(&ruled, &plain, "SELECT s, COUNT(*) AS n FROM views GROUP BY s ORDER BY s", true).await;
        assert!(got.contains("| a string longer than twelve: 2 | 2 |"), "{got}");
    }

    /// The answer of `sql`, after checking it is the plain session's and
    /// that the rule was used exactly when `keyed`.
    async fn keyed_as_plain(ruled: &SessionContext, plain: &SessionContext, sql: &str, keyed: bool) -> String {
        let (got, plan) = answer(ruled, sql).await;
        let (want, plain_plan) = answer(plain, sql).await;
        assert_eq!(got, want, "{sql}\n{plan}");
        assert_eq!(plan.contains("KeyAggregateExec"), keyed, "{sql}\n{plan}");
        assert!(!plain_plan.contains("KeyAggregateExec"));
        got
    }
}
