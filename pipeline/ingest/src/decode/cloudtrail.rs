//! CloudTrail records of Cognito user pools (`cognito-idp.amazonaws.com`)
//! and identity pools (`cognito-identity.amazonaws.com`): single records,
//! the records of a batch file, and the EventBridge wrapper.

use authlake_core::event::{EventType, Outcome};
use authlake_core::AuthEvent;
use serde_json::Value;

use super::value::{iso_time, region_of_pool, text, text_at};
use super::{hosted_ui, identity_pool, mfa, Normalized, Record};

const COGNITO_SOURCE: &str = "cognito-idp.amazonaws.com";

/// `{"detail-type": "AWS API Call via CloudTrail", "source": "aws.cognito-idp", "detail": {...}}`:
/// normalized as the CloudTrail record inside, keeping `detail.eventID`.
pub(crate) fn normalize_eventbridge(rec: &Record<'_>) -> Normalized {
    let Some(detail) = rec.value.get("detail").filter(|d| d.is_object()) else {
        return Normalized::Reject("EventBridge event without a detail object".into());
    };
    let from_cognito = text(rec.value.get("source")).is_some_and(|s| s == "aws.cognito-idp" || s == "aws.cognito-identity")
        || text(detail.get("eventSource")).is_some_and(|s| s == COGNITO_SOURCE || s == identity_pool::SOURCE);
    if !from_cognito {
        return Normalized::Skip;
    }
    normalize(rec, detail)
}

/// One CloudTrail record `ct` (the record itself, or an EventBridge detail).
pub(crate) fn normalize(rec: &Record<'_>, ct: &Value) -> Normalized {
    let identity = match text(ct.get("eventSource")).as_deref() {
        Some(COGNITO_SOURCE) => false,
        Some(identity_pool::SOURCE) => true,
        _ => return Normalized::Skip,
    };
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
    e.client_id = rp("clientId");
    e.username = rp("username");
    e.auth_flow = rp("authFlow");
    e.email = req.and_then(|r| attribute(r.get("userAttributes"), "email"));
    if e.aws_region.is_none() {
        e.aws_region = region_of_pool(e.user_pool_id.as_deref());
    }
    if identity {
        identity_pool::normalize(&mut e, &name, ct);
        e.outcome = Some(plain_outcome(&e));
        return Normalized::Event(Box::new(e));
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
        "ForgotPassword" | "ConfirmForgotPassword" => {
            e.event_type = EventType::PasswordReset.into();
            if name == "ConfirmForgotPassword" {
                e.auth_flow = Some("confirm".into());
                e.challenge_name = None;
            }
            e.outcome = Some(plain_outcome(&e));
        }
        "ChangePassword" => {
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
        hosted if hosted.contains('_') => hosted_ui::normalize(&mut e, hosted, ct),
        other => {
            e.event_type = if is_admin_change(other) { EventType::AdminChange } else { EventType::Other }.into();
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

/// An administrator's change to a user (`AdminDisableUser`,
/// `AdminSetUserPassword`, ...) or to the pool's configuration
/// (`UpdateUserPool`, `SetUserPoolMfaConfig`, `CreateIdentityProvider`,
/// ...). Reads (`AdminGetUser`, `ListUsers`) and a user's calls about
/// their own account are not. The caller is `userIdentity` in `raw`; the
/// target user, where there is one, `username`.
fn is_admin_change(name: &str) -> bool {
    const READS: [&str; 3] = ["AdminGet", "AdminList", "AdminQuery"];
    const WRITES: [&str; 7] = ["Create", "Update", "Delete", "Set", "Add", "Start", "Stop"];
    const POOL_RESOURCES: [&str; 14] = [
        "UserPool", "UserPoolClient", "UserPoolDomain", "UserPoolMfaConfig", "IdentityProvider", "Group", "ResourceServer",
        "RiskConfiguration", "UICustomization", "LogDeliveryConfiguration", "CustomAttributes", "UserImportJob",
        "ManagedLoginBranding", "UserPoolClientSecret",
    ];
    if name.starts_with("Admin") {
        return !READS.iter().any(|r| name.starts_with(r));
    }
    if matches!(name, "TagResource" | "UntagResource") {
        return true;
    }
    WRITES.iter().any(|w| name.strip_prefix(w).is_some_and(|rest| POOL_RESOURCES.contains(&rest)))
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
