//! SQL text pieces: literals and LIKE patterns from Sigma strings.

use rsigma_parser::{SigmaString, SpecialChar, StringPart};

/// A SQL string literal. The run binds a range into `${since}` and
/// `${until}` in a rule's text, so `${` from a rule's values is written as
/// two literals joined (the same value): no value can reach the binding.
pub fn string(s: &str) -> String {
    let quoted = |t: &str| format!("'{}'", t.replace('\'', "''"));
    match s.contains("${") {
        false => quoted(s),
        true => format!("({})", s.split("${").map(quoted).collect::<Vec<_>>().join(" || '$' || '{' || ")),
    }
}

/// Where a Sigma string's wildcards may match: `contains` puts one at
/// both ends, `startswith` at the end, `endswith` at the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Whole,
    Contains,
    StartsWith,
    EndsWith,
}

/// The value as a LIKE pattern (`\` escapes `%`, `_` and itself, which
/// is DataFusion's default escape), lower-cased unless `cased`; `None`
/// when it has no wildcard and is matched whole (an equality instead).
pub fn like_pattern(value: &SigmaString, anchor: Anchor, cased: bool) -> Option<String> {
    let mut p = String::new();
    let mut wild = anchor != Anchor::Whole;
    if matches!(anchor, Anchor::Contains | Anchor::EndsWith) {
        p.push('%');
    }
    for part in &value.parts {
        match part {
            StringPart::Plain(s) => {
                let s = if cased { s.clone() } else { s.to_lowercase() };
                for c in s.chars() {
                    if matches!(c, '%' | '_' | '\\') {
                        p.push('\\');
                    }
                    p.push(c);
                }
            }
            StringPart::Special(SpecialChar::WildcardMulti) => {
                wild = true;
                p.push('%');
            }
            StringPart::Special(SpecialChar::WildcardSingle) => {
                wild = true;
                p.push('_');
            }
        }
    }
    if matches!(anchor, Anchor::Contains | Anchor::StartsWith) {
        p.push('%');
    }
    wild.then_some(p)
}

/// The value's text without wildcards (the caller checked it has none).
pub fn plain(value: &SigmaString, cased: bool) -> String {
    let s: String = value
        .parts
        .iter()
        .map(|p| match p {
            StringPart::Plain(s) => s.as_str(),
            StringPart::Special(_) => "",
        })
        .collect();
    if cased {
        s
    } else {
        s.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_patterns_escape_what_sql_would_read() {
        assert_eq!(string("it's"), "'it''s'");
        assert!(!string("x${since}y").contains("${"), "{}", string("x${since}y"));
        let v = SigmaString::new("Admin*_100%");
        assert_eq!(like_pattern(&v, Anchor::Whole, false).unwrap(), "admin%\\_100\\%");
        assert_eq!(like_pattern(&SigmaString::new("x"), Anchor::Contains, true).unwrap(), "%x%");
        assert_eq!(like_pattern(&SigmaString::new("Ab"), Anchor::Whole, false), None);
        assert_eq!(plain(&SigmaString::new("Ab"), false), "ab");
        assert_eq!(like_pattern(&SigmaString::new("a\\*b"), Anchor::Whole, false), None, "an escaped * is a literal star");
    }
}
