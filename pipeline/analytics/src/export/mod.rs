//! Compliance exports: the selected events as Parquet, CSV, JSON lines or
//! OCSF, with a manifest of SHA-256 digests that `verify` checks.
//!
//! - [`manifest`]: the manifest and its verification.
//! - [`signature`]: Ed25519 and HMAC signatures of the manifest.
//! - [`ocsf`]: the OCSF mapping.
//! - [`redact`]: keyed pseudonyms for personal data.

pub mod manifest;
pub mod ocsf;
pub mod redact;
pub mod signature;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use authlake_lake::Lake;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{json, Map, Value};

use crate::context::lake_context_at;
use manifest::{sha256_file, ExportFile, Manifest};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Parquet,
    Csv,
    Jsonl,
    Ocsf,
}

impl ExportFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Parquet => "parquet",
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
            Self::Ocsf => "ocsf",
        }
    }
}

/// What to export and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Inclusive start, µs since the epoch.
    pub from: i64,
    /// Exclusive end, µs since the epoch.
    pub to: i64,
    pub user_pool: Option<String>,
    pub tenant: Option<String>,
    /// A username or a sub; rows carrying only the other are found through
    /// the lake's own username/sub pairs.
    pub user: Option<String>,
    pub event_types: Vec<String>,
    pub format: ExportFormat,
    /// OCSF only: write the Amazon Security Lake custom-source layout.
    pub security_lake: bool,
    /// `--redact` names (ip, email, username, sub, device).
    pub redact: Vec<String>,
    pub redact_key: Option<Vec<u8>>,
    /// Signs the manifest (Ed25519 or HMAC).
    pub sign_key: Option<signature::SigningKey>,
    pub out: PathBuf,
    /// Read the lake as of this version or moment (`None`: now).
    pub as_of: Option<authlake_lake::AsOf>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(transparent)]
    Query(#[from] crate::QueryError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error(transparent)]
    Lake(#[from] authlake_lake::LakeError),
}

/// SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// 9999-12-31T23:59:59.999999Z, the last instant a timestamp can hold.
const LAST_MICROS: i64 = 253_402_300_799_999_999;

fn iso(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn day(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default().format("%Y-%m-%d").to_string()
}

/// The selection as SQL over `events` (partition-pruned on `event_date`).
pub fn selection_sql(o: &ExportOptions) -> String {
    // An end past 9999-12-31 (`--to 9999-12-31` is the end of that day)
    // bounds nothing, and SQL timestamps cannot spell it.
    let mut w = if o.to <= LAST_MICROS {
        vec![
            format!("event_date >= DATE {} AND event_date <= DATE {}", lit(&day(o.from)), lit(&day(o.to))),
            format!("event_time >= TIMESTAMP {} AND event_time < TIMESTAMP {}", lit(&iso(o.from)), lit(&iso(o.to))),
        ]
    } else {
        vec![format!("event_date >= DATE {}", lit(&day(o.from))), format!("event_time >= TIMESTAMP {}", lit(&iso(o.from)))]
    };
    if let Some(p) = &o.user_pool {
        w.push(format!("user_pool_id = {}", lit(p)));
    }
    if let Some(t) = &o.tenant {
        w.push(format!("tenant_id = {}", lit(t)));
    }
    if let Some(u) = &o.user {
        w.push(user_predicate(u));
    }
    if !o.event_types.is_empty() {
        let list: Vec<String> = o.event_types.iter().map(|t| lit(t)).collect();
        w.push(format!("event_type IN ({})", list.join(", ")));
    }
    format!("SELECT * FROM events WHERE {} ORDER BY event_time, event_id", w.join("\n  AND "))
}

/// Rows of one person, given a username or a sub: also the rows that carry
/// only the other identifier, through the pairs the lake itself holds.
pub fn user_predicate(u: &str) -> String {
    let u = lit(u);
    format!(
        "(username = {u} OR user_sub = {u}
    OR user_sub IN (SELECT DISTINCT user_sub FROM events WHERE username = {u} AND user_sub IS NOT NULL)
    OR username IN (SELECT DISTINCT username FROM events WHERE user_sub = {u} AND username IS NOT NULL))"
    )
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportSummary {
    pub rows: u64,
    pub files: usize,
    pub dir: PathBuf,
    /// The events table's version read.
    pub table_version: Option<u64>,
}

/// Runs an export into `o.out`, which must not exist or be empty.
pub async fn export(lake: &Lake, o: &ExportOptions, progress: &(dyn Fn(u64) + Sync)) -> Result<ExportSummary, ExportError> {
    if o.from >= o.to {
        return Err(ExportError::Invalid("--from must be before --to".into()));
    }
    if o.security_lake && o.format != ExportFormat::Ocsf {
        return Err(ExportError::Invalid("--layout security-lake goes with --format ocsf".into()));
    }
    let redact_cols = redact::columns_for(&o.redact).map_err(ExportError::Invalid)?;
    if !redact_cols.is_empty() && o.redact_key.is_none() {
        return Err(ExportError::Invalid("--redact needs --redact-key FILE (pseudonyms are keyed)".into()));
    }
    if o.out.exists() && std::fs::read_dir(&o.out).map_err(|e| ExportError::Io(o.out.clone(), e))?.next().is_some() {
        return Err(ExportError::Invalid(format!("{} exists and is not empty", o.out.display())));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| ExportError::Io(o.out.clone(), e))?;

    let (ctx, table_version) = lake_context_at(lake, o.as_of, false).await?;
    let sql = selection_sql(o);
    let df = ctx.sql(&sql).await?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut stream = df.execute_stream().await?;
    let mut writer = Writer::new(o, schema)?;
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let mut batch = batch?;
        if let Some(key) = &o.redact_key {
            if !redact_cols.is_empty() {
                batch = redact::redact_batch(&batch, &redact_cols, key)?;
            }
        }
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
        progress(rows);
    }
    let files = writer.finish()?;

    let mut manifest = Manifest {
        authlake_version: env!("CARGO_PKG_VERSION").into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        lake: lake.display(),
        table_version,
        format: o.format.name().into(),
        layout: if o.security_lake { "security-lake".into() } else { "files".into() },
        filters: json!({"from": iso(o.from), "to": iso(o.to), "user_pool": o.user_pool, "tenant": o.tenant, "user": o.user, "event_types": o.event_types}),
        sql,
        redacted: o.redact.clone(),
        rows,
        files: Vec::new(),
        signature: None,
    };
    for (rel, file_rows) in files {
        let (sha256, bytes) = sha256_file(&o.out.join(&rel)).map_err(|e| ExportError::Io(o.out.join(&rel), e))?;
        manifest.files.push(ExportFile { path: rel, sha256, bytes, rows: file_rows });
    }
    if let Some(key) = &o.sign_key {
        manifest.sign(key);
    }
    manifest.write(&o.out).map_err(|e| ExportError::Io(o.out.join(manifest::MANIFEST), e))?;
    Ok(ExportSummary { rows, files: manifest.files.len(), dir: o.out.clone(), table_version })
}

/// Writes batches in the chosen format; returns (relative path, rows).
enum Writer {
    Parquet(ArrowWriter<File>, u64),
    Csv(arrow::csv::Writer<BufWriter<File>>, u64),
    Jsonl(arrow::json::LineDelimitedWriter<BufWriter<File>>, u64),
    Ocsf(BufWriter<File>, u64),
    SecurityLake(PathBuf, BTreeMap<String, Vec<Value>>),
}

fn create(dir: &Path, name: &str) -> Result<File, ExportError> {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ExportError::Io(parent.to_path_buf(), e))?;
    }
    File::create(&p).map_err(|e| ExportError::Io(p, e))
}

fn parquet_props() -> WriterProperties {
    WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid level"))).build()
}

/// Rows of a batch as JSON objects with every column.
fn json_rows(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>, ExportError> {
    let mut w = arrow::json::WriterBuilder::new().with_explicit_nulls(true).build::<_, arrow::json::writer::LineDelimited>(Vec::new());
    w.write(batch)?;
    w.finish()?;
    let bytes = w.into_inner();
    Ok(bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<Map<String, Value>>(l).expect("arrow writes JSON objects"))
        .collect())
}

impl Writer {
    fn new(o: &ExportOptions, schema: SchemaRef) -> Result<Self, ExportError> {
        Ok(match (o.format, o.security_lake) {
            (ExportFormat::Parquet, _) => Writer::Parquet(ArrowWriter::try_new(create(&o.out, "events.parquet")?, schema, Some(parquet_props()))?, 0),
            (ExportFormat::Csv, _) => Writer::Csv(arrow::csv::WriterBuilder::new().with_header(true).build(BufWriter::new(create(&o.out, "events.csv")?)), 0),
            (ExportFormat::Jsonl, _) => Writer::Jsonl(
                arrow::json::WriterBuilder::new().with_explicit_nulls(true).build(BufWriter::new(create(&o.out, "events.jsonl")?)),
                0,
            ),
            (ExportFormat::Ocsf, false) => Writer::Ocsf(BufWriter::new(create(&o.out, "events.ocsf.jsonl")?), 0),
            (ExportFormat::Ocsf, true) => Writer::SecurityLake(o.out.clone(), BTreeMap::new()),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ExportError> {
        match self {
            Writer::Parquet(w, n) => {
                w.write(batch)?;
                *n += batch.num_rows() as u64;
            }
            Writer::Csv(w, n) => {
                w.write(batch)?;
                *n += batch.num_rows() as u64;
            }
            Writer::Jsonl(w, n) => {
                w.write(batch)?;
                *n += batch.num_rows() as u64;
            }
            Writer::Ocsf(w, n) => {
                for row in json_rows(batch)? {
                    serde_json::to_writer(&mut *w, &ocsf::to_ocsf(&row)).expect("OCSF serializes");
                    w.write_all(b"\n").map_err(|e| ExportError::Io("events.ocsf.jsonl".into(), e))?;
                    *n += 1;
                }
            }
            Writer::SecurityLake(_, groups) => {
                for row in json_rows(batch)? {
                    let event = ocsf::to_ocsf(&row);
                    groups.entry(security_lake_dir(&event)).or_default().push(event);
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<(String, u64)>, ExportError> {
        Ok(match self {
            Writer::Parquet(w, n) => {
                w.close()?;
                vec![("events.parquet".into(), n)]
            }
            Writer::Csv(w, n) => {
                w.into_inner().flush().map_err(|e| ExportError::Io("events.csv".into(), e))?;
                vec![("events.csv".into(), n)]
            }
            Writer::Jsonl(mut w, n) => {
                w.finish()?;
                w.into_inner().flush().map_err(|e| ExportError::Io("events.jsonl".into(), e))?;
                vec![("events.jsonl".into(), n)]
            }
            Writer::Ocsf(mut w, n) => {
                w.flush().map_err(|e| ExportError::Io("events.ocsf.jsonl".into(), e))?;
                vec![("events.ocsf.jsonl".into(), n)]
            }
            Writer::SecurityLake(dir, groups) => {
                let mut out = Vec::new();
                for (rel_dir, events) in groups {
                    let rel = format!("{rel_dir}/part-0.parquet");
                    write_ocsf_parquet(&dir, &rel, &events)?;
                    out.push((rel, events.len() as u64));
                }
                out
            }
        })
    }
}

/// `ext/<source>/region=<r>/accountId=<a>/eventDay=YYYYMMDD`: one custom
/// source per OCSF class, as Amazon Security Lake expects.
fn security_lake_dir(event: &Value) -> String {
    let source = match event["class_uid"].as_u64() {
        Some(3001) => "authlake-account-change",
        _ => "authlake-authentication",
    };
    let region = event["cloud"]["region"].as_str().unwrap_or("unknown");
    let account = event["cloud"]["account"]["uid"].as_str().unwrap_or("unknown");
    let day = event["time"]
        .as_i64()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or("19700101".into(), |t| t.format("%Y%m%d").to_string());
    let clean = |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect::<String>();
    format!("ext/{source}/region={}/accountId={}/eventDay={day}", clean(region), clean(account))
}

fn write_ocsf_parquet(dir: &Path, rel: &str, events: &[Value]) -> Result<(), ExportError> {
    let schema = Arc::new(arrow::json::reader::infer_json_schema_from_iterator(events.iter().map(|e| Ok(e.clone())))?);
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone()).build_decoder()?;
    decoder.serialize(events)?;
    let mut w = ArrowWriter::try_new(create(dir, rel)?, schema, Some(parquet_props()))?;
    while let Some(batch) = decoder.flush()? {
        w.write(&batch)?;
    }
    w.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_filters_are_quoted() {
        let o = ExportOptions {
            from: 0,
            to: 86_400_000_000,
            user_pool: None,
            tenant: Some("o'brien".into()),
            user: Some("x' OR '1'='1".into()),
            event_types: vec!["sign_in".into()],
            format: ExportFormat::Csv,
            security_lake: false,
            redact: vec![],
            redact_key: None,
            sign_key: None,
            out: PathBuf::new(),
            as_of: None,
        };
        let sql = selection_sql(&o);
        assert!(sql.contains("tenant_id = 'o''brien'"), "{sql}");
        assert!(sql.contains("username = 'x'' OR ''1''=''1'"), "{sql}");
        assert!(sql.contains("event_date >= DATE '1970-01-01' AND event_date <= DATE '1970-01-02'"), "{sql}");
    }
}
