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
use authlake_core::position::derived_event_id;

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

/// Keys after the previous one compared in place before a binary search.
const LOOKAHEAD: usize = 4;

/// Whether `rest` starts with `key` and its closing quote. Known keys have
/// no escapes, so these bytes are the whole key. Keys of another length
/// mostly fail on the quote, before any byte of the key is compared.
fn key_at(rest: &[u8], key: &[u8]) -> bool {
    rest.get(key.len()) == Some(&b'"') && same_bytes(&rest[..key.len()], key)
}

/// `a == b` for slices of equal length, eight bytes at a time (keys are
/// 3 to 23 bytes, where a `memcmp` call costs more than the comparison).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("eight bytes"));
    let n = a.len();
    if n < 8 || n != b.len() {
        return a == b;
    }
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    // The last eight bytes, overlapping the word before when `n` is not a
    // multiple of eight.
    word(a, n - 8) == word(b, n - 8)
}

/// A string value where it lies: bytes `start..end` of the record, or of
/// [`Fields::unescaped`] when `start` has [`Span::UNESCAPED`] set. Eight
/// bytes, where a `Cow<str>` is 24: a record's 30 string values are moved and
/// stored a few times each, and the moves showed in profiles.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// JSON `null` (or a key not present).
    const NULL: Span = Span { start: u32::MAX, end: 0 };
    const UNESCAPED: u32 = 1 << 31;
    /// Records at least this long are left to the general path, so every
    /// offset fits below [`Span::UNESCAPED`].
    const MAX_RECORD: usize = 1 << 31;

    fn is_null(self) -> bool {
        self.start == u32::MAX
    }
}

impl Default for Span {
    fn default() -> Self {
        Self::NULL
    }
}

/// One scalar JSON value.
enum Scalar {
    Str(Span),
    Bool(bool),
    Int(i64),
    Null,
}

/// A cursor over one JSON object's bytes.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            return true;
        }
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// A string starting at the opening quote; escapes go through
    /// serde_json, into `unescaped`. The whole record is valid UTF-8
    /// (checked once), and a quote is ASCII, so the span between quotes
    /// is too.
    fn string(&mut self, unescaped: &mut String) -> Option<Span> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            j = string_stop(self.b, j)?;
            match self.b[j] {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    j += 2;
                    if j >= self.b.len() {
                        return None;
                    }
                }
                _ => return None, // a raw control character: invalid JSON
            }
        }
        self.i = j + 1;
        if escaped {
            let text = serde_json::from_slice::<String>(&self.b[start - 1..=j]).ok()?;
            let at = unescaped.len();
            unescaped.push_str(&text);
            Some(Span { start: at as u32 | Span::UNESCAPED, end: unescaped.len() as u32 })
        } else {
            Some(Span { start: start as u32, end: j as u32 })
        }
    }

    /// An object key: its bytes between the quotes. Known keys have no
    /// escapes, so a key with a backslash (or a control byte) is left to
    /// the general path, like any unknown key.
    fn key(&mut self) -> Option<&'a [u8]> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let end = string_stop(self.b, self.i + 1)?;
        if self.b[end] != b'"' {
            return None;
        }
        let name = &self.b[self.i + 1..end];
        self.i = end + 1;
        Some(name)
    }

    /// The index in [`KEYS`] of the key at the cursor, moved past it; `None`
    /// for an unknown key. `next` (the key after the previous one) and the
    /// few after it are compared in place first: a sorted writer's next
    /// key, or the one after keys it left out (canonical rows carry no
    /// `category`, `source`, ...).
    fn known_key(&mut self, keys: &[(&[u8], Key)], next: usize) -> Option<usize> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let rest = &self.b[self.i + 1..];
        let (mut index, end) = (next, keys.len().min(next + LOOKAHEAD));
        while index < end {
            let key = keys[index].0;
            if key_at(rest, key) {
                self.i += key.len() + 2;
                return Some(index);
            }
            index += 1;
        }
        let name = self.key()?;
        keys.binary_search_by(|(k, _)| (*k).cmp(name)).ok()
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn scalar(&mut self, unescaped: &mut String) -> Option<Scalar> {
        self.ws();
        match *self.b.get(self.i)? {
            b'"' => self.string(unescaped).map(Scalar::Str),
            b't' => self.literal(b"true").then_some(Scalar::Bool(true)),
            b'f' => self.literal(b"false").then_some(Scalar::Bool(false)),
            b'n' => self.literal(b"null").then_some(Scalar::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                self.i += usize::from(self.b[self.i] == b'-');
                let digits = self.i;
                while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                // Fractions, exponents and leading zeros (invalid JSON) take
                // the general path.
                let n = self.i - digits;
                if n == 0 || (n > 1 && self.b[digits] == b'0') || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
                    return None;
                }
                std::str::from_utf8(&self.b[start..self.i]).ok()?.parse().ok().map(Scalar::Int)
            }
            _ => None,
        }
    }
}

/// The index of the first byte from `j` on that ends a run of plain string
/// bytes: a quote, a backslash or a control character (which JSON allows
/// only escaped). Eight bytes per step: values are mostly 5 to 40 bytes,
/// where a SIMD search's set-up per call cost more than the search.
fn string_stop(b: &[u8], mut j: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Sets the high bit of each byte below `n` (exact for the lowest such
    // byte; a borrow can only mark bytes above it).
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    while let Some(word) = b.get(j..j + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let hits = below(w ^ (ONES * u64::from(b'"')), 1) | below(w ^ (ONES * u64::from(b'\\')), 1) | below(w, 0x20);
        if hits != 0 {
            return Some(j + (hits.trailing_zeros() / 8) as usize);
        }
        j += 8;
    }
    b.get(j..)?.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| j + p)
}

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
pub(crate) fn canonical_into(record: &[u8], payload: &[u8], ctx: &PayloadContext<'_>, rows: &mut PartitionedRows) -> bool {
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
    // The thread's buffer, taken for this row and put back after it.
    let mut source = SOURCE.take();
    ctx.position.render_into(None, &mut source);
    let derived;
    let event_id = match t(f.text[slot::event_id.0]) {
        Some(id) => id,
        None => {
            derived = derived_event_id(payload, &source);
            &derived
        }
    };
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
