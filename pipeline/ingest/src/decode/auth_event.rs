//! AdminListUserAuthEvents items (`AuthEventType`).

use authlake_core::event::EventType;
use super::value::{at, epoch_seconds_or_iso, event_response, flag, region_of_pool, risk_decision, risk_level, text};
use super::{mfa, Normalized, Record};

pub(crate) fn normalize(rec: &Record<'_>) -> Normalized {
    let v = rec.value;
    let own_time = epoch_seconds_or_iso(v.get("CreationDate"));
    let mut e = rec.base_event(text(v.get("EventId")), own_time, "cognito_auth_event");
    e.event_name = text(v.get("EventType"));
    e.event_type = match e.event_name.as_ref().map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("signin") => EventType::SignIn,
        Some("signup") => EventType::SignUp,
        Some("forgotpassword") => EventType::PasswordReset,
        Some("passwordchange") => EventType::PasswordChange,
        _ => EventType::Other,
    }
    .to_string();
    e.outcome = event_response(v.get("EventResponse"));
    e.risk_decision = risk_decision(at(v, &["EventRisk", "RiskDecision"]));
    e.risk_level = risk_level(at(v, &["EventRisk", "RiskLevel"]));
    e.compromised_credentials = flag(at(v, &["EventRisk", "CompromisedCredentialsDetected"]));
    let ch = mfa::summarize(v.get("ChallengeResponses"));
    e.challenge_name = ch.last_name;
    e.mfa_challenged = ch.mfa_challenged;
    e.mfa_passed = ch.mfa_passed;
    e.mfa_method = ch.mfa_method;
    e.ip_address = text(at(v, &["EventContextData", "IpAddress"]));
    e.device_name = text(at(v, &["EventContextData", "DeviceName"]));
    e.city = text(at(v, &["EventContextData", "City"]));
    e.country = text(at(v, &["EventContextData", "Country"]));
    let defaults = rec.ctx.defaults;
    e.user_pool_id = text(v.get("UserPoolId")).or_else(|| defaults.user_pool_id.clone());
    e.username = text(v.get("Username")).or_else(|| defaults.username.clone());
    e.aws_region = region_of_pool(e.user_pool_id.as_deref());
    Normalized::Event(Box::new(e))
}
