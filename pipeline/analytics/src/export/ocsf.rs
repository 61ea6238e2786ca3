//! OCSF 1.8.0 mapping: sign-ins and related events to Authentication
//! (class 3002), account events to Account Change (class 3001).

use serde_json::{json, Map, Value};

/// The OCSF schema version written into `metadata.version`.
pub const OCSF_VERSION: &str = "1.8.0";
pub const AUTHENTICATION: u32 = 3002;
pub const ACCOUNT_CHANGE: u32 = 3001;

fn s<'a>(row: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    row.get(k).and_then(Value::as_str)
}

fn b(row: &Map<String, Value>, k: &str) -> Option<bool> {
    row.get(k).and_then(Value::as_bool)
}

fn millis(row: &Map<String, Value>, k: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s(row, k)?).ok().map(|t| t.timestamp_millis())
}

/// OCSF class of an event type.
pub fn class_of(event_type: &str) -> u32 {
    match event_type {
        "sign_up" | "password_reset" | "password_change" | "user_migration" | "bulk_import" | "federation_link"
        | "federation_unlink" => ACCOUNT_CHANGE,
        _ => AUTHENTICATION,
    }
}

/// (activity_id, activity_name) within the class.
fn activity(class: u32, event_type: &str) -> (u32, &'static str) {
    match (class, event_type) {
        (AUTHENTICATION, "sign_in" | "federated_sign_in" | "mfa_challenge" | "mfa_response") => (1, "Logon"),
        (AUTHENTICATION, "sign_out") => (2, "Logoff"),
        (AUTHENTICATION, "token_generation") => (3, "Authentication Ticket"),
        (AUTHENTICATION, "token_refresh") => (5, "Service Ticket Renew"),
        (ACCOUNT_CHANGE, "sign_up" | "user_migration" | "bulk_import") => (1, "Create"),
        (ACCOUNT_CHANGE, "password_change") => (3, "Password Change"),
        (ACCOUNT_CHANGE, "password_reset") => (4, "Password Reset"),
        _ => (99, "Other"),
    }
}

fn factor(method: &str) -> Option<(u32, &'static str)> {
    match method {
        "sms" => Some((1, "SMS")),
        "totp" => Some((7, "OTP")),
        "email" => Some((8, "Email")),
        _ => None,
    }
}

fn risk_level_id(level: Option<&str>) -> Option<(u32, &'static str)> {
    match level? {
        "low" => Some((1, "Low")),
        "medium" => Some((2, "Medium")),
        "high" => Some((3, "High")),
        _ => Some((99, "Other")),
    }
}

/// Maps one `events` row (a JSON object with every column) to an OCSF event.
pub fn to_ocsf(row: &Map<String, Value>) -> Value {
    let event_type = s(row, "event_type").unwrap_or("other");
    let class = class_of(event_type);
    let (activity_id, activity_name) = activity(class, event_type);
    let outcome = s(row, "outcome").unwrap_or("");
    let (status_id, status) = match outcome {
        "success" => (1, "Success"),
        "failure" => (2, "Failure"),
        "throttled" => (99, "Throttled"),
        "in_progress" => (99, "In Progress"),
        _ => (0, "Unknown"),
    };
    let risk = risk_level_id(s(row, "risk_level"));
    let severity_id = match (risk.map(|r| r.0), outcome) {
        (Some(3), _) => 4,
        (Some(2), _) => 3,
        (_, "failure" | "throttled") => 2,
        _ => 1,
    };
    let mut user = json!({"uid": s(row, "user_sub"), "name": s(row, "username"), "email_addr": s(row, "email"), "type_id": 1, "type": "User"});
    if let Some((id, name)) = risk {
        user["risk_level_id"] = json!(id);
        user["risk_level"] = json!(name);
    }
    if b(row, "mfa_challenged") == Some(true) {
        user["has_mfa"] = json!(true);
    }
    let mut event = json!({
        "class_uid": class,
        "class_name": if class == AUTHENTICATION { "Authentication" } else { "Account Change" },
        "category_uid": 3,
        "category_name": "Identity & Access Management",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class * 100 + activity_id,
        "severity_id": severity_id,
        "status_id": status_id,
        "status": status,
        "time": millis(row, "event_time"),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": s(row, "event_id"),
            "log_name": s(row, "source_format"),
            "logged_time": millis(row, "ingest_time"),
            "product": {"name": "authlake", "vendor_name": "authlake", "version": env!("CARGO_PKG_VERSION"),
                        "feature": {"name": "Amazon Cognito"}}
        },
        "cloud": {"provider": "AWS", "region": s(row, "aws_region"), "account": {"uid": s(row, "account_id")}},
        "service": {"name": "Amazon Cognito", "uid": s(row, "user_pool_id")},
        "user": user,
        "src_endpoint": {"ip": s(row, "ip_address"), "name": s(row, "device_name"),
                         "location": {"city": s(row, "city"), "country": s(row, "country")}},
    });
    if let Some(code) = s(row, "error_code") {
        event["status_code"] = json!(code);
    }
    if let Some(ua) = s(row, "user_agent") {
        event["http_request"] = json!({"user_agent": ua});
    }
    let mut factors = Vec::new();
    if let Some((id, name)) = s(row, "mfa_method").and_then(factor) {
        factors.push(json!({"factor_type_id": id, "factor_type": name}));
    }
    if s(row, "challenge_name") == Some("WEB_AUTHN") {
        factors.push(json!({"factor_type_id": 10, "factor_type": "WebAuthn"}));
    }
    if class == AUTHENTICATION {
        event["is_mfa"] = json!(b(row, "mfa_challenged").unwrap_or(false));
        if !factors.is_empty() {
            event["auth_factors"] = json!(factors);
        }
        let protocol = match s(row, "provider_type") {
            Some("SAML") => Some((5, "SAML")),
            Some("OIDC") => Some((4, "OpenID")),
            Some(_) => Some((6, "OAUTH 2.0")),
            None => None,
        };
        if let Some((id, name)) = protocol {
            event["auth_protocol_id"] = json!(id);
            event["auth_protocol"] = json!(name);
        }
    } else if !factors.is_empty() {
        event["auth_factors"] = json!(factors);
    }
    let keep = [
        "event_type", "outcome", "client_id", "tenant_id", "auth_flow", "challenge_name", "mfa_passed", "new_device",
        "risk_decision", "compromised_credentials", "provider_name", "provider_type", "migration_source",
        "migration_status", "token_size_bytes", "source", "event_time_source",
    ];
    let unmapped: Map<String, Value> =
        keep.iter().filter_map(|k| row.get(*k).filter(|v| !v.is_null()).map(|v| (k.to_string(), v.clone()))).collect();
    event["unmapped"] = json!({"cognito": unmapped});
    strip_nulls(&mut event);
    event
}

/// OCSF omits absent attributes rather than writing nulls.
fn strip_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, x| !x.is_null());
        for x in m.values_mut() {
            strip_nulls(x);
        }
        m.retain(|_, x| !matches!(x, Value::Object(o) if o.is_empty()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_an_mfa_sign_in_and_a_password_reset() {
        let row = json!({"event_id": "e1", "event_type": "mfa_response", "outcome": "failure", "event_time": "2025-10-09T07:57:40Z",
            "mfa_challenged": true, "mfa_method": "email", "error_code": "CodeMismatchException", "ip_address": "192.0.2.10",
            "country": "Japan", "risk_level": "high", "user_sub": "s1", "user_pool_id": "p"});
        let e = to_ocsf(row.as_object().unwrap());
        assert_eq!((e["class_uid"].as_u64(), e["activity_id"].as_u64(), e["type_uid"].as_u64()), (Some(3002), Some(1), Some(300201)));
        assert_eq!((e["status_id"].as_u64(), e["status_code"].as_str()), (Some(2), Some("CodeMismatchException")));
        assert_eq!(e["is_mfa"], json!(true));
        assert_eq!(e["auth_factors"][0]["factor_type_id"], json!(8));
        assert_eq!(e["user"]["risk_level_id"], json!(3));
        assert_eq!(e["time"], json!(1_759_996_660_000i64));
        assert_eq!(e["src_endpoint"]["location"]["country"], json!("Japan"));
        assert_eq!(e["metadata"]["version"], json!("1.8.0"));
        let reset = to_ocsf(json!({"event_type": "password_reset", "outcome": "success"}).as_object().unwrap());
        assert_eq!((reset["class_uid"].as_u64(), reset["activity_id"].as_u64()), (Some(3001), Some(4)));
    }
}
