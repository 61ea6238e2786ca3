//! File source: files, directories and globs of NDJSON, JSON documents
//! (pretty-printed or concatenated), JSON arrays and `.gz`.
//!
//! A file's position is the byte offset (of the decompressed stream for
//! `.gz`) of the next payload to read; payloads are read whole, so a commit
//! never splits a multi-record payload.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use authlake_core::position::PayloadPosition;
use serde_json::value::RawValue;

use super::split::{next_payload, Cut};
use super::{Checkpoint, Chunk, ChunkSink, SourceError};
use crate::decode::{decode_payload, Decoded, Defaults, PayloadContext};

const READ_BLOCK: usize = 4 * 1024 * 1024;
/// Payloads decoded before a chunk is handed to the writer.
const CHUNK_PAYLOADS: usize = 2048;

/// The checkpoint key of a file: `file:<absolute path>`.
pub fn position_key(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// Expands a `file://` spec (a file, a directory, or a glob) into a sorted
/// list of absolute paths.
pub fn resolve(spec: &str) -> Result<Vec<PathBuf>, SourceError> {
    let raw = spec.strip_prefix("file://").unwrap_or(spec);
    if raw.is_empty() {
        return Err(SourceError::NoFiles(spec.to_string()));
    }
    let mut files = Vec::new();
    if raw.contains(['*', '?', '[']) {
        let paths = glob::glob(raw).map_err(|e| SourceError::BadGlob(spec.to_string(), e.to_string()))?;
        for p in paths.flatten() {
            collect(&p, &mut files)?;
        }
    } else {
        let p = Path::new(raw);
        if !p.exists() {
            return Err(SourceError::NotFound(p.to_path_buf()));
        }
        collect(p, &mut files)?;
    }
    if files.is_empty() {
        return Err(SourceError::NoFiles(spec.to_string()));
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let io = |e| SourceError::Io(p.to_path_buf(), e);
    if p.is_dir() {
        for entry in std::fs::read_dir(p).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            collect(&entry.path(), out)?;
        }
    } else if p.is_file() {
        out.push(std::fs::canonicalize(p).map_err(io)?);
    }
    Ok(())
}

/// Reads `files` from their committed positions, decodes, and hands chunks
/// to `sink` until done or the sink hangs up. Runs on a blocking thread.
pub fn read_files(
    files: &[PathBuf],
    start: &BTreeMap<String, Checkpoint>,
    defaults: &Defaults,
    clock: &(dyn Fn() -> i64 + Sync),
    sink: &mut dyn ChunkSink,
) -> Result<(), SourceError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for path in files {
        let key = position_key(path);
        let from = start.get(&key).and_then(|c| c.offset).unwrap_or(0);
        let path_text = path.display().to_string();
        let mut reader = FileReader {
            path,
            path_text,
            key,
            defaults,
            clock,
            sink: &mut *sink,
            chunk: Chunk::default(),
            payloads: 0,
            pending: Vec::new(),
            threads,
        };
        if !reader.read(from)? {
            return Ok(());
        }
    }
    Ok(())
}

struct FileReader<'a> {
    path: &'a Path,
    path_text: String,
    key: String,
    defaults: &'a Defaults,
    clock: &'a (dyn Fn() -> i64 + Sync),
    sink: &'a mut dyn ChunkSink,
    chunk: Chunk,
    /// Payloads decoded into `chunk`.
    payloads: usize,
    /// Payloads cut from the buffer but not decoded yet: (start, end) in the
    /// buffer and the file offset.
    pending: Vec<(usize, usize, u64)>,
    /// Decoding runs on this many threads.
    threads: usize,
}

impl FileReader<'_> {
    /// Returns false when the sink hung up.
    fn read(&mut self, from: u64) -> Result<bool, SourceError> {
        let io = |e| SourceError::Io(self.path.to_path_buf(), e);
        let mut file = File::open(self.path).map_err(io)?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic).map_err(io)?;
        let gz = n == 2 && magic == [0x1f, 0x8b];
        // Skip what earlier commits covered: seek in plain files, inflate and
        // discard in gzip ones (offsets count decompressed bytes).
        let mut input: Box<dyn Read> = if gz {
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            let mut inflated = BufReader::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)));
            let skipped = std::io::copy(&mut (&mut inflated).take(from), &mut std::io::sink()).map_err(io)?;
            if skipped < from {
                return Ok(true); // already read to its end
            }
            Box::new(inflated)
        } else {
            if from >= file.metadata().map_err(io)?.len() {
                return Ok(true); // already read to its end (or shrank)
            }
            file.seek(SeekFrom::Start(from)).map_err(io)?;
            Box::new(file)
        };
        let mut buf: Vec<u8> = Vec::with_capacity(READ_BLOCK * 2);
        let mut base = from; // file offset of buf[0]
        let mut pos = 0usize;
        let mut eof = false;
        let mut first = from == 0;
        loop {
            if !eof && (buf.len() - pos) < READ_BLOCK {
                self.decode_pending(&buf); // before the buffer moves
                buf.drain(..pos);
                base += pos as u64;
                pos = 0;
                eof = fill(&mut input, &mut buf).map_err(io)?;
            }
            if first {
                first = false;
                let lead = buf.iter().position(|c| !c.is_ascii_whitespace());
                if lead.is_some_and(|l| buf[l] == b'[') {
                    if !eof {
                        input.read_to_end(&mut buf).map_err(io)?;
                        eof = true;
                    }
                    if self.read_array(&buf) {
                        self.decode_pending(&buf);
                        return self.send(buf.len() as u64);
                    }
                }
            }
            match next_payload(&buf, pos, eof) {
                Cut::Payload { start, end, next } => {
                    self.pending.push((start, end, base + start as u64));
                    pos = next;
                    if self.payloads + self.pending.len() >= CHUNK_PAYLOADS {
                        self.decode_pending(&buf);
                        if !self.send(base + next as u64)? {
                            return Ok(false);
                        }
                    }
                }
                Cut::Empty if eof => break,
                Cut::Empty | Cut::NeedMore if !eof => {
                    // Grow: the payload is larger than what is buffered.
                    self.decode_pending(&buf);
                    buf.drain(..pos);
                    base += pos as u64;
                    pos = 0;
                    eof = fill(&mut input, &mut buf).map_err(io)?;
                }
                Cut::Empty | Cut::NeedMore => break,
            }
        }
        self.decode_pending(&buf);
        self.send(base + buf.len() as u64)
    }

    /// A file that is one JSON array: each element is a payload at its own
    /// offset. Returns false when `buf` is not one array (e.g. NDJSON of
    /// arrays), to be read as a sequence instead.
    fn read_array(&mut self, buf: &[u8]) -> bool {
        let Ok(items) = serde_json::from_slice::<Vec<&RawValue>>(buf) else {
            return false;
        };
        for item in items {
            let start = item.get().as_ptr() as usize - buf.as_ptr() as usize;
            self.pending.push((start, start + item.get().len(), start as u64));
        }
        true
    }

    /// Decodes the pending payloads of `buf`, in parallel, keeping their order.
    fn decode_pending(&mut self, buf: &[u8]) {
        if self.pending.is_empty() {
            return;
        }
        let (path, clock, defaults) = (self.path_text.as_str(), self.clock, self.defaults);
        let decode = |part: &[(usize, usize, u64)]| -> Vec<(Decoded, u64)> {
            part.iter()
                .map(|&(start, end, offset)| {
                    let position = PayloadPosition::File { path: path.to_string(), offset };
                    let ctx = PayloadContext { position: &position, transport_time: None, ingest_time: clock(), defaults };
                    (decode_payload(&buf[start..end], &ctx), (end - start) as u64)
                })
                .collect()
        };
        let pending = std::mem::take(&mut self.pending);
        let parts: Vec<Vec<(Decoded, u64)>> = if self.threads < 2 || pending.len() < 64 {
            vec![decode(&pending)]
        } else {
            let size = pending.len().div_ceil(self.threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = pending.chunks(size).map(|part| s.spawn(move || decode(part))).collect();
                handles.into_iter().map(|h| h.join().expect("decoder thread")).collect()
            })
        };
        for (decoded, bytes) in parts.into_iter().flatten() {
            self.chunk.absorb(decoded, bytes);
            self.payloads += 1;
        }
        self.pending = pending;
        self.pending.clear();
    }

    fn send(&mut self, next_offset: u64) -> Result<bool, SourceError> {
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.positions.push((self.key.clone(), Checkpoint::offset(next_offset)));
        self.payloads = 0;
        Ok(self.sink.send(chunk))
    }

}

/// Reads until `buf` has grown by a block or the input ends; true at EOF.
fn fill(input: &mut dyn Read, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let target = buf.len() + READ_BLOCK;
    while buf.len() < target {
        let before = buf.len();
        let n = input.take((target - before) as u64).read_to_end(buf)?;
        if n == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
