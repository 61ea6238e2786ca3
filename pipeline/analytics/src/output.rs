//! Rendering query results.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;

/// How `authlake query` prints results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    /// One JSON object per row and line.
    Ndjson,
    Csv,
}

/// Renders batches in `format`. JSON is an array of row objects with every
/// column present (nulls as `null`), `[]` when there are no rows.
pub fn render(schema: &SchemaRef, batches: &[RecordBatch], format: Format) -> Result<String, ArrowError> {
    match format {
        Format::Table => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                let header: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return Ok(format!("{}\n(0 rows)\n", header.join(" | ")));
            }
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            Ok(format!("{}\n({rows} rows)\n", arrow::util::pretty::pretty_format_batches(batches)?))
        }
        Format::Json => {
            let text = json_rows::<arrow::json::writer::JsonArray>(batches)?;
            Ok(if text.trim().is_empty() { "[]\n".into() } else { format!("{text}\n") })
        }
        Format::Ndjson => json_rows::<arrow::json::writer::LineDelimited>(batches),
        Format::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut buf);
                if batches.is_empty() {
                    w.write(&RecordBatch::new_empty(schema.clone()))?;
                }
                for b in batches {
                    w.write(b)?;
                }
            }
            String::from_utf8(buf).map_err(|e| ArrowError::ExternalError(Box::new(e)))
        }
    }
}

/// The rows as JSON objects (every column, nulls as `null`), framed by `F`.
fn json_rows<F: arrow::json::writer::JsonFormat>(batches: &[RecordBatch]) -> Result<String, ArrowError> {
    let mut w = arrow::json::WriterBuilder::new().with_explicit_nulls(true).build::<_, F>(Vec::new());
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    String::from_utf8(w.into_inner()).map_err(|e| ArrowError::ExternalError(Box::new(e)))
}
