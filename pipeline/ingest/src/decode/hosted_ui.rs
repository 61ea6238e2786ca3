//! Hosted UI / managed login service events in CloudTrail (`Login_POST`,
//! `Token_POST`, `SAML2Response_POST`, ...). Their request parameters are
//! one-element arrays, at the top level (`requestParameters`) in current
//! records and under `additionalEventData.requestParameters` in older ones.

use authlake_core::event::{EventType, Outcome};
use authlake_core::AuthEvent;
use serde_json::Value;

use super::value::{at, text};

/// Fills the hosted-UI fields of `e`, the row of CloudTrail record `ct`.
pub(crate) fn normalize(e: &mut AuthEvent, name: &str, ct: &Value) {
    let extra = ct.get("additionalEventData");
    let status = extra.and_then(|x| at(x, &["responseParameters", "status"])).and_then(|s| match s {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let grant = param(ct, "grant_type");
    e.event_type = match name {
        "Login_POST" => EventType::SignIn,
        "SAML2Response_POST" | "IdpResponse_GET" | "IdpResponse_POST" | "OIDCResponse_GET" => EventType::FederatedSignIn,
        "Token_POST" if grant.as_deref() == Some("refresh_token") => EventType::TokenRefresh,
        "Logout_GET" | "Logout_POST" => EventType::SignOut,
        "Signup_POST" | "Confirm_POST" => EventType::SignUp,
        "ForgotPassword_POST" | "ConfirmForgotPassword_POST" | "ResetPassword_POST" => EventType::PasswordReset,
        _ => EventType::Other,
    }
    .into();
    // `event_name` already says which endpoint; the flow is the grant type
    // where the endpoint has one (`/oauth2/token`).
    e.auth_flow = grant;
    e.provider_name = param(ct, "identity_provider");
    if e.client_id.is_none() {
        e.client_id = param(ct, "client_id");
    }
    if e.user_sub.is_none() {
        e.user_sub = param(ct, "sub");
    }
    e.outcome = Some(
        match (e.error_code.as_deref(), status) {
            (Some("TooManyRequestsException"), _) | (_, Some(429)) => Outcome::Throttled,
            (Some(_), _) => Outcome::Failure,
            (None, Some(s)) if s >= 400 => Outcome::Failure,
            _ => Outcome::Success,
        }
        .into(),
    );
}

/// A hosted-UI request parameter: the first element of its array (or the
/// value itself), from either place a record keeps them.
pub(crate) fn param(ct: &Value, key: &str) -> Option<String> {
    let found = at(ct, &["requestParameters", key]).or_else(|| at(ct, &["additionalEventData", "requestParameters", key]))?;
    match found {
        Value::Array(a) => a.first().and_then(|x| text(Some(x))),
        other => text(Some(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_post_takes_the_grant_type_and_the_sub_from_either_place() {
        let current = json!({"eventName": "Token_POST", "requestParameters": {"grant_type": ["refresh_token"], "client_id": ["c1"], "sub": ["s-1"]}});
        let mut e = AuthEvent::default();
        normalize(&mut e, "Token_POST", &current);
        assert_eq!((e.event_type.as_str(), e.auth_flow.as_deref()), ("token_refresh", Some("refresh_token")));
        assert_eq!((e.client_id.as_deref(), e.user_sub.as_deref()), (Some("c1"), Some("s-1")));

        let older = json!({"additionalEventData": {"requestParameters": {"grant_type": ["authorization_code"]}, "responseParameters": {"status": 400}}});
        let mut e = AuthEvent::default();
        normalize(&mut e, "Token_POST", &older);
        assert_eq!((e.event_type.as_str(), e.auth_flow.as_deref(), e.outcome.as_deref()), ("other", Some("authorization_code"), Some("failure")));
    }

    #[test]
    fn endpoints_without_a_grant_have_no_flow() {
        let mut e = AuthEvent::default();
        normalize(&mut e, "Login_POST", &json!({"additionalEventData": {"responseParameters": {"status": 302}}}));
        assert_eq!((e.event_type.as_str(), e.auth_flow, e.outcome.as_deref()), ("sign_in", None, Some("success")));
    }
}
