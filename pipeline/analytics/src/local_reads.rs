//! Local lake files read on the query's own threads.
//!
//! object_store's `LocalFileSystem` hands every read to tokio's blocking
//! pool: opening a file and reading its footer are two hand-offs, its
//! column chunks a third, each a wake-up of a pool thread and a wait for
//! it. A query over the hundreds of small files of a local lake spent a
//! third of its CPU time in the kernel, most of it switching threads.
//! [`InlineReads`] reads ranges of local files where the query asks for
//! them (a `pread` of a file the page cache usually holds, as DuckDB
//! does) and leaves everything else (listing, writes, whole-file gets) to
//! `LocalFileSystem`.

use std::fmt;
use std::fs::{File, Metadata};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    Attributes, CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// `LocalFileSystem` with range reads done on the calling thread.
#[derive(Debug, Default)]
pub struct InlineReads {
    inner: LocalFileSystem,
}

impl fmt::Display for InlineReads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InlineReads({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for InlineReads {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        // A whole file or a head request may be large or need no read:
        // those keep LocalFileSystem's way.
        let Some(range) = options.range.clone().filter(|_| !options.head && options.version.is_none()) else {
            return self.inner.get_opts(location, options).await;
        };
        let path = self.inner.path_to_filesystem(location)?;
        let file = File::open(&path).map_err(|e| io_error(e, &path))?;
        let metadata = file.metadata().map_err(|e| io_error(e, &path))?;
        if metadata.is_dir() {
            return Err(io_error(std::io::Error::new(std::io::ErrorKind::NotFound, "is a directory"), &path));
        }
        let meta = object_meta(&metadata, location.clone());
        options.check_preconditions(&meta)?;
        let range = range.as_range(meta.size).map_err(|e| generic(e, &path))?;
        let bytes = read_range(&file, &path, range.clone())?;
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream::once(async move { Ok(bytes) }).boxed()),
            meta,
            range,
            attributes: Attributes::default(),
        })
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let path = self.inner.path_to_filesystem(location)?;
        let file = File::open(&path).map_err(|e| io_error(e, &path))?;
        ranges.iter().map(|r| read_range(&file, &path, r.clone())).collect()
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// Reads `range` whole: a file shorter than the range is an error naming
/// the file, not a short answer.
fn read_range(file: &File, path: &std::path::Path, range: Range<u64>) -> Result<Bytes> {
    let mut buf = vec![0; (range.end - range.start) as usize];
    file.read_exact_at(&mut buf, range.start).map_err(|e| io_error(e, path))?;
    Ok(buf.into())
}

/// The metadata LocalFileSystem reports for the same file, e-tag included
/// (inode, modification time in microseconds, size), so preconditions and
/// caches keyed on it behave the same either way.
fn object_meta(metadata: &Metadata, location: Path) -> ObjectMeta {
    let mtime = metadata.modified().ok().and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).unwrap_or_default();
    let inode = std::os::unix::fs::MetadataExt::ino(metadata);
    let size = metadata.len();
    ObjectMeta {
        location,
        last_modified: chrono::DateTime::from(SystemTime::UNIX_EPOCH + mtime),
        size,
        e_tag: Some(format!("{inode:x}-{:x}-{size:x}", mtime.as_micros())),
        version: None,
    }
}

fn io_error(e: std::io::Error, path: &std::path::Path) -> object_store::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => object_store::Error::NotFound { path: path.display().to_string(), source: Box::new(e) },
        _ => generic(e, path),
    }
}

fn generic(e: impl std::error::Error + Send + Sync + 'static, path: &std::path::Path) -> object_store::Error {
    object_store::Error::Generic { store: "LocalFileSystem", source: format!("{}: {e}", path.display()).into() }
}

#[cfg(test)]
mod tests {
    use object_store::{GetRange, ObjectStoreExt};

    use super::*;

    /// Every read shape the Parquet reader uses gives the bytes and the
    /// metadata LocalFileSystem gives.
    #[tokio::test]
    async fn reads_match_local_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("f.bin"), &data).unwrap();
        let location = Path::from_filesystem_path(dir.path().join("f.bin")).unwrap();
        let inline = InlineReads::default();
        let local = LocalFileSystem::new();

        assert_eq!(inline.get_range(&location, 100..2100).await.unwrap(), local.get_range(&location, 100..2100).await.unwrap());
        let ranges = [0..10, 9_990..10_000, 500..4_500];
        assert_eq!(inline.get_ranges(&location, &ranges).await.unwrap(), local.get_ranges(&location, &ranges).await.unwrap());
        for range in [GetRange::Suffix(64), GetRange::Offset(9_000), GetRange::Bounded(1..3)] {
            let options = || GetOptions { range: Some(range.clone()), ..Default::default() };
            let (a, b) = (inline.get_opts(&location, options()).await.unwrap(), local.get_opts(&location, options()).await.unwrap());
            assert_eq!((&a.meta, &a.range), (&b.meta, &b.range), "{range:?}");
            assert_eq!(a.bytes().await.unwrap(), b.bytes().await.unwrap(), "{range:?}");
        }
        let stale = GetOptions { range: Some(GetRange::Bounded(0..8)), if_match: Some("other".into()), ..Default::default() };
        assert!(matches!(inline.get_opts(&location, stale).await, Err(object_store::Error::Precondition { .. })));
    }

    #[tokio::test]
    async fn short_and_missing_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("short.bin"), [1u8; 100]).unwrap();
        let short = Path::from_filesystem_path(dir.path().join("short.bin")).unwrap();
        let missing = Path::from_absolute_path(dir.path().join("gone.bin")).unwrap();
        let inline = InlineReads::default();
        let beyond_end = vec![0..10, 50..150];
        let err = inline.get_ranges(&short, &beyond_end).await.unwrap_err().to_string();
        assert!(err.contains("short.bin"), "{err}");
        let err = inline.get_range(&missing, 0..10).await.unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { ref path, .. } if path.ends_with("gone.bin")), "{err}");
    }
}
