//! Correlation semantics, run in DataFusion over a small `events` table:
//! tumbling windows from the epoch, groups without nulls, temporal and
//! ordered correlations.

use datafusion::prelude::SessionContext;

use crate::mapping::Mapping;
use crate::rules::{compile, Source};
use crate::run::{bind, Range};

/// (id, time, type, user, ip): one pool, every event a sign-in row.
const ROWS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    ("a1", "2026-11-02T10:00:05Z", "sign_in", Some("u1"), "10.0.0.1"),
    ("a2", "2026-11-02T10:09:59Z", "sign_in", Some("u2"), "10.0.0.1"),
    ("a3", "2026-11-02T10:10:00Z", "sign_in", Some("u3"), "10.0.0.1"),
    ("b1", "2026-11-02T11:00:00Z", "password_change", Some("u1"), "10.0.0.2"),
    ("b2", "2026-11-02T11:20:00Z", "sign_up", Some("u1"), "10.0.0.2"),
    ("b3", "2026-11-02T11:30:00Z", "token_refresh", Some("u1"), "10.0.0.2"),
    ("c1", "2026-11-02T11:05:00Z", "token_refresh", Some("u2"), "10.0.0.3"),
    ("c2", "2026-11-02T11:06:00Z", "sign_up", Some("u2"), "10.0.0.3"),
    ("c3", "2026-11-02T11:07:00Z", "password_change", Some("u2"), "10.0.0.3"),
    ("n1", "2026-11-02T10:01:00Z", "sign_in", None, "10.0.0.1"),
];

async fn table() -> SessionContext {
    let ctx = SessionContext::new();
    let values: Vec<String> = ROWS
        .iter()
        .map(|(id, t, ty, u, ip)| {
            let u = u.map_or("CAST(NULL AS VARCHAR)".to_string(), |u| format!("'{u}'"));
            format!("('{id}', TIMESTAMP '{t}', '{ty}', {u}, '{ip}')")
        })
        .collect();
    let sql = format!(
        "CREATE TABLE events AS SELECT event_id, arrow_cast(t, 'Timestamp(Microsecond, Some(\"UTC\"))') AS event_time, \
         CAST(t AS DATE) AS event_date, event_type, username, CAST(NULL AS VARCHAR) AS user_sub, 'pool' AS user_pool_id, \
         ip AS ip_address, CAST(NULL AS VARCHAR) AS device_name FROM (VALUES {}) AS v(event_id, t, event_type, username, ip)",
        values.join(", ")
    );
    ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    ctx
}

const BASES: &str = "title: a\nid: r-a\nname: a\nlogsource: {product: aws, service: cognito}\ndetection: {s: {event_type: sign_up}, condition: s}\n---\n\
title: b\nid: r-b\nname: b\nlogsource: {product: aws, service: cognito}\ndetection: {s: {event_type: password_change}, condition: s}\n---\n\
title: c\nid: r-c\nname: c\nlogsource: {product: aws, service: cognito}\ndetection: {s: {event_type: token_refresh}, condition: s}\n---\n\
title: d\nid: r-d\nname: d\nlogsource: {product: aws, service: cognito}\ndetection: {s: {event_type: sign_in}, condition: s}\n";

/// (group key, window start, evidence) of each finding of `correlation`.
async fn findings(correlation: &str) -> Vec<(String, String, Vec<String>)> {
    let text = format!("{BASES}---\ntitle: x\nid: x-1\ncorrelation:\n{correlation}");
    let pack = compile(&[Source { file: "x.yml".into(), text }], &Mapping::builtin()).unwrap_or_else(|e| panic!("{e}"));
    let rule = pack.rules.iter().find(|r| r.id == "x-1").expect("the correlation");
    let ctx = table().await;
    let batches = ctx.sql(&bind(rule, Range::ALL)).await.unwrap().collect().await.unwrap();
    let mut out: Vec<_> = crate::findings::from_batches(rule, &batches)
        .unwrap()
        .into_iter()
        .map(|f| {
            let start = chrono::DateTime::from_timestamp_micros(f.window_start).unwrap().format("%H:%M").to_string();
            (f.group_by, start, f.evidence)
        })
        .collect();
    out.sort();
    out
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn windows_are_tumbling_from_the_epoch_and_null_groups_count_nowhere() {
    // a1, a2 in 10:00-10:10; a3 opens the next window; n1 has no user.
    let f = findings("  type: value_count\n  rules: [d]\n  group-by: [sourceIPAddress]\n  timespan: 10m\n  condition: {gte: 2, field: user}\n").await;
    assert_eq!(f, vec![(r#"{"sourceIPAddress":"10.0.0.1"}"#.into(), "10:00".into(), ids(&["a1", "n1", "a2"]))]);
    let f = findings("  type: event_count\n  rules: [d]\n  group-by: [user]\n  timespan: 1h\n  condition: {gte: 1}\n").await;
    assert_eq!(f.len(), 3, "u1, u2, u3; the row without a user is in no group: {f:?}");
}

#[tokio::test]
async fn temporal_needs_every_rule_in_the_window_and_ordered_needs_their_order() {
    let temporal = "  type: temporal\n  rules: [a, b, c]\n  group-by: [user]\n  timespan: 1h\n";
    let f = findings(temporal).await;
    assert_eq!(f.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), [r#"{"user":"u1"}"#, r#"{"user":"u2"}"#]);
    // u1: b, a, c (11:00, 11:20, 11:30); u2: c, a, b.
    let ordered = |rules: &str| format!("  type: temporal_ordered\n  rules: [{rules}]\n  group-by: [user]\n  timespan: 1h\n");
    let f = findings(&ordered("b, a, c")).await;
    assert_eq!(f, vec![(r#"{"user":"u1"}"#.into(), "11:00".into(), ids(&["b1", "b2", "b3"]))]);
    let f = findings(&ordered("c, a, b")).await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, r#"{"user":"u2"}"#);
    assert!(findings(&ordered("a, b, c")).await.is_empty(), "nobody did a, then b, then c");
    let f = findings("  type: temporal\n  rules: [a, b]\n  group-by: [user]\n  timespan: 1h\n  condition: a and not b\n").await;
    assert!(f.is_empty(), "{f:?}");
}
