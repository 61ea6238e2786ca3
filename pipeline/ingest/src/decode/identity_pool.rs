//! CloudTrail records of Cognito identity pools
//! (`cognito-identity.amazonaws.com`): identities handed out (`GetId`),
//! AWS credentials and OpenID tokens issued for them, and the pools'
//! configuration. Unauthenticated credential issuance is a known abuse
//! path, so every call is kept.

use authlake_core::event::EventType;
use authlake_core::AuthEvent;
use serde_json::Value;

use super::value::{at, text};

pub(crate) const SOURCE: &str = "cognito-identity.amazonaws.com";

/// Fills the identity-pool fields of `e`, the row of CloudTrail record `ct`.
pub(crate) fn normalize(e: &mut AuthEvent, name: &str, ct: &Value) {
    let req = ct.get("requestParameters").filter(|r| r.is_object());
    e.event_type = event_type(name).into();
    e.identity_pool_id = req
        .and_then(|r| text(r.get("identityPoolId")))
        .or_else(|| text(at(ct, &["additionalEventData", "identityPoolId"])))
        .or_else(|| text(at(ct, &["responseElements", "identityPoolId"])))
        .or_else(|| pool_of_resources(ct));
    let logins = req.and_then(|r| r.get("logins")).filter(|l| has_logins(l));
    let issues = matches!(e.event_type.as_str(), "identity_id" | "identity_credentials");
    if issues || logins.is_some() {
        e.auth_flow = Some(if logins.is_some() { "authenticated" } else { "unauthenticated" }.into());
        if let Some(provider) = logins.and_then(first_provider) {
            e.provider_type = provider_type(&provider).map(str::to_string);
            // `cognito-idp.<region>.amazonaws.com/<pool id>`: a user pool.
            if let Some((_, pool)) = provider.split_once(".amazonaws.com/") {
                e.user_pool_id.get_or_insert_with(|| pool.to_string());
            }
            e.provider_name = Some(provider);
        }
    }
}

/// The pool named by the record's `resources` (the only place some
/// data events name it): `arn:aws:cognito-identity:<region>:<account>:identitypool/<pool id>`.
fn pool_of_resources(ct: &Value) -> Option<String> {
    ct.get("resources")?.as_array()?.iter().find_map(|r| {
        let arn = text(r.get("ARN").or_else(|| r.get("arn")))?;
        arn.split_once(":identitypool/").map(|(_, id)| id.to_string())
    })
}

/// `event_type` of an identity-pool call.
fn event_type(name: &str) -> EventType {
    match name {
        "GetId" => EventType::IdentityId,
        "GetCredentialsForIdentity" | "GetOpenIdToken" | "GetOpenIdTokenForDeveloperIdentity" => EventType::IdentityCredentials,
        // A user's own call: a login removed from their identity.
        "UnlinkIdentity" => EventType::FederationUnlink,
        read if read.starts_with("Describe") || read.starts_with("List") || read.starts_with("Get") || read.starts_with("Lookup") => {
            EventType::Other
        }
        _ => EventType::AdminChange,
    }
}

/// A `logins` map with at least one provider. CloudTrail may write the
/// whole map as a redaction marker: logins were given.
fn has_logins(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => false,
    }
}

fn first_provider(logins: &Value) -> Option<String> {
    logins.as_object()?.keys().next().cloned()
}

/// The kind of login provider a `logins` key names.
fn provider_type(key: &str) -> Option<&'static str> {
    Some(match key {
        "graph.facebook.com" => "Facebook",
        "accounts.google.com" => "Google",
        "www.amazon.com" => "LoginWithAmazon",
        "appleid.apple.com" => "SignInWithApple",
        "api.twitter.com" => "Twitter",
        "cognito-identity.amazonaws.com" => "Developer",
        k if k.starts_with("cognito-idp.") => "CognitoUserPool",
        k if k.starts_with("arn:aws:iam::") && k.contains(":saml-provider/") => "SAML",
        k if k.starts_with("arn:aws:iam::") && k.contains(":oidc-provider/") => "OIDC",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_with_and_without_logins() {
        let mut e = AuthEvent::default();
        let ct = json!({"requestParameters": {"identityId": "us-east-1:abc"},
            "resources": [{"ARN": "arn:aws:cognito-identity:us-east-1:111122223333:identitypool/us-east-1:pool"}]});
        normalize(&mut e, "GetCredentialsForIdentity", &ct);
        assert_eq!(e.event_type, "identity_credentials");
        assert_eq!((e.auth_flow.as_deref(), e.identity_pool_id.as_deref()), (Some("unauthenticated"), Some("us-east-1:pool")));

        let mut e = AuthEvent::default();
        let ct = json!({"requestParameters": {"identityPoolId": "us-east-1:pool",
            "logins": {"cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC": "HIDDEN_DUE_TO_SECURITY_REASONS"}}});
        normalize(&mut e, "GetId", &ct);
        assert_eq!((e.event_type.as_str(), e.auth_flow.as_deref()), ("identity_id", Some("authenticated")));
        assert_eq!((e.user_pool_id.as_deref(), e.provider_type.as_deref()), (Some("us-east-1_AbC"), Some("CognitoUserPool")));
    }

    #[test]
    fn configuration_calls_are_admin_changes_and_reads_are_not() {
        assert_eq!(event_type("CreateIdentityPool"), EventType::AdminChange);
        assert_eq!(event_type("SetIdentityPoolRoles"), EventType::AdminChange);
        assert_eq!(event_type("DescribeIdentityPool"), EventType::Other);
        assert_eq!(event_type("GetOpenIdToken"), EventType::IdentityCredentials);
    }
}
