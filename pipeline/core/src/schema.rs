//! Arrow schemas of the lake's tables and the conversion of rows into
//! record batches.
//!
//! Data files hold the *file schema*: every column but the partition
//! columns, which Hive-aware readers take from the directory names.

use std::sync::{Arc, OnceLock};

use arrow::array::{new_null_array, ArrayRef, RecordBatch, StringBuilder, TimestampMicrosecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;

use crate::columns::{EventColumns, Kind, RowRef, COLUMNS};
use crate::event::{AuthEvent, DeadLetter};

/// Partition columns of `events`, in path order.
pub const PARTITION_COLUMNS: [&str; 2] = ["category", "event_date"];

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Schema of an `events` data file (no partition columns), from the
/// column declaration ([`crate::columns::COLUMNS`]).
pub fn events_file_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields = COLUMNS.iter().map(|c| {
                let (data_type, nullable) = match c.kind {
                    Kind::Text => (DataType::Utf8, false),
                    Kind::Time => (ts(), false),
                    Kind::Opt => (DataType::Utf8, true),
                    Kind::Flag => (DataType::Boolean, true),
                    Kind::Int => (DataType::Int64, true),
                };
                Field::new(c.name, data_type, nullable)
            });
            Arc::new(Schema::new(fields.collect::<Vec<_>>()))
        })
        .clone()
}

/// Schema of the `events` table as queried: file columns, then partitions.
pub fn events_table_schema() -> SchemaRef {
    let mut fields: Vec<Field> =
        events_file_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let [category, event_date] = PARTITION_COLUMNS;
    fields.push(Field::new(category, DataType::Utf8, false));
    fields.push(Field::new(event_date, DataType::Date32, false));
    Arc::new(Schema::new(fields))
}

/// `batch`, read from an `events` file of any schema version, with the
/// current file schema: columns added since are null.
pub fn conform_events(batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = events_file_schema();
    if batch.schema() == schema {
        return Ok(batch);
    }
    let columns = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => Ok(c.clone()),
            None if f.is_nullable() => Ok(new_null_array(f.data_type(), batch.num_rows())),
            None => Err(ArrowError::SchemaError(format!("events file without the required column {}", f.name()))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}

/// Schema of the `erasures` table: one row per identifier of a subject
/// `authlake forget` erased, kept only as a keyed HMAC (the key is not in
/// the lake, so the table names no one to a reader without it).
pub fn erasures_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("erased_at", ts(), false),
                Field::new("events_version", DataType::Int64, false),
                Field::new("identifier_hmac", DataType::Utf8, false),
                Field::new("rows_erased", DataType::Int64, false),
                Field::new("dead_letters_erased", DataType::Int64, false),
                Field::new("files_rewritten", DataType::Int64, false),
                Field::new("files_deleted", DataType::Int64, false),
            ]))
        })
        .clone()
}

/// Schema of the `findings` table: one row per revision of a detection
/// finding, in the shape of OCSF's Detection Finding (class 2004).
pub fn findings_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    let list = || DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("finding_id", DataType::Utf8, false),
                Field::new("revision", DataType::Int64, false),
                Field::new("detected_at", ts(), false),
                Field::new("rule_id", DataType::Utf8, false),
                Field::new("rule_title", DataType::Utf8, false),
                Field::new("rule_level", DataType::Utf8, false),
                Field::new("rule_tags", list(), false),
                Field::new("window_start", ts(), false),
                Field::new("window_end", ts(), false),
                Field::new("group_by", DataType::Utf8, false),
                Field::new("user_pool_id", DataType::Utf8, true),
                Field::new("user_key", DataType::Utf8, true),
                Field::new("ip_address", DataType::Utf8, true),
                Field::new("device_name", DataType::Utf8, true),
                Field::new("event_count", DataType::Int64, false),
                Field::new("value_count", DataType::Int64, true),
                Field::new("first_seen", ts(), false),
                Field::new("last_seen", ts(), false),
                Field::new("evidence", list(), false),
            ]))
        })
        .clone()
}

/// Schema of a dead-letter file (table `dead_letters`).
pub fn dead_letters_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("source", DataType::Utf8, false),
                Field::new("reason", DataType::Utf8, false),
                Field::new("raw", DataType::Utf8, false),
                Field::new("raw_sha256", DataType::Utf8, false),
                Field::new("ingest_time", ts(), false),
            ]))
        })
        .clone()
}

macro_rules! req_str_col {
    ($rows:expr, $field:ident) => {{
        let mut b = StringBuilder::with_capacity($rows.len(), $rows.len() * 16);
        for r in $rows {
            b.append_value(&r.$field);
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}

/// Converts rows into a batch of the events file schema.
pub fn events_to_batch<'a>(rows: impl IntoIterator<Item = &'a AuthEvent>) -> Result<RecordBatch, ArrowError> {
    let mut columns = EventColumns::new();
    for r in rows {
        columns.push(&RowRef::of(r));
    }
    Ok(columns.finish())
}

/// Converts dead letters into a batch of the dead-letter schema.
pub fn dead_letters_to_batch(rows: &[DeadLetter]) -> Result<RecordBatch, ArrowError> {
    let ts = {
        let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len());
        rows.iter().for_each(|r| b.append_value(r.ingest_time));
        Arc::new(b.finish().with_timezone("UTC")) as ArrayRef
    };
    let columns: Vec<ArrayRef> = vec![
        req_str_col!(rows.iter(), source),
        req_str_col!(rows.iter(), reason),
        req_str_col!(rows.iter(), raw),
        req_str_col!(rows.iter(), raw_sha256),
        ts,
    ];
    RecordBatch::try_new(dead_letters_schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_matches_file_schema_and_keeps_nulls() {
        let rows = [
            AuthEvent {
                event_id: "a".into(),
                event_type: "sign_in".into(),
                mfa_passed: Some(true),
                token_size_bytes: Some(9000),
                ..Default::default()
            },
            AuthEvent { event_id: "b".into(), event_type: "other".into(), ..Default::default() },
        ];
        let batch = events_to_batch(rows.iter()).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), events_file_schema());
        let user = batch.column_by_name("username").unwrap();
        assert_eq!(user.null_count(), 2);
        assert!(events_table_schema().field_with_name("event_date").is_ok());
    }
}
