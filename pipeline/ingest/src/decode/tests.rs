//! Normalization rules, one record at a time. Whole fixture files are
//! checked against golden files in the tests crate.

use super::*;
use serde_json::json;

fn decode(v: &Value) -> DecodedEvents {
    let pos = PayloadPosition::File { path: "/t/x.json".into(), offset: 0 };
    let defaults = Defaults { user_pool_id: Some("us-east-1_POOL".into()), ..Default::default() };
    let ctx = PayloadContext { position: &pos, transport_time: None, ingest_time: 1_000_000, defaults: &defaults };
    decode_payload(v.to_string().as_bytes(), &ctx)
}

fn one(v: Value) -> AuthEvent {
    let d = decode(&v);
    assert_eq!(d.dead_letters, vec![], "{v}");
    assert_eq!(d.events.len(), 1, "{v}");
    d.events.into_iter().next().unwrap()
}

fn ct(name: &str, extra: Value) -> Value {
    let mut r = json!({
        "eventVersion": "1.11", "eventTime": "2025-10-09T07:57:09Z", "eventSource": "cognito-idp.amazonaws.com",
        "eventName": name, "awsRegion": "ap-northeast-1", "sourceIPAddress": "192.0.2.10", "eventID": format!("id-{name}"),
        "recipientAccountId": "123456789012", "additionalEventData": {"sub": "sub-1"},
        "requestParameters": {"clientId": "c1"}, "responseElements": null
    });
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

fn kind(e: &AuthEvent) -> (&str, &str) {
    (e.event_type.as_str(), e.outcome.as_deref().unwrap_or("-"))
}

#[test]
fn initiate_auth_outcomes() {
    let throttled = one(ct("InitiateAuth", json!({"errorCode": "TooManyRequestsException"})));
    assert_eq!(kind(&throttled), ("sign_in", "throttled"));
    let limit = one(ct("InitiateAuth", json!({"errorCode": "LimitExceededException"})));
    assert_eq!(kind(&limit), ("sign_in", "failure"));
    assert_eq!(limit.error_code.as_deref(), Some("LimitExceededException"));
    let tokens = one(ct("AdminInitiateAuth", json!({"responseElements": {"authenticationResult": "HIDDEN_DUE_TO_SECURITY_REASONS"}})));
    assert_eq!(kind(&tokens), ("sign_in", "success"));
    let refresh = one(ct("InitiateAuth", json!({"requestParameters": {"authFlow": "REFRESH_TOKEN_AUTH"}, "responseElements": {"authenticationResult": {"accessToken": "x"}}})));
    assert_eq!(kind(&refresh), ("token_refresh", "success"));
    let mfa = one(ct("InitiateAuth", json!({"responseElements": {"challengeName": "SOFTWARE_TOKEN_MFA", "session": "s"}})));
    assert_eq!(kind(&mfa), ("mfa_challenge", "in_progress"));
    assert_eq!((mfa.mfa_challenged, mfa.mfa_method.as_deref()), (Some(true), Some("totp")));
    let srp = one(ct("InitiateAuth", json!({"responseElements": {"challengeName": "PASSWORD_VERIFIER"}})));
    assert_eq!(kind(&srp), ("sign_in", "in_progress"));
    assert_eq!(srp.challenge_name.as_deref(), Some("PASSWORD_VERIFIER"));
    assert_eq!(srp.user_sub.as_deref(), Some("sub-1"));
    assert_eq!(srp.event_id, "id-InitiateAuth");
}

#[test]
fn respond_to_auth_challenge_outcomes() {
    let ok = one(ct("RespondToAuthChallenge", json!({"requestParameters": {"challengeName": "SMS_MFA"}, "responseElements": {"authenticationResult": {}}})));
    assert_eq!(kind(&ok), ("mfa_response", "success"));
    assert_eq!((ok.mfa_passed, ok.mfa_method.as_deref()), (Some(true), Some("sms")));
    let bad = one(ct("RespondToAuthChallenge", json!({"requestParameters": {"challengeName": "EMAIL_OTP"}, "errorCode": "CodeMismatchException"})));
    assert_eq!(kind(&bad), ("mfa_response", "failure"));
    assert_eq!(bad.mfa_passed, Some(false));
    let srp = one(ct("RespondToAuthChallenge", json!({"requestParameters": {"challengeName": "PASSWORD_VERIFIER"}, "responseElements": {"challengeName": "SMS_MFA"}})));
    assert_eq!(kind(&srp), ("mfa_challenge", "in_progress"));
    let passkey = one(ct("RespondToAuthChallenge", json!({"requestParameters": {"challengeName": "WEB_AUTHN"}, "responseElements": {"authenticationResult": {}}})));
    assert_eq!(kind(&passkey), ("sign_in", "success"));
    assert_eq!(passkey.challenge_name.as_deref(), Some("WEB_AUTHN"));
}

#[test]
fn account_and_federation_calls() {
    let import = one(ct("AdminCreateUser", json!({"requestParameters": {"messageAction": "SUPPRESS", "username": "bob"}})));
    assert_eq!(kind(&import), ("bulk_import", "success"));
    assert_eq!(import.category(), "migration");
    let signup = one(ct("AdminCreateUser", json!({"requestParameters": {"username": "bob"}})));
    assert_eq!(signup.event_type, "sign_up");
    let confirm = one(ct("ConfirmForgotPassword", json!({})));
    assert_eq!((confirm.event_type.as_str(), confirm.auth_flow.as_deref(), confirm.challenge_name.as_deref()), ("password_reset", Some("confirm"), None));
    let link = one(ct("AdminLinkProviderForUser", json!({"requestParameters": {"sourceUser": {"providerName": "Google"}, "destinationUser": {"providerAttributeValue": "jane"}}})));
    assert_eq!(kind(&link), ("federation_link", "success"));
    assert_eq!((link.provider_name.as_deref(), link.username.as_deref()), (Some("Google"), Some("jane")));
    let other = one(ct("DescribeUserPool", json!({"errorCode": "TooManyRequestsException"})));
    assert_eq!(kind(&other), ("other", "throttled"));
}

#[test]
fn batches_eventbridge_and_foreign_records() {
    let batch = json!({"Records": [ct("InitiateAuth", json!({})), {"eventSource": "s3.amazonaws.com", "eventName": "GetObject"}, ct("SignUp", json!({}))]});
    let d = decode(&batch);
    assert_eq!((d.events.len(), d.skipped, d.dead_letters.len()), (2, 1, 0));
    assert_eq!(d.events[0].source, "file:/t/x.json@0#0");
    assert_eq!(d.events[1].source, "file:/t/x.json@0#2");
    let eb = json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.cognito-idp", "id": "eb-1", "detail": ct("SignUp", json!({}))});
    assert_eq!(one(eb).event_id, "id-SignUp");
}

#[test]
fn redaction_markers_are_never_values() {
    let e = one(ct("SignUp", json!({"requestParameters": {"username": "HIDDEN_FOR_SECURITY_REASONS"}, "additionalEventData": {"sub": "HIDDEN_DUE_TO_SECURITY_REASONS"}})));
    assert_eq!((e.username, e.user_sub), (None, None));
}

#[test]
fn auth_event_page_takes_pool_from_configuration() {
    let page = json!({"AuthEvents": [
        {"EventId": "e1", "EventType": "SignIn", "CreationDate": 1726694203.495, "EventResponse": "InProgress",
         "EventRisk": {"RiskDecision": "AccountTakeover", "RiskLevel": "Medium", "CompromisedCredentialsDetected": false},
         "ChallengeResponses": [{"ChallengeName": "Password", "ChallengeResponse": "Success"}],
         "EventContextData": {"IpAddress": "192.0.2.1", "City": "null", "Country": "United States"}},
        {"EventId": "e2", "EventType": "SignIn", "CreationDate": 1726694300, "EventResponse": "Pass",
         "EventRisk": {"RiskDecision": "NoRisk"}, "ChallengeResponses": [{"ChallengeName": "Mfa", "ChallengeResponse": "Success"}]}
    ], "NextToken": "x"});
    let d = decode(&page);
    assert_eq!(d.events.len(), 2);
    let e = &d.events[0];
    assert_eq!((e.event_time, e.risk_level.as_deref(), e.risk_decision.as_deref()), (1_726_694_203_495_000, Some("medium"), Some("account_takeover")));
    assert_eq!((e.city.as_deref(), e.user_pool_id.as_deref(), e.mfa_challenged), (None, Some("us-east-1_POOL"), Some(false)));
    assert_eq!((d.events[1].mfa_passed, d.events[1].outcome.as_deref()), (Some(true), Some("success")));
}

#[test]
fn triggers_without_time_fall_back_and_drop_passwords() {
    let mig = json!({"version": "1", "triggerSource": "UserMigration_Authentication", "region": "us-east-1", "userPoolId": "us-east-1_P",
        "userName": "jane@example.com", "callerContext": {"clientId": "c"}, "request": {"password": "S3cret!pw"},
        "response": {"userAttributes": {"email": "jane@example.com"}, "finalUserStatus": "CONFIRMED", "messageAction": "SUPPRESS"}});
    let e = one(mig);
    assert_eq!(kind(&e), ("user_migration", "success"));
    assert_eq!((e.event_time, e.event_time_source.as_str()), (1_000_000, "ingest"));
    assert_eq!(e.migration_status.as_deref(), Some("CONFIRMED"));
    assert!(e.event_id.starts_with("ac-"), "a content id: {}", e.event_id);
    assert!(!e.raw.unwrap().contains("S3cret"));
    let fed = json!({"triggerSource": "PostAuthentication_Authentication", "userPoolId": "us-east-1_P", "userName": "x",
        "request": {"newDeviceUsed": "true", "userAttributes": {"identities": "[{\"providerName\":\"AzureAD\",\"providerType\":\"SAML\",\"primary\":\"true\",\"dateCreated\":\"1549484167325\"}]"}}});
    let e = one(fed);
    assert_eq!((e.event_type.as_str(), e.provider_name.as_deref(), e.provider_type.as_deref(), e.new_device), ("federated_sign_in", Some("AzureAD"), Some("SAML"), Some(true)));
}

#[test]
fn cloudwatch_logs_payloads_use_log_event_time() {
    let inner = json!({"triggerSource": "TokenGeneration_Authentication", "userPoolId": "us-east-1_P", "userName": "x"});
    let payload = json!({"messageType": "DATA_MESSAGE", "logEvents": [
        {"id": "1", "timestamp": 1_700_000_000_000i64, "message": inner.to_string()},
        {"id": "2", "timestamp": 1_700_000_000_001i64, "message": "{\"triggerSource\": \"cut"},
        {"id": "3", "timestamp": 1_700_000_000_002i64, "message": "[ERROR] Runtime.HandlerNotFound: index.handler"},
        {"id": "4", "timestamp": 1_700_000_000_003i64, "message": "REPORT RequestId: 1\tDuration: 2 ms"},
        {"id": "5", "timestamp": 1_700_000_000_004i64, "message": format!("2024-01-01T00:00:00Z\tid\tINFO\t{inner}")},
        {"id": "6", "timestamp": 1_700_000_000_005i64, "message": format!("2024-01-01T00:00:00Z\tid\tINFO\tReceived event: {inner}")},
        {"id": "7", "timestamp": 1_700_000_000_006i64, "message": "[ERROR] KeyError: {'userName'}"}]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, payload.to_string().as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let pos = PayloadPosition::File { path: "/t/x".into(), offset: 5 };
    let defaults = Defaults::default();
    let ctx = PayloadContext { position: &pos, transport_time: Some((9, "kinesis_arrival")), ingest_time: 1, defaults: &defaults };
    let d = decode_payload(&bytes, &ctx);
    // One rule: JSON (after a Lambda prefix or not) is a record, a cut
    // record is a dead letter, lines of text are skipped.
    assert_eq!(d.events.len(), 3);
    assert_eq!((d.events[0].event_time, d.events[0].event_time_source.as_str()), (1_700_000_000_000_000, "log_event"));
    assert_eq!((d.events[1].source.as_str(), d.events[2].source.as_str()), ("file:/t/x@5#4", "file:/t/x@5#5"));
    assert_eq!(d.dead_letters.len(), 1);
    assert_eq!(d.dead_letters[0].source, "file:/t/x@5#1");
    assert_eq!(d.skipped, 3);
    let control = json!({"messageType": "CONTROL_MESSAGE", "logEvents": []});
    assert_eq!(decode(&control).skipped, 1);
}

#[test]
fn unknown_shapes_become_dead_letters_without_secrets() {
    let pos = PayloadPosition::File { path: "/t/x".into(), offset: 0 };
    let defaults = Defaults::default();
    let ctx = PayloadContext { position: &pos, transport_time: None, ingest_time: 1, defaults: &defaults };
    let d = decode_payload(br#"{"request": {"password": "hunter2"}, "oops""#, &ctx);
    assert_eq!(d.dead_letters.len(), 1);
    assert!(d.dead_letters[0].reason.starts_with("invalid JSON"));
    assert!(!d.dead_letters[0].raw.contains("hunter2"));
    let d = decode(&json!({"hello": "world", "password": "hunter2"}));
    assert!(d.dead_letters[0].reason.starts_with("unrecognized record format"));
    assert!(!d.dead_letters[0].raw.contains("hunter2"));
}

#[test]
fn hostile_payloads_become_rows_or_dead_letters() {
    let pos = PayloadPosition::File { path: "/t/h".into(), offset: 0 };
    let defaults = Defaults::default();
    let ctx = PayloadContext { position: &pos, transport_time: None, ingest_time: 1, defaults: &defaults };
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let big = format!(r#"{{"event_type":"sign_in","event_time":"2026-11-27T00:00:00Z","username":"{}"}}"#, "x".repeat(10 << 20));
    let wide = format!(r#"{{"Records":[{}]}}"#, vec![r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#; 10_000].join(","));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deeply nested", deep.into_bytes()),
        ("10 MiB record", big.into_bytes()),
        ("10,000-element batch", wide.into_bytes()),
        ("invalid UTF-8", b"{\"event_type\":\"sign_in\",\"username\":\"\xff\xfe\"}".to_vec()),
        ("NUL bytes", b"{\"event_type\":\"sign_in\",\"username\":\"a\\u0000b\"}\0".to_vec()),
        ("NaN", br#"{"EventId":"n","EventType":"SignIn","CreationDate":NaN}"#.to_vec()),
        ("huge number", br#"{"EventId":"n","EventType":"SignIn","CreationDate":1e400}"#.to_vec()),
        ("duplicate keys", br#"{"event_type":"sign_in","event_type":"sign_up","event_time":"2026-11-27T00:00:00Z"}"#.to_vec()),
        ("year 9999", br#"{"event_type":"sign_in","event_time":"9999-12-31T23:59:59Z"}"#.to_vec()),
        ("year 10000", br#"{"EventId":"n","EventType":"SignIn","CreationDate":253402300800}"#.to_vec()),
        ("gzip garbage", vec![0x1f, 0x8b, 0, 1, 2, 3]),
        ("empty object", b"{}".to_vec()),
    ];
    for (name, bytes) in cases {
        let d = decode_payload(&bytes, &ctx);
        let accounted = d.events.len() + d.dead_letters.len() + d.skipped as usize;
        assert!(accounted >= 1, "{name}: neither row, dead letter nor skip");
        for dl in &d.dead_letters {
            assert!(!dl.reason.is_empty() && dl.raw.len() <= 1024 * 1024, "{name}");
        }
        for e in &d.events {
            assert!(e.event_day() >= -719_162 && e.event_day() <= 2_932_896, "{name}: date out of range");
        }
    }
}

#[test]
fn gzip_bombs_become_dead_letters() {
    use std::io::Write;
    // 257 MiB of spaces in a small gzip.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b' '; 1 << 20];
    for _ in 0..=(MAX_DECOMPRESSED_BYTES >> 20) {
        e.write_all(&block).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 16 << 20, "{} bytes of gzip", bomb.len());
    let pos = PayloadPosition::File { path: "/t/bomb.gz".into(), offset: 0 };
    let defaults = Defaults::default();
    let ctx = PayloadContext { position: &pos, transport_time: None, ingest_time: 1_000_000, defaults: &defaults };
    let d = decode_payload(&bomb, &ctx);
    assert!(d.events.is_empty());
    assert_eq!(d.dead_letters.len(), 1);
    assert!(d.dead_letters[0].reason.contains("exceeds 256 MiB"), "{}", d.dead_letters[0].reason);
    // The dead letter keeps a bounded prefix, not the payload.
    assert!(d.dead_letters[0].raw.len() <= 1 << 20);
}

#[test]
fn migration_events_are_in_progress_until_answered() {
    let asked = json!({"triggerSource": "UserMigration_Authentication", "userPoolId": "us-east-1_P", "userName": "x",
        "request": {"password": "hunter2"}, "response": {"userAttributes": null, "finalUserStatus": null}});
    assert_eq!(kind(&one(asked)), ("user_migration", "in_progress"));
    let answered = json!({"triggerSource": "UserMigration_Authentication", "userPoolId": "us-east-1_P", "userName": "x",
        "request": {}, "response": {"userAttributes": {"email": "x@example.com"}, "finalUserStatus": "CONFIRMED"}});
    assert_eq!(kind(&one(answered)), ("user_migration", "success"));
    let threw = json!({"triggerSource": "UserMigration_Authentication", "userPoolId": "us-east-1_P", "userName": "x",
        "request": {}, "error": {"message": "legacy store down"}});
    assert_eq!(kind(&one(threw)), ("user_migration", "failure"));
}

#[test]
fn inbound_federation_and_custom_challenges_carry_cognitos_own_words() {
    let fed = json!({"triggerSource": "InboundFederation_ExternalProvider", "userPoolId": "us-east-1_P", "userName": "x",
        "request": {"providerName": "SAML-Okta", "providerType": "SAML", "attributes": {}}, "response": {}});
    let e = one(fed);
    assert_eq!((e.event_type.as_str(), e.provider_name.as_deref(), e.provider_type.as_deref()), ("federated_sign_in", Some("SAML-Okta"), Some("SAML")));
    let create = json!({"triggerSource": "CreateAuthChallenge_Authentication", "userPoolId": "us-east-1_P", "userName": "x",
        "request": {"challengeName": "CUSTOM_CHALLENGE", "session": []}, "response": {"challengeMetadata": "CAPTCHA_CHALLENGE"}});
    assert_eq!(one(create).challenge_name.as_deref(), Some("CUSTOM_CHALLENGE"));
}

#[test]
fn notifications_and_admin_calls_are_their_own_event_types() {
    let note = json!({"eventTimestamp": "1687297330677", "eventSource": "USER_NOTIFICATION", "logLevel": "ERROR",
        "message": {"details": "SMS message sending failed"}, "logSourceId": {"userPoolId": "us-west-2_EXAMPLE"}});
    let e = one(note);
    assert_eq!(kind(&e), ("notification", "failure"));
    assert_eq!((e.event_name.as_deref(), e.error_code.as_deref()), (Some("USER_NOTIFICATION"), Some("SMS message sending failed")));
    for (name, want) in [("AdminDisableUser", "admin_change"), ("AdminSetUserPassword", "admin_change"), ("UpdateUserPool", "admin_change"),
        ("SetUserPoolMfaConfig", "admin_change"), ("CreateGroup", "admin_change"), ("AdminGetUser", "other"), ("ListUsers", "other"),
        ("UpdateUserAttributes", "other")] {
        let ct = json!({"eventSource": "cognito-idp.amazonaws.com", "eventName": name, "eventTime": "2024-01-01T00:00:00Z",
            "requestParameters": {"userPoolId": "us-east-1_P", "username": "target"}});
        let e = one(ct);
        assert_eq!((name, e.event_type.as_str(), e.username.as_deref()), (name, want, Some("target")));
    }
    let get_id = json!({"eventSource": "cognito-identity.amazonaws.com", "eventName": "GetId", "eventTime": "2024-01-01T00:00:00Z",
        "awsRegion": "us-east-1", "requestParameters": {"identityPoolId": "us-east-1:pool"}, "responseElements": {"identityId": "us-east-1:i"}});
    let e = one(get_id);
    assert_eq!((e.event_type.as_str(), e.auth_flow.as_deref(), e.identity_pool_id.as_deref()), ("identity_id", Some("unauthenticated"), Some("us-east-1:pool")));
}
