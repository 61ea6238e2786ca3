//! Rendering planned events in Cognito's real formats.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

use crate::scenario::{Ev, Kind, Outcome};
use crate::world::{mix, uuid_like, ACCOUNT_ID, USER_AGENTS};

/// Output formats of the generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Mixed,
    Canonical,
    ActivityLog,
    AuthEvent,
    CloudTrail,
    LambdaTrigger,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "mixed" => Format::Mixed,
            "canonical" => Format::Canonical,
            "cognito_activity_log" | "activity_log" => Format::ActivityLog,
            "cognito_auth_event" | "auth_event" => Format::AuthEvent,
            "cloudtrail" => Format::CloudTrail,
            "lambda_trigger" => Format::LambdaTrigger,
            other => {
                return Err(format!(
                    "unknown format {other:?}: mixed, canonical, cognito_activity_log, cognito_auth_event, cloudtrail, lambda_trigger"
                ))
            }
        })
    }
}

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn iso_secs(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn event_uuid(e: &Ev, seed: u64, salt: u64) -> String {
    uuid_like(mix(seed ^ e.index.wrapping_mul(31) ^ salt), mix(e.index ^ seed.rotate_left(17) ^ salt))
}

/// Picks the format an event is written in for `--format mixed`.
pub fn mixed_format(e: &Ev, rng: &mut ChaCha8Rng) -> Format {
    use Format::*;
    let r = rng.random_range(0..100);
    if e.incident.is_some() {
        // Cognito's threat protection reports these in the activity log.
        return ActivityLog;
    }
    let pick = |table: &[(u32, Format)]| table.iter().find(|(upto, _)| r < *upto).map_or(Canonical, |x| x.1);
    match e.kind {
        Kind::SignIn if e.outcome == Outcome::Throttled || e.passkey => pick(&[(70, CloudTrail), (100, Canonical)]),
        Kind::SignIn => pick(&[(40, ActivityLog), (70, CloudTrail), (80, AuthEvent), (100, Canonical)]),
        Kind::FederatedSignIn => pick(&[(60, LambdaTrigger), (100, Canonical)]),
        Kind::TokenRefresh => pick(&[(70, CloudTrail), (100, Canonical)]),
        Kind::SignUp => pick(&[(40, ActivityLog), (80, CloudTrail), (100, Canonical)]),
        Kind::PasswordReset => pick(&[(30, ActivityLog), (80, CloudTrail), (100, Canonical)]),
        Kind::PasswordChange => pick(&[(40, AuthEvent), (80, CloudTrail), (100, Canonical)]),
        Kind::SignOut => pick(&[(80, CloudTrail), (100, Canonical)]),
        Kind::FederationLink => pick(&[(70, CloudTrail), (100, Canonical)]),
        Kind::UserMigration => pick(&[(80, LambdaTrigger), (100, Canonical)]),
        Kind::BulkImport => pick(&[(60, CloudTrail), (100, Canonical)]),
        Kind::TokenGeneration => pick(&[(30, LambdaTrigger), (100, Canonical)]),
    }
}

/// Renders `e` in `format`, or `None` when the format cannot express it.
pub fn render(e: &Ev, format: Format, seed: u64, rng: &mut ChaCha8Rng) -> Option<Value> {
    match format {
        Format::Canonical | Format::Mixed => Some(canonical(e, seed)),
        Format::ActivityLog => activity_log(e, seed, rng),
        Format::AuthEvent => auth_event(e, seed),
        Format::CloudTrail => cloudtrail(e, seed, rng),
        Format::LambdaTrigger => lambda_trigger(e, seed),
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::SignIn => "sign_in",
        Kind::FederatedSignIn => "federated_sign_in",
        Kind::TokenRefresh => "token_refresh",
        Kind::SignUp => "sign_up",
        Kind::PasswordReset => "password_reset",
        Kind::PasswordChange => "password_change",
        Kind::SignOut => "sign_out",
        Kind::FederationLink => "federation_link",
        Kind::UserMigration => "user_migration",
        Kind::BulkImport => "bulk_import",
        Kind::TokenGeneration => "token_generation",
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
        Outcome::Throttled => "throttled",
        Outcome::InProgress => "in_progress",
    }
}

fn snake_decision(d: &str) -> &'static str {
    match d {
        "AccountTakeover" => "account_takeover",
        "Block" => "block",
        _ => "no_risk",
    }
}

/// authlake's canonical JSON (docs/columns.md).
pub fn canonical(e: &Ev, seed: u64) -> Value {
    let u = &e.user;
    let (challenge, method) = match (e.passkey, e.mfa) {
        (true, _) => (Some("WEB_AUTHN"), None),
        (false, Some((m, _))) => (Some(m.challenge()), Some(m.method())),
        _ => (None, None),
    };
    let signin = matches!(e.kind, Kind::SignIn | Kind::FederatedSignIn);
    json!({
        "event_id": event_uuid(e, seed, 1),
        "event_time": iso(e.time_ms),
        "event_type": kind_name(e.kind),
        "outcome": outcome_name(e.outcome),
        "user_pool_id": u.pool.id,
        "client_id": u.client,
        "aws_region": u.pool.region,
        "account_id": ACCOUNT_ID,
        "username": u.username,
        "user_sub": u.sub,
        "email": u.email,
        "tenant_id": u.tenant,
        "ip_address": e.ip,
        "country": e.country,
        "city": e.city,
        "device_name": u.device,
        "user_agent": USER_AGENTS[(u.index % USER_AGENTS.len() as u64) as usize],
        "auth_flow": if e.kind == Kind::TokenRefresh { Some("REFRESH_TOKEN_AUTH") } else if signin { Some("USER_SRP_AUTH") } else { None },
        "challenge_name": challenge,
        "mfa_challenged": if signin { Some(e.mfa.is_some()) } else { None },
        "mfa_passed": e.mfa.map(|(_, p)| p),
        "mfa_method": method,
        "new_device": if signin { Some(e.new_device) } else { None },
        "risk_level": e.risk_level.map(str::to_ascii_lowercase),
        "risk_decision": if e.kind == Kind::SignIn { Some(snake_decision(e.risk_decision)) } else { None },
        "compromised_credentials": if e.kind == Kind::SignIn { Some(e.compromised) } else { None },
        "error_code": e.error_code,
        "provider_name": u.provider.filter(|_| matches!(e.kind, Kind::FederatedSignIn | Kind::FederationLink)).map(|p| p.0),
        "provider_type": u.provider.filter(|_| matches!(e.kind, Kind::FederatedSignIn | Kind::FederationLink)).map(|p| p.1),
        "migration_source": if matches!(e.kind, Kind::UserMigration | Kind::BulkImport) { Some("auth0") } else { None },
        "migration_status": e.migration_status,
        "token_size_bytes": e.token_size,
    })
}

/// The `EventType` word Cognito's own logs use, for the events they record
/// (throttled requests and passkey sign-ins are not among them).
fn cognito_event_type(e: &Ev) -> Option<&'static str> {
    Some(match e.kind {
        Kind::SignIn if e.outcome != Outcome::Throttled && !e.passkey => "SignIn",
        Kind::SignUp => "SignUp",
        Kind::PasswordReset => "ForgotPassword",
        Kind::PasswordChange => "PasswordChange",
        _ => return None,
    })
}

fn activity_log(e: &Ev, seed: u64, rng: &mut ChaCha8Rng) -> Option<Value> {
    let event_type = cognito_event_type(e)?;
    let u = &e.user;
    let response = match e.outcome {
        Outcome::Success => "Pass",
        Outcome::Failure => "Fail",
        _ => "InProgress",
    };
    let mut challenges = Vec::new();
    if e.kind == Kind::SignIn {
        let pw_ok = e.error_code != Some("NotAuthorizedException");
        challenges.push(json!({"challengeName": "Password", "challengeResponse": if pw_ok { "Success" } else { "Failure" }}));
        if let Some((_, passed)) = e.mfa {
            challenges.push(json!({"challengeName": "Mfa", "challengeResponse": if passed { "Success" } else { "Failure" }}));
        }
    }
    let record = json!({
        "eventTimestamp": e.time_ms.to_string(),
        "eventSource": "USER_ACTIVITY",
        "logLevel": "INFO",
        "message": {
            "version": "1",
            "eventId": event_uuid(e, seed, 2),
            "eventType": event_type,
            "userSub": u.sub,
            "userName": u.username,
            "userPoolId": u.pool.id,
            "clientId": u.client,
            "creationDate": DateTime::<Utc>::from_timestamp_millis(e.time_ms).unwrap_or_default().format("%a %b %d %H:%M:%S UTC %Y").to_string(),
            "eventResponse": response,
            "riskLevel": e.risk_level.map(str::to_ascii_uppercase).unwrap_or_default(),
            "riskDecision": match e.risk_decision { "AccountTakeover" => "ACCOUNT_TAKEOVER", "Block" => "BLOCK", _ => "PASS" },
            "challenges": challenges,
            "deviceName": u.device,
            "ipAddress": e.ip,
            "requestId": event_uuid(e, seed, 3),
            "idpName": "",
            "compromisedCredentialDetected": e.compromised.to_string(),
            "city": e.city,
            "country": e.country,
            "eventFeedbackValue": "",
            "eventFeedbackDate": "",
            "eventFeedbackProvider": "",
            "hasContextData": "true"
        },
        "logSourceId": {"userPoolId": u.pool.id}
    });
    // Some arrive the way CloudWatch Logs delivers them.
    Some(if rng.random_bool(0.1) { cloudwatch_logs(e, seed, "/aws/cognito/userpool/activity", &record) } else { record })
}

fn auth_event(e: &Ev, seed: u64) -> Option<Value> {
    let event_type = cognito_event_type(e)?;
    let mut challenges = vec![json!({"ChallengeName": "Password", "ChallengeResponse": if e.error_code == Some("NotAuthorizedException") { "Failure" } else { "Success" }})];
    if let Some((_, passed)) = e.mfa {
        challenges.push(json!({"ChallengeName": "Mfa", "ChallengeResponse": if passed { "Success" } else { "Failure" }}));
    }
    let mut risk = json!({"RiskDecision": e.risk_decision, "CompromisedCredentialsDetected": e.compromised});
    if let Some(l) = e.risk_level {
        risk["RiskLevel"] = json!(l);
    }
    Some(json!({
        "EventId": event_uuid(e, seed, 4),
        "EventType": event_type,
        "CreationDate": e.time_ms as f64 / 1000.0,
        "EventResponse": match e.outcome { Outcome::Success => "Pass", Outcome::Failure => "Fail", _ => "InProgress" },
        "EventRisk": risk,
        "ChallengeResponses": if e.kind == Kind::SignIn { challenges } else { vec![] },
        "EventContextData": {"IpAddress": e.ip, "DeviceName": e.user.device, "Timezone": "+00:00", "City": e.city, "Country": e.country}
    }))
}

fn cloudtrail(e: &Ev, seed: u64, rng: &mut ChaCha8Rng) -> Option<Value> {
    let u = &e.user;
    let hidden = "HIDDEN_DUE_TO_SECURITY_REASONS";
    let tokens = json!({"authenticationResult": {"accessToken": hidden, "expiresIn": 3600, "tokenType": "Bearer", "refreshToken": hidden, "idToken": hidden}, "challengeParameters": {}});
    let (name, request, response): (&str, Value, Value) = match e.kind {
        Kind::SignIn if e.passkey => (
            "RespondToAuthChallenge",
            json!({"clientId": u.client, "challengeName": "WEB_AUTHN", "challengeResponses": hidden, "session": hidden}),
            tokens,
        ),
        Kind::SignIn => match e.mfa {
            Some((m, _)) if e.outcome != Outcome::Throttled && e.error_code != Some("NotAuthorizedException") => (
                "RespondToAuthChallenge",
                json!({"clientId": u.client, "challengeName": m.challenge(), "challengeResponses": hidden, "session": hidden}),
                tokens,
            ),
            _ => ("InitiateAuth", json!({"authFlow": "USER_PASSWORD_AUTH", "authParameters": hidden, "clientId": u.client}), tokens),
        },
        Kind::TokenRefresh => ("InitiateAuth", json!({"authFlow": "REFRESH_TOKEN_AUTH", "authParameters": hidden, "clientId": u.client}), tokens),
        Kind::SignUp => (
            "SignUp",
            json!({"clientId": u.client, "username": hidden, "password": hidden, "userAttributes": [{"name": "email", "value": u.email}]}),
            json!({"userConfirmed": false, "userSub": u.sub}),
        ),
        Kind::PasswordReset => ("ForgotPassword", json!({"clientId": u.client, "username": hidden}), json!({"codeDeliveryDetails": {"deliveryMedium": "EMAIL", "destination": hidden}})),
        Kind::PasswordChange => ("ChangePassword", json!({"accessToken": hidden, "previousPassword": hidden, "proposedPassword": hidden}), Value::Null),
        Kind::SignOut => ("GlobalSignOut", json!({"accessToken": hidden}), Value::Null),
        Kind::FederationLink => {
            let (p, _) = u.provider.unwrap_or(("Google", "Google"));
            (
                "AdminLinkProviderForUser",
                json!({"userPoolId": u.pool.id, "destinationUser": {"providerName": "Cognito", "providerAttributeValue": u.username}, "sourceUser": {"providerName": p, "providerAttributeName": "Cognito_Subject", "providerAttributeValue": format!("{:x}", mix(u.index))}}),
                Value::Null,
            )
        }
        Kind::BulkImport => (
            "AdminCreateUser",
            json!({"userPoolId": u.pool.id, "username": u.username, "messageAction": "SUPPRESS", "userAttributes": [{"name": "email", "value": u.email}, {"name": "email_verified", "value": "true"}]}),
            json!({"user": {"username": u.username, "userStatus": "RESET_REQUIRED", "enabled": true}}),
        ),
        _ => return None,
    };
    let failed = e.error_code.is_some();
    let mut request = request;
    if request.get("userPoolId").is_none() {
        request["userPoolId"] = json!(u.pool.id);
    }
    let record = ct_record(e, seed, name, e.time_ms, e.error_code, request, if failed { Value::Null } else { response }, 0);
    // An MFA sign-in is two calls: InitiateAuth answered with the challenge,
    // then the answer. CloudTrail files batch them.
    if let (Some((m, _)), "RespondToAuthChallenge") = (e.mfa, name) {
        let first = ct_record(
            e,
            seed,
            "InitiateAuth",
            e.time_ms - 20_000,
            None,
            json!({"authFlow": "USER_PASSWORD_AUTH", "authParameters": hidden, "clientId": u.client, "userPoolId": u.pool.id}),
            json!({"challengeName": m.challenge(), "session": hidden, "challengeParameters": {}}),
            10,
        );
        return Some(json!({"Records": [first, record]}));
    }
    Some(if rng.random_bool(0.1) {
        json!({"version": "0", "id": event_uuid(e, seed, 7), "detail-type": "AWS API Call via CloudTrail", "source": "aws.cognito-idp",
               "account": ACCOUNT_ID, "time": iso_secs(e.time_ms), "region": u.pool.region, "resources": [], "detail": record})
    } else {
        record
    })
}

/// One CloudTrail record of a Cognito call.
#[allow(clippy::too_many_arguments)]
fn ct_record(e: &Ev, seed: u64, name: &str, time_ms: i64, error: Option<&str>, request: Value, response: Value, salt: u64) -> Value {
    let u = &e.user;
    let mut record = Map::new();
    record.insert("eventVersion".into(), json!("1.11"));
    record.insert("userIdentity".into(), json!({"type": "Unknown", "principalId": "Anonymous", "accountId": ACCOUNT_ID}));
    record.insert("eventTime".into(), json!(iso_secs(time_ms)));
    record.insert("eventSource".into(), json!("cognito-idp.amazonaws.com"));
    record.insert("eventName".into(), json!(name));
    record.insert("awsRegion".into(), json!(u.pool.region));
    record.insert("sourceIPAddress".into(), json!(e.ip));
    record.insert("userAgent".into(), json!(USER_AGENTS[(u.index % USER_AGENTS.len() as u64) as usize]));
    if let Some(code) = error {
        record.insert("errorCode".into(), json!(code));
        let message = match code {
            "TooManyRequestsException" => "Rate exceeded",
            "CodeMismatchException" => "Invalid code or auth state for the user.",
            _ => "Incorrect username or password.",
        };
        record.insert("errorMessage".into(), json!(message));
    }
    record.insert("requestParameters".into(), request);
    record.insert("responseElements".into(), response);
    record.insert("additionalEventData".into(), json!({"sub": u.sub}));
    record.insert("requestID".into(), json!(event_uuid(e, seed, 5 + salt)));
    record.insert("eventID".into(), json!(event_uuid(e, seed, 6 + salt)));
    record.insert("readOnly".into(), json!(false));
    record.insert("eventType".into(), json!("AwsApiCall"));
    record.insert("managementEvent".into(), json!(true));
    record.insert("recipientAccountId".into(), json!(ACCOUNT_ID));
    record.insert("eventCategory".into(), json!("Management"));
    Value::Object(record)
}

fn lambda_trigger(e: &Ev, seed: u64) -> Option<Value> {
    let u = &e.user;
    let attrs = |extra: Option<(&str, Value)>| {
        let mut a = json!({"sub": u.sub, "email": u.email, "email_verified": "true", "custom:tenantId": u.tenant, "cognito:user_status": "CONFIRMED"});
        if let Some((k, v)) = extra {
            a[k] = v;
        }
        a
    };
    let common = |trigger: &str, request: Value, response: Value| {
        json!({"version": "1", "triggerSource": trigger, "region": u.pool.region, "userPoolId": u.pool.id, "userName": u.username,
               "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": u.client}, "request": request, "response": response})
    };
    let (group, event) = match e.kind {
        Kind::UserMigration => {
            let password = format!("Legacy-{:x}!", mix(seed ^ e.index));
            let response = if e.outcome == Outcome::Success {
                json!({"userAttributes": {"email": u.email, "email_verified": "true", "custom:tenantId": u.tenant}, "finalUserStatus": e.migration_status, "messageAction": "SUPPRESS"})
            } else {
                json!({})
            };
            ("/aws/lambda/auth0-user-migration", common("UserMigration_Authentication", json!({"password": password, "validationData": {}, "clientMetadata": {"migrationSource": "auth0"}}), response))
        }
        Kind::FederatedSignIn => {
            let (p, t) = u.provider.unwrap_or(("Google", "Google"));
            let identities = format!(
                "[{{\"userId\":\"{:x}\",\"providerName\":\"{p}\",\"providerType\":\"{t}\",\"issuer\":null,\"primary\":{},\"dateCreated\":{}}}]",
                mix(u.index),
                if u.index.is_multiple_of(2) { "true" } else { "\"true\"" },
                1_620_096_467_207u64 + u.index
            );
            ("/aws/lambda/post-authentication", common("PostAuthentication_Authentication", json!({"newDeviceUsed": e.new_device, "userAttributes": attrs(Some(("identities", json!(identities)))), "clientMetadata": {}}), json!({})))
        }
        Kind::TokenGeneration => (
            "/aws/lambda/pre-token-generation",
            json!({"version": "2", "triggerSource": "TokenGeneration_Authentication", "region": u.pool.region, "userPoolId": u.pool.id, "userName": u.username,
                   "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": u.client},
                   "request": {"userAttributes": attrs(None), "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null}, "scopes": ["openid", "email"]},
                   "response": {"claimsAndScopeOverrideDetails": null}}),
        ),
        _ => return None,
    };
    Some(cloudwatch_logs(e, seed, group, &event))
}

/// A CloudWatch Logs subscription payload (as Firehose writes it to S3,
/// decompressed) holding one log event.
fn cloudwatch_logs(e: &Ev, seed: u64, group: &str, message: &Value) -> Value {
    json!({
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT_ID,
        "logGroup": group,
        "logStream": format!("2026/11/27/[$LATEST]{:x}", mix(seed ^ 0x5eed)),
        "subscriptionFilters": ["authlake"],
        "logEvents": [{"id": format!("{}", mix(e.index ^ seed) >> 8), "timestamp": e.time_ms, "message": message.to_string()}]
    })
}
