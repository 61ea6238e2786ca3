//! `dashboards/alarms.toml`: the declared alarms.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::expr::Expr;
use super::AlarmError;
use crate::metrics::catalogue::metric;
use crate::metrics::Window;

/// The file: defaults for every alarm, then `[[alarm]]` tables.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmConfig {
    /// Prefix of the CloudWatch names of managed alarms; every alarm whose
    /// name starts with it belongs to authlake (and is deleted when no
    /// longer declared).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// CloudWatch namespace of the metrics.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Actions (e.g. SNS topic ARNs) when an alarm fires, for alarms that
    /// name none.
    #[serde(default)]
    pub alarm_actions: Vec<String>,
    /// Actions when an alarm returns to OK, for alarms that name none.
    #[serde(default)]
    pub ok_actions: Vec<String>,
    /// The alarms.
    #[serde(default, rename = "alarm")]
    pub alarms: Vec<AlarmDef>,
}

fn default_prefix() -> String {
    "authlake/".into()
}

fn default_namespace() -> String {
    crate::DEFAULT_NAMESPACE.into()
}

fn default_period() -> String {
    "1h".into()
}

fn default_one() -> u32 {
    1
}

fn default_missing() -> String {
    "missing".into()
}

/// One `[[alarm]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlarmDef {
    /// Name; the CloudWatch alarm is `<prefix><name>`.
    pub name: String,
    /// What the alarm means and what to do; shown in the notification.
    #[serde(default)]
    pub description: String,
    /// A catalogue metric (e.g. `HighRiskSignIns`); or give `expression`.
    pub metric: Option<String>,
    /// Metric math over catalogue counts, e.g.
    /// `100 * SignInFailures / SignInAttempts`.
    pub expression: Option<String>,
    /// `>`, `>=`, `<` or `<=` the threshold breaches.
    pub comparison: String,
    pub threshold: f64,
    /// Length of one evaluation period (`5m`, `1h`, `1d`).
    #[serde(default = "default_period")]
    pub period: String,
    /// Periods looked at (N of "M out of N").
    #[serde(default = "default_one")]
    pub evaluation_periods: u32,
    /// Breaching periods among them that fire the alarm (M); default N.
    pub datapoints_to_alarm: Option<u32>,
    /// A period without data is `breaching`, `notBreaching`, `ignore` or
    /// `missing` (CloudWatch's TreatMissingData).
    #[serde(default = "default_missing")]
    pub missing_data: String,
    /// Watch this user pool only; default: all pools in the lake, summed.
    pub user_pool_id: Option<String>,
    /// A rate alarm judges only periods with at least this much volume
    /// (`volume_metric`): 1 failure out of 2 sign-ins is not an incident.
    /// A period below it has no datapoint (metric math `IF`), which
    /// `missing_data` then treats as declared.
    pub min_volume: Option<f64>,
    /// The count `min_volume` applies to, e.g. `SignInAttempts`.
    pub volume_metric: Option<String>,
    /// Actions when it fires (overrides the file's `alarm_actions`).
    pub alarm_actions: Option<Vec<String>>,
}

impl AlarmDef {
    /// The rule as metric math (a single metric is the trivial expression).
    pub fn expr(&self) -> Result<Expr, AlarmError> {
        let text = self.expression.as_deref().or(self.metric.as_deref()).unwrap_or_default();
        Expr::parse(text).map_err(|reason| self.invalid(reason))
    }

    pub fn window(&self) -> Result<Window, AlarmError> {
        Window::parse(&self.period).map_err(|reason| self.invalid(reason))
    }

    /// The minimum volume as (metric, least count), checked to name a count.
    pub fn volume(&self) -> Result<Option<(String, f64)>, AlarmError> {
        match (&self.volume_metric, self.min_volume) {
            (None, None) => Ok(None),
            (Some(m), Some(n)) if crate::metrics::catalogue::metric(m).is_some() => Ok(Some((m.clone(), n))),
            (Some(m), Some(_)) => Err(self.invalid(format!("volume_metric {m:?} is not a catalogue metric"))),
            _ => Err(self.invalid("min_volume and volume_metric go together")),
        }
    }

    /// The rule's value from the period's metrics, none when the period
    /// is below the minimum volume or the expression has no value.
    /// Runs per period of a backtest: reads the fields [`Self::volume`]
    /// checked when the file was loaded, without copying them.
    pub fn value(&self, expr: &Expr, get: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
        if let (Some(m), Some(n)) = (self.volume_metric.as_deref(), self.min_volume) {
            if get(m).unwrap_or(0.0) < n {
                return None;
            }
        }
        expr.eval(get)
    }

    pub fn datapoints(&self) -> u32 {
        self.datapoints_to_alarm.unwrap_or(self.evaluation_periods)
    }

    /// Whether `value` breaches the threshold.
    pub fn breaches(&self, value: f64) -> bool {
        match self.comparison.as_str() {
            ">" => value > self.threshold,
            ">=" => value >= self.threshold,
            "<" => value < self.threshold,
            _ => value <= self.threshold,
        }
    }

    pub fn comparison_operator(&self) -> &'static str {
        match self.comparison.as_str() {
            ">" => "GreaterThanThreshold",
            ">=" => "GreaterThanOrEqualToThreshold",
            "<" => "LessThanThreshold",
            _ => "LessThanOrEqualToThreshold",
        }
    }

    fn invalid(&self, reason: impl ToString) -> AlarmError {
        AlarmError::Invalid { name: self.name.clone(), reason: reason.to_string() }
    }

    fn validate(&self) -> Result<(), AlarmError> {
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(self.invalid("name must be letters, digits, '-', '_' or '.'"));
        }
        if self.metric.is_some() == self.expression.is_some() {
            return Err(self.invalid("give exactly one of `metric` and `expression`"));
        }
        for name in self.expr()?.identifiers() {
            if metric(&name).is_none() {
                return Err(self.invalid(format!("{name} is not in the metrics catalogue")));
            }
        }
        if ![">", ">=", "<", "<="].contains(&self.comparison.as_str()) {
            return Err(self.invalid("comparison must be >, >=, < or <="));
        }
        if !["breaching", "notBreaching", "ignore", "missing"].contains(&self.missing_data.as_str()) {
            return Err(self.invalid("missing_data must be breaching, notBreaching, ignore or missing"));
        }
        if self.evaluation_periods == 0 || self.datapoints() == 0 || self.datapoints() > self.evaluation_periods {
            return Err(self.invalid("need 1 <= datapoints_to_alarm <= evaluation_periods"));
        }
        if !self.threshold.is_finite() {
            return Err(self.invalid("threshold must be a number"));
        }
        self.volume()?;
        self.window()?;
        Ok(())
    }
}

/// `dashboards/alarms.toml`, built in.
const BUILTIN: &str = include_str!("../../../../dashboards/alarms.toml");

impl AlarmConfig {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<Self, AlarmError> {
        let text = std::fs::read_to_string(path).map_err(|e| AlarmError::Config { path: path.display().to_string(), reason: e.to_string() })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The alarms shipped with authlake (`dashboards/alarms.toml` of its
    /// source), for a user who declared none.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN, "the built-in alarms").expect("the built-in alarms are valid")
    }

    /// Parses and checks a file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, AlarmError> {
        let config: Self = toml::from_str(text).map_err(|e| AlarmError::Config { path: origin.to_string(), reason: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), AlarmError> {
        let mut seen = std::collections::HashSet::new();
        for a in &self.alarms {
            a.validate()?;
            if !seen.insert(&a.name) {
                return Err(AlarmError::Invalid { name: a.name.clone(), reason: "declared twice".into() });
            }
        }
        Ok(())
    }

    /// The CloudWatch name of an alarm.
    pub fn cloudwatch_name(&self, a: &AlarmDef) -> String {
        format!("{}{}", self.prefix, a.name)
    }
}
