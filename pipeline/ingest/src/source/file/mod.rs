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

use serde_json::value::RawValue;

mod inputs;
mod share;

pub use inputs::{position_key, resolve};
use inputs::may_hold_records;

use share::{split, Part, Pending, ShareDecoder, Work};

use super::split::{next_payload, Cut};
use super::{Chunk, ChunkSink, SourceError};
use crate::decode::Defaults;
use authlake_lake::Checkpoint;

const READ_BLOCK: usize = 4 * 1024 * 1024;
/// Payloads decoded before a chunk is handed to the writer.
const CHUNK_PAYLOADS: usize = 8192;

/// Reads `files` from their committed positions, decodes, and hands chunks
/// to `sink` until done or the sink hangs up. Runs on a blocking thread.
pub fn read_files(
    files: &[PathBuf],
    start: &BTreeMap<String, Checkpoint>,
    defaults: &Defaults,
    clock: &(dyn Fn() -> i64 + Sync),
    sink: &mut dyn ChunkSink,
) -> Result<(), SourceError> {
    for path in files {
        let key = position_key(path);
        let from = start.get(&key).and_then(|c| c.offset).unwrap_or(0);
        let mut reader = FileReader::new(path, path.display().to_string(), Some(key), defaults, clock, &mut *sink);
        if !reader.read(from)? {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads a local copy of an object named `name` (the rows' `source`) from
/// its start, as [`read_files`] reads a file, without positions of its own
/// (the caller's source keeps them). Returns false when the sink hung up.
pub fn read_object(
    local: &Path,
    name: &str,
    defaults: &Defaults,
    clock: &(dyn Fn() -> i64 + Sync),
    sink: &mut dyn ChunkSink,
) -> Result<bool, SourceError> {
    FileReader::new(local, name.to_string(), None, defaults, clock, sink).read(0)
}

struct FileReader<'a> {
    path: &'a Path,
    /// The name in the rows' `source`: the path, or an object's URL.
    path_text: String,
    /// The position key (`None`: the caller keeps the positions).
    key: Option<String>,
    defaults: &'a Defaults,
    clock: &'a (dyn Fn() -> i64 + Sync),
    sink: &'a mut dyn ChunkSink,
    chunk: Chunk,
    /// Payloads decoded into `chunk`.
    payloads: usize,
    /// Payloads cut from the buffer but not decoded yet.
    pending: Vec<Pending>,
    /// Decoding runs on this many threads.
    threads: usize,
    /// The file is gzip-compressed.
    gz: bool,
    /// Where and how the compressed stream broke off, if it did.
    damaged: Option<String>,
}

impl<'a> FileReader<'a> {
    fn new(
        path: &'a Path,
        path_text: String,
        key: Option<String>,
        defaults: &'a Defaults,
        clock: &'a (dyn Fn() -> i64 + Sync),
        sink: &'a mut dyn ChunkSink,
    ) -> Self {
        Self {
            path,
            path_text,
            key,
            defaults,
            clock,
            sink,
            chunk: Chunk::default(),
            payloads: 0,
            pending: Vec::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            gz: false,
            damaged: None,
        }
    }

    /// Returns false when the sink hung up.
    fn read(&mut self, from: u64) -> Result<bool, SourceError> {
        let io = |e| SourceError::Io(self.path.to_path_buf(), e);
        let mut file = File::open(self.path).map_err(io)?;
        let mut head = Vec::with_capacity(4096);
        (&mut file).take(4096).read_to_end(&mut head).map_err(io)?;
        if from == 0 && !may_hold_records(&head) {
            let chunk = Chunk { not_records: vec![self.path_text.clone()], ..Chunk::default() };
            return Ok(self.sink.send(chunk));
        }
        let gz = head.starts_with(&[0x1f, 0x8b]);
        self.gz = gz;
        // Skip what earlier commits covered: seek in plain files, inflate and
        // discard in gzip ones (offsets count decompressed bytes).
        let mut input: Box<dyn Read> = if gz {
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            let mut inflated = BufReader::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)));
            let skipped = match std::io::copy(&mut (&mut inflated).take(from), &mut std::io::sink()) {
                Ok(n) => n,
                // Damaged before the lake's position: everything whole was
                // read by an earlier run.
                Err(e) if is_damage(&e) => {
                    self.damaged = Some(self.damage(from, &e));
                    return self.send(from);
                }
                Err(e) => return Err(io(e)),
            };
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
        // Below this file offset, payloads are cut exactly on this thread
        // (a line cut turned out not to be one document).
        let mut exact_until = 0u64;
        loop {
            if !eof && (buf.len() - pos) < READ_BLOCK {
                eof = self.refill(&mut *input, &mut buf, &mut base, &mut pos)?;
            }
            if first {
                first = false;
                // .NET and Windows tools start UTF-8 files with a byte-order
                // mark; it is not part of the first document.
                if buf[pos..].starts_with(b"\xEF\xBB\xBF") {
                    pos += 3;
                }
                let lead = buf[pos..].iter().position(|c| !c.is_ascii_whitespace());
                if lead.is_some_and(|l| buf[pos + l] == b'[') {
                    if !eof {
                        input.read_to_end(&mut buf).map_err(io)?;
                        eof = true;
                    }
                    if self.read_array(&buf, pos) {
                        self.decode_pending(&buf, base, eof);
                        return self.send(buf.len() as u64);
                    }
                }
            }
            // Decode what is buffered: whole lines on the decoding threads
            // (each cuts its share), or one exact cut on this thread.
            let progressed = if base + (pos as u64) >= exact_until {
                let to = if eof { buf.len() } else { memchr::memrchr(b'\n', &buf[pos..]).map_or(pos, |l| pos + l + 1) };
                let whole_lines = to > pos;
                if whole_lines {
                    self.decode_pending(&buf, base, eof);
                    pos = match self.decode(&buf, base, eof, Work::Lines { from: pos, to }) {
                        Some(r) => {
                            exact_until = base + (buf.len() + READ_BLOCK) as u64;
                            r
                        }
                        None => to,
                    };
                    if self.payloads >= CHUNK_PAYLOADS && !self.send(base + pos as u64)? {
                        return Ok(false);
                    }
                }
                whole_lines
            } else if let Cut::Payload { start, end, next } = next_payload(&buf, pos, eof) {
                self.pending.push(Pending { start, end });
                pos = next;
                if self.payloads + self.pending.len() >= CHUNK_PAYLOADS {
                    self.decode_pending(&buf, base, eof);
                    if !self.send(base + next as u64)? {
                        return Ok(false);
                    }
                }
                true
            } else {
                false
            };
            if progressed {
                continue;
            }
            if eof {
                self.decode_pending(&buf, base, eof);
                break;
            }
            // Grow: the line or payload is longer than what is buffered.
            eof = self.refill(&mut *input, &mut buf, &mut base, &mut pos)?;
        }
        self.send(base + buf.len() as u64)
    }

    /// A file that is one JSON array: each element is a payload at its own
    /// offset. Returns false when `buf` is not one array (e.g. NDJSON of
    /// arrays), to be read as a sequence instead.
    fn read_array(&mut self, buf: &[u8], from: usize) -> bool {
        let Ok(items) = serde_json::from_slice::<Vec<&RawValue>>(&buf[from..]) else {
            return false;
        };
        for item in items {
            let start = item.get().as_ptr() as usize - buf.as_ptr() as usize;
            let end = start + item.get().len();
            self.pending.push(Pending { start, end });
        }
        true
    }

    /// Before the buffer moves: decodes what was cut from it, drops the
    /// bytes before `pos` and reads a block more. True at end of input.
    fn refill(&mut self, input: &mut dyn Read, buf: &mut Vec<u8>, base: &mut u64, pos: &mut usize) -> Result<bool, SourceError> {
        self.decode_pending(buf, *base, false);
        buf.drain(..*pos);
        *base += *pos as u64;
        *pos = 0;
        match fill(input, buf) {
            // A truncated or corrupt `.gz`: what inflated before the damage
            // is read as the end of the file (a cut record at its end is a
            // dead letter), and the run says the input was damaged.
            Err(e) if self.gz && is_damage(&e) => {
                self.damaged = Some(self.damage(*base + buf.len() as u64, &e));
                Ok(true)
            }
            other => other.map_err(|e| SourceError::Io(self.path.to_path_buf(), e)),
        }
    }

    /// The damage report of this file, broken off at decompressed offset `at`.
    fn damage(&self, at: u64, e: &std::io::Error) -> String {
        format!("{}: the gzip stream breaks off after {at} decompressed bytes ({e})", self.path_text)
    }

    /// Decodes the payloads cut exactly from `buf` (they never need a
    /// second cut).
    fn decode_pending(&mut self, buf: &[u8], base: u64, eof: bool) {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.decode(buf, base, eof, Work::Cut(&pending));
            self.pending = pending;
            self.pending.clear();
        }
    }

    /// Decodes `work` from `buf` (whose first byte is at file offset
    /// `base`) on all cores, keeping the order of the payloads. Each thread
    /// appends its rows to its own Arrow builders and finishes them, so the
    /// run loop receives batches ready to encode.
    ///
    /// Line cuts are checked where they are decoded: a line the fast path
    /// read whole was one document; any other line must be what the exact
    /// cutter gives. At the first that is not, decoding stops and the
    /// buffer index to cut again from (exactly) is returned.
    fn decode(&mut self, buf: &[u8], base: u64, eof: bool, work: Work<'_>) -> Option<usize> {
        // One share per thread: each share's rows become batches of their
        // own, and smaller ones (4 per thread, taken as threads got free)
        // cost 10% more CPU downstream than the idle time they saved.
        let shares = split(buf, work, self.threads);
        let decoder = ShareDecoder { buf, base, eof, path: &self.path_text, clock: self.clock, defaults: self.defaults };
        let parts: Vec<Part> = if shares.len() < 2 {
            shares.iter().map(|w| decoder.decode(*w)).collect()
        } else {
            std::thread::scope(|s| {
                let decoder = &decoder;
                let handles: Vec<_> = shares.iter().map(|w| s.spawn(move || decoder.decode(*w))).collect();
                handles.into_iter().map(|h| h.join().expect("decoder thread")).collect()
            })
        };
        for part in parts {
            self.chunk.absorb_many(part.decoded, part.payloads, part.bytes);
            self.payloads += part.payloads as usize;
            if part.recut.is_some() {
                return part.recut; // later shares decoded payloads cut wrongly
            }
        }
        None
    }

    fn send(&mut self, next_offset: u64) -> Result<bool, SourceError> {
        let mut chunk = std::mem::take(&mut self.chunk);
        if let Some(key) = &self.key {
            chunk.positions.push((key.clone(), Checkpoint::offset(next_offset)));
        }
        chunk.damaged.extend(self.damaged.take());
        self.payloads = 0;
        Ok(self.sink.send(chunk))
    }

}

/// Whether a read error is a damaged compressed stream (truncated, bad
/// data or checksum) rather than the file system failing.
fn is_damage(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
    matches!(e.kind(), UnexpectedEof | InvalidInput | InvalidData)
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

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use authlake_core::position::PayloadPosition;

    use super::*;
    use crate::decode::{Decoder, PayloadContext};

    struct Collect(Vec<Chunk>);

    impl ChunkSink for Collect {
        fn send(&mut self, chunk: Chunk) -> bool {
            self.0.push(chunk);
            true
        }
    }

    /// The `source` of every row and dead letter, sorted.
    fn sources(chunks: &[Chunk]) -> Vec<String> {
        let mut out: Vec<String> = chunks.iter().flat_map(|c| c.decoded.dead_letters.iter().map(|d| d.source.clone())).collect();
        for c in chunks {
            for (_, b) in &c.decoded.batches {
                let col = b.column_by_name("source").expect("source column");
                out.extend(col.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn line_cuts_give_the_payloads_of_exact_cuts() {
        // Lines that look like one document and are not, among NDJSON.
        let block = concat!(
            "{\"event_type\":\"sign_in\",\"username\":\"a\"}\n",
            "{\"event_type\": {\"nested\":1}\n}\n",
            "{\"event_type\":\"sign_in\"} {\"event_type\":\"sign_out\"}\n",
            "not json\n",
            "{\n  \"event_type\": \"sign_up\"\n}\n",
            "[{\"event_type\":\"sign_in\"}, {\"event_type\":\"sign_out\"}]\n",
            "{\"event_type\":\"sign_in\",\"username\":\"b\"}   \r\n",
        );
        // Larger than two read blocks: cuts checked across buffer moves.
        let text = block.repeat(40_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixed.ndjson");
        std::fs::write(&path, &text).unwrap();

        let mut sink = Collect(Vec::new());
        read_files(std::slice::from_ref(&path), &BTreeMap::new(), &Defaults::default(), &|| 0, &mut sink).unwrap();
        let got = sources(&sink.0);

        // The same bytes cut exactly, one payload at a time.
        let (buf, mut pos, mut expected) = (text.as_bytes(), 0, Vec::new());
        let mut decoder = Decoder::default();
        while let Cut::Payload { start, end, next } = next_payload(buf, pos, true) {
            let position = PayloadPosition::File { path: path.display().to_string(), offset: start as u64 };
            let ctx = PayloadContext { position: &position, transport_time: None, ingest_time: 0, defaults: &Defaults::default() };
            decoder.payload(&buf[start..end], &ctx);
            expected.push(start);
            pos = next;
        }
        let want = Chunk { decoded: decoder.finish(), ..Default::default() };
        assert_eq!(got.len(), sources(std::slice::from_ref(&want)).len());
        assert_eq!(got, sources(std::slice::from_ref(&want)));
        assert!(sink.0.len() > 2, "several chunks: {}", sink.0.len());
        assert_eq!(sink.0.last().unwrap().positions.last().unwrap().1.offset, Some(text.len() as u64));
        assert_eq!(sink.0.iter().map(|c| c.payloads).sum::<u64>(), expected.len() as u64);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_document() {
        let dir = tempfile::tempdir().unwrap();
        let pretty = "\u{feff}{\n  \"event_type\": \"sign_in\",\n  \"username\": \"a\"\n}\n";
        let array = "\u{feff}[{\"event_type\":\"sign_in\"}, {\"event_type\":\"sign_out\"}]";
        for (name, text, rows) in [("pretty.json", pretty, 1), ("array.json", array, 2)] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let mut sink = Collect(Vec::new());
            read_files(std::slice::from_ref(&path), &BTreeMap::new(), &Defaults::default(), &|| 0, &mut sink).unwrap();
            let dead: usize = sink.0.iter().map(|c| c.decoded.dead_letters.len()).sum();
            let got: usize = sink.0.iter().map(|c| c.decoded.event_count()).sum();
            assert_eq!((name, got, dead), (name, rows, 0));
        }
    }
}
