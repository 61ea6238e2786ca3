//! Arrow schemas of the lake's tables and the conversion of rows into
//! record batches.
//!
//! Data files hold the *file schema*: every column but the partition
//! columns, which Hive-aware readers take from the directory names.

use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;

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

macro_rules! str_col {
    ($rows:expr, $field:ident) => {{
        let mut b = StringBuilder::with_capacity($rows.len(), $rows.len() * 8);
        for r in $rows {
            b.append_option(r.$field.as_deref());
        }
        Arc::new(b.finish()) as ArrayRef
    }};
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

macro_rules! bool_col {
    ($rows:expr, $field:ident) => {{
        let mut b = BooleanBuilder::with_capacity($rows.len());
        for r in $rows {
            b.append_option(r.$field);
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}

macro_rules! ts_col {
    ($rows:expr, $field:ident) => {{
        let mut b = TimestampMicrosecondBuilder::with_capacity($rows.len());
        for r in $rows {
            b.append_value(r.$field);
        }
        Arc::new(b.finish().with_timezone("UTC")) as ArrayRef
    }};
}

/// Converts rows into a batch of the events file schema.
pub fn events_to_batch<'a, I>(rows: I) -> Result<RecordBatch, ArrowError>
where
    I: IntoIterator<Item = &'a AuthEvent>,
    I::IntoIter: Clone + ExactSizeIterator,
{
    let rows = rows.into_iter();
    let mut tsize = Int64Builder::with_capacity(rows.len());
    for r in rows.clone() {
        tsize.append_option(r.token_size_bytes);
    }
    let columns: Vec<ArrayRef> = vec![
        req_str_col!(rows.clone(), event_id),
        ts_col!(rows.clone(), event_time),
        req_str_col!(rows.clone(), event_time_source),
        ts_col!(rows.clone(), ingest_time),
        req_str_col!(rows.clone(), event_type),
        str_col!(rows.clone(), outcome),
        str_col!(rows.clone(), user_pool_id),
        str_col!(rows.clone(), client_id),
        str_col!(rows.clone(), aws_region),
        str_col!(rows.clone(), account_id),
        str_col!(rows.clone(), username),
        str_col!(rows.clone(), user_sub),
        str_col!(rows.clone(), email),
        str_col!(rows.clone(), tenant_id),
        str_col!(rows.clone(), ip_address),
        str_col!(rows.clone(), country),
        str_col!(rows.clone(), city),
        str_col!(rows.clone(), device_name),
        str_col!(rows.clone(), user_agent),
        str_col!(rows.clone(), auth_flow),
        str_col!(rows.clone(), challenge_name),
        bool_col!(rows.clone(), mfa_challenged),
        bool_col!(rows.clone(), mfa_passed),
        str_col!(rows.clone(), mfa_method),
        bool_col!(rows.clone(), new_device),
        str_col!(rows.clone(), risk_level),
        str_col!(rows.clone(), risk_decision),
        bool_col!(rows.clone(), compromised_credentials),
        str_col!(rows.clone(), error_code),
        str_col!(rows.clone(), provider_name),
        str_col!(rows.clone(), provider_type),
        str_col!(rows.clone(), migration_source),
        str_col!(rows.clone(), migration_status),
        Arc::new(tsize.finish()),
        req_str_col!(rows.clone(), source_format),
        req_str_col!(rows.clone(), source),
        str_col!(rows, raw),
    ];
    RecordBatch::try_new(events_file_schema(), columns)
}

/// Converts dead letters into a batch of the dead-letter schema.
pub fn dead_letters_to_batch(rows: &[DeadLetter]) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        req_str_col!(rows.iter(), source),
        req_str_col!(rows.iter(), reason),
        req_str_col!(rows.iter(), raw),
        req_str_col!(rows.iter(), raw_sha256),
        ts_col!(rows.iter(), ingest_time),
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
