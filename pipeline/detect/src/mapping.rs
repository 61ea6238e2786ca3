//! The field mapping: which `events` column (or derived value) a Sigma
//! field name means, and which log sources authlake holds. The default is
//! `detections/mapping.yml`, built in; `--mapping` names another.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::datatypes::DataType;
use authlake_core::schema::events_table_schema;
use rsigma_parser::LogSource;
use serde::Deserialize;

use crate::error::DetectError;

/// The built-in mapping.
pub const BUILTIN: &str = include_str!("../../../detections/mapping.yml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// Sigma field name -> column or derived expression.
    #[serde(default)]
    fields: BTreeMap<String, Target>,
    /// CloudTrail objects read from `raw`.
    #[serde(default)]
    raw_objects: Vec<String>,
    /// The log sources authlake holds.
    logsources: Vec<Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Target {
    Column(String),
    Sql { sql: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
    /// The rows of this source (none: every row).
    #[serde(default)]
    r#where: Option<String>,
}

/// What a Sigma field reads, as SQL over `events`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The SQL expression.
    pub sql: String,
    /// Its type: a column's own, `Utf8` for derived and raw values.
    pub data_type: DataType,
}

/// A loaded mapping.
#[derive(Debug)]
pub struct Mapping {
    fields: BTreeMap<String, Target>,
    raw_objects: Vec<String>,
    sources: Vec<Source>,
}

impl Mapping {
    /// The built-in mapping.
    pub fn builtin() -> Self {
        Self::parse("detections/mapping.yml", BUILTIN).expect("the built-in mapping parses")
    }

    pub fn load(path: &Path) -> Result<Self, DetectError> {
        let text = std::fs::read_to_string(path).map_err(|source| DetectError::Io { path: path.display().to_string(), source })?;
        Self::parse(&path.display().to_string(), &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Self, DetectError> {
        let bad = |reason: String| DetectError::Mapping { path: path.to_string(), reason };
        let file: File = yaml_serde::from_str(text).map_err(|e| bad(e.to_string()))?;
        let schema = events_table_schema();
        for (name, target) in &file.fields {
            if let Target::Column(c) = target {
                if schema.field_with_name(c).is_err() {
                    return Err(bad(format!("field {name} maps to {c}, which is not an events column")));
                }
            }
        }
        Ok(Self { fields: file.fields, raw_objects: file.raw_objects, sources: file.logsources })
    }

    /// What `name` reads; `None` when neither the mapping, the raw
    /// objects nor the columns know it.
    pub fn field(&self, name: &str) -> Option<Field> {
        let schema = events_table_schema();
        let column = |c: &str| {
            schema.field_with_name(c).ok().map(|f| Field { sql: quote_ident(c), data_type: f.data_type().clone() })
        };
        match self.fields.get(name) {
            Some(Target::Column(c)) => return column(c),
            Some(Target::Sql { sql }) => return Some(Field { sql: format!("({sql})"), data_type: DataType::Utf8 }),
            None => {}
        }
        if let Some((object, _)) = name.split_once('.') {
            if self.raw_objects.iter().any(|o| o == object) {
                return Some(Field { sql: format!("sigma_json(raw, {})", crate::sql::string(name)), data_type: DataType::Utf8 });
            }
        }
        column(name)
    }

    /// The condition selecting a log source's rows (`Some(None)`: all
    /// rows); `None` when authlake holds no such source.
    pub fn logsource(&self, ls: &LogSource) -> Option<Option<String>> {
        let same = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        if !ls.custom.is_empty() || ls.product.is_none() && ls.service.is_none() && ls.category.is_none() {
            return None;
        }
        self.sources
            .iter()
            .find(|s| same(&ls.product, &s.product) && same(&ls.service, &s.service) && same(&ls.category, &s.category))
            .map(|s| s.r#where.clone())
    }
}

/// A column name as a SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudtrail_names_reach_columns_and_raw() {
        let m = Mapping::builtin();
        assert_eq!(m.field("eventName").unwrap().sql, "\"event_name\"");
        assert_eq!(m.field("risk_level").unwrap().sql, "\"risk_level\"");
        assert_eq!(m.field("mfa_passed").unwrap().data_type, DataType::Boolean);
        assert_eq!(m.field("userIdentity.arn").unwrap().sql, "sigma_json(raw, 'userIdentity.arn')");
        assert!(m.field("CommandLine").is_none());
        assert!(m.field("Image.path").is_none());
    }

    #[test]
    fn log_sources_are_known_or_refused() {
        let m = Mapping::builtin();
        let ls = |p: &str, s: &str| LogSource { product: Some(p.into()), service: Some(s.into()), ..Default::default() };
        assert_eq!(m.logsource(&ls("aws", "cognito")), Some(None));
        assert_eq!(m.logsource(&ls("aws", "cloudtrail")), Some(Some("source_format = 'cloudtrail'".into())));
        assert_eq!(m.logsource(&ls("windows", "security")), None);
    }

    #[test]
    fn a_mapping_onto_a_missing_column_is_an_error() {
        let e = Mapping::parse("m.yml", "fields: {a: nope}\nlogsources: []\n").unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
