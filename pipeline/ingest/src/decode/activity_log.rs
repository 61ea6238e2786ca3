//! Cognito user-activity log export (threat-protection logs).

use authlake_core::event::{EventType, Outcome};
use serde_json::Value;

use super::value::{at, epoch_millis, event_response, flag, java_date, region_of_pool, risk_decision, risk_level, text};
use super::{mfa, Normalized, Record};

/// Activity-log `eventType` → `event_type`.
fn event_type(word: Option<&str>, federated: bool) -> EventType {
    match word.map(str::to_ascii_lowercase).as_deref() {
        Some("signin") | Some("sign_in") if federated => EventType::FederatedSignIn,
        Some("signin") | Some("sign_in") => EventType::SignIn,
        Some("signup") | Some("sign_up") => EventType::SignUp,
        Some("forgotpassword") | Some("forgot_password") => EventType::PasswordReset,
        Some("passwordchange") | Some("password_change") => EventType::PasswordChange,
        _ => EventType::Other,
    }
}

pub(crate) fn normalize(rec: &Record<'_>) -> Normalized {
    let v = rec.value;
    let Some(m @ Value::Object(_)) = v.get("message") else {
        return Normalized::Reject("activity log record without a message object".into());
    };
    let get = |k: &str| m.get(k);
    let own_time = epoch_millis(v.get("eventTimestamp")).or_else(|| text(get("creationDate")).and_then(|s| java_date(&s)));
    let mut e = rec.base_event(text(get("eventId")), own_time, "cognito_activity_log");
    let event_source = text(v.get("eventSource"));
    let notification = event_source.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("USER_NOTIFICATION"));
    let provider = text(get("idpName"));
    e.event_name = text(get("eventType")).or(event_source);
    if notification {
        // A message (SMS, email) Cognito could not deliver: the reason is
        // the record's `details`, kept as its error.
        e.event_type = EventType::Notification.into();
        e.outcome = Some(Outcome::Failure.into());
        e.error_code = text(get("details"));
    } else {
        e.event_type = event_type(e.event_name.as_deref(), provider.is_some()).to_string();
        e.outcome = event_response(get("eventResponse"));
    }
    e.user_pool_id = text(get("userPoolId")).or_else(|| text(at(v, &["logSourceId", "userPoolId"])));
    e.aws_region = region_of_pool(e.user_pool_id.as_deref());
    e.client_id = text(get("clientId"));
    e.username = text(get("userName"));
    e.user_sub = text(get("userSub"));
    e.ip_address = text(get("ipAddress"));
    e.city = text(get("city"));
    e.country = text(get("country"));
    e.device_name = text(get("deviceName"));
    e.risk_level = risk_level(get("riskLevel"));
    e.risk_decision = risk_decision(get("riskDecision"));
    e.compromised_credentials = flag(get("compromisedCredentialDetected"));
    let ch = mfa::summarize(get("challenges"));
    e.challenge_name = ch.last_name;
    e.mfa_challenged = ch.mfa_challenged;
    e.mfa_passed = ch.mfa_passed;
    e.mfa_method = ch.mfa_method;
    e.provider_name = provider;
    Normalized::Event(Box::new(e))
}
