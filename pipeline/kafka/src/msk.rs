//! Amazon MSK IAM authentication: SASL/OAUTHBEARER with a token that is a
//! SigV4-presigned `kafka-cluster:Connect` request, signed with whatever
//! the AWS credential chain provides (environment, profile, SSO, IMDS,
//! web identity), as AWS's `aws-msk-iam-sasl-signer` libraries do.
//!
//! Turned on with `--msk-iam` (or `[kafka] msk_iam = true`): the client
//! then uses `SASL_SSL` and `OAUTHBEARER`, and librdkafka asks for a fresh
//! token before the current one expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;
use rdkafka::client::OAuthToken;

/// How long a token is valid (the MSK signers use 15 minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
const USER_AGENT: &str = "authlake-msk-iam";

/// Signs tokens for one region with the default AWS credential chain.
#[derive(Clone)]
pub struct MskIam {
    pub region: String,
    credentials: aws_credential_types::provider::SharedCredentialsProvider,
    runtime: tokio::runtime::Handle,
}

impl MskIam {
    /// The region and credentials of the standard AWS configuration chain.
    pub async fn from_env() -> Result<Self, String> {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let region = conf.region().map(|r| r.to_string()).ok_or("MSK IAM: no AWS region (set AWS_REGION)")?;
        let credentials = conf.credentials_provider().ok_or("MSK IAM: no AWS credentials provider")?;
        Ok(MskIam { region, credentials, runtime: tokio::runtime::Handle::current() })
    }

    /// A fresh token (called by librdkafka from a client thread).
    pub fn token(&self) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let creds = self.runtime.block_on(self.credentials.provide_credentials())?;
        let (token, expires) = token(&self.region, &creds, SystemTime::now())?;
        let principal = creds.access_key_id().to_string();
        Ok(OAuthToken { token, principal_name: principal, lifetime_ms: expires.duration_since(UNIX_EPOCH)?.as_millis() as i64 })
    }
}

/// The MSK IAM token for `region` signed at `now`, and when it expires:
/// `base64url(https://kafka.REGION.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-...&User-Agent=...)`.
pub fn token(region: &str, creds: &Credentials, now: SystemTime) -> Result<(String, SystemTime), String> {
    let host = format!("kafka.{region}.amazonaws.com");
    let url = format!("https://{host}/?Action=kafka-cluster%3AConnect");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kafka-cluster")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| format!("MSK IAM signing: {e}"))?
        .into();
    let request = SignableRequest::new("GET", &url, [("host", host.as_str())].into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| format!("MSK IAM signing: {e}"))?;
    let (instructions, _) = sign(request, &params).map_err(|e| format!("MSK IAM signing: {e}"))?.into_parts();
    let mut signed = url;
    for (name, value) in instructions.params() {
        signed.push('&');
        signed.push_str(name);
        signed.push('=');
        signed.push_str(&encode(value));
    }
    signed.push_str("&User-Agent=");
    signed.push_str(USER_AGENT);
    Ok((base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed), now + TOKEN_LIFETIME))
}

/// Percent-encoding of a query value as SigV4 canonicalizes it.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_a_presigned_connect_url_in_base64url() {
        let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Some("tok/en=".into()), None, "test");
        let now = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let (t, expires) = token("eu-west-1", &creds, now).unwrap();
        assert_eq!(expires, now + TOKEN_LIFETIME);
        assert!(!t.contains('=') && !t.contains('+') && !t.contains('/'), "{t}");
        let url = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&t).unwrap()).unwrap();
        assert!(url.starts_with("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"), "{url}");
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20261118%2Feu-west-1%2Fkafka-cluster%2Faws4_request",
            "X-Amz-Expires=900",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Security-Token=tok%2Fen%3D",
            "User-Agent=authlake-msk-iam",
        ] {
            assert!(url.contains(part), "{part} missing in {url}");
        }
        assert!(url.split("X-Amz-Signature=").nth(1).is_some_and(|s| s.len() >= 64));
    }
}
