//! authlake's one extension to Sigma: `new_value` on a detection rule.
//! Sigma cannot say "a value never seen before" (Elastic calls it a new
//! terms rule); a rule that carries
//!
//! ```yaml
//! new_value:
//!     field: country          # the value that is new
//!     group-by: [userPoolId]  # new within each group
//!     learning: 14d           # quiet for this long after the group's first event
//! ```
//!
//! makes one finding per group, value and UTC day the value was first seen
//! in, at least `learning` after the group's first event matching the
//! rule ([`crate::query::new_value`]). Other Sigma tools ignore the key
//! (it is a custom attribute), so the rule means more there: its
//! description says so.

use rsigma_parser::{SigmaRule, Timespan};
use serde::Deserialize;

use crate::error::Refusal;
use crate::mapping::Mapping;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    field: String,
    #[serde(rename = "group-by", default)]
    group_by: Vec<String>,
    learning: String,
}

/// A rule's `new_value`, resolved against the mapping.
#[derive(Debug)]
pub struct NewValue {
    spec: Spec,
    field_sql: String,
    groups_sql: Vec<String>,
    learning: u64,
}

impl NewValue {
    /// The rule's `new_value`, if it has one.
    pub fn of(id: &str, r: &SigmaRule, map: &Mapping) -> Result<Option<Self>, Refusal> {
        let Some(v) = r.custom_attributes.get("new_value") else { return Ok(None) };
        let refuse = |why: String| Refusal::new(id, format!("new_value: {why}"));
        let spec: Spec = yaml_serde::from_value(v.clone()).map_err(|e| refuse(e.to_string()))?;
        let field = |name: &str| map.field(name).map(|f| f.sql).ok_or_else(|| refuse(format!("`{name}` has no events column")));
        if spec.group_by.is_empty() {
            return Err(refuse("group-by names at least one field (new within what?)".into()));
        }
        let field_sql = field(&spec.field)?;
        let groups_sql = spec.group_by.iter().map(|g| field(g)).collect::<Result<Vec<_>, _>>()?;
        let learning = Timespan::parse(&spec.learning).map_err(|e| refuse(format!("learning {}: {e}", spec.learning)))?.seconds;
        Ok(Some(Self { spec, field_sql, groups_sql, learning }))
    }

    /// The finding query over the rule's condition.
    pub fn sql(&self, condition: &str) -> String {
        crate::query::new_value(condition, &self.groups_sql, &self.field_sql, self.learning)
    }

    /// The finding key's fields: the groups, then the new value's field.
    pub fn group_by(&self) -> Vec<String> {
        self.spec.group_by.iter().chain(std::iter::once(&self.spec.field)).cloned().collect()
    }
}
