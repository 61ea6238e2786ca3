//! Splitting a byte stream into JSON payloads with their byte offsets.
//!
//! Handles NDJSON, pretty-printed and concatenated JSON documents. A broken
//! record is cut at the next line that starts a new document (`{` or `[` in
//! column 0), so one bad NDJSON line is one dead letter and the rest of the
//! file still reads.

/// Where the next payload ends, or that more input is needed.
#[derive(Debug, PartialEq, Eq)]
pub enum Cut {
    /// The payload is `buf[start..end]`; reading resumes at `next`.
    Payload { start: usize, end: usize, next: usize },
    /// Only whitespace is left.
    Empty,
    /// The buffer ends inside a payload: read more (or, at end of input, the
    /// rest is one truncated payload).
    NeedMore,
}

/// End of the JSON value starting at `start` (an object or array), or
/// `None` when the buffer ends first. Tracks strings and escapes.
fn value_end(buf: &[u8], start: usize, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    let mut in_str = false;
    while i < limit {
        let c = buf[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..].iter().position(|&c| c == b'\n').map(|p| from + p)
}

/// The next line starting with `{` or `[` after `from`, else the end.
fn resync(buf: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(nl) = line_end(buf, i) {
        if matches!(buf.get(nl + 1), Some(b'{') | Some(b'[')) {
            return nl + 1;
        }
        i = nl + 1;
    }
    buf.len()
}

/// Cuts the next line from `buf[pos..]` as [`next_payload`] would cut it if
/// the line holds one whole document (the NDJSON case), without reading
/// the line: one `memchr`. Whoever decodes the cut checks that it was one
/// document, and cuts again with [`next_payload`] if not.
pub fn next_line(buf: &[u8], pos: usize, eof: bool) -> Cut {
    let Some(start) = buf[pos..].iter().position(|c| !c.is_ascii_whitespace()).map(|p| pos + p) else {
        return Cut::Empty;
    };
    let line = match memchr::memchr(b'\n', &buf[start..]) {
        Some(l) => start + l,
        None if eof => buf.len(),
        None => return Cut::NeedMore,
    };
    if !matches!(buf[start], b'{' | b'[') {
        // Not a document: the rest of the line is one bad payload.
        return Cut::Payload { start, end: line, next: (line + 1).min(buf.len()) };
    }
    let end = buf[..line].iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    Cut::Payload { start, end, next: end }
}

/// Cuts the next payload from `buf[pos..]`. `eof` says no more input follows.
pub fn next_payload(buf: &[u8], pos: usize, eof: bool) -> Cut {
    let Some(start) = buf[pos..].iter().position(|c| !c.is_ascii_whitespace()).map(|p| pos + p) else {
        return Cut::Empty;
    };
    let first = buf[start];
    let line = line_end(buf, start);
    if first != b'{' && first != b'[' {
        // Not a document: the rest of the line is one bad payload.
        return match line {
            Some(l) => Cut::Payload { start, end: l, next: l + 1 },
            None if eof => Cut::Payload { start, end: buf.len(), next: buf.len() },
            None => Cut::NeedMore,
        };
    }
    // The common case: a whole document on this line (NDJSON).
    let line_limit = line.unwrap_or(buf.len());
    if let Some(end) = value_end(buf, start, line_limit) {
        return Cut::Payload { start, end, next: end };
    }
    if line.is_none() && !eof {
        return Cut::NeedMore;
    }
    // A document spanning lines (pretty-printed), or a broken one.
    match value_end(buf, start, buf.len()) {
        Some(end) if serde_json::from_slice::<serde::de::IgnoredAny>(&buf[start..end]).is_ok() => {
            Cut::Payload { start, end, next: end }
        }
        None if !eof => Cut::NeedMore,
        _ => {
            let end = resync(buf, start);
            if end == buf.len() && !eof {
                return Cut::NeedMore;
            }
            let trimmed_end = if end > start && buf[end - 1] == b'\n' { end - 1 } else { end };
            Cut::Payload { start, end: trimmed_end, next: end }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(buf: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            match next_payload(buf, pos, true) {
                Cut::Payload { start, end, next } => {
                    out.push(String::from_utf8_lossy(&buf[start..end]).into_owned());
                    pos = next;
                }
                Cut::Empty => return out,
                Cut::NeedMore => panic!("need more at eof"),
            }
        }
    }

    #[test]
    fn splits_ndjson_pretty_and_concatenated() {
        let input = b"{\"a\":1}\n{\"b\":\"}\"}\n\n{\n  \"c\": [1,\n 2]\n}{\"d\":4} {\"e\":5}\n";
        assert_eq!(all(input), vec!["{\"a\":1}", "{\"b\":\"}\"}", "{\n  \"c\": [1,\n 2]\n}", "{\"d\":4}", "{\"e\":5}"]);
    }

    #[test]
    fn a_broken_line_is_one_payload() {
        let input = b"{\"a\":1}\n{\"broken\": \n{\"b\":2}\nnot json\n{\"c\":3}";
        assert_eq!(all(input), vec!["{\"a\":1}", "{\"broken\": ", "{\"b\":2}", "not json", "{\"c\":3}"]);
    }

    #[test]
    fn asks_for_more_inside_a_document() {
        assert_eq!(next_payload(b"{\"a\":", 0, false), Cut::NeedMore);
        assert_eq!(next_payload(b"   ", 0, false), Cut::Empty);
        assert_eq!(next_payload(b"{\"a\":", 0, true), Cut::Payload { start: 0, end: 5, next: 5 });
    }
}
