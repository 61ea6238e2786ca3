//! Sigma semantics, checked by running compiled conditions over a small
//! table in DataFusion (not by reading the SQL text).

use datafusion::prelude::SessionContext;

use crate::mapping::Mapping;

const ROWS: &str = "CREATE TABLE events AS SELECT * FROM (VALUES
    ('e1', 'AdminSetUserPassword', 'sign_in', 'failure', 'alice', '203.0.113.7', 'NotAuthorizedException', CAST(NULL AS BOOLEAN), CAST(100 AS BIGINT), '{\"requestParameters\":{\"groupName\":\"PoolAdmins\"}}'),
    ('e2', 'adminsetuserpassword', 'sign_in', 'success', 'Bob_Admin', '198.51.100.9', NULL, true, CAST(9000 AS BIGINT), '{\"requestParameters\":{\"groupName\":\"readers\"}}'),
    ('e3', 'InitiateAuth', 'token_refresh', 'success', NULL, '2001:db8::1', NULL, false, CAST(NULL AS BIGINT), NULL),
    ('e4', 'Init_Auth%', 'sign_up', 'failure', 'carol', NULL, 'CodeMismatchException', false, CAST(20 AS BIGINT), '{}')
  ) AS t(event_id, event_name, event_type, outcome, username, ip_address, error_code, mfa_passed, token_size_bytes, raw)";

/// The event ids `detection` (a YAML `detection:` block) selects.
async fn matches(detection: &str) -> Vec<String> {
    let sql = compile(detection).unwrap_or_else(|e| panic!("refused: {e}"));
    let ctx = SessionContext::new();
    crate::udf::register(&ctx);
    ctx.sql(ROWS).await.unwrap().collect().await.unwrap();
    let q = format!("SELECT event_id FROM events WHERE {sql} ORDER BY event_id");
    let batches = ctx.sql(&q).await.unwrap_or_else(|e| panic!("{q}: {e}")).collect().await.unwrap();
    let mut out = Vec::new();
    for b in batches {
        let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        out.extend(arrow::array::AsArray::as_string::<i32>(&c).iter().flatten().map(str::to_string));
    }
    out
}

fn compile(detection: &str) -> Result<String, crate::Refusal> {
    let yaml = format!("title: t\nid: t-1\nlogsource: {{product: aws, service: cognito}}\ndetection:\n{detection}");
    let c = rsigma_parser::parse_sigma_yaml(&yaml).expect("parses");
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    crate::detection::condition("t-1", &c.rules[0].detection, &Mapping::builtin())
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn strings_match_whole_and_without_case_unless_cased() {
    let d = "  s: {eventName: adminSETuserpassword}\n  condition: s\n";
    assert_eq!(matches(d).await, ids(&["e1", "e2"]));
    let d = "  s: {eventName|cased: AdminSetUserPassword}\n  condition: s\n";
    assert_eq!(matches(d).await, ids(&["e1"]));
    let d = "  s: {eventName: Admin}\n  condition: s\n";
    assert_eq!(matches(d).await, ids(&[]), "no wildcard: the whole value");
}

#[tokio::test]
async fn wildcards_and_string_modifiers() {
    assert_eq!(matches("  s: {eventName: 'admin*word'}\n  condition: s\n").await, ids(&["e1", "e2"]));
    assert_eq!(matches("  s: {eventName: 'Init?Auth'}\n  condition: s\n").await, ids(&[]), "? is one character, not none");
    assert_eq!(matches("  s: {eventName|contains: '_auth%'}\n  condition: s\n").await, ids(&["e4"]), "% and _ are literal");
    assert_eq!(matches("  s: {username|startswith: BOB}\n  condition: s\n").await, ids(&["e2"]));
    assert_eq!(matches("  s: {username|endswith: _admin}\n  condition: s\n").await, ids(&["e2"]));
    let all = "  s:\n    eventName|contains|all: [admin, password]\n  condition: s\n";
    assert_eq!(matches(all).await, ids(&["e1", "e2"]));
    let any = "  s:\n    eventName|contains: [init, nothing]\n  condition: s\n";
    assert_eq!(matches(any).await, ids(&["e3", "e4"]));
}

#[tokio::test]
async fn a_missing_field_matches_nothing_so_not_matches_it() {
    assert_eq!(matches("  s: {error_code: NotAuthorizedException}\n  condition: not s\n").await, ids(&["e2", "e3", "e4"]));
    assert_eq!(matches("  s: {username: null}\n  condition: s\n").await, ids(&["e3"]));
    assert_eq!(matches("  s: {ip_address|exists: false}\n  condition: s\n").await, ids(&["e4"]));
    assert_eq!(matches("  s: {mfa_passed: false}\n  condition: s\n").await, ids(&["e3", "e4"]));
    assert_eq!(matches("  s: {eventName|neq: InitiateAuth}\n  condition: s\n").await, ids(&["e1", "e2", "e4"]));
}

#[tokio::test]
async fn regexes_cidrs_numbers_and_raw_fields() {
    assert_eq!(matches("  s: {eventName|re: '^Admin'}\n  condition: s\n").await, ids(&["e1"]), "re is case-sensitive");
    assert_eq!(matches("  s: {eventName|re|i: '^Admin'}\n  condition: s\n").await, ids(&["e1", "e2"]));
    assert_eq!(matches("  s: {sourceIPAddress|cidr: 203.0.113.0/24}\n  condition: s\n").await, ids(&["e1"]));
    assert_eq!(matches("  s: {sourceIPAddress|cidr: '2001:db8::/32'}\n  condition: s\n").await, ids(&["e3"]));
    assert_eq!(matches("  s: {token_size_bytes|gte: 100}\n  condition: s\n").await, ids(&["e1", "e2"]));
    assert_eq!(matches("  s: {requestParameters.groupName|contains: admin}\n  condition: s\n").await, ids(&["e1"]));
    // neq goes with any way of comparing; a missing field matches nothing.
    assert_eq!(matches("  s: {sourceIPAddress|cidr|neq: 203.0.113.0/24}\n  condition: s\n").await, ids(&["e2", "e3"]));
    assert_eq!(matches("  s: {username|fieldref: eventName}\n  condition: s\n").await, ids(&[]));
    assert_eq!(matches("  s: {eventName|fieldref|neq: event_name}\n  condition: s\n").await, ids(&[]));
}

#[tokio::test]
async fn conditions_combine_selections() {
    let d = "  sel_a: {outcome: failure}\n  sel_b: {event_type: sign_in}\n  filter: {username: carol}\n";
    assert_eq!(matches(&format!("{d}  condition: 1 of sel_* and not filter\n")).await, ids(&["e1", "e2"]));
    assert_eq!(matches(&format!("{d}  condition: all of sel_*\n")).await, ids(&["e1"]));
    assert_eq!(matches(&format!("{d}  condition: all of them\n")).await, ids(&[]));
    let list = "  s:\n    - {outcome: success, event_type: sign_in}\n    - {username: carol}\n  condition: s\n";
    assert_eq!(matches(list).await, ids(&["e2", "e4"]));
}

#[test]
fn what_cannot_run_as_written_is_refused_with_the_reason() {
    let refused = |d: &str| compile(d).expect_err("refused").reason;
    assert!(refused("  k: [evil]\n  condition: k\n").contains("keyword"));
    assert!(refused("  s: {CommandLine: x}\n  condition: s\n").contains("`CommandLine` has no events column"));
    assert!(refused("  s: {eventName|base64: x}\n  condition: s\n").contains("encoding"));
    assert!(refused("  s: {eventName|re: '(?=x)'}\n  condition: s\n").contains("regex"));
    assert!(refused("  s: {sourceIPAddress|cidr: 300.1.1.1/8}\n  condition: s\n").contains("not a network"));
    assert!(refused("  s: {mfa_passed: maybe}\n  condition: s\n").contains("boolean"));
    assert!(refused("  s: {eventName: x}\n  condition: t\n").contains("`t`"));
    assert!(refused("  s: {eventName|contains|startswith: x}\n  condition: s\n").contains("exclude each other"));
    assert!(refused("  s: {sourceIPAddress|cidr|re: x}\n  condition: s\n").contains("different ways"));
    assert!(refused("  s: {token_size_bytes: .inf}\n  condition: s\n").contains("finite"));
}
