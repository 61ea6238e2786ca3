//! A rule pack: Sigma files read, checked and compiled into finding
//! queries. The built-in pack is `detections/rules/`; `--rules DIR`
//! reads every `.yml`/`.yaml` file under another directory instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rsigma_parser::{CorrelationRule, FilterRule, SigmaRule, WindowMode};

use crate::error::{DetectError, Refusal};
use crate::mapping::Mapping;

/// The built-in rules: (file name, text), as `named.rs` lists the built-in
/// queries. A test checks this list against the directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("cognito_account_takeover_after_high_risk.yml", include_str!("../../../detections/rules/cognito_account_takeover_after_high_risk.yml")),
    ("cognito_admin_add_user_to_admin_group.yml", include_str!("../../../detections/rules/cognito_admin_add_user_to_admin_group.yml")),
    ("cognito_admin_disable_user_burst.yml", include_str!("../../../detections/rules/cognito_admin_disable_user_burst.yml")),
    ("cognito_admin_set_user_password.yml", include_str!("../../../detections/rules/cognito_admin_set_user_password.yml")),
    ("cognito_credential_stuffing.yml", include_str!("../../../detections/rules/cognito_credential_stuffing.yml")),
    ("cognito_deletion_protection_disabled.yml", include_str!("../../../detections/rules/cognito_deletion_protection_disabled.yml")),
    ("cognito_duplicate_identities.yml", include_str!("../../../detections/rules/cognito_duplicate_identities.yml")),
    ("cognito_impossible_travel.yml", include_str!("../../../detections/rules/cognito_impossible_travel.yml")),
    ("cognito_mfa_config_weakened.yml", include_str!("../../../detections/rules/cognito_mfa_config_weakened.yml")),
    ("cognito_mfa_fatigue.yml", include_str!("../../../detections/rules/cognito_mfa_fatigue.yml")),
    ("cognito_new_country_for_pool.yml", include_str!("../../../detections/rules/cognito_new_country_for_pool.yml")),
    ("cognito_new_device_then_high_risk.yml", include_str!("../../../detections/rules/cognito_new_device_then_high_risk.yml")),
    ("cognito_password_reset_code_bruteforce.yml", include_str!("../../../detections/rules/cognito_password_reset_code_bruteforce.yml")),
    ("cognito_password_spraying.yml", include_str!("../../../detections/rules/cognito_password_spraying.yml")),
    ("cognito_sms_pumping.yml", include_str!("../../../detections/rules/cognito_sms_pumping.yml")),
    ("cognito_token_refresh_storm.yml", include_str!("../../../detections/rules/cognito_token_refresh_storm.yml")),
    ("cognito_unauthenticated_identity_credentials.yml", include_str!("../../../detections/rules/cognito_unauthenticated_identity_credentials.yml")),
];

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
    /// The file it came from.
    pub file: String,
    /// The finding query ([`crate::query`]).
    pub sql: String,
    /// The correlation window, seconds; `None`: one finding per event.
    pub span: Option<u64>,
    /// The group-by fields, as the rule names them.
    pub group_by: Vec<String>,
    /// Whether the window start is part of the finding's key (not for
    /// `new_value`, whose day of first sight a late event may move).
    pub windowed_key: bool,
}

/// The rules of one pack, each of them runnable.
#[derive(Debug)]
pub struct Pack {
    pub rules: Vec<Rule>,
}

pub(crate) struct Source {
    pub file: String,
    pub text: String,
}

impl Pack {
    /// The built-in pack, or every rule file under `dir`. Any rule that
    /// cannot run as written fails the whole load ([`DetectError::Refused`]).
    pub fn load(dir: Option<&Path>, map: &Mapping) -> Result<Self, DetectError> {
        let sources = match dir {
            None => BUILTIN.iter().map(|(f, t)| Source { file: f.to_string(), text: t.to_string() }).collect(),
            Some(d) => read_dir(d)?,
        };
        compile(&sources, map)
    }
}

fn read_dir(dir: &Path) -> Result<Vec<Source>, DetectError> {
    let io = |path: &Path, source| DetectError::Io { path: path.display().to_string(), source };
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| io(&d, e))? {
            let p = e.map_err(|e| io(&d, e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| Ok(Source { text: std::fs::read_to_string(&p).map_err(|e| io(&p, e))?, file: p.display().to_string() }))
        .collect()
}

/// What the parsed form drops: correlations that ask for a window other
/// than tumbling in so many words (the parser reads an absent `window` as
/// sliding), and temporal ones without a condition (the parser reads that
/// as `gte: 1`; Sigma means every referenced rule).
#[derive(Debug, Default)]
pub(crate) struct Raw {
    pub not_tumbling: BTreeSet<String>,
    pub no_condition: BTreeSet<String>,
}

impl Raw {
    fn read(&mut self, text: &str) {
        use serde::Deserialize as _;
        for doc in yaml_serde::Deserializer::from_str(text) {
            let Ok(v) = yaml_serde::Value::deserialize(doc) else { continue };
            let (Some(id), Some(c)) = (v.get("id").and_then(|i| i.as_str()), v.get("correlation")) else { continue };
            let window = v.get("rsigma.window").or_else(|| c.get("window")).and_then(|w| w.as_str());
            if window.is_some_and(|w| w != "tumbling") {
                self.not_tumbling.insert(id.to_string());
            }
            if c.get("condition").is_none() {
                self.no_condition.insert(id.to_string());
            }
        }
    }
}

pub(crate) fn compile(sources: &[Source], map: &Mapping) -> Result<Pack, DetectError> {
    // Every document with the file it came from.
    let (mut detections, mut correlations, mut filters) = (Vec::new(), Vec::new(), Vec::new());
    let mut raw = Raw::default();
    for s in sources {
        let c = rsigma_parser::parse_sigma_yaml(&s.text).map_err(|e| DetectError::Parse { path: s.file.clone(), reason: e.to_string() })?;
        if let Some(e) = c.errors.first() {
            return Err(DetectError::Parse { path: s.file.clone(), reason: e.clone() });
        }
        raw.read(&s.text);
        detections.extend(c.rules.into_iter().map(|r| (s.file.as_str(), r)));
        correlations.extend(c.correlations.into_iter().map(|r| (s.file.as_str(), r)));
        filters.extend(c.filters);
    }
    let referenced: BTreeSet<&str> =
        correlations.iter().filter(|(_, c)| !c.generate).flat_map(|(_, c)| c.rules.iter().map(String::as_str)).collect();
    let (mut rules, mut refused, mut ids) = (Vec::new(), Vec::new(), BTreeSet::new());
    // What correlations read: (id, name, condition) of each detection rule.
    let mut conditions: Vec<(String, Option<String>, String)> = Vec::new();
    for (file, r) in &detections {
        let (id, cond) = match detection_rule(r, &filters, map) {
            Ok(x) => x,
            Err(e) => {
                refused.push(e);
                continue;
            }
        };
        if !ids.insert(id.clone()) {
            refused.push(Refusal::new(&id, "two rules share this id"));
            continue;
        }
        conditions.push((id.clone(), r.name.clone(), cond.clone()));
        if referenced.contains(id.as_str()) || r.name.as_deref().is_some_and(|n| referenced.contains(n)) {
            continue;
        }
        let (sql, span, group_by) = match crate::new_value::NewValue::of(&id, r, map) {
            Err(e) => {
                refused.push(e);
                continue;
            }
            Ok(None) => (crate::query::single(&cond), None, Vec::new()),
            Ok(Some(nv)) => (nv.sql(&cond), Some(86_400), nv.group_by()),
        };
        rules.push(Rule {
            id,
            title: r.title.clone(),
            level: r.level.map_or("medium", |l| l.as_str()).to_string(),
            tags: r.tags.clone(),
            file: file.to_string(),
            windowed_key: false,
            sql,
            span,
            group_by,
        });
    }
    for (file, c) in &correlations {
        match correlation_rule(c, &conditions, &raw, map) {
            Ok(rule) if !ids.insert(rule.id.clone()) => refused.push(Refusal::new(&rule.id, "two rules share this id")),
            Ok(rule) => rules.push(Rule { file: file.to_string(), ..rule }),
            Err(e) => refused.push(e),
        }
    }
    match refused.is_empty() {
        true => Ok(Pack { rules }),
        false => Err(DetectError::Refused(refused)),
    }
}

fn detection_rule(r: &SigmaRule, filters: &[FilterRule], map: &Mapping) -> Result<(String, String), Refusal> {
    let id = r.id.clone().ok_or_else(|| Refusal::new(&r.title, "a rule needs an id (findings are keyed by it)"))?;
    let source = map
        .logsource(&r.logsource)
        .ok_or_else(|| Refusal::new(&id, format!("log source {:?} is not one authlake holds", r.logsource)))?;
    let mut parts: Vec<String> = source.into_iter().map(|w| format!("({w})")).collect();
    parts.push(crate::detection::condition(&id, &r.detection, map)?);
    for f in filters {
        let applies = match &f.rules {
            rsigma_parser::FilterRuleTarget::Any => true,
            rsigma_parser::FilterRuleTarget::Specific(names) => {
                names.iter().any(|n| Some(n) == r.id.as_ref() || Some(n) == r.name.as_ref() || *n == r.title)
            }
        };
        if applies {
            parts.push(crate::detection::condition(&id, &f.detection, map)?);
        }
    }
    Ok((id, parts.join(" AND ")))
}

fn correlation_rule(
    c: &CorrelationRule,
    conditions: &[(String, Option<String>, String)],
    raw: &Raw,
    map: &Mapping,
) -> Result<Rule, Refusal> {
    let id = c.id.clone().ok_or_else(|| Refusal::new(&c.title, "a rule needs an id (findings are keyed by it)"))?;
    if raw.not_tumbling.contains(&id) || c.window == WindowMode::Session {
        return Err(Refusal::new(&id, format!("{} windows: authlake evaluates tumbling windows aligned to UTC", c.window.as_str())));
    }
    if c.rules.is_empty() {
        return Err(Refusal::new(&id, "a correlation references no rule"));
    }
    let mut bases = Vec::new();
    for name in &c.rules {
        let found = conditions.iter().find(|(i, n, _)| i == name || n.as_deref() == Some(name.as_str()));
        match found {
            Some((_, _, cond)) => bases.push((name.clone(), cond.clone())),
            None => return Err(Refusal::new(&id, format!("references `{name}`, which is not a detection rule of this pack"))),
        }
    }
    let mut c = c.clone();
    if raw.no_condition.contains(&id) {
        c.condition = rsigma_parser::CorrelationCondition::Threshold {
            predicates: vec![(rsigma_parser::ConditionOperator::Gte, bases.len() as u64)],
            field: None,
            percentile: None,
        };
    }
    let (sql, span) = crate::correlation::compile(&id, &c, &bases, map)?;
    Ok(Rule {
        id,
        title: c.title.clone(),
        level: c.level.map_or("medium", |l| l.as_str()).to_string(),
        tags: c.tags.clone(),
        file: String::new(),
        sql,
        span: Some(span),
        group_by: c.group_by.clone(),
        windowed_key: true,
    })
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
