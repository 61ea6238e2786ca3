//! CloudTrail records for `cognito-idp.amazonaws.com`: single records, the
//! records of a batch file, and the EventBridge wrapper.

use authlake_core::event::{EventType, Outcome};
use authlake_core::AuthEvent;
use serde_json::Value;

use super::value::{at, iso_time, region_of_pool, text, text_at};
use super::{mfa, Normalized, Record};

const COGNITO_SOURCE: &str = "cognito-idp.amazonaws.com";

/// `{"detail-type": "AWS API Call via CloudTrail", "source": "aws.cognito-idp", "detail": {...}}`:
/// normalized as the CloudTrail record inside, keeping `detail.eventID`.
pub(crate) fn normalize_eventbridge(rec: &Record<'_>) -> Normalized {
    let Some(detail) = rec.value.get("detail").filter(|d| d.is_object()) else {
        return Normalized::Reject("EventBridge event without a detail object".into());
    };
    let from_cognito = text(rec.value.get("source")).is_some_and(|s| s == "aws.cognito-idp")
        || text(detail.get("eventSource")).is_some_and(|s| s == COGNITO_SOURCE);
    if !from_cognito {
        return Normalized::Skip;
    }
    normalize(rec, detail)
}

/// One CloudTrail record `ct` (the record itself, or an EventBridge detail).
pub(crate) fn normalize(rec: &Record<'_>, ct: &Value) -> Normalized {
    if text(ct.get("eventSource")).as_deref() != Some(COGNITO_SOURCE) {
        return Normalized::Skip;
    }
    let Some(name) = text(ct.get("eventName")) else {
        return Normalized::Reject("CloudTrail record without eventName".into());
    };
    let own_time = text(ct.get("eventTime")).and_then(|s| iso_time(&s));
    let mut e = rec.base_event(text(ct.get("eventID")), own_time, "cloudtrail");
    e.event_name = Some(name.clone());
    let req = ct.get("requestParameters").filter(|r| r.is_object());
    let resp = ct.get("responseElements").filter(|r| r.is_object());
    let extra = ct.get("additionalEventData");
    let rp = |k: &str| req.and_then(|r| text(r.get(k)));

    e.aws_region = text(ct.get("awsRegion"));
    e.account_id = text(ct.get("recipientAccountId")).or_else(|| text_at(ct, &["userIdentity", "accountId"]));
    e.ip_address = text(ct.get("sourceIPAddress"));
    e.user_agent = text(ct.get("userAgent"));
    e.error_code = text(ct.get("errorCode"));
    e.user_sub = extra.and_then(|x| text(x.get("sub")));
    e.user_pool_id = rp("userPoolId").or_else(|| extra.and_then(|x| text(x.get("userPoolId"))));
    e.client_id = rp("clientId").or_else(|| hosted_param(extra, "client_id"));
    e.username = rp("username");
    e.auth_flow = rp("authFlow");
    e.email = req.and_then(|r| attribute(r.get("userAttributes"), "email"));
    if e.aws_region.is_none() {
        e.aws_region = region_of_pool(e.user_pool_id.as_deref());
    }

    match name.as_str() {
        "InitiateAuth" | "AdminInitiateAuth" => auth_call(&mut e, resp),
        "RespondToAuthChallenge" | "AdminRespondToAuthChallenge" => {
            let asked = rp("challengeName");
            match asked.as_deref().filter(|c| mfa::is_mfa_challenge(c)) {
                Some(c) => mfa_response(&mut e, c, resp),
                None => {
                    e.challenge_name = asked;
                    auth_call(&mut e, resp)
                }
            }
        }
        "SignUp" | "AdminCreateUser" | "ConfirmSignUp" | "AdminConfirmSignUp" => {
            let suppress = rp("messageAction").is_some_and(|a| a.eq_ignore_ascii_case("SUPPRESS"));
            e.event_type = if name == "AdminCreateUser" && suppress { EventType::BulkImport } else { EventType::SignUp }.into();
            if name.contains("Confirm") {
                e.auth_flow = Some("confirm".into());
            }
            e.outcome = Some(plain_outcome(&e));
        }
        "ForgotPassword" | "ConfirmForgotPassword" | "AdminResetUserPassword" => {
            e.event_type = EventType::PasswordReset.into();
            if name == "ConfirmForgotPassword" {
                e.auth_flow = Some("confirm".into());
                e.challenge_name = None;
            }
            e.outcome = Some(plain_outcome(&e));
        }
        "ChangePassword" | "AdminSetUserPassword" => {
            e.event_type = EventType::PasswordChange.into();
            e.outcome = Some(plain_outcome(&e));
        }
        "GlobalSignOut" | "AdminUserGlobalSignOut" | "RevokeToken" => {
            e.event_type = EventType::SignOut.into();
            e.outcome = Some(plain_outcome(&e));
        }
        "AdminLinkProviderForUser" => {
            e.event_type = EventType::FederationLink.into();
            let source_user = req.and_then(|r| r.get("sourceUser"));
            e.provider_name = source_user.and_then(|s| text(s.get("providerName")));
            e.provider_type = e.provider_name.as_deref().and_then(social_provider_type);
            if let Some(u) = req.and_then(|r| text_at(r, &["destinationUser", "providerAttributeValue"])) {
                e.username = Some(u);
            }
            e.outcome = Some(plain_outcome(&e));
        }
        "AdminDisableProviderForUser" => {
            e.event_type = EventType::FederationUnlink.into();
            e.provider_name = req.and_then(|r| text_at(r, &["user", "providerName"]));
            e.provider_type = e.provider_name.as_deref().and_then(social_provider_type);
            e.outcome = Some(plain_outcome(&e));
        }
        hosted if hosted.contains('_') => hosted_ui(&mut e, hosted, extra),
        _ => {
            e.event_type = EventType::Other.into();
            e.outcome = Some(plain_outcome(&e));
        }
    }
    Normalized::Event(Box::new(e))
}

/// Outcome of a call from its error code alone. Only
/// `TooManyRequestsException` is throttling; `LimitExceededException` is
/// Cognito's per-user attempt limit, a failure.
fn plain_outcome(e: &AuthEvent) -> String {
    match e.error_code.as_deref() {
        None => Outcome::Success,
        Some("TooManyRequestsException") => Outcome::Throttled,
        Some(_) => Outcome::Failure,
    }
    .into()
}

fn is_refresh_flow(flow: Option<&str>) -> bool {
    matches!(flow, Some("REFRESH_TOKEN_AUTH") | Some("REFRESH_TOKEN"))
}

/// InitiateAuth-style rules: error, tokens, or the next challenge.
fn auth_call(e: &mut AuthEvent, resp: Option<&Value>) {
    let refresh = is_refresh_flow(e.auth_flow.as_deref());
    e.event_type = if refresh { EventType::TokenRefresh } else { EventType::SignIn }.into();
    if e.error_code.is_some() {
        e.outcome = Some(plain_outcome(e));
        return;
    }
    let tokens = resp.is_some_and(|r| r.get("authenticationResult").is_some_and(|t| !t.is_null()));
    let next = resp.and_then(|r| text(r.get("challengeName")));
    e.outcome = Some(match (tokens, next) {
        (true, _) => Outcome::Success.into(),
        (false, Some(c)) if mfa::is_mfa_challenge(&c) => {
            e.event_type = EventType::MfaChallenge.into();
            e.mfa_challenged = Some(true);
            e.mfa_method = mfa::mfa_method(&c);
            e.challenge_name = Some(c);
            Outcome::InProgress.into()
        }
        (false, Some(c)) => {
            e.challenge_name = Some(c);
            Outcome::InProgress.into()
        }
        // No response recorded: SRP never completes in InitiateAuth; other
        // flows without an error did.
        (false, None) if e.auth_flow.as_deref() == Some("USER_SRP_AUTH") && e.challenge_name.is_none() => {
            Outcome::InProgress.into()
        }
        (false, None) => Outcome::Success.into(),
    });
}

/// RespondToAuthChallenge answering an MFA challenge.
fn mfa_response(e: &mut AuthEvent, asked: &str, resp: Option<&Value>) {
    e.event_type = EventType::MfaResponse.into();
    e.challenge_name = Some(asked.to_string());
    e.mfa_challenged = Some(true);
    e.mfa_method = mfa::mfa_method(asked);
    if e.error_code.is_some() {
        e.outcome = Some(plain_outcome(e));
        e.mfa_passed = Some(false);
        return;
    }
    let tokens = resp.is_some_and(|r| r.get("authenticationResult").is_some_and(|t| !t.is_null()));
    let next = resp.and_then(|r| text(r.get("challengeName")));
    match next {
        // SELECT_MFA_TYPE answered: the chosen factor is challenged next.
        Some(c) if !tokens && mfa::is_mfa_challenge(&c) => {
            e.event_type = EventType::MfaChallenge.into();
            e.mfa_method = mfa::mfa_method(&c);
            e.challenge_name = Some(c);
            e.outcome = Some(Outcome::InProgress.into());
        }
        _ => {
            e.outcome = Some(Outcome::Success.into());
            e.mfa_passed = Some(true);
        }
    }
}

/// Hosted UI / managed login service events (`Login_POST`, `Token_POST`, ...).
fn hosted_ui(e: &mut AuthEvent, name: &str, extra: Option<&Value>) {
    let status = extra.and_then(|x| at(x, &["responseParameters", "status"])).and_then(|s| match s {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let grant = hosted_param(extra, "grant_type");
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
    e.auth_flow = Some(name.to_string());
    e.provider_name = hosted_param(extra, "identity_provider");
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

/// A hosted-UI request parameter: `additionalEventData.requestParameters.<k>`
/// is an array of strings.
fn hosted_param(extra: Option<&Value>, key: &str) -> Option<String> {
    let v = extra.and_then(|x| at(x, &["requestParameters", key]))?;
    match v {
        Value::Array(a) => a.first().and_then(|x| text(Some(x))),
        other => text(Some(other)),
    }
}

/// A user attribute from `[{name, value}]` (CloudTrail) or a map.
fn attribute(attrs: Option<&Value>, name: &str) -> Option<String> {
    match attrs? {
        Value::Array(list) => list
            .iter()
            .find(|a| text(a.get("name")).is_some_and(|n| n == name))
            .and_then(|a| text(a.get("value"))),
        Value::Object(m) => text(m.get(name)),
        _ => None,
    }
}

/// The provider type of Cognito's built-in social providers.
fn social_provider_type(name: &str) -> Option<String> {
    matches!(name, "Google" | "Facebook" | "LoginWithAmazon" | "SignInWithApple").then(|| name.to_string())
}
