//! Arrow schemas of the lake's tables and the conversion of rows into
//! record batches.
//!
//! Data files hold the *file schema*: every column but the partition
//! columns, which Hive-aware readers take from the directory names.

use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, RecordBatch, StringBuilder, TimestampMicrosecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;

use crate::columns::{EventColumns, RowRef};
use crate::event::{AuthEvent, DeadLetter};

/// Partition columns of `events`, in path order.
pub const PARTITION_COLUMNS: [&str; 2] = ["category", "event_date"];

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Schema of an `events` data file (no partition columns).
pub fn events_file_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let s = |n: &str| Field::new(n, DataType::Utf8, true);
            let b = |n: &str| Field::new(n, DataType::Boolean, true);
            Arc::new(Schema::new(vec![
                Field::new("event_id", DataType::Utf8, false),
                Field::new("event_time", ts(), false),
                Field::new("event_time_source", DataType::Utf8, false),
                Field::new("ingest_time", ts(), false),
                Field::new("event_type", DataType::Utf8, false),
                s("outcome"),
                s("user_pool_id"),
                s("client_id"),
                s("aws_region"),
                s("account_id"),
                s("username"),
                s("user_sub"),
                s("email"),
                s("tenant_id"),
                s("ip_address"),
                s("country"),
                s("city"),
                s("device_name"),
                s("user_agent"),
                s("auth_flow"),
                s("challenge_name"),
                b("mfa_challenged"),
                b("mfa_passed"),
                s("mfa_method"),
                b("new_device"),
                s("risk_level"),
                s("risk_decision"),
                b("compromised_credentials"),
                s("error_code"),
                s("provider_name"),
                s("provider_type"),
                s("migration_source"),
                s("migration_status"),
                Field::new("token_size_bytes", DataType::Int64, true),
                Field::new("source_format", DataType::Utf8, false),
                Field::new("source", DataType::Utf8, false),
                s("raw"),
            ]))
        })
        .clone()
}

/// Schema of the `events` table as queried: file columns, then partitions.
pub fn events_table_schema() -> SchemaRef {
    let mut fields: Vec<Field> =
        events_file_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("category", DataType::Utf8, false));
    fields.push(Field::new("event_date", DataType::Date32, false));
    Arc::new(Schema::new(fields))
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
