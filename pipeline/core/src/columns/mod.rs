//! The `events` columns, declared once.
//!
//! [`declare_columns!`] below is the only list of the table's columns:
//! name, kind (which gives the Arrow type and nullability), how the
//! Parquet writer stores it, and whether canonical input carries it. From
//! it come the owned row ([`AuthEvent`]), the borrowed row's slots
//! ([`slot`]), the Arrow schema ([`crate::schema`]), the builders' layout
//! ([`EventColumns`]), the canonical fast path's key table and the Parquet
//! writer's per-column properties. Adding a column is one entry here, then
//! filling it in the decoders that carry it (docs/ARCHITECTURE.md).

mod rows;

use serde::{Deserialize, Serialize};

pub use rows::{EventColumns, PartitionedRows, RowRef};

/// What a column holds; gives its Arrow type and nullability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Utf8, never null.
    Text,
    /// Timestamp(µs, UTC), never null.
    Time,
    /// Utf8, nullable.
    Opt,
    /// Boolean, nullable.
    Flag,
    /// Int64, nullable.
    Int,
}

/// A Parquet value encoding other than the writer's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Dictionary where enabled, else plain.
    Default,
    /// Deltas of rising integers (times).
    DeltaBinaryPacked,
    /// Lengths stored apart from the bytes (random ids).
    DeltaLength,
    /// Shared prefixes stored once (`source`).
    DeltaByteArray,
}

/// How a column is stored and where its values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Dictionary-encode the column (few distinct values per file).
    pub dictionary: bool,
    /// Keep min/max statistics (they prune files by range).
    pub statistics: bool,
    pub encoding: Encoding,
    /// zstd-compress the column chunk.
    pub compressed: bool,
    /// Canonical input may carry it; false for what authlake sets itself
    /// (`ingest_time`, `source`, `source_format`, `raw`).
    pub from_input: bool,
}

impl Spec {
    /// Few distinct values per file (enumerations, pool and client ids):
    /// a small dictionary and bit-packed indices, which zstd shrinks by
    /// under 10% while costing a context set-up per column chunk
    /// (docs/performance.md).
    pub const FEW_VALUES: Spec =
        Spec { dictionary: true, statistics: true, encoding: Encoding::Default, compressed: false, from_input: true };
    /// (Nearly) unique per row: dictionaries only cost time, and min/max
    /// never prune a file (random ids, addresses; a day's file of a
    /// category holds ~2,000 usernames in ~2,300 rows).
    pub const UNIQUE: Spec = Spec { dictionary: false, statistics: false, compressed: true, ..Self::FEW_VALUES };
    /// Long free text: min/max compare every value byte by byte and never
    /// prune; dictionary indices that zstd does not shrink.
    pub const FREE_TEXT: Spec = Spec { statistics: false, ..Self::FEW_VALUES };
    /// Times rise within a file: deltas of a few bits each; a dictionary of
    /// unique values costs a hash per row. Statistics prune time ranges.
    pub const TIME: Spec = Spec { dictionary: false, encoding: Encoding::DeltaBinaryPacked, ..Self::FEW_VALUES };

    /// This spec with another encoding.
    pub const fn encoded(self, encoding: Encoding) -> Spec {
        Spec { encoding, ..self }
    }

    /// This spec for a column authlake sets itself.
    pub const fn own(self) -> Spec {
        Spec { from_input: false, ..self }
    }
}

/// One column of the `events` file schema.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub spec: Spec,
    /// Its meaning, as declared.
    pub doc: &'static str,
}

/// The Rust type of a column of each kind in [`AuthEvent`].
macro_rules! owned_type {
    (Text) => { String };
    (Time) => { i64 };
    (Opt) => { Option<String> };
    (Flag) => { Option<bool> };
    (Int) => { Option<i64> };
}

/// The slot type of each kind in [`RowRef`].
macro_rules! slot_type {
    (Text) => { TextSlot };
    (Time) => { TimeSlot };
    (Opt) => { OptSlot };
    (Flag) => { FlagSlot };
    (Int) => { IntSlot };
}

/// The slot of each kind in [`RowRef`], at `$at`.
macro_rules! make_slot {
    (Text, $at:expr) => { TextSlot($at) };
    (Time, $at:expr) => { TimeSlot($at) };
    (Opt, $at:expr) => { OptSlot($at) };
    (Flag, $at:expr) => { FlagSlot($at) };
    (Int, $at:expr) => { IntSlot($at) };
}

/// An owned value as [`RowRef`] holds it.
macro_rules! borrowed {
    (Text, $v:expr) => { $v.as_str() };
    (Opt, $v:expr) => { $v.as_deref() };
    ($other:ident, $v:expr) => { $v };
}

macro_rules! declare_columns {
    ($( $(#[doc = $doc:literal])+ $name:ident: $kind:ident, $spec:expr; )+) => {
        /// One row of the `events` table (docs/columns.md), owned: what the
        /// general decoders fill. Partition columns (`category`,
        /// `event_date`) are derived, never stored, so they cannot disagree
        /// with `event_type` and `event_time`.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct AuthEvent {
            $( $(#[doc = $doc])+ pub $name: owned_type!($kind), )+
        }

        /// Every column of the `events` file schema, in schema order.
        pub const COLUMNS: &[Column] = &[
            $( Column { name: stringify!($name), kind: Kind::$kind, spec: $spec, doc: concat!($($doc),+) }, )+
        ];

        /// Where each column lives in a [`RowRef`]: `row[slot::username]`.
        #[allow(non_upper_case_globals)]
        pub mod slot {
            use super::*;
            $( pub const $name: slot_type!($kind) = make_slot!($kind, slot_of(stringify!($name))); )+
        }

        impl<'a> RowRef<'a> {
            /// A view of an owned row.
            pub fn of(e: &'a AuthEvent) -> Self {
                let mut r = Self::default();
                $( r[slot::$name] = borrowed!($kind, e.$name); )+
                r
            }
        }

        impl AuthEvent {
            /// Every field in schema order (that of [`COLUMNS`]), for code
            /// that fills columns by kind rather than by name (the
            /// canonical decoder).
            pub fn fields_mut(&mut self) -> [FieldMut<'_>; COLUMNS.len()] {
                [ $( FieldMut::$kind(&mut self.$name), )+ ]
            }
        }
    };
}

/// A mutable field of [`AuthEvent`], by kind.
pub enum FieldMut<'a> {
    Text(&'a mut String),
    Time(&'a mut i64),
    Opt(&'a mut Option<String>),
    Flag(&'a mut Option<bool>),
    Int(&'a mut Option<i64>),
}

use Encoding::{DeltaByteArray, DeltaLength};
const FEW_VALUES: Spec = Spec::FEW_VALUES;
const UNIQUE: Spec = Spec::UNIQUE;
const FREE_TEXT: Spec = Spec::FREE_TEXT;
const TIME: Spec = Spec::TIME;

// The columns, in schema order. docs/columns.md has each
// with its meaning, examples and the formats that fill it.
declare_columns! {
    /// Source event id, or a content-based id when the source has none.
    event_id: Text, UNIQUE.encoded(DeltaLength);
    /// When the event happened, µs since the epoch (UTC).
    event_time: Time, TIME;
    /// Where `event_time` came from: `record`, `log_event`, `kinesis_arrival`, `kafka_timestamp`, `ingest`.
    event_time_source: Text, FEW_VALUES;
    /// When authlake read the record, µs since the epoch (UTC).
    ingest_time: Time, TIME.own();
    /// `sign_in`, `mfa_response`, `user_migration`, ... (gives `category`).
    event_type: Text, FEW_VALUES;
    /// The source's own name for the event: CloudTrail `eventName`, trigger `triggerSource`, activity-log `eventType`, AuthEvents `EventType`.
    event_name: Opt, FEW_VALUES;
    /// Identity-pool events: the identity pool.
    identity_pool_id: Opt, FEW_VALUES;
    /// `success`, `failure`, `in_progress`, `throttled`.
    outcome: Opt, FEW_VALUES;
    /// Cognito user pool id.
    user_pool_id: Opt, FEW_VALUES;
    /// App client id.
    client_id: Opt, FEW_VALUES;
    /// AWS region where the source says.
    aws_region: Opt, FEW_VALUES;
    /// AWS account id where the source says.
    account_id: Opt, FEW_VALUES;
    /// User name (null where the source has only the sub).
    username: Opt, UNIQUE;
    /// The user's `sub`.
    user_sub: Opt, UNIQUE.encoded(DeltaLength);
    /// E-mail address from user attributes.
    email: Opt, UNIQUE;
    /// Tenant from `custom:tenantId` or configuration.
    tenant_id: Opt, FEW_VALUES;
    /// Client IP address.
    ip_address: Opt, UNIQUE;
    /// Country of the client.
    country: Opt, FEW_VALUES;
    /// City of the client.
    city: Opt, FEW_VALUES;
    /// Device name.
    device_name: Opt, FREE_TEXT;
    /// User agent.
    user_agent: Opt, FREE_TEXT;
    /// Auth flow (USER_SRP_AUTH, ...; hosted-UI `Token_POST`: the grant type).
    auth_flow: Opt, FEW_VALUES;
    /// Challenge name (SOFTWARE_TOKEN_MFA, WEB_AUTHN, ...).
    challenge_name: Opt, FEW_VALUES;
    /// This sign-in flow asked for a second factor.
    mfa_challenged: Flag, FEW_VALUES;
    /// The second factor succeeded (null when not challenged).
    mfa_passed: Flag, FEW_VALUES;
    /// `sms`, `totp`, `email`; null when unknown.
    mfa_method: Opt, FEW_VALUES;
    /// PostAuthentication `newDeviceUsed`.
    new_device: Flag, FEW_VALUES;
    /// `low`, `medium`, `high`.
    risk_level: Opt, FEW_VALUES;
    /// `no_risk`, `account_takeover`, `block`, or the source's own word lower-cased.
    risk_decision: Opt, FEW_VALUES;
    /// Cognito found the credentials in a breach list.
    compromised_credentials: Flag, FEW_VALUES;
    /// Error code of a failure (NotAuthorizedException, ...).
    error_code: Opt, FEW_VALUES;
    /// Federation: the identity provider's name.
    provider_name: Opt, FEW_VALUES;
    /// Federation: SAML, OIDC, Google, ...
    provider_type: Opt, FEW_VALUES;
    /// Legacy system of a migration (e.g. auth0).
    migration_source: Opt, FEW_VALUES;
    /// `CONFIRMED`, `RESET_REQUIRED`, ...
    migration_status: Opt, FEW_VALUES;
    /// Size of an issued token where the source reports it.
    token_size_bytes: Int, FEW_VALUES;
    /// `cognito_activity_log`, `cognito_auth_event`, `cloudtrail`, `lambda_trigger`, `canonical`.
    source_format: Text, FEW_VALUES.own();
    /// Source position: `kafka:<topic>/<partition>@<offset>[#<n>]`, `kinesis:...`, `file:<path>@<byte>[#<n>]`.
    source: Text, UNIQUE.encoded(DeltaByteArray).own();
    /// The original record with secrets removed; null for canonical input.
    raw: Opt, UNIQUE.own();
}

/// Columns of each kind: the lengths of [`RowRef`]'s arrays.
pub const TEXT: usize = count(Kind::Text);
pub const TIMES: usize = count(Kind::Time);
pub const OPT: usize = count(Kind::Opt);
pub const FLAGS: usize = count(Kind::Flag);
pub const INTS: usize = count(Kind::Int);

/// Index of a required string in [`RowRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSlot(pub usize);
/// Index of a required time in [`RowRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSlot(pub usize);
/// Index of a nullable string in [`RowRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSlot(pub usize);
/// Index of a nullable boolean in [`RowRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSlot(pub usize);
/// Index of a nullable integer in [`RowRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntSlot(pub usize);

const fn count(kind: Kind) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < COLUMNS.len() {
        if COLUMNS[i].kind as u8 == kind as u8 {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of column `name` among the columns of its kind (evaluated at
/// compile time: an unknown name does not compile).
const fn slot_of(name: &str) -> usize {
    let mut i = 0;
    while !same(COLUMNS[i].name, name) {
        i += 1;
    }
    kind_index(i)
}

/// The index of the `i`th column among the columns of its kind.
pub const fn kind_index(i: usize) -> usize {
    let (mut j, mut n) = (0, 0);
    while j < i {
        if COLUMNS[j].kind as u8 == COLUMNS[i].kind as u8 {
            n += 1;
        }
        j += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_index_their_kind_in_schema_order() {
        assert_eq!(slot::event_id, TextSlot(0));
        assert_eq!(slot::event_time_source, TextSlot(1));
        assert_eq!(slot::ingest_time, TimeSlot(1));
        assert_eq!(slot::event_name, OptSlot(0));
        assert_eq!(TEXT + TIMES + OPT + FLAGS + INTS, COLUMNS.len());
        let names: std::collections::HashSet<_> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), COLUMNS.len(), "column names are unique");
    }
}
