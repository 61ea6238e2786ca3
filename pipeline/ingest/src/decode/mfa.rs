//! Challenge names: which are second factors, and which method each is.

use serde_json::Value;

use super::value::text;

/// Is this Cognito challenge a second factor (an MFA challenge)?
pub fn is_mfa_challenge(name: &str) -> bool {
    matches!(
        name.to_ascii_uppercase().as_str(),
        "SMS_MFA" | "SOFTWARE_TOKEN_MFA" | "EMAIL_OTP" | "EMAIL_MFA" | "SELECT_MFA_TYPE" | "MFA"
    )
}

/// `mfa_method` of a challenge name; `None` when the source does not say
/// (AuthEvents only write `Mfa`).
pub fn mfa_method(name: &str) -> Option<String> {
    let m = match name.to_ascii_uppercase().as_str() {
        "SMS_MFA" | "SMS_OTP" => "sms",
        "SOFTWARE_TOKEN_MFA" => "totp",
        "EMAIL_OTP" | "EMAIL_MFA" => "email",
        _ => return None,
    };
    Some(m.to_string())
}

/// What a list of `{ChallengeName, ChallengeResponse}` entries says.
#[derive(Debug, Default, PartialEq)]
pub struct ChallengeSummary {
    pub last_name: Option<String>,
    pub mfa_challenged: Option<bool>,
    pub mfa_passed: Option<bool>,
    pub mfa_method: Option<String>,
}

/// Reads AuthEvents `ChallengeResponses` or the activity log's `challenges`.
/// Entries may be objects (any key case) or strings like `Mfa:Success`.
pub fn summarize(list: Option<&Value>) -> ChallengeSummary {
    let Some(Value::Array(items)) = list.filter(|l| l.as_array().is_some_and(|a| !a.is_empty())) else {
        return ChallengeSummary::default();
    };
    let mut s = ChallengeSummary { mfa_challenged: Some(false), ..Default::default() };
    for item in items {
        let (name, response) = match item {
            Value::Object(m) => {
                let get = |want: &str| {
                    m.iter().find(|(k, _)| k.eq_ignore_ascii_case(want)).and_then(|(_, v)| text(Some(v)))
                };
                (get("challengeName"), get("challengeResponse"))
            }
            Value::String(st) => match st.split_once(':') {
                Some((n, r)) => (Some(n.trim().to_string()), Some(r.trim().to_string())),
                None => (Some(st.clone()), None),
            },
            _ => (None, None),
        };
        let Some(name) = name else { continue };
        if is_mfa_challenge(&name) {
            s.mfa_challenged = Some(true);
            s.mfa_passed = response.as_deref().and_then(|r| match r.to_ascii_lowercase().as_str() {
                "success" | "pass" | "passed" => Some(true),
                "failure" | "fail" | "failed" => Some(false),
                _ => None,
            });
            s.mfa_method = mfa_method(&name);
        }
        s.last_name = Some(name);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summarizes_auth_event_challenges() {
        let s = summarize(Some(&json!([
            {"ChallengeName": "Password", "ChallengeResponse": "Success"},
            {"ChallengeName": "Mfa", "ChallengeResponse": "Failure"}
        ])));
        assert_eq!(s.mfa_challenged, Some(true));
        assert_eq!(s.mfa_passed, Some(false));
        assert_eq!(s.mfa_method, None);
        assert_eq!(s.last_name.as_deref(), Some("Mfa"));
        let none = summarize(Some(&json!([{"ChallengeName": "Password", "ChallengeResponse": "Success"}])));
        assert_eq!((none.mfa_challenged, none.mfa_passed), (Some(false), None));
        assert_eq!(summarize(None), ChallengeSummary::default());
    }
}
