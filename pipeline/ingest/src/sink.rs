//! Parquet sink: rows → one open Parquet file per partition, streamed to
//! its place in the partition directory; closed files are in the table
//! only once a commit adds them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use authlake_core::partition::PartitionKey;
use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use authlake_core::schema::{dead_letters_schema, dead_letters_to_batch, events_file_schema};
use authlake_core::DeadLetter;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use parquet::arrow::async_writer::AsyncArrowWriter;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;

use authlake_lake::{AddedFile, TableKind};
use authlake_lake::files::{data_file_path, log_stats, writer_properties};
use authlake_lake::{Lake, LakeError};

/// How files are cut and how much is held in memory.
#[derive(Debug, Clone)]
pub struct FileTargets {
    /// Close a partition's file once this many bytes were written to it.
    pub target_file_bytes: u64,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// Rows handed to a partition's encoder at a time (smaller batches
    /// wait and are joined; 1: each batch as it comes).
    pub batch_rows: usize,
}

impl Default for FileTargets {
    fn default() -> Self {
        Self { target_file_bytes: 128 * 1024 * 1024, row_group_rows: 256 * 1024, batch_rows: 1 }
    }
}

/// What object_store's `BufWriter` holds before it starts a multipart upload.
const STORE_BUFFER_BYTES: u64 = 10 * 1024 * 1024;

/// A partition's file being written. Encoding runs in its own task, so
/// the files of several partitions are encoded on all cores while the run
/// loop goes on.
struct OpenFile {
    /// Batches for the encoding task, each with its memory size.
    batches: Option<tokio::sync::mpsc::Sender<(RecordBatch, u64)>>,
    task: tokio::task::JoinHandle<Result<ParquetMetaData, LakeError>>,
    meters: Arc<Meters>,
    /// Where the file is written: its final place, in the table only once
    /// a commit adds it.
    path: Path,
    /// Batches not yet handed to the encoder (concatenated first, so the
    /// encoder sees batches of `batch_rows`).
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: u64,
    rows: u64,
}

/// What the run loop reads of a file the encoding task is writing.
#[derive(Default)]
struct Meters {
    /// Bytes written plus a share of what is still encoding in memory.
    size: AtomicU64,
    /// Bytes held in memory for this file (encoder and store buffers).
    in_memory: AtomicU64,
    /// Bytes of batches sent to the encoding task and not yet encoded:
    /// counted from the send, so the budget sees them at once rather than
    /// whenever the task gets to run.
    in_flight: AtomicU64,
}

impl OpenFile {
    fn open(lake: &Lake, path: Path, props: WriterProperties) -> Result<Self, LakeError> {
        let obj = BufWriter::new(lake.store.clone(), path.clone());
        let mut writer = AsyncArrowWriter::try_new(obj, events_file_schema(), Some(props)).map_err(|e| parquet_err(&path, e))?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(RecordBatch, u64)>(2);
        let meters = Arc::new(Meters::default());
        let (task_meters, task_path) = (meters.clone(), path.clone());
        let task = tokio::spawn(async move {
            while let Some((batch, bytes)) = rx.recv().await {
                writer.write(&batch).await.map_err(|e| parquet_err(&task_path, e))?;
                task_meters.in_flight.fetch_sub(bytes, Ordering::Relaxed);
                let held = writer.in_progress_size() as u64;
                task_meters.size.store(writer.bytes_written() as u64 + held / 4, Ordering::Relaxed);
                // The encoder's buffers (pages, dictionaries, the row group in
                // progress) plus what the store's writer holds before it
                // uploads a part.
                let buffered = (writer.bytes_written() as u64).min(STORE_BUFFER_BYTES);
                task_meters.in_memory.store(writer.memory_size() as u64 + buffered, Ordering::Relaxed);
            }
            writer.close().await.map_err(|e| parquet_err(&task_path, e))
        });
        Ok(Self { batches: Some(tx), task, meters, path, pending: Vec::new(), pending_rows: 0, pending_bytes: 0, rows: 0 })
    }

    /// Waits for the encoding task and returns its error, if any.
    async fn finish_task(&mut self) -> Result<ParquetMetaData, LakeError> {
        self.batches = None;
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(parquet_err(&self.path, format!("writer task failed: {e}"))),
        }
    }
}

/// Partitioned Parquet writer of one commit's worth of data.
pub struct Sink {
    lake: Lake,
    writer_id: String,
    targets: FileTargets,
    props: WriterProperties,
    open: HashMap<PartitionKey, OpenFile>,
    closed: Vec<AddedFile>,
    dead: Vec<DeadLetter>,
}

impl Sink {
    pub fn new(lake: &Lake, writer_id: &str, targets: FileTargets) -> Self {
        let props = writer_properties(targets.row_group_rows);
        Self { lake: lake.clone(), writer_id: writer_id.into(), targets, props, open: HashMap::new(), closed: Vec::new(), dead: Vec::new() }
    }

    /// Is anything waiting for a commit?
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.closed.is_empty() && self.dead.is_empty()
    }

    /// Bytes held in memory (encoded row groups in progress plus rows not
    /// yet converted), approximately.
    pub fn buffered_bytes(&self) -> u64 {
        let held = |f: &OpenFile| f.meters.in_memory.load(Ordering::Relaxed) + f.meters.in_flight.load(Ordering::Relaxed) + f.pending_bytes;
        self.open.values().map(held).sum::<u64>()
            + self.dead.iter().map(|d| d.raw.len() as u64 + 128).sum::<u64>()
    }

    /// Buffers each partition's rows into its file.
    pub async fn write(&mut self, batches: Vec<(PartitionKey, RecordBatch)>) -> Result<(), LakeError> {
        for (key, batch) in batches {
            if !self.open.contains_key(&key) {
                let path = data_file_path(&self.writer_id, TableKind::Events, &key.dir());
                let file = OpenFile::open(&self.lake, path, self.props.clone())?;
                self.open.insert(key.clone(), file);
            }
            let file = self.open.get_mut(&key).expect("inserted above");
            file.pending_rows += batch.num_rows();
            file.pending_bytes += batch.get_array_memory_size() as u64;
            file.pending.push(batch);
            let mut full = false;
            if file.pending_rows >= self.targets.batch_rows {
                Self::drain_pending(file).await?;
                full = file_is_full(file, &self.targets);
            }
            if full {
                let f = self.open.remove(&key).expect("open file");
                self.closed.push(close(f, &self.lake).await?);
            }
        }
        Ok(())
    }

    /// Buffers dead letters (written as one file per commit).
    pub fn dead_letters(&mut self, dead: Vec<DeadLetter>) {
        self.dead.extend(dead);
    }

    async fn drain_pending(file: &mut OpenFile) -> Result<(), LakeError> {
        if file.pending.is_empty() {
            return Ok(());
        }
        let batch = match file.pending.len() {
            1 => file.pending.pop().expect("one batch"),
            _ => concat_batches(&events_file_schema(), &file.pending).map_err(|e| parquet_err(&file.path, e))?,
        };
        file.rows += batch.num_rows() as u64;
        file.pending.clear();
        (file.pending_rows, file.pending_bytes) = (0, 0);
        let bytes = batch.get_array_memory_size() as u64;
        file.meters.in_flight.fetch_add(bytes, Ordering::Relaxed);
        let sent = match &file.batches {
            Some(tx) => tx.send((batch, bytes)).await.is_ok(),
            None => false,
        };
        if !sent {
            // The task stopped: its own error says why.
            file.finish_task().await?;
            return Err(parquet_err(&file.path, "writer task stopped"));
        }
        Ok(())
    }

    /// Closes every file and returns everything written for the commit.
    pub async fn finish(&mut self) -> Result<Vec<AddedFile>, LakeError> {
        let mut open: Vec<_> = self.open.drain().collect();
        // Hand every file its last rows first, so they all finish encoding
        // at once rather than one after the other.
        for (_, f) in open.iter_mut() {
            Self::drain_pending(f).await?;
            f.batches = None;
        }
        for (_, f) in open {
            let file = close(f, &self.lake).await?;
            self.closed.push(file);
        }
        if !self.dead.is_empty() {
            let dead = std::mem::take(&mut self.dead);
            self.closed.push(write_dead_letters(&self.lake, &self.writer_id, &dead).await?);
        }
        Ok(std::mem::take(&mut self.closed))
    }
}

/// A partition's file has reached its target size.
fn file_is_full(file: &OpenFile, targets: &FileTargets) -> bool {
    file.meters.size.load(Ordering::Relaxed) >= targets.target_file_bytes
}

async fn close(mut f: OpenFile, lake: &Lake) -> Result<AddedFile, LakeError> {
    Sink::drain_pending(&mut f).await?;
    let meta = f.finish_task().await?;
    let bytes = lake.store.head(&f.path).await.map_err(|e| LakeError::store(&f.path, e))?.size;
    let stats = log_stats(&meta, TableKind::Events);
    Ok(AddedFile::written(f.path.to_string(), TableKind::Events, f.rows, bytes, Some(stats)))
}

async fn write_dead_letters(lake: &Lake, writer_id: &str, dead: &[DeadLetter]) -> Result<AddedFile, LakeError> {
    let path = data_file_path(writer_id, TableKind::DeadLetters, "");
    let batch = dead_letters_to_batch(dead).map_err(|e| parquet_err(&path, e))?;
    let obj = BufWriter::new(lake.store.clone(), path.clone());
    let mut w = AsyncArrowWriter::try_new(obj, dead_letters_schema(), Some(writer_properties(64 * 1024)))
        .map_err(|e| parquet_err(&path, e))?;
    w.write(&batch).await.map_err(|e| parquet_err(&path, e))?;
    let meta = w.close().await.map_err(|e| parquet_err(&path, e))?;
    let bytes = lake.store.head(&path).await.map_err(|e| LakeError::store(&path, e))?.size;
    let stats = log_stats(&meta, TableKind::DeadLetters);
    Ok(AddedFile::written(path.to_string(), TableKind::DeadLetters, dead.len() as u64, bytes, Some(stats)))
}

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> LakeError {
    LakeError::Parquet { path: path.to_string(), reason: e.to_string() }
}
