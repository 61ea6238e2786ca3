//! Secrets never land: removal of passwords, challenge answers, codes,
//! sessions and tokens before anything is written (lake, dead letters,
//! logs).
//!
//! Parsed records are scrubbed field by field ([`scrub_value`]); bytes that
//! do not parse are scrubbed by key at the byte level ([`scrub_bytes`]).

use serde_json::Value;

/// What a removed value is replaced with in `raw` and dead letters.
pub const REDACTED: &str = "[REDACTED]";

/// Keys whose values are secrets, compared after lower-casing and dropping
/// `_` and `-` (so `refresh_token`, `RefreshToken` and `refreshToken` match).
const SECRET_KEYS: &[&str] = &[
    "password",
    "newpassword",
    "previouspassword",
    "proposedpassword",
    "temporarypassword",
    "challengeanswer",
    "privatechallengeparameters",
    "authparameters",
    "session",
    "code",
    "confirmationcode",
    "usercode",
    "secretcode",
    "secrethash",
    "clientsecret",
    "refreshtoken",
    "accesstoken",
    "idtoken",
    "token",
    "authorization",
    "samlresponse",
    "relaystate",
    "cognitoasfdata",
    "csrf",
    "sessiontoken",
    "secretkey",
    "secretaccesskey",
];

/// Does `key` equal `target` (lower-case, no separators) once lower-cased
/// and stripped of `_` and `-`? Without a buffer, for keys too long for
/// [`key_kind`]'s.
fn key_is(key: &str, target: &str) -> bool {
    let mut k = key.bytes().filter(|b| *b != b'_' && *b != b'-').map(|b| b.to_ascii_lowercase());
    let mut t = target.bytes();
    loop {
        match (k.next(), t.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The longest key [`key_kind`] normalizes.
const MAX_SECRET_KEY: usize = 32;

/// What a key names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Secret,
    /// `challengeResponses`: a secret or not depending on its value.
    ChallengeResponses,
    Other,
}

/// The key lower-cased and stripped of separators once, then compared with
/// each name as a slice (mostly a length check): it runs on every key of
/// every record. Keys longer than any secret name are only checked for
/// `challengeResponses`, as [`key_is`] compares.
fn key_kind(key: &str) -> KeyKind {
    let mut buf = [0u8; MAX_SECRET_KEY];
    match normalized(key, &mut buf) {
        Some(b"challengeresponses") => KeyKind::ChallengeResponses,
        Some(n) if SECRET_KEYS.iter().any(|t| t.as_bytes() == n) => KeyKind::Secret,
        Some(_) => KeyKind::Other,
        None if key_is(key, "challengeresponses") => KeyKind::ChallengeResponses,
        None => KeyKind::Other,
    }
}

/// `key` as [`key_is`] compares it: lower-cased, without `_` and `-`;
/// `None` when longer than [`MAX_SECRET_KEY`].
fn normalized<'b>(key: &str, buf: &'b mut [u8; MAX_SECRET_KEY]) -> Option<&'b [u8]> {
    if key.len() > MAX_SECRET_KEY {
        return None;
    }
    let mut n = 0;
    for b in key.bytes().filter(|b| *b != b'_' && *b != b'-') {
        buf[n] = b.to_ascii_lowercase();
        n += 1;
    }
    Some(&buf[..n])
}

/// Is this key's value a secret? `challengeResponses` is one when it is the
/// request map of answers (CloudTrail), not the AuthEvents list of
/// `{ChallengeName, ChallengeResponse: Success}` outcomes.
fn is_secret(key: &str, value: &Value) -> bool {
    match key_kind(key) {
        KeyKind::Secret => true,
        KeyKind::ChallengeResponses => !value.is_array(),
        KeyKind::Other => false,
    }
}

/// Replaces every secret value in place. Returns how many were removed.
pub fn scrub_value(v: &mut Value) -> usize {
    match v {
        Value::Object(map) => {
            let mut n = 0;
            for (k, val) in map.iter_mut() {
                if is_secret(k, val) {
                    if !val.is_null() {
                        *val = Value::String(REDACTED.into());
                        n += 1;
                    }
                } else {
                    n += scrub_value(val);
                }
            }
            n
        }
        Value::Array(items) => items.iter_mut().map(scrub_value).sum(),
        _ => 0,
    }
}

/// Scrubs bytes that are not valid JSON: after every quoted key that names
/// a secret, the value (string, object, array or scalar, possibly cut off)
/// is replaced by `"[REDACTED]"`; so are the values of unquoted
/// `key=value` pairs (form bodies, log lines). Never fails.
pub fn scrub_bytes(input: &[u8]) -> Vec<u8> {
    scrub_key_value_pairs(&scrub_escaped_json_keys(&scrub_json_keys(input)))
}

/// JSON inside a JSON string (a CloudWatch Logs `message` holding a Lambda
/// trigger event: `{\"password\": \"...\"}`): the same secret keys, with
/// `\"` as the quote, which the pass over the outer level reads as string
/// content.
fn scrub_escaped_json_keys(input: &[u8]) -> Vec<u8> {
    const Q: &[u8] = b"\\\"";
    // The next `\"` from `from` that is not itself escaped (`\\\"`).
    let close = |from: usize| -> Option<usize> {
        let mut j = from;
        while j + 1 < input.len() {
            if input[j..].starts_with(Q) && (j == 0 || input[j - 1] != b'\\') {
                return Some(j);
            }
            j += 1;
        }
        None
    };
    let skip_ws = |mut j: usize| {
        while j < input.len() && input[j].is_ascii_whitespace() {
            j += 1;
        }
        j
    };
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if !input[i..].starts_with(Q) {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let Some(key_end) = close(i + 2) else {
            out.extend_from_slice(&input[i..]);
            break;
        };
        let key = String::from_utf8_lossy(&input[i + 2..key_end]);
        let after_key = key_end + 2;
        out.extend_from_slice(&input[i..after_key]);
        i = after_key;
        let colon = skip_ws(i);
        if colon < input.len() && input[colon] == b':' && secret_key_name(&key) {
            let start = skip_ws(colon + 1);
            out.extend_from_slice(&input[i..start]);
            let end = if input[start..].starts_with(Q) {
                close(start + 2).map_or(input.len(), |e| e + 2)
            } else {
                start + input[start..].iter().position(|b| matches!(b, b',' | b'}' | b']')).unwrap_or(input.len() - start)
            };
            out.extend_from_slice(b"\\\"[REDACTED]\\\"");
            i = end;
        }
    }
    out
}

fn scrub_json_keys(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'"' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        // A quoted string: read it, then see whether it is a secret key.
        let end = string_end(input, i);
        let key = String::from_utf8_lossy(&input[i + 1..end.saturating_sub(1).max(i + 1)]);
        out.extend_from_slice(&input[i..end]);
        i = end;
        let mut j = i;
        while j < input.len() && input[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < input.len() && input[j] == b':' && secret_key_name(&key) {
            out.extend_from_slice(&input[i..=j]);
            j += 1;
            while j < input.len() && input[j].is_ascii_whitespace() {
                out.push(input[j]);
                j += 1;
            }
            let value_end = value_end(input, j);
            out.extend_from_slice(b"\"[REDACTED]\"");
            i = value_end;
        }
    }
    out
}

/// Redacts the value of `name=value` where `name` is a secret key.
fn scrub_key_value_pairs(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'=' {
            let start = input[..i].iter().rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')).map_or(0, |p| p + 1);
            let name = String::from_utf8_lossy(&input[start..i]);
            if !name.is_empty() && secret_key_name(&name) {
                out.push(b'=');
                let mut j = i + 1;
                while j < input.len() && !matches!(input[j], b' ' | b'\t' | b'\n' | b'\r' | b'&' | b',' | b';' | b'"') {
                    j += 1;
                }
                out.extend_from_slice(REDACTED.as_bytes());
                i = j;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn secret_key_name(key: &str) -> bool {
    key_kind(key.trim_matches('\\')) != KeyKind::Other
}

/// Index just past the closing quote of the string opening at `start`.
fn string_end(b: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// Index just past a JSON-ish value starting at `start`, tolerating
/// truncation and garbage.
fn value_end(b: &[u8], start: usize) -> usize {
    if start >= b.len() {
        return start;
    }
    match b[start] {
        b'"' => string_end(b, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = start;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = start;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b'\n') {
                j += 1;
            }
            j
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_secrets_from_parsed_records() {
        let mut v = json!({
            "request": {"password": "hunter2", "validationData": {}},
            "requestParameters": {"authParameters": {"PASSWORD": "x"}, "challengeResponses": {"SMS_MFA_CODE": "123456"}},
            "ChallengeResponses": [{"ChallengeName": "Mfa", "ChallengeResponse": "Success"}],
            "responseElements": {"authenticationResult": {"accessToken": "eyJ", "refreshToken": "r"}, "session": "s"}
        });
        assert_eq!(scrub_value(&mut v), 6);
        let s = v.to_string();
        for secret in ["hunter2", "SMS_MFA_CODE", "123456", "eyJ", "\"r\"", "\"s\""] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        assert!(s.contains("\"ChallengeResponse\":\"Success\""));
    }

    #[test]
    fn normalized_names_match_the_separator_blind_comparison() {
        let long = "pass_word_".repeat(4);
        let keys = ["Password", "NEW_PASSWORD", "new-Password", "pass_word", "passwords", "code", "Code_", "x", "", long.as_str()];
        for key in keys {
            let slow = key.len() <= MAX_SECRET_KEY && SECRET_KEYS.iter().any(|t| key_is(key, t));
            assert_eq!(key_kind(key) == KeyKind::Secret, slow, "{key}");
            for value in [json!([]), json!({})] {
                let slow = if key_is(key, "challengeresponses") { !value.is_array() } else { slow };
                assert_eq!(is_secret(key, &value), slow, "{key} {value}");
            }
        }
        assert!(is_secret("Challenge_Responses", &json!({})) && !is_secret("challengeResponses", &json!([])));
    }

    #[test]
    fn scrubs_unparseable_bytes() {
        let raw = br#"{"request": {"password" : "hunter2", "x": 1}, "code":123456, "challengeAnswer": {"a": "b"}, "note": "user password=pw1&code=777", "session":"abc"#;
        let out = String::from_utf8(scrub_bytes(raw)).unwrap();
        for secret in ["hunter2", "123456", "\"b\"", "abc", "pw1", "777"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("\"x\": 1"));
    }

    #[test]
    fn scrubs_json_inside_json_strings() {
        let raw = br#"{"logEvents": [{"message": "{\"request\": {\"password\": \"Old-Secret#1\", \"code\": 4242, \"x\": \"keep\"}, \"session\": \"zz9\\\"tail\"}"}], "broken"#;
        let out = String::from_utf8(scrub_bytes(raw)).unwrap();
        for secret in ["Old-Secret#1", "4242", "zz9", "tail"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains(r#"\"x\": \"keep\""#), "{out}");
        assert!(out.contains(r#"\"password\": \"[REDACTED]\""#), "{out}");
    }
}
