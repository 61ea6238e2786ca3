//! Property tests over the decoder: whatever bytes arrive (mutated records
//! of all six input formats, arbitrary bytes, arbitrary JSON over the
//! formats' own field names), decoding never panics, and every record
//! becomes a row in a known partition or a dead letter with a reason.

use authlake_core::event::CATEGORIES;
use chrono::Datelike;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;

/// One payload of each format (and the malformed fixtures).
const SEEDS: &[&[u8]] = &[
    include_bytes!("../../../../fixtures/activity_log/user-activity.ndjson"),
    include_bytes!("../../../../fixtures/auth_events/admin-list-user-auth-events-page.json"),
    include_bytes!("../../../../fixtures/auth_events/auth-events-items.ndjson"),
    include_bytes!("../../../../fixtures/canonical/canonical.ndjson"),
    include_bytes!("../../../../fixtures/cloudtrail/cloudtrail-batch.json"),
    include_bytes!("../../../../fixtures/cloudtrail/eventbridge.ndjson"),
    include_bytes!("../../../../fixtures/cloudwatch_logs/subscription-data.json.gz"),
    include_bytes!("../../../../fixtures/lambda_triggers/triggers.json"),
    include_bytes!("../../../../fixtures/malformed/bad-records.ndjson"),
];

/// Field names the six formats read, so generated JSON reaches their rules.
const KEYS: &[&str] = &[
    "eventName", "eventSource", "eventTime", "eventID", "userIdentity", "additionalEventData", "requestParameters",
    "responseElements", "errorCode", "Records", "detail", "detail-type", "triggerSource", "request", "userAttributes",
    "userName", "userPoolId", "callerContext", "messageType", "logEvents", "message", "timestamp", "AuthEvents",
    "EventType", "CreationDate", "EventResponse", "EventRisk", "ChallengeResponses", "event_id", "event_time",
    "event_type", "outcome", "category", "event_date", "tenant_id", "username", "password", "session", "eventType",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Splice(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(s, p)| Mutation::Splice(s, p)),
    ]
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
    match m {
        Mutation::Flip(p, b) if !bytes.is_empty() => {
            let i = at(*p, bytes.len());
            bytes[i] ^= b | 1;
        }
        Mutation::Truncate(p) => bytes.truncate(at(*p, bytes.len() + 1)),
        Mutation::Insert(p, b) => {
            let i = at(*p, bytes.len() + 1);
            bytes.splice(i..i, b.iter().copied());
        }
        Mutation::Delete(p, n) if !bytes.is_empty() => {
            let i = at(*p, bytes.len());
            bytes.drain(i..(i + n).min(bytes.len()));
        }
        Mutation::Splice(s, p) => {
            let other = SEEDS[s % SEEDS.len()];
            let i = at(*p, bytes.len() + 1);
            bytes.truncate(i);
            bytes.extend_from_slice(&other[at(*p, other.len() + 1)..]);
        }
        _ => {}
    }
    bytes
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "", "../../x", "a/b", "category=evil", "..", "sign_in", "SignUp", "PostAuthentication_Authentication",
            "2026-11-20T10:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
            "cognito-idp.amazonaws.com", "InitiateAuth", "DATA_MESSAGE", "Fail", "High", "\u{0}", "\u{feff}",
        ])
        .prop_map(|s| json!(s)),
        "\\PC{0,24}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())),
        ]
    })
}

/// Decodes and checks what every payload must give.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let pos = PayloadPosition::File { path: "/fuzz/x.json".into(), offset: 7 };
    let defaults = Defaults::default();
    let ctx = PayloadContext { position: &pos, transport_time: Some((1_764_000_000_000_000, "kafka_timestamp")), ingest_time: 1_764_000_000_000_000, defaults: &defaults };
    let d = decode_payload(bytes, &ctx);
    for e in &d.events {
        prop_assert!(CATEGORIES.contains(&e.category()), "category {:?} of {:?}", e.category(), e.event_type);
        let t = chrono::DateTime::from_timestamp_micros(e.event_time);
        prop_assert!(t.is_some_and(|t| (1..=9999).contains(&t.year())), "event_time {} outside years 1-9999", e.event_time);
        prop_assert!(e.source.starts_with("file:/fuzz/x.json@"), "{}", e.source);
    }
    for dl in &d.dead_letters {
        prop_assert!(!dl.reason.is_empty() && dl.source.starts_with("file:/fuzz/x.json@"), "{dl:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_records_of_every_format(seed in 0..SEEDS.len(), ms in prop::collection::vec(mutation(), 1..8)) {
        let bytes = ms.iter().fold(SEEDS[seed].to_vec(), apply);
        check(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        check(&bytes)?;
    }

    #[test]
    fn arbitrary_json_over_the_formats_fields(v in value()) {
        check(v.to_string().as_bytes())?;
        // The same value as a one-line record among good ones.
        let mut lines = SEEDS[3].to_vec();
        lines.extend_from_slice(v.to_string().as_bytes());
        lines.push(b'\n');
        check(&lines)?;
    }
}
