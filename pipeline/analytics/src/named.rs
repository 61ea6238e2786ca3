//! Named queries: the SQL files of `queries/`, with typed parameters.
//!
//! A file holds one statement after a header of `--` comments. Header lines
//! of the form
//!
//! ```text
//! -- param NAME TYPE = DEFAULT: what it means
//! ```
//!
//! declare the parameters the statement uses as `${NAME}`. Values given on
//! the command line are checked against the type and rendered as SQL
//! literals, so a parameter can never become SQL of its own. Types:
//! `int`, `float`, `text`, `timestamp` (RFC 3339 or a date), `interval`
//! (`10 minutes`, `2 hours`, `1 day`).

use std::collections::BTreeMap;
use std::path::Path;

/// The named queries shipped with authlake (the `queries/` directory).
pub const BUILTIN: &[(&str, &str)] = &[
    ("auth_history", include_str!("../../../queries/auth_history.sql")),
    ("credential_stuffing", include_str!("../../../queries/credential_stuffing.sql")),
    ("duplicate_identities", include_str!("../../../queries/duplicate_identities.sql")),
    ("duplicates", include_str!("../../../queries/duplicates.sql")),
    ("events_by_type", include_str!("../../../queries/events_by_type.sql")),
    ("impossible_travel", include_str!("../../../queries/impossible_travel.sql")),
    ("kpi_catalogue", include_str!("../../../queries/kpi_catalogue.sql")),
    ("mfa_completion_by_method", include_str!("../../../queries/mfa_completion_by_method.sql")),
    ("mfa_completion_daily", include_str!("../../../queries/mfa_completion_daily.sql")),
    ("mfa_fatigue", include_str!("../../../queries/mfa_fatigue.sql")),
    ("migration_progress", include_str!("../../../queries/migration_progress.sql")),
    ("new_device_high_risk", include_str!("../../../queries/new_device_high_risk.sql")),
    ("risk_mix", include_str!("../../../queries/risk_mix.sql")),
    ("throttle_rate_daily", include_str!("../../../queries/throttle_rate_daily.sql")),
];

/// Why a named query could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum NamedError {
    #[error("no named query {0:?} (known: {1})")]
    Unknown(String, String),
    #[error("query {query}: parameter {param:?} is not declared (declared: {declared})")]
    UndeclaredParam { query: String, param: String, declared: String },
    #[error("query {query}: parameter {param}={value:?} is not a valid {kind}")]
    BadValue { query: String, param: String, value: String, kind: &'static str },
    #[error("query {query}: header line {line:?} is not `-- param NAME TYPE = DEFAULT: description`")]
    BadHeader { query: String, line: String },
    #[error("query {query}: uses ${{{param}}} which its header does not declare")]
    UnboundPlaceholder { query: String, param: String },
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Int,
    Float,
    Text,
    Timestamp,
    Interval,
}

impl ParamKind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "int" => Self::Int,
            "float" => Self::Float,
            "text" => Self::Text,
            "timestamp" => Self::Timestamp,
            "interval" => Self::Interval,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Text => "text",
            Self::Timestamp => "timestamp",
            Self::Interval => "interval (e.g. `10 minutes`)",
        }
    }

    /// The SQL literal for `value`, or None when it is not of this kind.
    fn literal(self, value: &str) -> Option<String> {
        let v = value.trim();
        match self {
            Self::Int => v.parse::<i64>().ok().map(|n| n.to_string()),
            Self::Float => v.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| format!("{f:?}")),
            Self::Text => Some(format!("'{}'", value.replace('\'', "''"))),
            Self::Timestamp => parse_timestamp(v).map(|t| format!("TIMESTAMP '{}'", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"))),
            Self::Interval => parse_interval(v).map(|(n, unit)| format!("INTERVAL '{n} {unit}'")),
        }
    }
}

fn parse_timestamp(v: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc())
}

fn parse_interval(v: &str) -> Option<(u64, &'static str)> {
    let mut parts = v.split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    let unit = match parts.next()?.trim_end_matches('s') {
        "second" => "seconds",
        "minute" => "minutes",
        "hour" => "hours",
        "day" => "days",
        _ => return None,
    };
    parts.next().is_none().then_some((n, unit))
}

/// One declared parameter.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub default: String,
    pub description: String,
}

/// A parsed named query.
#[derive(Debug, Clone)]
pub struct NamedQuery {
    pub name: String,
    /// The header's first line: what the query returns.
    pub summary: String,
    /// The header's other lines that are not parameters (columns, notes).
    pub notes: Vec<String>,
    pub params: Vec<Param>,
    pub sql: String,
}

impl NamedQuery {
    /// Parses a query file's text.
    pub fn parse(name: &str, text: &str) -> Result<Self, NamedError> {
        let mut params = Vec::new();
        let mut summary = String::new();
        let mut notes = Vec::new();
        for line in text.lines().take_while(|l| l.trim_start().starts_with("--")) {
            let body = line.trim_start().trim_start_matches("--").trim();
            let Some(decl) = body.strip_prefix("param ") else {
                if summary.is_empty() {
                    summary = body.to_string();
                } else if !body.is_empty() {
                    notes.push(body.to_string());
                }
                continue;
            };
            let bad = || NamedError::BadHeader { query: name.into(), line: line.into() };
            let (lhs, rest) = decl.split_once('=').ok_or_else(bad)?;
            let (default, description) = rest.split_once(':').unwrap_or((rest, ""));
            let mut words = lhs.split_whitespace();
            let (Some(pname), Some(kind), None) = (words.next(), words.next(), words.next()) else { return Err(bad()) };
            let kind = ParamKind::parse(kind).ok_or_else(bad)?;
            let default = default.trim().trim_matches('\'').to_string();
            params.push(Param { name: pname.into(), kind, default, description: description.trim().into() });
        }
        let q = Self { name: name.into(), summary, notes, params, sql: text.to_string() };
        for placeholder in placeholders(&q.sql) {
            if !q.params.iter().any(|p| p.name == placeholder) {
                return Err(NamedError::UnboundPlaceholder { query: name.into(), param: placeholder });
            }
        }
        Ok(q)
    }

    /// The statement with every `${name}` replaced by the given value or
    /// the declared default, as a checked SQL literal.
    pub fn bind(&self, values: &BTreeMap<String, String>) -> Result<String, NamedError> {
        for k in values.keys() {
            if !self.params.iter().any(|p| &p.name == k) {
                let declared = self.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ");
                return Err(NamedError::UndeclaredParam { query: self.name.clone(), param: k.clone(), declared });
            }
        }
        let mut sql = self.sql.clone();
        for p in &self.params {
            let value = values.get(&p.name).unwrap_or(&p.default);
            let literal = p.kind.literal(value).ok_or_else(|| NamedError::BadValue {
                query: self.name.clone(),
                param: p.name.clone(),
                value: value.clone(),
                kind: p.kind.name(),
            })?;
            sql = sql.replace(&format!("${{{}}}", p.name), &literal);
        }
        Ok(sql)
    }
}

fn placeholders(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

/// Looks a query up: `dir/NAME.sql` when a directory is given and holds
/// it, else the built-in one.
pub fn find(name: &str, dir: Option<&Path>) -> Result<NamedQuery, NamedError> {
    if let Some(dir) = dir {
        let path = dir.join(format!("{name}.sql"));
        if path.is_file() {
            let text =
                std::fs::read_to_string(&path).map_err(|source| NamedError::Io { path: path.display().to_string(), source })?;
            return NamedQuery::parse(name, &text);
        }
    }
    match BUILTIN.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => NamedQuery::parse(n, text),
        None => Err(NamedError::Unknown(name.into(), BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))),
    }
}

/// Every built-in query, parsed.
pub fn builtin() -> Result<Vec<NamedQuery>, NamedError> {
    BUILTIN.iter().map(|(n, t)| NamedQuery::parse(n, t)).collect()
}

/// Every query [`find`] can find: the built-in ones, with those of `dir`
/// (`*.sql`) overriding or adding to them, by name.
pub fn all(dir: Option<&Path>) -> Result<Vec<NamedQuery>, NamedError> {
    let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir).map_err(|source| NamedError::Io { path: dir.display().to_string(), source })?;
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "sql") {
                if let Some(stem) = path.file_stem() {
                    names.push(stem.to_string_lossy().into_owned());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names.iter().map(|n| find(n, dir)).collect()
}

/// The parameter that caps a query's rows: a query with one says when its
/// answer was cut (`showing 1000 of N rows`).
pub const MAX_ROWS: &str = "max_rows";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_query_parses_and_binds_its_defaults() {
        for q in builtin().unwrap() {
            let sql = q.bind(&BTreeMap::new()).unwrap();
            assert!(!sql.contains("${"), "{}: unbound placeholder", q.name);
            assert!(!q.summary.is_empty(), "{}: no header", q.name);
        }
    }

    #[test]
    fn values_are_checked_and_quoted() {
        let q = NamedQuery::parse(
            "t",
            "-- t: test\n-- param user text = '': a user\n-- param n int = 5: count\n-- param w interval = 10 minutes: window\nSELECT ${user}, ${n}, ${w}",
        )
        .unwrap();
        let mut v = BTreeMap::new();
        v.insert("user".to_string(), "x' OR '1'='1".to_string());
        let sql = q.bind(&v).unwrap();
        assert!(sql.contains("'x'' OR ''1''=''1'"), "{sql}");
        assert!(sql.contains("INTERVAL '10 minutes'"), "{sql}");
        v.insert("n".to_string(), "5; DROP TABLE x".to_string());
        assert!(matches!(q.bind(&v), Err(NamedError::BadValue { .. })));
        v.remove("n");
        v.insert("nope".to_string(), "1".to_string());
        assert!(matches!(q.bind(&v), Err(NamedError::UndeclaredParam { .. })));
        assert!(NamedQuery::parse("u", "-- u\nSELECT ${missing}").is_err());
    }

    #[test]
    fn timestamps_and_intervals() {
        assert_eq!(ParamKind::Timestamp.literal("2026-11-01").unwrap(), "TIMESTAMP '2026-11-01T00:00:00.000000Z'");
        assert_eq!(ParamKind::Interval.literal("1 hour").unwrap(), "INTERVAL '1 hours'");
        assert!(ParamKind::Interval.literal("1 fortnight").is_none());
        assert!(ParamKind::Float.literal("NaN").is_none());
    }
}
