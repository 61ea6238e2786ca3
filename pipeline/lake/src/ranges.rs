//! Some columns of a committed file, read with range requests: the footer,
//! then only the column chunks asked for. What the ingest's dedupe index
//! and occurrence counts read (`event_id`, `event_time`, `source` of many
//! files), so an S3 lake is not downloaded whole for two columns.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::RecordBatch;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use crate::{Lake, LakeError};

/// A file of the lake's store whose size the commit recorded.
struct StoreReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move { self.store.get_range(&self.path, range).await.map_err(external) }.boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move { self.store.get_ranges(&self.path, &ranges).await.map_err(external) }.boxed()
    }

    fn get_metadata<'a>(&'a mut self, options: Option<&'a ArrowReaderOptions>) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let meta = ParquetMetaDataReader::new().with_arrow_reader_options(options).load_and_finish(self, size).await?;
            Ok(Arc::new(meta))
        }
        .boxed()
    }
}

/// Hands each batch of `columns` of the lake file at `path` (`bytes` long,
/// as committed) to `each`. Returns false when the file is gone: a
/// maintenance commit since the snapshot that listed it (compaction,
/// `forget`) removed it, and its rows are in the files that replaced it.
pub async fn read_columns(lake: &Lake, path: &str, bytes: u64, columns: &[&str], mut each: impl FnMut(&RecordBatch)) -> Result<bool, LakeError> {
    let err = |e: ParquetError| LakeError::Parquet { path: path.to_string(), reason: e.to_string() };
    let reader = StoreReader { store: lake.store.clone(), path: Path::from(path), size: bytes };
    let builder = match ParquetRecordBatchStreamBuilder::new(reader).await {
        Ok(b) => b,
        Err(e) if is_gone(&e) => return Ok(false),
        Err(e) => return Err(err(e)),
    };
    let schema = builder.parquet_schema();
    let leaves: Vec<usize> = (0..schema.num_columns()).filter(|&i| columns.contains(&schema.column(i).name())).collect();
    let mask = ProjectionMask::leaves(schema, leaves);
    let mut batches = builder.with_projection(mask).build().map_err(err)?;
    loop {
        match batches.try_next().await {
            Ok(Some(batch)) => each(&batch),
            Ok(None) => return Ok(true),
            Err(e) if is_gone(&e) => return Ok(false),
            Err(e) => return Err(err(e)),
        }
    }
}

fn is_gone(e: &ParquetError) -> bool {
    matches!(e, ParquetError::External(inner) if matches!(inner.downcast_ref::<object_store::Error>(), Some(object_store::Error::NotFound { .. })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use parquet::arrow::ArrowWriter;

    #[tokio::test]
    async fn only_the_columns_asked_for_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap(), true).unwrap();
        let batch = RecordBatch::try_from_iter([
            ("event_id", Arc::new(StringArray::from(vec!["a", "b"])) as _),
            ("n", Arc::new(Int64Array::from(vec![1, 2])) as _),
            ("source", Arc::new(StringArray::from(vec!["s1", "s2"])) as _),
        ])
        .unwrap();
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        std::fs::write(dir.path().join("f.parquet"), &buf).unwrap();
        let mut got = Vec::new();
        read_columns(&lake, "f.parquet", buf.len() as u64, &["event_id", "source"], |b| got.push(b.clone())).await.unwrap();
        assert_eq!(got.len(), 1);
        let names: Vec<String> = got[0].schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["event_id", "source"]);
        assert_eq!(got[0].num_rows(), 2);
        assert!(read_columns(&lake, "f.parquet", buf.len() as u64 + 7, &["n"], |_| ()).await.is_err(), "a size that is not the file's");
        assert!(!read_columns(&lake, "gone.parquet", 100, &["n"], |_| ()).await.unwrap(), "removed since it was listed");
    }
}
