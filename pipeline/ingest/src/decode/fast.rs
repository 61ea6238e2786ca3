//! The canonical fast path: a flat canonical JSON object scanned in place
//! and appended straight to the partition's Arrow builders, with no
//! `serde_json::Value`, no owned row and no per-field allocation (strings
//! with escapes aside: they are unescaped into one buffer per record).
//!
//! It accepts only what it can decode exactly as [`super::canonical`] does:
//! known keys, scalar values of the expected JSON type, no duplicates, a
//! known `event_type` and a valid `event_time`. Anything else (a number
//! where a string is expected, an unknown key, a reject) returns `false`
//! with nothing appended, and the general path decodes the payload, with
//! its lenient readings and its dead letters.

use std::borrow::Cow;
use std::sync::LazyLock;

use authlake_core::columns::{kind_index, slot, Kind, PartitionedRows, RowRef, COLUMNS, FLAGS, INTS, OPT, TEXT, TIMES};
use authlake_core::event::{category_of, known_event_type, Category};
use authlake_core::schema::PARTITION_COLUMNS;

use super::scan::{Scalar, Scan, Span};
#[cfg(test)]
use super::scan::{same_bytes, string_stop};
use super::value::{iso_time, text_str};
use super::PayloadContext;

/// What a key of a canonical object feeds: a column's slot in the row, by
/// kind, or one of the two keys that are not file columns.
#[derive(Clone, Copy)]
enum Key {
    Text(usize),
    Time(usize),
    Opt(usize),
    Flag(usize),
    Int(usize),
    /// `category`: checked against `event_type`.
    Category,
    /// Columns authlake sets itself (`source`, `raw`, ...) and
    /// `event_date`: read and dropped.
    Ignored,
}

/// Every key a canonical object may have, in byte order, from the column
/// declaration: writers that sort their keys (authlake's own, `jq -S`,
/// most serializers' sorted maps) are matched by one comparison per key,
/// others by binary search. A key's index here is also its bit in the
/// duplicate check.
static KEYS: LazyLock<Vec<(&'static [u8], Key)>> = LazyLock::new(|| {
    let mut keys: Vec<(&'static [u8], Key)> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = kind_index(i);
            let key = match c.kind {
                _ if !c.spec.from_input => Key::Ignored,
                Kind::Text => Key::Text(at),
                Kind::Time => Key::Time(at),
                Kind::Opt => Key::Opt(at),
                Kind::Flag => Key::Flag(at),
                Kind::Int => Key::Int(at),
            };
            (c.name.as_bytes(), key)
        })
        .collect();
    let [category, event_date] = PARTITION_COLUMNS;
    keys.push((category.as_bytes(), Key::Category));
    keys.push((event_date.as_bytes(), Key::Ignored));
    keys.sort_by_key(|(name, _)| *name);
    assert!(keys.len() <= 64, "the duplicate check keeps one bit per key");
    keys
});


/// The fields of one canonical object, as spans of the record, in the
/// slots of [`RowRef`] (times as their text).
#[derive(Default)]
struct Fields {
    text: [Span; TEXT],
    times: [Span; TIMES],
    category: Span,
    opt: [Span; OPT],
    flags: [Option<bool>; FLAGS],
    ints: [Option<i64>; INTS],
    /// Strings that had escapes, unescaped (rare: most records have none).
    unescaped: String,
}

impl Fields {
    /// The text of `v`; `None` for null.
    fn get<'s>(&'s self, text: &'s str, v: Span) -> Option<&'s str> {
        if v.is_null() {
            None
        } else if v.start & Span::UNESCAPED != 0 {
            Some(&self.unescaped[(v.start & !Span::UNESCAPED) as usize..v.end as usize])
        } else {
            // Spans start and end next to a quote (ASCII), so they are
            // character boundaries; a bad span is a bug, and panics.
            Some(&text[v.start as usize..v.end as usize])
        }
    }

    /// A column's value: the text, or `None` for null and what reads as
    /// null ([`text_str`]).
    fn text<'s>(&'s self, text: &'s str, v: Span) -> Option<&'s str> {
        self.get(text, v).and_then(text_str)
    }
}

/// The record as text, and its fields.
fn parse(b: &[u8]) -> Option<(&str, Fields)> {
    if b.len() >= Span::MAX_RECORD {
        return None;
    }
    let text = std::str::from_utf8(b).ok()?;
    let mut s = Scan { b, i: 0 };
    let mut f = Fields::default();
    let keys = KEYS.as_slice();
    let mut seen = 0u64;
    let mut next = 0;
    if !s.eat(b'{') {
        return None;
    }
    if s.eat(b'}') {
        return None;
    }
    loop {
        s.ws();
        let index = s.known_key(keys, next)?;
        next = index + 1;
        let key = keys[index].1;
        let bit = 1u64 << index;
        if seen & bit != 0 && !matches!(key, Key::Ignored) {
            return None; // duplicate key: the general path keeps the last
        }
        seen |= bit;
        if !s.eat(b':') {
            return None;
        }
        let value = s.scalar(&mut f.unescaped)?;
        match key {
            Key::Text(i) => f.text[i] = as_text(value)?,
            Key::Time(i) => f.times[i] = as_text(value)?,
            Key::Category => f.category = as_text(value)?,
            Key::Opt(i) => f.opt[i] = as_text(value)?,
            Key::Flag(i) => {
                f.flags[i] = match value {
                    Scalar::Bool(v) => Some(v),
                    Scalar::Null => None,
                    _ => return None,
                }
            }
            Key::Int(i) => {
                f.ints[i] = match value {
                    Scalar::Int(v) => Some(v),
                    Scalar::Null => None,
                    _ => return None,
                }
            }
            Key::Ignored => {}
        }
        if s.eat(b',') {
            continue;
        }
        if s.eat(b'}') {
            break;
        }
        return None;
    }
    s.ws();
    (s.i == b.len()).then_some((text, f))
}

/// A string column's value: numbers and booleans (which the general path
/// renders as text) are not taken.
fn as_text(v: Scalar) -> Option<Span> {
    match v {
        Scalar::Str(t) => Some(t),
        Scalar::Null => Some(Span::NULL),
        _ => None,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the form authlake and most tools
/// write, in µs; anything else (offsets, leap seconds, odd digits) is left
/// to [`iso_time`].
fn utc_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let micros = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20..20 + digits.len())?;
            // Truncated to µs, as chrono's timestamp_micros does.
            if digits.len() >= 6 { n / 10i64.pow(digits.len() as u32 - 6) } else { n * 10i64.pow(6 - digits.len() as u32) }
        }
        _ => return None,
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > month_days[month as usize - 1] || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros)
}

/// Decodes `record` (a trimmed single-record payload) into `rows` when it
/// is a canonical object this path reads exactly; false leaves `rows`
/// untouched.
pub(crate) fn canonical_into(record: &[u8], ctx: &PayloadContext<'_>, rows: &mut PartitionedRows) -> bool {
    let Some((text, f)) = parse(record) else { return false };
    let t = |v: Span| f.text(text, v);
    let Some(event_type) = t(f.text[slot::event_type.0]).and_then(known_event_type) else { return false };
    let own_time = match f.get(text, f.times[slot::event_time.0]) {
        None => None,
        Some(s) => match text_str(s).and_then(|s| utc_time(s).or_else(|| iso_time(s))) {
            Some(us) => Some(us),
            None => return false,
        },
    };
    let category = category_of(event_type);
    if t(f.category).is_some_and(|c| c != category) {
        return false;
    }
    // A record without an id gets one from its text: the general path's.
    let Some(event_id) = t(f.text[slot::event_id.0]) else { return false };
    // The thread's buffer, taken for this row and put back after it.
    let mut source = SOURCE.take();
    ctx.position.render_into(None, &mut source);
    let (event_time, mut time_source) = match own_time {
        Some(us) => (us, "record"),
        None => ctx.transport_time.unwrap_or((ctx.ingest_time, "ingest")),
    };
    if own_time.is_some() {
        if let Some(src) = t(f.text[slot::event_time_source.0]) {
            time_source = src;
        }
    }
    let outcome = t(f.opt[slot::outcome.0]).map(|o| match o.bytes().any(|c| c.is_ascii_uppercase()) {
        true => Cow::Owned(o.to_ascii_lowercase()),
        false => Cow::Borrowed(o),
    });
    let mut row = RowRef { flags: f.flags, ints: f.ints, ..Default::default() };
    for (slot, v) in row.text.iter_mut().zip(f.text) {
        *slot = t(v).unwrap_or_default();
    }
    for (slot, v) in row.opt.iter_mut().zip(f.opt) {
        *slot = t(v);
    }
    row[slot::event_id] = event_id;
    row[slot::event_time_source] = time_source;
    row[slot::event_type] = event_type;
    row[slot::source_format] = "canonical";
    row[slot::source] = &source;
    row[slot::event_time] = event_time;
    row[slot::ingest_time] = ctx.ingest_time;
    row[slot::outcome] = outcome.as_deref();
    row[slot::raw] = None;
    if row[slot::tenant_id].is_none() {
        row[slot::tenant_id] = ctx.defaults.tenant_id.as_deref();
    }
    if row[slot::migration_source].is_none() && category == Category::Migration.as_str() {
        row[slot::migration_source] = ctx.defaults.migration_source.as_deref();
    }
    rows.push(&row);
    SOURCE.set(source);
    true
}

thread_local! {
    /// The `source` of the row being appended: one buffer per decoding
    /// thread rather than a string per row.
    static SOURCE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
