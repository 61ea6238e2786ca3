//! The lake's data files: how they are encoded and named before a commit
//! adds them.

use std::sync::atomic::{AtomicU64, Ordering};

use authlake_core::columns::{Encoding as ColumnEncoding, COLUMNS};
use object_store::path::Path;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::recover::staging_dir;

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

/// A unique staging name for this process.
pub fn staging_name(writer: &str) -> Path {
    let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    Path::from(format!("{}/{nanos:x}-{}-{n}.parquet", staging_dir(writer), std::process::id()))
}

