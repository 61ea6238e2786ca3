//! The event vocabularies (docs/columns.md): event
//! types, their categories, outcomes; and the dead-letter row.
//!
//! The Arrow columns hold these as strings; Rust code names them through
//! the enums, so a typo does not compile.

use serde::{Deserialize, Serialize};

pub use crate::columns::AuthEvent;

/// An enum whose variants are spelled as the table stores them.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $( $variant:ident = $text:literal, )+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $variant, )+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The value as the table stores it.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }

            /// The value the table spells `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $( $text => Some($name::$variant), )+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, v: &$name) -> bool {
                self == v.as_str()
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, v: &$name) -> bool {
                *self == v.as_str()
            }
        }
    };
}

vocabulary! {
    /// The `event_type` column.
    EventType {
        SignIn = "sign_in",
        SignUp = "sign_up",
        MfaChallenge = "mfa_challenge",
        MfaResponse = "mfa_response",
        TokenRefresh = "token_refresh",
        SignOut = "sign_out",
        PasswordReset = "password_reset",
        PasswordChange = "password_change",
        UserMigration = "user_migration",
        BulkImport = "bulk_import",
        FederationLink = "federation_link",
        FederationUnlink = "federation_unlink",
        FederatedSignIn = "federated_sign_in",
        TokenGeneration = "token_generation",
        IdentityId = "identity_id",
        IdentityCredentials = "identity_credentials",
        AdminChange = "admin_change",
        Notification = "notification",
        Other = "other",
    }
}

vocabulary! {
    /// The `category` partition column.
    Category {
        Auth = "auth",
        Account = "account",
        Migration = "migration",
        Federation = "federation",
        Token = "token",
        Identity = "identity",
        Admin = "admin",
        Other = "other",
    }
}

vocabulary! {
    /// The `outcome` column.
    Outcome {
        Success = "success",
        Failure = "failure",
        InProgress = "in_progress",
        Throttled = "throttled",
    }
}

impl EventType {
    /// The partition category of this event type.
    pub const fn category(self) -> Category {
        use EventType::*;
        match self {
            SignIn | FederatedSignIn | MfaChallenge | MfaResponse | TokenRefresh | SignOut => Category::Auth,
            SignUp | PasswordReset | PasswordChange => Category::Account,
            UserMigration | BulkImport => Category::Migration,
            FederationLink | FederationUnlink => Category::Federation,
            TokenGeneration => Category::Token,
            IdentityId | IdentityCredentials => Category::Identity,
            AdminChange => Category::Admin,
            Notification | Other => Category::Other,
        }
    }
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

/// Every `category` value, i.e. every possible first-level partition.
pub const CATEGORIES: &[&str] = &{
    let mut out = [""; Category::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = Category::ALL[i].as_str();
        i += 1;
    }
    out
};

/// The category (first partition level) of an event type's text; `other`
/// for a word that is not an event type. Once per row on the hot path.
pub fn category_of(event_type: &str) -> &'static str {
    EventType::parse(event_type).map_or(Category::Other, EventType::category).as_str()
}

/// Canonical event type for a word from any source, or `None` when unknown.
pub fn known_event_type(word: &str) -> Option<&'static str> {
    EventType::parse(word).map(EventType::as_str)
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
            ("identity_id", "identity"),
            ("identity_credentials", "identity"),
            ("admin_change", "admin"),
            ("notification", "other"),
            ("other", "other"),
            ("something_new", "other"),
        ];
        for (t, c) in expect {
            assert_eq!(category_of(t), c, "{t}");
        }
        assert_eq!(EventType::ALL.len() + 1, expect.len(), "every event type is listed");
    }

    #[test]
    fn vocabularies_read_back_what_they_write() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
        }
        assert_eq!(CATEGORIES, Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>());
    }

    #[test]
    fn event_day_handles_pre_epoch_times() {
        let e = AuthEvent { event_time: -1, ..Default::default() };
        assert_eq!(e.event_day(), -1);
        let e = AuthEvent { event_time: 86_400_000_000, ..Default::default() };
        assert_eq!(e.event_day(), 1);
    }
}
