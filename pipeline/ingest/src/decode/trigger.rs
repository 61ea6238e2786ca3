//! Cognito Lambda trigger events (migration, authentication, token
//! generation, sign-up and custom-auth triggers).

use authlake_core::event::{EventType, Outcome};
use serde_json::Value;

use super::value::{at, flag, region_of_pool, text, text_at};
use super::{Normalized, Record};

pub(crate) fn normalize(rec: &Record<'_>) -> Normalized {
    let v = rec.value;
    let Some(trigger) = text(v.get("triggerSource")) else {
        return Normalized::Reject("trigger event without triggerSource".into());
    };
    let own_time = None; // trigger events carry no time of their own
    let mut e = rec.base_event(text(v.get("eventId")), own_time, "lambda_trigger");
    e.event_name = Some(trigger.clone());
    let attrs = at(v, &["request", "userAttributes"]);
    e.user_pool_id = text(v.get("userPoolId"));
    e.aws_region = text(v.get("region")).or_else(|| region_of_pool(e.user_pool_id.as_deref()));
    e.username = text(v.get("userName"));
    e.client_id = text_at(v, &["callerContext", "clientId"]);
    e.user_sub = attrs.and_then(|a| text(a.get("sub")));
    e.email = attrs.and_then(|a| text(a.get("email")));
    let granted = at(v, &["response", "userAttributes"]);
    if let Some(t) = attrs.or(granted).and_then(|a| text(a.get("custom:tenantId"))) {
        e.tenant_id = Some(t);
    }
    let (prefix, flow) = trigger.split_once('_').unwrap_or((trigger.as_str(), ""));
    e.auth_flow = (!flow.is_empty()).then(|| flow.to_string());

    match prefix {
        "UserMigration" => {
            e.event_type = EventType::UserMigration.into();
            let migrated = at(v, &["response", "userAttributes"]).is_some_and(|a| a.as_object().is_some_and(|m| !m.is_empty()));
            let failed = v.get("error").is_some_and(|x| !x.is_null());
            // The event as Cognito sends it holds the request only: the
            // Lambda has not answered yet. Attributes in the response mean
            // the user was migrated; a recorded error means it threw.
            e.outcome = Some(match (failed, migrated) {
                (true, _) => Outcome::Failure,
                (false, true) => Outcome::Success,
                (false, false) => Outcome::InProgress,
            }.into());
            e.migration_status = text_at(v, &["response", "finalUserStatus"]);
            e.migration_source = migration_source(v).or_else(|| rec.ctx.defaults.migration_source.clone());
            if e.email.is_none() {
                e.email = text_at(v, &["response", "userAttributes", "email"]);
            }
            if e.user_sub.is_none() {
                e.user_sub = text_at(v, &["response", "userAttributes", "sub"]);
            }
        }
        "PostAuthentication" => {
            e.new_device = flag(at(v, &["request", "newDeviceUsed"]));
            e.outcome = Some(Outcome::Success.into());
            match attrs.and_then(|a| a.get("identities")).and_then(primary_identity) {
                Some((name, kind)) => {
                    e.event_type = EventType::FederatedSignIn.into();
                    e.provider_name = name;
                    e.provider_type = kind;
                }
                None => e.event_type = EventType::SignIn.into(),
            }
        }
        "InboundFederation" => {
            // Before a federated user signs in: the external provider's
            // attributes, to be mapped by the Lambda.
            e.event_type = EventType::FederatedSignIn.into();
            e.provider_name = text_at(v, &["request", "providerName"]);
            e.provider_type = text_at(v, &["request", "providerType"]);
            e.outcome = Some(Outcome::InProgress.into());
            // The attributes the Lambda maps onto the user, else the
            // provider's own user info (its `sub` is the provider's, not
            // Cognito's, so it is not `user_sub`).
            if e.email.is_none() {
                e.email = text_at(v, &["response", "userAttributesToMap", "email"])
                    .or_else(|| text_at(v, &["request", "attributes", "userInfo", "email"]));
            }
        }
        "TokenGeneration" => {
            e.event_type = EventType::TokenGeneration.into();
            e.outcome = Some(Outcome::Success.into());
        }
        "PreSignUp" => {
            e.event_type = EventType::SignUp.into();
            e.outcome = Some(Outcome::InProgress.into());
        }
        "PostConfirmation" if flow == "ConfirmForgotPassword" => {
            e.event_type = EventType::PasswordReset.into();
            e.outcome = Some(Outcome::Success.into());
        }
        "PostConfirmation" => {
            e.event_type = EventType::SignUp.into();
            e.outcome = Some(Outcome::Success.into());
        }
        // The custom-auth triggers and PreAuthentication are steps of one
        // sign-in: only DefineAuthChallenge decides it (tokens issued or
        // authentication failed), so a wrong answer is not a failed
        // sign-in of its own (the answer's verdict stays in `raw`).
        "PreAuthentication" => {
            e.event_type = EventType::SignIn.into();
            e.outcome = Some(Outcome::InProgress.into());
        }
        "DefineAuthChallenge" => {
            e.event_type = EventType::SignIn.into();
            e.challenge_name = Some("CUSTOM_CHALLENGE".into());
            let issue = flag(at(v, &["response", "issueTokens"])) == Some(true);
            let fail = flag(at(v, &["response", "failAuthentication"])) == Some(true);
            e.outcome = Some(match (issue, fail) {
                (true, _) => Outcome::Success,
                (_, true) => Outcome::Failure,
                _ => Outcome::InProgress,
            }.into());
        }
        "CreateAuthChallenge" => {
            // `challengeMetadata` is the app's own label; Cognito's name for
            // the challenge is the request's.
            e.event_type = EventType::SignIn.into();
            e.challenge_name = text_at(v, &["request", "challengeName"]).or(Some("CUSTOM_CHALLENGE".into()));
            e.outcome = Some(Outcome::InProgress.into());
        }
        "VerifyAuthChallengeResponse" => {
            e.event_type = EventType::SignIn.into();
            e.challenge_name = Some("CUSTOM_CHALLENGE".into());
            e.outcome = Some(Outcome::InProgress.into());
        }
        _ => {
            // CustomMessage, custom senders, ...: hooks, not sign-in steps.
            e.event_type = EventType::Other.into();
            e.outcome = Some(Outcome::InProgress.into());
        }
    }
    Normalized::Event(Box::new(e))
}

/// The legacy system named by the event, if its client metadata says.
fn migration_source(v: &Value) -> Option<String> {
    ["clientMetadata", "validationData"].iter().find_map(|k| {
        let m = at(v, &["request", k])?;
        ["migrationSource", "migration_source", "legacySystem", "legacy_system"].iter().find_map(|f| text(m.get(*f)))
    })
}

/// `(providerName, providerType)` of the primary linked identity. The
/// `identities` attribute is a JSON-encoded string (or an array in ID
/// tokens) whose `primary` may be a bool or a string.
pub(crate) fn primary_identity(v: &Value) -> Option<(Option<String>, Option<String>)> {
    let parsed;
    let list = match v {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            parsed.as_array()?
        }
        Value::Array(a) => a,
        _ => return None,
    };
    let chosen = list.iter().find(|i| flag(i.get("primary")) == Some(true)).or_else(|| list.first())?;
    Some((text(chosen.get("providerName")), text(chosen.get("providerType"))))
}
