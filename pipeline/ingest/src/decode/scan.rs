//! A cursor over one flat JSON object's bytes, for the canonical fast
//! path ([`super::fast`]): keys matched in place, string values kept as
//! spans of the record, scalars read without building a value.

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
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
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
/// the record's unescaped strings when `start` has [`Span::UNESCAPED`] set. Eight
/// bytes, where a `Cow<str>` is 24: a record's 30 string values are moved and
/// stored a few times each, and the moves showed in profiles.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub(super) start: u32,
    pub(super) end: u32,
}

impl Span {
    /// JSON `null` (or a key not present).
    pub(super) const NULL: Span = Span { start: u32::MAX, end: 0 };
    pub(super) const UNESCAPED: u32 = 1 << 31;
    /// Records at least this long are left to the general path, so every
    /// offset fits below [`Span::UNESCAPED`].
    pub(super) const MAX_RECORD: usize = 1 << 31;

    pub(super) fn is_null(self) -> bool {
        self.start == u32::MAX
    }
}

impl Default for Span {
    fn default() -> Self {
        Self::NULL
    }
}

/// One scalar JSON value.
pub(super) enum Scalar {
    Str(Span),
    Bool(bool),
    Int(i64),
    Null,
}

/// A cursor over one JSON object's bytes.
pub(super) struct Scan<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
}

impl<'a> Scan<'a> {
    pub(super) fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    pub(super) fn eat(&mut self, c: u8) -> bool {
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
    pub(super) fn known_key<K>(&mut self, keys: &[(&[u8], K)], next: usize) -> Option<usize> {
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

    pub(super) fn scalar(&mut self, unescaped: &mut String) -> Option<Scalar> {
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
pub(super) fn string_stop(b: &[u8], mut j: usize) -> Option<usize> {
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
