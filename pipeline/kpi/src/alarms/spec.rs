//! The CloudWatch form of a declared alarm: a plain metric alarm when it
//! watches one metric of one pool, metric math otherwise (pools summed,
//! rates computed from counts). Its fingerprint, kept in the alarm's
//! description, is how `sync` tells an unchanged alarm from a changed one.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::config::{AlarmConfig, AlarmDef};
use super::AlarmError;
use crate::metrics::catalogue::{metric, Statistic};

/// CloudWatch allows at most 10 metrics in a metric-math alarm.
const MAX_ALARM_METRICS: usize = 10;

/// One query of a metric-math alarm.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Query {
    pub id: String,
    pub expression: Option<String>,
    pub metric: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub stat: Option<String>,
    pub return_data: bool,
    pub label: Option<String>,
}

/// What the alarm watches.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Target {
    Metric { metric: String, dimensions: Vec<(String, String)>, statistic: String },
    Math { queries: Vec<Query> },
}

/// Everything PutMetricAlarm is given.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlarmSpec {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub period: i32,
    pub comparison_operator: String,
    pub threshold: f64,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: i32,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub target: Target,
}

/// Marks a description with the spec's fingerprint.
const TAG: &str = "[authlake:";

impl AlarmSpec {
    /// The declared alarm over `pools` (all pools of the lake, or the one
    /// it pins).
    pub fn build(config: &AlarmConfig, a: &AlarmDef, pools: &[String]) -> Result<Self, AlarmError> {
        let invalid = |reason: String| AlarmError::Invalid { name: a.name.clone(), reason };
        let expr = a.expr()?;
        let period = a.window()?.seconds as i32;
        let pools: Vec<String> = match &a.user_pool_id {
            Some(p) => vec![p.clone()],
            None => pools.to_vec(),
        };
        let mut names = expr.identifiers();
        let volume = a.volume()?;
        if let Some((m, _)) = &volume {
            if !names.contains(m) {
                names.push(m.clone());
            }
        }
        let dims_of = |name: &str, pool: &str| -> Vec<(String, String)> {
            if name == "DeadLetters" {
                vec![]
            } else {
                vec![("UserPoolId".to_string(), pool.to_string())]
            }
        };
        let stat_of = |name: &str| metric(name).map(|m| m.statistic).unwrap_or(Statistic::Sum).name().to_string();
        let target = if a.metric.is_some() && volume.is_none() && (pools.len() == 1 || names[0] == "DeadLetters") {
            let pool = pools.first().cloned().unwrap_or_default();
            Target::Metric { metric: names[0].clone(), dimensions: dims_of(&names[0], &pool), statistic: stat_of(&names[0]) }
        } else {
            if pools.is_empty() {
                return Err(invalid("the lake has no user pools yet: pin one with user_pool_id".into()));
            }
            let mut queries = Vec::new();
            let mut aggregates = std::collections::HashMap::new();
            for (i, name) in names.iter().enumerate() {
                let per_name: Vec<&String> = if name == "DeadLetters" { pools.iter().take(1).collect() } else { pools.iter().collect() };
                let mut ids = Vec::new();
                for (j, pool) in per_name.iter().enumerate() {
                    let id = format!("m{i}p{j}");
                    queries.push(Query {
                        id: id.clone(),
                        expression: None,
                        metric: Some(name.clone()),
                        dimensions: dims_of(name, pool),
                        stat: Some(stat_of(name)),
                        return_data: false,
                        label: None,
                    });
                    ids.push(id);
                }
                let agg = match (ids.len(), stat_of(name).as_str()) {
                    (1, _) => ids[0].clone(),
                    (_, "Maximum") => format!("MAX([{}])", ids.join(", ")),
                    (_, "Minimum") => format!("MIN([{}])", ids.join(", ")),
                    _ => format!("SUM([{}])", ids.join(", ")),
                };
                aggregates.insert(name.clone(), agg);
            }
            if queries.len() > MAX_ALARM_METRICS {
                return Err(invalid(format!(
                    "needs {} metrics over {} pools, CloudWatch allows {MAX_ALARM_METRICS}: pin one with user_pool_id",
                    queries.len(),
                    pools.len()
                )));
            }
            let rename = |n: &str| aggregates.get(n).cloned().unwrap_or_else(|| n.to_string());
            let rule = expr.rewrite(&rename);
            // Below the minimum volume the period has no datapoint.
            let rule = match &volume {
                Some((m, n)) => format!("IF({} >= {n}, {rule})", rename(m)),
                None => rule,
            };
            queries.push(Query {
                id: "e1".into(),
                expression: Some(rule),
                metric: None,
                dimensions: vec![],
                stat: None,
                return_data: true,
                label: Some(a.expression.clone().unwrap_or_else(|| names[0].clone())),
            });
            Target::Math { queries }
        };
        let mut spec = Self {
            name: config.cloudwatch_name(a),
            description: a.description.clone(),
            namespace: config.namespace.clone(),
            period,
            comparison_operator: a.comparison_operator().into(),
            threshold: a.threshold,
            evaluation_periods: a.evaluation_periods as i32,
            datapoints_to_alarm: a.datapoints() as i32,
            treat_missing_data: a.missing_data.clone(),
            alarm_actions: a.alarm_actions.clone().unwrap_or_else(|| config.alarm_actions.clone()),
            ok_actions: config.ok_actions.clone(),
            target,
        };
        spec.description = format!("{} {TAG}{}]", spec.description, spec.fingerprint()).trim_start().to_string();
        Ok(spec)
    }

    /// A short hash of everything but the description's tag.
    pub fn fingerprint(&self) -> String {
        let mut plain = self.clone();
        plain.description = strip_tag(&plain.description).to_string();
        let json = serde_json::to_vec(&plain).unwrap_or_default();
        hex::encode(&Sha256::digest(&json)[..8])
    }
}

/// The fingerprint in a deployed alarm's description, if authlake wrote it.
pub fn deployed_fingerprint(description: &str) -> Option<&str> {
    let start = description.rfind(TAG)? + TAG.len();
    description[start..].strip_suffix(']')
}

fn strip_tag(description: &str) -> &str {
    match description.rfind(TAG) {
        Some(i) => description[..i].trim_end(),
        None => description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AlarmConfig {
        toml::from_str(
            r#"
            [[alarm]]
            name = "mfa"
            expression = "100 * MfaCompletions / MfaChallenges"
            comparison = "<"
            threshold = 80
            evaluation_periods = 5
            datapoints_to_alarm = 3
            [[alarm]]
            name = "risk"
            metric = "HighRiskSignIns"
            comparison = ">"
            threshold = 10
            "#,
        )
        .unwrap()
    }

    #[test]
    fn single_pool_metric_is_plain_and_pools_are_summed() {
        let c = config();
        c.validate().unwrap();
        let one = AlarmSpec::build(&c, &c.alarms[1], &["p1".into()]).unwrap();
        assert!(matches!(one.target, Target::Metric { ref statistic, .. } if statistic == "Sum"));
        assert_eq!(one.name, "authlake/risk");
        let two = AlarmSpec::build(&c, &c.alarms[0], &["p1".into(), "p2".into()]).unwrap();
        let Target::Math { queries } = &two.target else { panic!("math expected") };
        assert_eq!(queries.len(), 5);
        assert_eq!(queries[4].expression.as_deref(), Some("100 * SUM([m0p0, m0p1]) / SUM([m1p0, m1p1])"));
        assert_eq!(deployed_fingerprint(&two.description), Some(two.fingerprint().as_str()));
        let again = AlarmSpec::build(&c, &c.alarms[0], &["p1".into(), "p2".into()]).unwrap();
        assert_eq!(again.fingerprint(), two.fingerprint());
        let other = AlarmSpec::build(&c, &c.alarms[0], &["p1".into()]).unwrap();
        assert_ne!(other.fingerprint(), two.fingerprint());
    }
}
