//! The decoding side of the file source: a read block cut into shares,
//! each decoded on its own thread by the decode stage's [`Decoder`].

use authlake_core::position::PayloadPosition;

use super::super::split::{next_line, next_payload, Cut};
use crate::decode::{Decoded, Decoder, Defaults, PayloadContext};

/// A payload cut exactly from the buffer, `buf[start..end]`, waiting to
/// be decoded.
pub(super) struct Pending {
    pub(super) start: usize,
    pub(super) end: usize,
}

/// What the decoding threads are handed.
#[derive(Clone, Copy)]
pub(super) enum Work<'p> {
    /// Payloads cut exactly on the reader thread.
    Cut(&'p [Pending]),
    /// Whole lines, `buf[from..to]`: each thread cuts its share itself.
    Lines { from: usize, to: usize },
}

/// What a decoding thread made of one share.
#[derive(Default)]
pub(super) struct Part {
    pub(super) decoded: Decoded,
    pub(super) payloads: u64,
    pub(super) bytes: u64,
    /// A line cut that was not one document: cut again from here.
    pub(super) recut: Option<usize>,
}

/// `work` in about `n` shares of similar size, in order; lines are split
/// after a newline, so every share holds whole lines.
pub(super) fn split<'p>(buf: &[u8], work: Work<'p>, n: usize) -> Vec<Work<'p>> {
    match work {
        Work::Cut(pending) if pending.len() >= 64 => pending.chunks(pending.len().div_ceil(n)).map(Work::Cut).collect(),
        Work::Lines { from, to } if to - from >= 64 * 1024 => {
            let step = (to - from).div_ceil(n);
            let mut shares = Vec::with_capacity(n);
            let mut at = from;
            while at < to {
                let mid = (at + step).min(to);
                let cut = memchr::memchr(b'\n', &buf[mid..to]).map_or(to, |l| mid + l + 1);
                shares.push(Work::Lines { from: at, to: cut });
                at = cut;
            }
            shares
        }
        _ => vec![work],
    }
}

/// What every decoding thread shares: the buffer and what payloads need.
pub(super) struct ShareDecoder<'a> {
    pub(super) buf: &'a [u8],
    /// File offset of `buf[0]`.
    pub(super) base: u64,
    pub(super) eof: bool,
    pub(super) path: &'a str,
    pub(super) clock: &'a (dyn Fn() -> i64 + Sync),
    pub(super) defaults: &'a Defaults,
}

impl ShareDecoder<'_> {
    pub(super) fn decode(&self, work: Work<'_>) -> Part {
        let mut out = Part::default();
        let mut decoder = Decoder::default();
        // One position per share, its offset moved along (not a copy of
        // the path per payload).
        let mut position = PayloadPosition::File { path: self.path.to_string(), offset: 0 };
        // One reading of the clock per share (at most a read block's
        // worth of payloads), not one per payload.
        let ingest_time = (self.clock)();
        match work {
            Work::Cut(pending) => {
                for p in pending {
                    self.payload(p.start, p.end, None, ingest_time, &mut position, &mut decoder, &mut out);
                }
            }
            Work::Lines { from, to } => {
                // A share ends after a newline or at the end of input.
                let lines = &self.buf[..to];
                let mut at = from;
                while let Cut::Payload { start, end, next } = next_line(lines, at, true) {
                    if !self.payload(start, end, Some(next), ingest_time, &mut position, &mut decoder, &mut out) {
                        out.recut = Some(start);
                        break;
                    }
                    at = next;
                }
            }
        }
        out.decoded = decoder.finish();
        out
    }

    /// Decodes `buf[start..end]`; `line_next` is `Some` for a line cut,
    /// which is checked here. False (nothing decoded) when the line was not
    /// one document.
    #[allow(clippy::too_many_arguments)]
    fn payload(
        &self,
        start: usize,
        end: usize,
        line_next: Option<usize>,
        ingest_time: i64,
        position: &mut PayloadPosition,
        decoder: &mut Decoder,
        out: &mut Part,
    ) -> bool {
        let bytes = &self.buf[start..end];
        if let PayloadPosition::File { offset, .. } = position {
            *offset = self.base + start as u64;
        }
        let ctx = PayloadContext { position, transport_time: None, ingest_time, defaults: self.defaults };
        // A line opening a document may hold less (or more) than one; any
        // other line is one bad payload, and exact cuts are right.
        let unchecked = line_next.filter(|_| matches!(bytes[0], b'{' | b'['));
        // The fast path is tried once: a line it read whole was one
        // document; otherwise the cut is checked before the general path.
        match unchecked {
            Some(_) if decoder.canonical(bytes, &ctx) => {}
            Some(next) if next_payload(self.buf, start, self.eof) != (Cut::Payload { start, end, next }) => return false,
            Some(_) => decoder.general(bytes, &ctx),
            None => decoder.payload(bytes, &ctx),
        }
        out.payloads += 1;
        out.bytes += bytes.len() as u64;
        true
    }
}
