//! Hive partition paths: `category=<c>/event_date=<YYYY-MM-DD>/`.
//!
//! Built and parsed only here. Values are escaped the way Hive escapes them
//! (percent-encoding of path-significant characters), so that no value from
//! data can add a path level or climb out of the lake.

use chrono::NaiveDate;

/// The partition a row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    pub category: String,
    /// Days since the Unix epoch (Arrow `Date32`).
    pub event_day: i32,
}

/// The value Hive writes for a null or empty partition value.
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

impl PartitionKey {
    pub fn new(category: impl Into<String>, event_day: i32) -> Self {
        Self { category: category.into(), event_day }
    }

    /// `YYYY-MM-DD` of the event day.
    pub fn date_string(&self) -> String {
        day_to_date_string(self.event_day)
    }

    /// Relative directory of the partition, without a trailing slash.
    pub fn dir(&self) -> String {
        format!("category={}/event_date={}", escape_value(&self.category), self.date_string())
    }

    /// Parses a relative path such as `category=auth/event_date=2026-11-27/x.parquet`.
    pub fn parse(path: &str) -> Option<Self> {
        let mut parts = path.split('/');
        let category = unescape_value(parts.next()?.strip_prefix("category=")?)?;
        let date = parts.next()?.strip_prefix("event_date=")?;
        let day = date_string_to_day(date)?;
        Some(Self { category, event_day: day })
    }
}

/// `YYYY-MM-DD` for days since the epoch.
pub fn day_to_date_string(day: i32) -> String {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    match epoch.checked_add_signed(chrono::Duration::days(day as i64)) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => DEFAULT_PARTITION.to_string(),
    }
}

/// Days since the epoch for `YYYY-MM-DD`.
pub fn date_string_to_day(s: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((d - epoch).num_days()).ok()
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '\x7f' | '{' | '[' | ']'
                | '^'
        )
}

/// Escapes a partition value; `.` and `..` are escaped too so a value can
/// never name the current or parent directory even without its `key=`.
pub fn escape_value(v: &str) -> String {
    if v.is_empty() {
        return DEFAULT_PARTITION.to_string();
    }
    if v.chars().all(|c| c == '.') {
        return v.chars().map(|_| "%2E").collect();
    }
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if needs_escape(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reverses [`escape_value`].
pub fn unescape_value(v: &str) -> Option<String> {
    if v == DEFAULT_PARTITION {
        return Some(String::new());
    }
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_hive_paths() {
        let k = PartitionKey::new("auth", date_string_to_day("2026-11-27").unwrap());
        assert_eq!(k.dir(), "category=auth/event_date=2026-11-27");
        assert_eq!(PartitionKey::parse("category=auth/event_date=2026-11-27/part-1.parquet"), Some(k));
    }

    #[test]
    fn hostile_values_stay_in_one_directory_level() {
        for v in ["../../x", "a/b", "category=evil", "..", ".", "a\\b", "x\u{0}y", ""] {
            let e = escape_value(v);
            assert!(!e.contains('/') && !e.contains('\\') && !e.contains('='), "{v} -> {e}");
            assert!(e != "." && e != "..", "{v} -> {e}");
            if !v.is_empty() && !v.chars().all(|c| c == '.') {
                assert_eq!(unescape_value(&e).as_deref(), Some(v));
            }
            let k = PartitionKey::new(v, 0);
            assert_eq!(k.dir().matches('/').count(), 1, "{v}");
        }
    }

    #[test]
    fn extreme_days_format() {
        assert_eq!(day_to_date_string(0), "1970-01-01");
        assert_eq!(day_to_date_string(date_string_to_day("9999-12-31").unwrap()), "9999-12-31");
    }
}
