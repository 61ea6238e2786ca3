//! Decode and normalize: payload bytes → [`AuthEvent`] rows, dead letters
//! and skipped records.
//!
//! The format is detected per record (docs/formats.md). A payload may hold
//! several records (a CloudTrail batch, an AuthEvents page, a CloudWatch Logs
//! subscription payload, a JSON array); those get `#<n>` in their `source`.

mod activity_log;
mod auth_event;
mod canonical;
mod cloudtrail;
mod fast;
mod hosted_ui;
mod logs;
mod identity_pool;
mod scan;
mod mfa;
mod trigger;
pub mod value;

use std::io::Read;

use authlake_core::position::{content_event_id, sha256_hex, PayloadPosition};
use arrow::array::RecordBatch;
use authlake_core::columns::PartitionedRows;
use authlake_core::{AuthEvent, DeadLetter, PartitionKey};
use base64::Engine;
use serde_json::Value;

use crate::secrets::{scrub_bytes, scrub_value};

/// Largest payload accepted after decompression; larger ones become dead
/// letters instead of exhausting memory (gzip bombs).
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Values a source or its configuration supplies for fields a format lacks.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// User pool of AdminListUserAuthEvents pages (they carry none).
    pub user_pool_id: Option<String>,
    /// User name of AdminListUserAuthEvents pages (they carry none).
    pub username: Option<String>,
    /// Tenant of every event that does not say its own.
    pub tenant_id: Option<String>,
    /// Name of the legacy system a migration comes from (e.g. `auth0`).
    pub migration_source: Option<String>,
}

/// Where and when a payload was read.
#[derive(Debug, Clone)]
pub struct PayloadContext<'a> {
    pub position: &'a PayloadPosition,
    /// Transport time in µs and its `event_time_source` name
    /// (`kinesis_arrival`, `kafka_timestamp`), used when a record has no
    /// time of its own.
    pub transport_time: Option<(i64, &'static str)>,
    /// When authlake read the payload, µs.
    pub ingest_time: i64,
    pub defaults: &'a Defaults,
}

/// What payloads turned into: the decode stage's one output, whatever
/// the source. Rows are finished Arrow batches, one per partition.
#[derive(Debug, Default)]
pub struct Decoded {
    pub batches: Vec<(PartitionKey, RecordBatch)>,
    pub dead_letters: Vec<DeadLetter>,
    /// Records that are well-formed but not Cognito (e.g. other services'
    /// CloudTrail records in a batch file) or control messages.
    pub skipped: u64,
}

impl Decoded {
    /// Rows decoded.
    pub fn event_count(&self) -> usize {
        self.batches.iter().map(|(_, b)| b.num_rows()).sum()
    }

    /// Adds what another decode produced.
    pub fn absorb(&mut self, mut other: Decoded) {
        self.batches.append(&mut other.batches);
        self.dead_letters.append(&mut other.dead_letters);
        self.skipped += other.skipped;
    }
}

/// The decode stage at work on a run of payloads: every source's payloads
/// go through [`Decoder::payload`] (canonical records by the fast path,
/// tried once; anything else by format detection), rows into one set of
/// per-partition Arrow builders, sealed into batches by
/// [`Decoder::finish`]. docs/ARCHITECTURE.md walks one record through it.
#[derive(Default)]
pub struct Decoder {
    rows: PartitionedRows,
    dead_letters: Vec<DeadLetter>,
    skipped: u64,
}

impl Decoder {
    /// Decodes one payload (gzip, a CloudWatch Logs envelope, a batch or
    /// one record) into rows and dead letters.
    pub fn payload(&mut self, bytes: &[u8], ctx: &PayloadContext<'_>) {
        Walk::new(self, None, ctx, true).payload_bytes(bytes, 0);
    }

    /// Decodes the payload by the canonical fast path only: true when it
    /// was one flat canonical object (its row appended), false with
    /// nothing appended otherwise.
    pub fn canonical(&mut self, bytes: &[u8], ctx: &PayloadContext<'_>) -> bool {
        bytes.first() == Some(&b'{') && fast::canonical_into(bytes, ctx, &mut self.rows)
    }

    /// [`Decoder::payload`] for a payload the fast path already refused.
    pub fn general(&mut self, bytes: &[u8], ctx: &PayloadContext<'_>) {
        Walk::new(self, None, ctx, false).payload_bytes(bytes, 0);
    }

    /// Counts a payload that holds nothing (an empty message).
    pub fn skip(&mut self) {
        self.skipped += 1;
    }

    /// Rows decoded so far.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Everything decoded so far, rows sealed into batches; the decoder
    /// starts over empty.
    pub fn finish(&mut self) -> Decoded {
        Decoded {
            batches: if self.rows.is_empty() { Vec::new() } else { self.rows.finish() },
            dead_letters: std::mem::take(&mut self.dead_letters),
            skipped: std::mem::take(&mut self.skipped),
        }
    }
}

/// What one payload turned into, rows as structs: for tests and tools
/// that look at single rows ([`decode_payload`]).
#[derive(Debug, Default)]
pub struct DecodedEvents {
    pub events: Vec<AuthEvent>,
    pub dead_letters: Vec<DeadLetter>,
    pub skipped: u64,
}

/// One record inside a payload, with what the payload knows about it.
pub(crate) struct Record<'a> {
    pub value: &'a Value,
    /// The `source` column value.
    pub source: String,
    /// The CloudWatch Logs event it came in, if any.
    pub log_event: LogEvent<'a>,
    pub ctx: &'a PayloadContext<'a>,
}

impl Record<'_> {
    /// The `event_time` fallback order of docs/columns.md after the
    /// record's own time.
    pub fn fallback_time(&self) -> (i64, &'static str) {
        if let Some(t) = self.log_event.time {
            return (t, "log_event");
        }
        if let Some((t, name)) = self.ctx.transport_time {
            return (t, name);
        }
        (self.ctx.ingest_time, "ingest")
    }

    /// What tells a record without an id apart from an identical one
    /// (docs/columns.md): its CloudWatch Logs event id; else, for a record
    /// without a time of its own read from a stream, the message's time
    /// (two identical trigger events in two messages are two events).
    fn id_context(&self, own_time: Option<i64>) -> Option<String> {
        match (self.log_event.id, own_time, self.ctx.transport_time) {
            (Some(id), _, _) => Some(format!("log:{id}")),
            (None, None, Some((t, _))) => Some(format!("at:{t}")),
            _ => None,
        }
    }

    /// A row with the fields every format fills the same way.
    pub fn base_event(&self, event_id: Option<String>, own_time: Option<i64>, format: &str) -> AuthEvent {
        let (event_time, event_time_source) = match own_time {
            Some(t) => (t, "record"),
            None => self.fallback_time(),
        };
        let raw = (format != "canonical").then(|| self.value.to_string());
        let event_id = event_id.unwrap_or_else(|| {
            let text = raw.clone().unwrap_or_else(|| self.value.to_string());
            content_event_id(text.as_bytes(), self.id_context(own_time).as_deref())
        });
        AuthEvent {
            event_id,
            event_time,
            event_time_source: event_time_source.to_string(),
            ingest_time: self.ctx.ingest_time,
            tenant_id: self.ctx.defaults.tenant_id.clone(),
            migration_source: None,
            source_format: format.to_string(),
            source: self.source.clone(),
            raw,
            ..Default::default()
        }
    }
}

/// A CloudWatch Logs event's `timestamp` (µs) and `id`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogEvent<'a> {
    pub time: Option<i64>,
    pub id: Option<&'a str>,
}

/// The result of normalizing one record.
pub(crate) enum Normalized {
    Event(Box<AuthEvent>),
    /// Well-formed but not ours (counted, not dead-lettered).
    Skip,
    /// Why the record cannot become a row.
    Reject(String),
}

/// Decodes one payload into rows as structs (the general path only).
pub fn decode_payload(bytes: &[u8], ctx: &PayloadContext<'_>) -> DecodedEvents {
    let mut decoder = Decoder::default();
    let mut events = Vec::new();
    Walk::new(&mut decoder, Some(&mut events), ctx, false).payload_bytes(bytes, 0);
    DecodedEvents { events, dead_letters: decoder.dead_letters, skipped: decoder.skipped }
}

struct Walk<'a, 'b> {
    out: &'b mut Decoder,
    /// Rows go here as structs instead of to `out`'s Arrow builders.
    events: Option<&'b mut Vec<AuthEvent>>,
    /// Try the canonical fast path on the payload first.
    fast: bool,
    ctx: &'b PayloadContext<'a>,
    /// Records seen so far in this payload: the `#<n>` of the next one.
    counter: usize,
    /// Does this payload hold several records?
    multi: bool,
}

impl<'a, 'b> Walk<'a, 'b> {
    fn new(out: &'b mut Decoder, events: Option<&'b mut Vec<AuthEvent>>, ctx: &'b PayloadContext<'a>, fast: bool) -> Self {
        Self { out, events, fast, ctx, counter: 0, multi: false }
    }

    fn source(&self, index: Option<usize>) -> String {
        self.ctx.position.render_record(index)
    }

    fn dead(&mut self, bytes: &[u8], index: Option<usize>, reason: String) {
        self.out.dead_letters.push(dead_letter(bytes, self.source(index), reason, self.ctx.ingest_time));
    }

    fn payload_bytes(&mut self, bytes: &[u8], depth: usize) {
        if depth > 3 {
            return self.dead(bytes, None, "payload nested too deeply (gzip/base64)".into());
        }
        if bytes.starts_with(&[0x1f, 0x8b]) {
            return match gunzip(bytes) {
                Ok(plain) => self.payload_bytes(&plain, depth + 1),
                Err(e) => self.dead(bytes, None, format!("invalid gzip payload: {e}")),
            };
        }
        let trimmed = trim_ascii(bytes);
        if trimmed.is_empty() {
            return;
        }
        if self.fast && trimmed[0] == b'{' && fast::canonical_into(trimmed, self.ctx, &mut self.out.rows) {
            return;
        }
        match serde_json::from_slice::<Value>(trimmed) {
            Ok(mut v) => {
                if !canonical::looks_canonical(&v) {
                    scrub_value(&mut v);
                }
                self.payload_value(&v, trimmed, depth)
            }
            Err(e) => self.dead(trimmed, None, format!("invalid JSON: {e}")),
        }
    }

    fn payload_value(&mut self, v: &Value, bytes: &[u8], depth: usize) {
        if let Value::Array(items) = v {
            self.multi = true;
            for item in items {
                self.nested_or_record(item, LogEvent::default());
            }
            return;
        }
        if let Some(data) = value::at(v, &["awslogs", "data"]).and_then(Value::as_str) {
            return match base64::engine::general_purpose::STANDARD.decode(data.trim()) {
                Ok(b) => self.payload_bytes(&b, depth + 1),
                Err(e) => self.dead(bytes, None, format!("invalid awslogs.data base64: {e}")),
            };
        }
        self.nested_or_record(v, LogEvent::default())
    }

    /// A value that is either a container of records or one record.
    fn nested_or_record(&mut self, v: &Value, log: LogEvent<'_>) {
        let Some(obj) = v.as_object() else {
            let i = self.next_index();
            return self.dead(v.to_string().as_bytes(), i, "record is not a JSON object".into());
        };
        if obj.get("messageType").is_some() && obj.get("logEvents").is_some() {
            return self.cloudwatch_logs(v);
        }
        if let Some(Value::Array(records)) = obj.get("Records") {
            self.multi = true;
            for r in records {
                self.record(r, log);
            }
            return;
        }
        if let Some(Value::Array(events)) = obj.get("AuthEvents") {
            self.multi = true;
            for r in events {
                self.record(r, log);
            }
            return;
        }
        self.record(v, log)
    }

    fn next_index(&mut self) -> Option<usize> {
        let n = self.counter;
        self.counter += 1;
        self.multi.then_some(n)
    }

    fn record(&mut self, v: &Value, log: LogEvent<'_>) {
        let index = self.next_index();
        let rec = Record {
            value: v,
            source: self.source(index),
            log_event: log,
            ctx: self.ctx,
        };
        match normalize(&rec) {
            Normalized::Event(e) => match &mut self.events {
                Some(events) => events.push(*e),
                None => self.out.rows.push_event(&e),
            },
            Normalized::Skip => self.out.skipped += 1,
            Normalized::Reject(reason) => {
                let bytes = v.to_string();
                self.dead(bytes.as_bytes(), index, reason)
            }
        }
    }
}

/// Detects the format of one record and normalizes it.
fn normalize(rec: &Record<'_>) -> Normalized {
    let v = rec.value;
    let Some(obj) = v.as_object() else {
        return Normalized::Reject("record is not a JSON object".into());
    };
    if obj.contains_key("detail-type") && obj.contains_key("detail") {
        return cloudtrail::normalize_eventbridge(rec);
    }
    if obj.contains_key("eventName") && obj.contains_key("eventSource") {
        return cloudtrail::normalize(rec, v);
    }
    if obj.contains_key("eventTimestamp") || matches!(obj.get("message"), Some(Value::Object(_))) {
        return activity_log::normalize(rec);
    }
    if obj.contains_key("EventId") || (obj.contains_key("EventType") && obj.contains_key("CreationDate")) {
        return auth_event::normalize(rec);
    }
    if obj.contains_key("triggerSource") {
        return trigger::normalize(rec);
    }
    if canonical::looks_canonical(v) {
        return canonical::normalize(rec);
    }
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
    keys.sort_unstable();
    Normalized::Reject(format!("unrecognized record format (keys: {})", keys.join(", ")))
}

/// A dead letter with secrets scrubbed from its bytes. If the scrubbed text
/// would still be unreadable (binary), only a short prefix is kept.
pub fn dead_letter(bytes: &[u8], source: String, reason: String, ingest_time: i64) -> DeadLetter {
    const MAX_KEPT: usize = 1024 * 1024;
    let scrubbed = scrub_bytes(bytes);
    let mut raw = String::from_utf8_lossy(&scrubbed).into_owned();
    if raw.len() > MAX_KEPT {
        let mut cut = MAX_KEPT;
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        raw.truncate(cut);
    }
    DeadLetter { source, reason, raw, raw_sha256: sha256_hex(bytes), ingest_time }
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED_BYTES + 1);
    dec.read_to_end(&mut out)?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(std::io::Error::other("decompressed payload exceeds 256 MiB"));
    }
    Ok(out)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod fuzz;
