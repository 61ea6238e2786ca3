//! Lenient readers for the type quirks of Cognito's formats: booleans and
//! numbers as strings, the literal string "null", redaction markers, epoch
//! seconds as floats and epoch milliseconds as strings.

use authlake_core::event::Outcome;
use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

/// Values CloudTrail writes in place of a redacted field.
pub const REDACTION_MARKERS: [&str; 2] = ["HIDDEN_DUE_TO_SECURITY_REASONS", "HIDDEN_FOR_SECURITY_REASONS"];

#[inline]
pub fn is_redacted(s: &str) -> bool {
    // Lengths first: this runs on every string value of every record.
    REDACTION_MARKERS.iter().any(|m| m.len() == s.len() && s.eq_ignore_ascii_case(m))
}

/// Follows a path of object keys.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in path {
        cur = cur.as_object()?.get(*k)?;
    }
    Some(cur)
}

/// A string column value: empty strings, the literal "null" and redaction
/// markers read as null; numbers and booleans are rendered.
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => text_str(s).map(str::to_string),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// [`text`] of a JSON string: the string itself, or `None` for an empty
/// string, the literal "null" or a redaction marker.
#[inline]
pub fn text_str(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let plain_ends = matches!((b.first(), b.last()), (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic());
    let t = if plain_ends { s } else { s.trim() };
    let reads_as_null = match t.len() {
        0 => true,
        4 => t.eq_ignore_ascii_case("null"),
        _ => is_redacted(t),
    };
    (!reads_as_null).then_some(s)
}

/// [`text`] at a path.
pub fn text_at(v: &Value, path: &[&str]) -> Option<String> {
    text(at(v, path))
}

/// A boolean that may arrive as a JSON boolean, a string or 0/1.
pub fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|x| x != 0.0),
        _ => None,
    }
}

/// An integer that may arrive as a number or a numeric string.
pub fn integer(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Microseconds since the epoch, bounded to years 1..=9999 so that every
/// accepted time has a date partition.
fn bounded(us: i64) -> Option<i64> {
    const MIN: i64 = -62_135_596_800_000_000; // 0001-01-01
    const MAX: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999
    (MIN..=MAX).contains(&us).then_some(us)
}

/// Epoch milliseconds given as a number or a string.
pub fn epoch_millis(v: Option<&Value>) -> Option<i64> {
    let ms = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !ms.is_finite() {
        return None;
    }
    bounded((ms * 1000.0).round() as i64)
}

/// Epoch seconds (possibly fractional) given as a number, a numeric string,
/// or an ISO 8601 string as SDKs render it.
pub fn epoch_seconds_or_iso(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => {
            let s = n.as_f64()?;
            s.is_finite().then_some(())?;
            bounded((s * 1_000_000.0).round() as i64)
        }
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() => bounded((secs * 1_000_000.0).round() as i64),
            _ => iso_time(s),
        },
        _ => None,
    }
}

/// RFC 3339 / ISO 8601 time, with or without offset (UTC assumed).
pub fn iso_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return bounded(t.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.fZ"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return bounded(t.and_utc().timestamp_micros());
        }
    }
    None
}

/// The user-activity log's Java-style date: `Wed Jul 17 17:25:55 UTC 2024`.
pub fn java_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || !matches!(parts[4], "UTC" | "GMT" | "Z") {
        return iso_time(s);
    }
    let joined = format!("{} {} {} {} {}", parts[0], parts[1], parts[2], parts[3], parts[5]);
    NaiveDateTime::parse_from_str(&joined, "%a %b %d %H:%M:%S %Y")
        .ok()
        .and_then(|t| bounded(t.and_utc().timestamp_micros()))
}

/// Lower-cases an enum word, keeping unknown words rather than rejecting
/// them; CamelCase becomes snake_case (`AccountTakeover` -> `account_takeover`).
pub fn snake_word(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev_lower = false;
    for c in s.trim().chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c == '-' || c == ' ' {
            out.push('_');
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// `risk_level` column: `low`, `medium`, `high`, or the word itself.
pub fn risk_level(v: Option<&Value>) -> Option<String> {
    text(v).map(|s| s.trim().to_ascii_lowercase())
}

/// `risk_decision` column: `no_risk` (also the activity log's `PASS`),
/// `account_takeover`, `block`, or the source's own word lower-cased.
pub fn risk_decision(v: Option<&Value>) -> Option<String> {
    let s = text(v)?;
    let w = snake_word(&s);
    Some(match w.as_str() {
        "pass" | "no_risk" | "norisk" => "no_risk".into(),
        "account_takeover" | "accounttakeover" => "account_takeover".into(),
        "block" | "blocked" => "block".into(),
        _ => w,
    })
}

/// `outcome` from Cognito's `Pass|Fail|InProgress` words.
pub fn event_response(v: Option<&Value>) -> Option<String> {
    let s = text(v)?;
    Some(match snake_word(&s).as_str() {
        "pass" | "success" | "succeeded" => Outcome::Success.into(),
        "fail" | "failure" | "failed" => Outcome::Failure.into(),
        "in_progress" | "inprogress" => Outcome::InProgress.into(),
        other => other.to_string(),
    })
}

/// AWS region from a user pool id such as `us-west-2_EXAMPLE`.
pub fn region_of_pool(pool: Option<&str>) -> Option<String> {
    let (region, rest) = pool?.split_once('_')?;
    (!region.is_empty() && !rest.is_empty() && region.contains('-')).then(|| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quirky_values_read_as_documented() {
        assert_eq!(text(Some(&json!("null"))), None);
        assert_eq!(text(Some(&json!("HIDDEN_DUE_TO_SECURITY_REASONS"))), None);
        assert_eq!(text(Some(&json!(""))), None);
        assert_eq!(flag(Some(&json!("false"))), Some(false));
        assert_eq!(flag(Some(&json!("TRUE"))), Some(true));
        assert_eq!(epoch_millis(Some(&json!("1687297330677"))), Some(1_687_297_330_677_000));
        assert_eq!(epoch_seconds_or_iso(Some(&json!(1726694203.495))), Some(1_726_694_203_495_000));
        assert_eq!(
            epoch_seconds_or_iso(Some(&json!("2024-09-18T21:16:43.495Z"))),
            Some(1_726_694_203_495_000)
        );
        assert_eq!(java_date("Wed Jul 17 17:25:55 UTC 2024"), Some(1_721_237_155_000_000));
        assert_eq!(epoch_millis(Some(&json!("1e300"))), None);
    }

    #[test]
    fn enum_words_are_kept() {
        assert_eq!(risk_decision(Some(&json!("PASS"))).as_deref(), Some("no_risk"));
        assert_eq!(risk_decision(Some(&json!("AccountTakeover"))).as_deref(), Some("account_takeover"));
        assert_eq!(risk_decision(Some(&json!("SomethingNew"))).as_deref(), Some("something_new"));
        assert_eq!(event_response(Some(&json!("InProgress"))).as_deref(), Some("in_progress"));
        assert_eq!(region_of_pool(Some("us-west-2_EXAMPLE")).as_deref(), Some("us-west-2"));
    }
}
