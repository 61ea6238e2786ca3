//! MSK IAM tokens checked against AWS's own signer (botocore's SigV4
//! query signing, which `aws-msk-iam-sasl-signer-python` uses).

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use base64::Engine;

use crate::support::python;

#[test]
fn msk_iam_token_signature_matches_botocore() {
    let (key, secret, session) = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjE/session+token==");
    let creds = Credentials::new(key, secret, Some(session.into()), None, "test");
    let now = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let (token, _) = authlake_kafka::msk::token("eu-west-1", &creds, now).unwrap();
    let ours = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap();
    let theirs = python(&format!(
        r#"
import datetime, botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
auth.get_current_datetime = lambda *a, **k: datetime.datetime(2026, 11, 18, 11, 6, 40)
req = AWSRequest(method="GET", url="https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect")
auth.SigV4QueryAuth(Credentials("{key}", "{secret}", "{session}"), "kafka-cluster", "eu-west-1", expires=900).add_auth(req)
print(req.url)
"#
    ));
    let param = |url: &str, name: &str| -> String {
        url.split(['?', '&']).find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap_or_else(|| panic!("{name} missing in {url}")).to_string()
    };
    for name in ["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token", "Action"] {
        assert_eq!(param(&ours, name), param(theirs.trim(), name), "{name}: ours {ours}\ntheirs {theirs}");
    }
}
