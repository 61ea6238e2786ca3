//! authlake's canonical JSON: the `events` columns as one flat object.

use serde_json::Value;

use super::value::{flag, integer, iso_time, text};
use super::{Normalized, Record};
use authlake_core::event::{category_of, known_event_type};

/// Canonical records are flat objects with a snake_case `event_type`.
pub(crate) fn looks_canonical(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.get("event_type").is_some_and(Value::is_string) && !o.contains_key("triggerSource"))
}

pub(crate) fn normalize(rec: &Record<'_>) -> Normalized {
    let v = rec.value;
    let s = |k: &str| text(v.get(k));
    let b = |k: &str| flag(v.get(k));
    let Some(event_type) = s("event_type") else {
        return Normalized::Reject("canonical record without event_type".into());
    };
    let Some(event_type) = known_event_type(&event_type) else {
        return Normalized::Reject(format!("canonical record with unknown event_type {event_type:?}"));
    };
    let own_time = match v.get("event_time") {
        None | Some(Value::Null) => None,
        Some(t) => match text(Some(t)).and_then(|s| iso_time(&s)) {
            Some(t) => Some(t),
            None => return Normalized::Reject(format!("canonical record with invalid event_time {t}")),
        },
    };
    if let Some(c) = s("category") {
        if c != category_of(event_type) {
            return Normalized::Reject(format!("category {c:?} does not match event_type {event_type:?}"));
        }
    }
    let mut e = rec.base_event(s("event_id"), own_time, "canonical");
    if own_time.is_some() {
        if let Some(src) = s("event_time_source") {
            e.event_time_source = src;
        }
    }
    e.raw = None;
    e.event_type = event_type.to_string();
    e.outcome = s("outcome").map(|o| o.to_ascii_lowercase());
    e.user_pool_id = s("user_pool_id");
    e.client_id = s("client_id");
    e.aws_region = s("aws_region");
    e.account_id = s("account_id");
    e.username = s("username");
    e.user_sub = s("user_sub");
    e.email = s("email");
    e.tenant_id = s("tenant_id").or(e.tenant_id);
    e.ip_address = s("ip_address");
    e.country = s("country");
    e.city = s("city");
    e.device_name = s("device_name");
    e.user_agent = s("user_agent");
    e.auth_flow = s("auth_flow");
    e.challenge_name = s("challenge_name");
    e.mfa_challenged = b("mfa_challenged");
    e.mfa_passed = b("mfa_passed");
    e.mfa_method = s("mfa_method");
    e.new_device = b("new_device");
    e.risk_level = s("risk_level");
    e.risk_decision = s("risk_decision");
    e.compromised_credentials = b("compromised_credentials");
    e.error_code = s("error_code");
    e.provider_name = s("provider_name");
    e.provider_type = s("provider_type");
    e.migration_source = s("migration_source");
    if e.migration_source.is_none() && category_of(event_type) == "migration" {
        e.migration_source = rec.ctx.defaults.migration_source.clone();
    }
    e.migration_status = s("migration_status");
    e.token_size_bytes = integer(v.get("token_size_bytes"));
    Normalized::Event(Box::new(e))
}
