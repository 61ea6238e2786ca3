//! `COALESCE` evaluated as a function where that is safe.
//!
//! DataFusion rewrites every `COALESCE(a, b, ...)` into
//! `CASE WHEN a IS NOT NULL THEN a ... ELSE last END`, which evaluates
//! lazily: it filters the batch into the rows each branch covers, then
//! merges the branch results back together. For the common case of a
//! column with a fallback constant (`COALESCE(risk_level, 'none')`) that
//! filtering and merging was 30% of `risk_mix`. [`Coalesce`] keeps the
//! call a function when every argument after the first is a column or a
//! literal (evaluating them eagerly cannot fail or cost more than reading
//! them) and fills the first argument's nulls in one pass: for strings read
//! as views, null rows take the constant's view and no string is copied;
//! other types take one gather. Anything else
//! still becomes DataFusion's `CASE`, so `COALESCE(x, 1 / 0)` behaves as
//! before.

use arrow::array::{Array, ArrayRef, AsArray, GenericByteViewArray};
use arrow::buffer::{Buffer, NullBuffer, ScalarBuffer};
use arrow::compute::{interleave, is_not_null, kernels::zip::zip};
use arrow::datatypes::{BinaryViewType, ByteViewType, DataType, FieldRef, StringViewType};
use std::sync::Arc;
use datafusion::common::Result;
use datafusion::functions::core::coalesce::CoalesceFunc;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// DataFusion's `coalesce` with an eager evaluation (module doc).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct Coalesce {
    inner: CoalesceFunc,
}

impl Coalesce {
    /// The function to register in place of the built-in `coalesce`.
    pub fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(Coalesce::default())
    }
}

impl ScalarUDFImpl for Coalesce {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let plain = |e: &Expr| matches!(e, Expr::Column(_) | Expr::Literal(..));
        match args.len() > 1 && args[1..].iter().all(plain) {
            true => Ok(ExprSimplifyResult::Original(args)),
            false => self.inner.simplify(args, info),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut values = args.args.into_iter().rev();
        let Some(mut result) = values.next() else {
            return datafusion::common::plan_err!("coalesce must have at least one argument");
        };
        for value in values {
            result = first_valid(value, result)?;
        }
        Ok(result)
    }

    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }

    fn conditional_arguments<'a>(&self, args: &'a [Expr]) -> Option<(Vec<&'a Expr>, Vec<&'a Expr>)> {
        self.inner.conditional_arguments(args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// `value` where it is not null, else `fallback`.
fn first_valid(value: ColumnarValue, fallback: ColumnarValue) -> Result<ColumnarValue> {
    let array = match value {
        ColumnarValue::Scalar(s) if s.is_null() => return Ok(fallback),
        ColumnarValue::Scalar(s) => return Ok(ColumnarValue::Scalar(s)),
        ColumnarValue::Array(a) => a,
    };
    let Some(nulls) = array.logical_nulls().filter(|n| n.null_count() > 0) else {
        return Ok(ColumnarValue::Array(array));
    };
    let filled = match fallback {
        // A constant fallback (the common case): neither filters nor merges.
        ColumnarValue::Scalar(s) if s.is_null() => array,
        ColumnarValue::Scalar(s) => {
            let fill = s.to_array_of_size(1)?;
            match (array.data_type(), fill.data_type()) {
                (DataType::Utf8View, DataType::Utf8View) => {
                    return Ok(ColumnarValue::Array(fill_views::<StringViewType>(&array, &nulls, &fill)?));
                }
                (DataType::BinaryView, DataType::BinaryView) => {
                    return Ok(ColumnarValue::Array(fill_views::<BinaryViewType>(&array, &nulls, &fill)?));
                }
                _ => {}
            }
            let picks: Vec<(usize, usize)> =
                (0..array.len()).map(|i| if nulls.is_valid(i) { (0, i) } else { (1, 0) }).collect();
            interleave(&[array.as_ref(), fill.as_ref()], &picks)?
        }
        ColumnarValue::Array(f) => zip(&is_not_null(&array)?, &array, &f)?,
    };
    Ok(ColumnarValue::Array(filled))
}

/// The views of `array` with its null rows pointing at `fill`'s one value:
/// a pass over 16-byte views, no string copied. A fill of up to 12 bytes
/// lives in its view; a longer one becomes one more data buffer.
fn fill_views<T: ByteViewType>(array: &ArrayRef, nulls: &NullBuffer, fill: &ArrayRef) -> Result<ArrayRef> {
    let (array, fill) = (array.as_byte_view::<T>(), fill.as_byte_view::<T>());
    let mut buffers = array.data_buffers().to_vec();
    let bytes: &[u8] = fill.value(0).as_ref();
    let fill_view = match bytes.len() {
        0..=12 => fill.views()[0],
        _ => {
            buffers.push(Buffer::from(bytes));
            arrow::array::builder::make_view(bytes, (buffers.len() - 1) as u32, 0)
        }
    };
    // 64 rows per validity word: a select the compiler can vectorize, where
    // a bit-by-bit iterator cost as much as the gather it replaced.
    let mut views = Vec::with_capacity(array.len());
    for (chunk, valid) in array.views().chunks(64).zip(nulls.inner().bit_chunks().iter_padded()) {
        views.extend(chunk.iter().enumerate().map(|(j, &v)| if valid >> j & 1 != 0 { v } else { fill_view }));
    }
    let views = ScalarBuffer::from(views);
    // SAFETY: each view is one of `array`'s (valid against its buffers,
    // kept at the same indexes) or the fill's (inline, or pointing at the
    // buffer pushed last, which holds exactly its bytes). `try_new` would
    // check every view again, UTF-8 included: slower than the gather.
    #[allow(unsafe_code)]
    Ok(Arc::new(unsafe { GenericByteViewArray::<T>::new_unchecked(views, buffers, None) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;

    async fn answer(ctx: &SessionContext, sql: &str) -> Result<String> {
        let df = ctx.sql(sql).await?;
        Ok(pretty_format_batches(&df.collect().await?)?.to_string())
    }

    #[tokio::test]
    async fn coalesce_answers_as_datafusion_does() {
        let batch = RecordBatch::try_from_iter([
            ("s", Arc::new(StringArray::from(vec![Some("a"), None, Some("a string longer than twelve"), None, Some("")])) as ArrayRef),
            ("t", Arc::new(StringArray::from(vec![None, Some("t1"), None, None, Some("t4")])) as ArrayRef),
            ("n", Arc::new(Int64Array::from(vec![None, Some(1), Some(2), None, Some(0)])) as ArrayRef),
            ("m", Arc::new(Int64Array::from(vec![Some(7), None, Some(8), None, Some(9)])) as ArrayRef),
        ])
        .unwrap();
        let ctx_for = |ours: bool| {
            let ctx = SessionContext::new();
            if ours {
                ctx.register_udf(Coalesce::udf());
            }
            // Strings as views, as lake queries read them.
            let views = arrow::compute::cast(batch.column(0), &DataType::Utf8View).unwrap();
            let views_t = arrow::compute::cast(batch.column(1), &DataType::Utf8View).unwrap();
            let b = RecordBatch::try_from_iter([
                ("s", views),
                ("t", views_t),
                ("n", Arc::clone(batch.column(2))),
                ("m", Arc::clone(batch.column(3))),
            ])
            .unwrap();
            ctx.register_table("x", Arc::new(MemTable::try_new(b.schema(), vec![vec![b]]).unwrap())).unwrap();
            ctx
        };
        let (ours, builtin) = (ctx_for(true), ctx_for(false));
        for sql in [
            "SELECT COALESCE(s, 'none') AS c FROM x",
            "SELECT COALESCE(s, 'a fallback longer than twelve bytes') AS c FROM x",
            "SELECT COALESCE(s, t) AS c, COALESCE(s, t, 'z') AS d, COALESCE(NULL, s, 'y') AS e FROM x",
            "SELECT COALESCE(n, m) AS c, COALESCE(n, 5) AS d, COALESCE(n, m, -1) AS e, COALESCE(n) AS f FROM x",
            "SELECT COALESCE(s, 'none') AS k, COUNT(*) AS c FROM x GROUP BY 1 ORDER BY 1",
            // Not plain: stays a CASE, which never evaluates 1 / 0 here.
            "SELECT COALESCE(m, 1 / n) AS c FROM x WHERE m IS NOT NULL",
        ] {
            assert_eq!(answer(&ours, sql).await.unwrap(), answer(&builtin, sql).await.unwrap(), "{sql}");
        }
        // The view fill itself, against the general gather, with a fill in
        // its view and one in a buffer of its own.
        let many: StringArray = (0..150).map(|i| (i % 3 != 0).then(|| format!("value {i} of a long column"))).collect();
        let many = arrow::compute::cast(&many, &DataType::Utf8View).unwrap().slice(5, 140);
        let few = arrow::compute::cast(batch.column(0), &DataType::Utf8View).unwrap();
        let long = "a fallback longer than twelve bytes";
        for (s, fill) in [(&few, "none"), (&few, long), (&many, "none"), (&many, long)] {
            let fill = datafusion::common::ScalarValue::Utf8View(Some(fill.into()));
            let ours = first_valid(ColumnarValue::Array(Arc::clone(s)), ColumnarValue::Scalar(fill.clone())).unwrap();
            let ColumnarValue::Array(ours) = ours else { panic!("an array in, an array out") };
            let fill = fill.to_array_of_size(1).unwrap();
            let picks: Vec<_> = (0..s.len()).map(|i| if s.is_valid(i) { (0, i) } else { (1, 0) }).collect();
            let gathered = interleave(&[s.as_ref(), fill.as_ref()], &picks).unwrap();
            assert_eq!(ours.as_string_view().iter().collect::<Vec<_>>(), gathered.as_string_view().iter().collect::<Vec<_>>());
            assert_eq!(ours.null_count(), 0);
        }
        let plan = answer(&ours, "EXPLAIN SELECT COALESCE(s, 'none') FROM x").await.unwrap();
        assert!(plan.contains("coalesce(") && !plan.contains("CASE"), "{plan}");
        let plan = answer(&ours, "EXPLAIN SELECT COALESCE(m, 1 / n) FROM x").await.unwrap();
        assert!(plan.contains("CASE"), "{plan}");
    }
}
