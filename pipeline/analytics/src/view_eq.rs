//! `expr = 'constant'` over strings read as views, compared view to view.
//!
//! arrow compares a view array with a constant row by row through a
//! general path (length, prefix, then bytes) unless neither side has data
//! buffers, and arrays read from Parquet have them. A string of up to 12
//! bytes lies wholly in its 16-byte view (length, bytes, zero padding), so
//! a value equals such a constant exactly when the two views are equal: one
//! comparison a row, which the compiler vectorizes. A longer constant is
//! compared by length and 4-byte prefix (the view's low 8 bytes), and by
//! bytes only where those match.
//!
//! [`fast_eq`] rewrites the string `=`s of an expression. The aggregates
//! of [`crate::partial`] apply it to what they evaluate (`SUM(CASE WHEN
//! event_type = 'sign_in' ...)`); the scan's predicate is left alone, as
//! its pruning understands only DataFusion's own expressions.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::expressions::{BinaryExpr, Literal};
use datafusion::physical_expr::PhysicalExpr;

/// `expr` with each `=` of a string-view expression and a string constant
/// compared by views.
pub fn fast_eq(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Arc<dyn PhysicalExpr> {
    let rewritten = Arc::clone(expr).transform_up(|e| {
        let Some(eq) = e.downcast_ref::<BinaryExpr>().filter(|b| *b.op() == Operator::Eq) else {
            return Ok(Transformed::no(e));
        };
        let (left, right) = (eq.left(), eq.right());
        let (strings, constant) = match (constant(left), constant(right)) {
            (None, Some(c)) => (left, c),
            (Some(c), None) => (right, c),
            _ => return Ok(Transformed::no(e)),
        };
        if strings.data_type(schema)? != DataType::Utf8View {
            return Ok(Transformed::no(e));
        }
        let view = arrow::array::builder::make_view(constant.as_bytes(), 0, 0);
        let strings = Arc::clone(strings);
        Ok(Transformed::yes(Arc::new(ViewEq { original: e, strings, constant, view }) as Arc<dyn PhysicalExpr>))
    });
    // A rewrite that fails leaves the expression as it was.
    rewritten.map_or_else(|_| Arc::clone(expr), |t| t.data)
}

/// The string of a non-null string literal.
fn constant(e: &Arc<dyn PhysicalExpr>) -> Option<String> {
    match e.downcast_ref::<Literal>()?.value() {
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => Some(s.clone()),
        _ => None,
    }
}

/// `strings = constant`, compared by views (module doc).
#[derive(Debug, Eq)]
pub struct ViewEq {
    /// The `=` this replaces: shown, and evaluated if `strings` is not
    /// read as views after all.
    original: Arc<dyn PhysicalExpr>,
    strings: Arc<dyn PhysicalExpr>,
    constant: String,
    /// The constant's view (its bytes or its prefix; no buffer).
    view: u128,
}

impl PartialEq for ViewEq {
    fn eq(&self, other: &Self) -> bool {
        self.strings.eq(&other.strings) && self.constant == other.constant
    }
}

impl std::hash::Hash for ViewEq {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.strings.hash(state);
        self.constant.hash(state);
    }
}

impl fmt::Display for ViewEq {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.original.fmt(f)
    }
}

impl PhysicalExpr for ViewEq {
    fn data_type(&self, _schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, schema: &Schema) -> Result<bool> {
        self.strings.nullable(schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let strings = self.strings.evaluate(batch)?.into_array(batch.num_rows())?;
        let Some(strings) = strings.as_string_view_opt() else { return self.original.evaluate(batch) };
        let views = strings.views();
        let equal = match self.constant.len() <= 12 {
            true => BooleanBuffer::collect_bool(views.len(), |i| views[i] == self.view),
            false => {
                let head = self.view as u64;
                BooleanBuffer::collect_bool(views.len(), |i| {
                    views[i] as u64 == head && strings.value(i) == self.constant
                })
            }
        };
        Ok(ColumnarValue::Array(Arc::new(BooleanArray::new(equal, strings.nulls().cloned()))))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.strings]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn PhysicalExpr>>) -> Result<Arc<dyn PhysicalExpr>> {
        let strings = Arc::clone(&children[0]);
        let original = Arc::new(BinaryExpr::new(
            Arc::clone(&strings),
            Operator::Eq,
            Arc::new(Literal::new(ScalarValue::Utf8View(Some(self.constant.clone())))),
        ));
        Ok(Arc::new(ViewEq { original, strings, constant: self.constant.clone(), view: self.view }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.original.fmt_sql(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::Field;
    use datafusion::physical_expr::expressions::col;

    #[test]
    fn views_compare_as_strings_do() {
        let long = "federated_sign_in";
        let values: StringArray = (0..300)
            .map(|i| match i % 7 {
                0 => None,
                1 => Some("sign_in"),
                2 => Some(long),
                3 => Some("federated_sign_up"),
                4 => Some("sign_in_"),
                5 => Some("fede"),
                _ => Some(""),
            })
            .collect();
        let views = arrow::compute::cast(&values, &DataType::Utf8View).unwrap().slice(3, 290);
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8View, true)]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::clone(&views)]).unwrap();
        for constant in ["sign_in", long, "", "fede", "not there at all", "federated_sign_"] {
            let lit = Arc::new(Literal::new(ScalarValue::Utf8(Some(constant.into()))));
            for eq in [
                BinaryExpr::new(col("s", &schema).unwrap(), Operator::Eq, lit.clone()),
                BinaryExpr::new(lit.clone(), Operator::Eq, col("s", &schema).unwrap()),
            ] {
                let eq: Arc<dyn PhysicalExpr> = Arc::new(eq);
                let fast = fast_eq(&eq, &schema);
                assert!(fast.downcast_ref::<ViewEq>().is_some(), "{constant:?} not rewritten");
                let scalar = arrow::array::Scalar::new(arrow::array::StringViewArray::from(vec![constant]));
                let want: ArrayRef = Arc::new(arrow::compute::kernels::cmp::eq(&views, &scalar).unwrap());
                let got = fast.evaluate(&batch).unwrap().into_array(batch.num_rows()).unwrap();
                assert_eq!(&got, &want, "{constant:?}");
            }
        }
    }
}
