//! Source positions and stable ids for records that carry none.
//!
//! A position is rendered into the `source` column as
//! `file:<path>@<byte offset>[#<n>]` (`s3://<bucket>/<key>@<byte offset>[#<n>]`
//! for an S3 object), `kafka:<topic>/<partition>@<offset>[#<n>]`
//! or `kinesis:<stream>/<shard>@<seq>[#<n>]`, where `#<n>` is the index of the
//! record inside a payload that holds several.

use sha2::{Digest, Sha256};

/// Where one payload came from: everything but the index inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadPosition {
    File { path: String, offset: u64 },
    Kafka { topic: String, partition: i32, offset: i64 },
    Kinesis { stream: String, shard: String, sequence: String },
}

impl PayloadPosition {
    /// The `source` string of the payload itself.
    pub fn render(&self) -> String {
        self.render_record(None)
    }

    /// The `source` string of record `index` inside the payload; `None` when
    /// the payload holds a single record.
    pub fn render_record(&self, index: Option<usize>) -> String {
        let mut out = String::new();
        self.render_into(index, &mut out);
        out
    }

    /// [`Self::render_record`] into `out` (cleared first): decoders reuse
    /// one buffer instead of allocating a string per row.
    pub fn render_into(&self, index: Option<usize>, out: &mut String) {
        // Once per row: pieces pushed in place, as `write!` costs ten times
        // more (a formatter per piece).
        out.clear();
        match self {
            Self::File { path, offset } => {
                // An S3 object read as a file is named by its URL.
                if !path.starts_with("s3://") {
                    out.push_str("file:");
                }
                out.push_str(path);
                out.push('@');
                push_decimal(out, *offset);
            }
            Self::Kafka { topic, partition, offset } => {
                out.extend(["kafka:", topic.as_str(), "/"]);
                push_signed(out, i64::from(*partition));
                out.push('@');
                push_signed(out, *offset);
            }
            Self::Kinesis { stream, shard, sequence } => {
                out.extend(["kinesis:", stream.as_str(), "/", shard.as_str(), "@", sequence.as_str()]);
            }
        }
        if let Some(n) = index {
            out.push('#');
            push_decimal(out, n as u64);
        }
    }
}

fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

fn push_signed(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_decimal(out, n.unsigned_abs());
}

/// Derived ids start with this (ids of lakes written before content ids,
/// derived from the position, start with `al-`).
pub const CONTENT_ID_PREFIX: &str = "ac-";

/// The id of a record without one of its own (docs/columns.md): a hash of
/// the record's text and, where there is one, what tells it apart from an
/// identical record (its CloudWatch Logs event id, a stream message's
/// time), so the same record has the same id whichever object or position
/// delivers it in the same form. Identical records in one object are told
/// apart by [`nth_occurrence`].
pub fn content_event_id(record: &[u8], context: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(record);
    if let Some(c) = context {
        h.update([0u8]);
        h.update(c.as_bytes());
    }
    let digest = h.finalize();
    format!("{CONTENT_ID_PREFIX}{}", hex::encode(&digest[..16]))
}

/// The id of the `n`th repeat (from 1) of an identical record within one
/// object: the first keeps its content id. The base stays readable in it
/// ([`occurrence_of`]), so a resumed ingest can count what is in.
pub fn nth_occurrence(base: &str, n: u32) -> String {
    format!("{base}.{n}")
}

/// A content id's base and occurrence (0 for the first); `None` for any
/// other id.
pub fn occurrence_of(id: &str) -> Option<(&str, u32)> {
    let rest = id.strip_prefix(CONTENT_ID_PREFIX)?;
    match rest.split_once('.') {
        None if rest.len() == 32 => Some((id, 0)),
        Some((hash, n)) if hash.len() == 32 => Some((&id[..CONTENT_ID_PREFIX.len() + 32], n.parse().ok()?)),
        _ => None,
    }
}

/// SHA-256 of bytes as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_positions_as_documented() {
        let p = PayloadPosition::File { path: "/data/a.json".into(), offset: 120 };
        assert_eq!(p.render_record(None), "file:/data/a.json@120");
        assert_eq!(p.render_record(Some(3)), "file:/data/a.json@120#3");
        let k = PayloadPosition::Kafka { topic: "t".into(), partition: 2, offset: 9 };
        assert_eq!(k.render(), "kafka:t/2@9");
        let k = PayloadPosition::Kafka { topic: "t".into(), partition: 0, offset: -1 };
        assert_eq!(k.render_record(Some(10)), "kafka:t/0@-1#10");
        let f = PayloadPosition::File { path: "a".into(), offset: u64::MAX };
        assert_eq!(f.render(), format!("file:a@{}", u64::MAX));
        let s = PayloadPosition::Kinesis { stream: "s".into(), shard: "shardId-0".into(), sequence: "4959".into() };
        assert_eq!(s.render_record(Some(0)), "kinesis:s/shardId-0@4959#0");
    }

    #[test]
    fn content_ids_depend_on_the_record_and_its_log_event_only() {
        let a = content_event_id(b"{}", None);
        assert_eq!(a, content_event_id(b"{}", None), "the same record, the same id");
        assert_ne!(a, content_event_id(b"{ }", None));
        assert_ne!(a, content_event_id(b"{}", Some("3719")), "two log events of the same message");
        assert_eq!(occurrence_of(&a), Some((a.as_str(), 0)));
        let third = nth_occurrence(&a, 2);
        assert_eq!(occurrence_of(&third), Some((a.as_str(), 2)));
        assert_eq!(occurrence_of("al-0123"), None);
        assert_eq!(occurrence_of("ac-short"), None);
    }
}
