//! Why rules could not be loaded or run.

/// A rule the compiler will not run, with the reason: never weakened into
/// something that matches less (or more) than the rule says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule}: refused: {reason}")]
pub struct Refusal {
    /// The rule's id (or title, when it has none).
    pub rule: String,
    pub reason: String,
}

impl Refusal {
    pub fn new(rule: &str, reason: impl Into<String>) -> Self {
        Self { rule: rule.to_string(), reason: reason.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not a Sigma rule file: {reason}")]
    Parse { path: String, reason: String },
    #[error("field mapping {path}: {reason}")]
    Mapping { path: String, reason: String },
    #[error("{} rule(s) refused:\n  {}", .0.len(), .0.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n  "))]
    Refused(Vec<Refusal>),
    #[error("rule {rule}: {source}")]
    Query { rule: String, source: authlake_analytics::QueryError },
    #[error(transparent)]
    Lake(#[from] authlake_lake::LakeError),
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
}
