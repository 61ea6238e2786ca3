//! The lake's data files: how they are encoded, named and described to
//! the log before a commit adds them.

use std::sync::atomic::{AtomicU64, Ordering};

use authlake_core::columns::{Encoding as ColumnEncoding, COLUMNS};
use object_store::path::Path;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use object_store::buffered::BufWriter;
use object_store::ObjectStoreExt;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::AsyncArrowWriter;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;
use serde_json::{Map, Value};

use crate::table::TableKind;
use crate::{AddedFile, Lake, LakeError};

/// Parquet properties of the lake's files: each `events` column as its
/// declaration says ([`authlake_core::columns::Spec`]), and the
/// dead-letter columns of the same names alike.
pub fn writer_properties(row_group_rows: usize) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level")))
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("authlake {}", env!("CARGO_PKG_VERSION")));
    for c in COLUMNS {
        let path = || ColumnPath::from(c.name);
        let spec = c.spec;
        if !spec.dictionary {
            b = b.set_column_dictionary_enabled(path(), false);
        }
        if !spec.statistics {
            b = b.set_column_statistics_enabled(path(), EnabledStatistics::None);
        }
        if !spec.compressed {
            b = b.set_column_compression(path(), Compression::UNCOMPRESSED);
        }
        let encoding = match spec.encoding {
            ColumnEncoding::Default => None,
            ColumnEncoding::DeltaBinaryPacked => Some(Encoding::DELTA_BINARY_PACKED),
            // Only for random ids: each such column holds parquet-rs's 1 MiB
            // delta-encoder buffer per open file (docs/performance.md).
            ColumnEncoding::DeltaLength => Some(Encoding::DELTA_LENGTH_BYTE_ARRAY),
            ColumnEncoding::DeltaByteArray => Some(Encoding::DELTA_BYTE_ARRAY),
        };
        if let Some(e) = encoding {
            b = b.set_column_encoding(path(), e);
        }
    }
    // The dead-letter table's own hash column: unique per row.
    b = b
        .set_column_dictionary_enabled(ColumnPath::from("raw_sha256"), false)
        .set_column_statistics_enabled(ColumnPath::from("raw_sha256"), EnabledStatistics::None);
    b.build()
}

static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A short, stable tag of a writer id (FNV-1a, 64 bits): in every file
/// name the writer writes, so its recovery knows its own orphans.
pub fn writer_tag(writer: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in writer.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A new data file's path relative to the lake: in its partition
/// directory `dir` (events) or the table's directory (others), named
/// `part-<writer tag>-<time>-<process>-<n>.parquet`, unique per process.
pub fn data_file_path(writer: &str, table: TableKind, dir: &str) -> Path {
    let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let name = format!("part-{}-{nanos:x}-{}-{n}.parquet", writer_tag(writer), std::process::id());
    let dir = match (table, dir) {
        (TableKind::Events, d) => d.to_string(),
        (other, _) => other.dir().to_string(),
    };
    Path::from(if dir.is_empty() { name } else { format!("{dir}/{name}") })
}

/// Writes `batches` to a new file of `table` (in partition directory `dir`
/// for events), in place, with the lake's writer properties: in the table
/// once a commit adds it. Batches are encoded as they come, so a caller
/// streaming them holds one at a time.
pub struct FileWriter {
    path: Path,
    table: TableKind,
    rows: u64,
    writer: AsyncArrowWriter<BufWriter>,
}

impl FileWriter {
    pub fn create(lake: &Lake, writer: &str, table: TableKind, dir: &str, schema: SchemaRef) -> Result<Self, LakeError> {
        let path = data_file_path(writer, table, dir);
        let out = BufWriter::new(lake.store.clone(), path.clone());
        let w = AsyncArrowWriter::try_new(out, schema, Some(writer_properties(256 * 1024))).map_err(|e| parquet_error(&path, e))?;
        Ok(Self { path, table, rows: 0, writer: w })
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), LakeError> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).await.map_err(|e| parquet_error(&self.path, e))
    }

    /// Closes the file and describes it for the commit that will add it.
    pub async fn finish(self, lake: &Lake) -> Result<AddedFile, LakeError> {
        let meta = self.writer.close().await.map_err(|e| parquet_error(&self.path, e))?;
        let bytes = lake.store.head(&self.path).await.map_err(|e| LakeError::store(&self.path, e))?.size;
        Ok(AddedFile::written(self.path.to_string(), self.table, self.rows, bytes, Some(log_stats(&meta, self.table))))
    }
}

fn parquet_error(path: &Path, e: parquet::errors::ParquetError) -> LakeError {
    LakeError::Parquet { path: path.to_string(), reason: e.to_string() }
}

/// Reads a whole data file of the lake (`path` relative to the lake).
pub async fn read(lake: &Lake, path: &str) -> Result<Vec<RecordBatch>, LakeError> {
    stream(lake, path).await?.try_collect().await
}

/// Streams a data file of the lake a batch at a time: the file's bytes
/// and one decoded batch are held, not the decoded file.
pub async fn stream(lake: &Lake, path: &str) -> Result<BoxStream<'static, Result<RecordBatch, LakeError>>, LakeError> {
    let p = Path::from(path);
    let bytes = lake.store.get(&p).await.map_err(|e| LakeError::store(&p, e))?.bytes().await.map_err(|e| LakeError::store(&p, e))?;
    let owned = path.to_string();
    let unreadable = move |e: String| LakeError::Parquet { path: owned.clone(), reason: format!("cannot read: {e}") };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).and_then(|b| b.with_batch_size(64 * 1024).build()).map_err(|e| unreadable(e.to_string()))?;
    Ok(futures::stream::iter(reader.map(move |b| b.map_err(|e| unreadable(e.to_string())))).boxed())
}

/// Longest string kept in log statistics: a longer minimum is cut (a
/// prefix sorts no higher), a longer maximum is left out (a cut maximum
/// would sort below the values it bounds).
const STATS_PREFIX_CHARS: usize = 32;

/// Delta statistics of a written file, from its Parquet footer: the row
/// count, and min/max/null counts of [`TableKind::log_stats_columns`] only (times
/// to the millisecond, the minimum rounded down and the maximum up).
pub fn log_stats(meta: &ParquetMetaData, table: TableKind) -> String {
    let rows: i64 = meta.row_groups().iter().map(|rg| rg.num_rows()).sum();
    let (mut mins, mut maxs, mut nulls) = (Map::new(), Map::new(), Map::new());
    let columns = table.log_stats_columns();
    let schema = meta.file_metadata().schema_descr();
    for name in columns {
        let Some(i) = (0..schema.num_columns()).find(|&i| schema.column(i).path().string() == *name) else { continue };
        let mut acc = ColumnStats::default();
        for rg in meta.row_groups() {
            acc.add(rg.column(i).statistics());
        }
        if let Some((min, max, null)) = acc.finish() {
            if let Some(min) = min {
                mins.insert(name.to_string(), min);
            }
            if let Some(max) = max {
                maxs.insert(name.to_string(), max);
            }
            nulls.insert(name.to_string(), Value::from(null));
        }
    }
    let mut out = Map::new();
    out.insert("numRecords".into(), Value::from(rows));
    out.insert("minValues".into(), Value::Object(mins));
    out.insert("maxValues".into(), Value::Object(maxs));
    out.insert("nullCount".into(), Value::Object(nulls));
    Value::Object(out).to_string()
}

/// One column's statistics over the row groups; none if a row group has
/// none.
#[derive(Default)]
struct ColumnStats {
    missing: bool,
    nulls: u64,
    min_time: Option<i64>,
    max_time: Option<i64>,
    min_text: Option<Vec<u8>>,
    max_text: Option<Vec<u8>>,
}

impl ColumnStats {
    fn add(&mut self, s: Option<&Statistics>) {
        let Some(s) = s else {
            self.missing = true;
            return;
        };
        self.nulls += s.null_count_opt().unwrap_or(0);
        match s {
            Statistics::Int64(v) => {
                if let (Some(lo), Some(hi)) = (v.min_opt(), v.max_opt()) {
                    self.min_time = Some(self.min_time.map_or(*lo, |m| m.min(*lo)));
                    self.max_time = Some(self.max_time.map_or(*hi, |m| m.max(*hi)));
                }
            }
            Statistics::ByteArray(v) => {
                if let (Some(lo), Some(hi)) = (v.min_opt(), v.max_opt()) {
                    let (lo, hi) = (lo.data().to_vec(), hi.data().to_vec());
                    if self.min_text.as_ref().is_none_or(|m| lo < *m) {
                        self.min_text = Some(lo);
                    }
                    if self.max_text.as_ref().is_none_or(|m| hi > *m) {
                        self.max_text = Some(hi);
                    }
                }
            }
            _ => self.missing = true,
        }
    }

    fn finish(self) -> Option<(Option<Value>, Option<Value>, u64)> {
        if self.missing {
            return None;
        }
        let millis = |micros: i64, up: bool| {
            let ms = if up { micros.div_euclid(1000) + i64::from(micros.rem_euclid(1000) != 0) } else { micros.div_euclid(1000) };
            chrono::DateTime::from_timestamp_millis(ms).map(|t| Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        };
        let text = |bytes: Vec<u8>, is_max: bool| {
            let s = String::from_utf8(bytes).ok()?;
            match s.char_indices().nth(STATS_PREFIX_CHARS) {
                None => Some(Value::from(s)),
                Some(_) if is_max => None,
                Some((cut, _)) => Some(Value::from(&s[..cut])),
            }
        };
        let min = self.min_time.and_then(|t| millis(t, false)).or_else(|| self.min_text.and_then(|b| text(b, false)));
        let max = self.max_time.and_then(|t| millis(t, true)).or_else(|| self.max_text.and_then(|b| text(b, true)));
        Some((min, max, self.nulls))
    }
}

#[cfg(test)]
mod tests {
    use authlake_core::schema::{events_file_schema, events_to_batch};
    use authlake_core::AuthEvent;
    use parquet::arrow::ArrowWriter;

    use super::*;

    fn stats_of(rows: &[AuthEvent]) -> serde_json::Value {
        let batch = events_to_batch(rows).unwrap();
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, events_file_schema(), Some(writer_properties(2))).unwrap();
        w.write(&batch).unwrap();
        let meta = w.close().unwrap();
        serde_json::from_str(&log_stats(&meta, TableKind::Events)).unwrap()
    }

    #[test]
    fn log_stats_cover_only_non_identifying_columns_and_round_times_outward() {
        let row = |t: i64, user: &str, kind: &str| AuthEvent {
            event_id: format!("id-{t}"),
            event_time: t,
            event_type: kind.into(),
            username: Some(user.into()),
            email: Some(format!("{user}@example.com")),
            ip_address: Some("203.0.113.9".into()),
            ..Default::default()
        };
        // Three rows over two row groups: 1.0015 s, 2.5 s, 0.0005 s.
        let s = stats_of(&[row(1_001_500, "alice", "sign_in"), row(2_500_000, "bob", "token_refresh"), row(500, "carol", "sign_in")]);
        assert_eq!(s["numRecords"], 3);
        assert_eq!(s["minValues"]["event_time"], "1970-01-01T00:00:00.000Z");
        assert_eq!(s["maxValues"]["event_time"], "1970-01-01T00:00:02.500Z");
        assert_eq!(s["minValues"]["event_type"], "sign_in");
        assert_eq!(s["maxValues"]["event_type"], "token_refresh");
        assert_eq!(s["nullCount"]["outcome"], 3);
        let text = s.to_string();
        for secret in ["alice", "bob", "carol", "example.com", "203.0.113.9", "id-"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn long_strings_keep_a_cut_minimum_and_no_maximum() {
        let long = "x".repeat(40);
        let rows = [AuthEvent { event_type: long.clone(), ..Default::default() }];
        let s = stats_of(&rows);
        assert_eq!(s["minValues"]["event_type"], "x".repeat(32));
        assert!(s["maxValues"].get("event_type").is_none(), "{s}");
    }

    #[test]
    fn writer_tags_are_stable_and_in_every_name() {
        assert_eq!(writer_tag("file-3f2a"), writer_tag("file-3f2a"));
        assert_ne!(writer_tag("a"), writer_tag("b"));
        let p = data_file_path("w", TableKind::Events, "category=auth/event_date=2026-11-27");
        assert!(p.as_ref().starts_with(&format!("category=auth/event_date=2026-11-27/part-{}-", writer_tag("w"))), "{p}");
        let d = data_file_path("w", TableKind::DeadLetters, "ignored");
        assert!(d.as_ref().starts_with("_authlake/tables/dead_letters/part-"), "{d}");
    }
}
