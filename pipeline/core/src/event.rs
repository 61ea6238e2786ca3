//! The normalized event row and its vocabularies (DESIGN section 4).

use serde::{Deserialize, Serialize};

/// One row of the `events` table. Partition columns (`category`,
/// `event_date`) are derived, never stored, so they cannot disagree with
/// `event_type` and `event_time`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthEvent {
    pub event_id: String,
    /// Microseconds since the Unix epoch, UTC.
    pub event_time: i64,
    pub event_time_source: String,
    /// Microseconds since the Unix epoch, UTC.
    pub ingest_time: i64,
    pub event_type: String,
    pub outcome: Option<String>,
    pub user_pool_id: Option<String>,
    pub client_id: Option<String>,
    pub aws_region: Option<String>,
    pub account_id: Option<String>,
    pub username: Option<String>,
    pub user_sub: Option<String>,
    pub email: Option<String>,
    pub tenant_id: Option<String>,
    pub ip_address: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub device_name: Option<String>,
    pub user_agent: Option<String>,
    pub auth_flow: Option<String>,
    pub challenge_name: Option<String>,
    pub mfa_challenged: Option<bool>,
    pub mfa_passed: Option<bool>,
    pub mfa_method: Option<String>,
    pub new_device: Option<bool>,
    pub risk_level: Option<String>,
    pub risk_decision: Option<String>,
    pub compromised_credentials: Option<bool>,
    pub error_code: Option<String>,
    pub provider_name: Option<String>,
    pub provider_type: Option<String>,
    pub migration_source: Option<String>,
    pub migration_status: Option<String>,
    pub token_size_bytes: Option<i64>,
    pub source_format: String,
    pub source: String,
    pub raw: Option<String>,
}

impl AuthEvent {
    /// Partition category derived from the event type.
    pub fn category(&self) -> &'static str {
        category_of(&self.event_type)
    }

    /// UTC date of `event_time` as days since the epoch (Arrow `Date32`).
    pub fn event_day(&self) -> i32 {
        self.event_time.div_euclid(86_400_000_000) as i32
    }
}

/// A record that could not be decoded or normalized: kept as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Source position, in the same syntax as the `source` column.
    pub source: String,
    /// Why the record was rejected.
    pub reason: String,
    /// The record with secret values removed (lossy UTF-8), or a short
    /// prefix when even that was not possible.
    pub raw: String,
    /// SHA-256 of the original bytes, hex: lets two dead letters be matched
    /// without keeping what they held.
    pub raw_sha256: String,
    /// Microseconds since the Unix epoch.
    pub ingest_time: i64,
}

/// Every `event_type` value the table uses.
pub const EVENT_TYPES: &[&str] = &[
    "sign_in",
    "sign_up",
    "mfa_challenge",
    "mfa_response",
    "token_refresh",
    "sign_out",
    "password_reset",
    "password_change",
    "user_migration",
    "bulk_import",
    "federation_link",
    "federation_unlink",
    "federated_sign_in",
    "token_generation",
    "other",
];

/// Every `outcome` value the table uses.
pub const OUTCOMES: &[&str] = &["success", "failure", "in_progress", "throttled"];

/// Every `category` value, i.e. every possible first-level partition.
pub const CATEGORIES: &[&str] = &["auth", "account", "migration", "federation", "token", "other"];

/// The category (first partition level) of an event type.
pub fn category_of(event_type: &str) -> &'static str {
    match event_type {
        "sign_in" | "federated_sign_in" | "mfa_challenge" | "mfa_response" | "token_refresh"
        | "sign_out" => "auth",
        "sign_up" | "password_reset" | "password_change" => "account",
        "user_migration" | "bulk_import" => "migration",
        "federation_link" | "federation_unlink" => "federation",
        "token_generation" => "token",
        _ => "other",
    }
}

/// Canonical event type for a word from any source, or `None` when unknown.
pub fn known_event_type(word: &str) -> Option<&'static str> {
    EVENT_TYPES.iter().copied().find(|t| *t == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_its_documented_category() {
        let expect = [
            ("sign_in", "auth"),
            ("federated_sign_in", "auth"),
            ("mfa_challenge", "auth"),
            ("mfa_response", "auth"),
            ("token_refresh", "auth"),
            ("sign_out", "auth"),
            ("sign_up", "account"),
            ("password_reset", "account"),
            ("password_change", "account"),
            ("user_migration", "migration"),
            ("bulk_import", "migration"),
            ("federation_link", "federation"),
            ("federation_unlink", "federation"),
            ("token_generation", "token"),
            ("other", "other"),
            ("something_new", "other"),
        ];
        for (t, c) in expect {
            assert_eq!(category_of(t), c, "{t}");
        }
    }

    #[test]
    fn event_day_handles_pre_epoch_times() {
        let e = AuthEvent { event_time: -1, ..Default::default() };
        assert_eq!(e.event_day(), -1);
        let e = AuthEvent { event_time: 86_400_000_000, ..Default::default() };
        assert_eq!(e.event_day(), 1);
    }
}
