//! Signing an export's manifest, and checking the signature.
//!
//! Two kinds of key. **Ed25519** (asymmetric): the exporter signs with a
//! private key, an auditor checks with the public key and cannot sign
//! anything. **HMAC-SHA256** (symmetric): whoever can check a signature
//! can also make one, so it proves only that someone holding the shared
//! key wrote the manifest. Key files: an Ed25519 private key in PKCS#8 PEM
//! (`openssl genpkey -algorithm ed25519`), its public key in SPKI PEM
//! (`openssl pkey -pubout`); an HMAC key is any file of at least 16 bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const HMAC_SHA256: &str = "HMAC-SHA256";
pub const ED25519_NAME: &str = "Ed25519";

/// Shortest HMAC key accepted.
pub const MIN_HMAC_KEY: usize = 16;

/// The signature of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// `Ed25519` or `HMAC-SHA256`.
    pub algorithm: String,
    /// The signature over the manifest without this field, lowercase hex.
    pub value: String,
    /// Ed25519: SHA-256 of the public key's SPKI DER, lowercase hex, so a
    /// reviewer can tell which key signed (absent for HMAC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("key file {0}: {1}")]
    Invalid(PathBuf, String),
}

/// A key that signs manifests. Its `Debug` names the kind, never the key.
#[derive(Clone)]
pub enum SigningKey {
    Hmac(Vec<u8>),
    Ed25519(Arc<Ed25519KeyPair>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SigningKey::Hmac(_) => "SigningKey(HMAC-SHA256)",
            SigningKey::Ed25519(_) => "SigningKey(Ed25519)",
        })
    }
}

/// A key that checks manifest signatures.
pub enum VerifyingKey {
    Hmac(Vec<u8>),
    /// SPKI DER of the public key.
    Ed25519(Vec<u8>),
}

/// The DER inside a PEM file with this label, if the text is one.
fn pem(text: &[u8], label: &str) -> Option<Result<Vec<u8>, String>> {
    let text = std::str::from_utf8(text).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text.split_once(&begin)?.1.split_once(&end)?.0;
    let b64: String = body.split_whitespace().collect();
    Some(base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| format!("invalid PEM base64: {e}")))
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.starts_with(b"-----BEGIN ") || std::str::from_utf8(bytes).is_ok_and(|t| t.trim_start().starts_with("-----BEGIN "))
}

impl SigningKey {
    /// `--sign-key FILE`: a PKCS#8 PEM Ed25519 private key, or an HMAC key.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|e| KeyError::Io(path.to_path_buf(), e))?;
        let bad = |m: String| KeyError::Invalid(path.to_path_buf(), m);
        if let Some(der) = pem(&bytes, "PRIVATE KEY") {
            let der = der.map_err(bad)?;
            let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|e| bad(format!("not an Ed25519 PKCS#8 private key: {e}")))?;
            return Ok(SigningKey::Ed25519(Arc::new(pair)));
        }
        if is_pem(&bytes) {
            return Err(bad("a PEM file that is not a PKCS#8 private key (`openssl genpkey -algorithm ed25519` writes one)".into()));
        }
        hmac_key(path, bytes).map(SigningKey::Hmac)
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        match self {
            SigningKey::Hmac(key) => Signature { algorithm: HMAC_SHA256.into(), value: hex::encode(hmac(key, message)), key_id: None },
            SigningKey::Ed25519(pair) => {
                let spki = pair.public_key().as_der().map(|d| d.as_ref().to_vec()).unwrap_or_default();
                Signature { algorithm: ED25519_NAME.into(), value: hex::encode(pair.sign(message).as_ref()), key_id: Some(key_id(&spki)) }
            }
        }
    }
}

impl VerifyingKey {
    /// `verify --public-key FILE`: an SPKI PEM Ed25519 public key.
    pub fn public_key_file(path: &Path) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|e| KeyError::Io(path.to_path_buf(), e))?;
        let bad = |m: String| KeyError::Invalid(path.to_path_buf(), m);
        let der = match pem(&bytes, "PUBLIC KEY") {
            Some(der) => der.map_err(bad)?,
            None if pem(&bytes, "PRIVATE KEY").is_some() => {
                return Err(bad("this is a private key: give the public key (`openssl pkey -in KEY -pubout`)".into()))
            }
            None => return Err(bad("not a PEM public key (`-----BEGIN PUBLIC KEY-----`)".into())),
        };
        // An Ed25519 SPKI: the algorithm identifier 1.3.101.112, then 32 key bytes.
        const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        if der.len() != 44 || der[..12] != ED25519_SPKI_PREFIX {
            return Err(bad("not an Ed25519 public key".into()));
        }
        Ok(VerifyingKey::Ed25519(der))
    }

    /// `verify --sign-key FILE`: the HMAC key the manifest was signed with.
    pub fn hmac_file(path: &Path) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|e| KeyError::Io(path.to_path_buf(), e))?;
        // A public key is public: taken as an HMAC key, anyone could sign.
        if is_pem(&bytes) {
            return Err(KeyError::Invalid(path.to_path_buf(), "a PEM key is not an HMAC key: check Ed25519 signatures with --public-key".into()));
        }
        hmac_key(path, bytes).map(VerifyingKey::Hmac)
    }

    pub fn algorithm(&self) -> &'static str {
        match self {
            VerifyingKey::Hmac(_) => HMAC_SHA256,
            VerifyingKey::Ed25519(_) => ED25519_NAME,
        }
    }

    /// Ed25519: the id of this public key (SHA-256 of its SPKI DER, hex).
    pub fn key_id(&self) -> Option<String> {
        match self {
            VerifyingKey::Hmac(_) => None,
            VerifyingKey::Ed25519(spki) => Some(key_id(spki)),
        }
    }

    /// Checks `sig` over `message`: the algorithm must be this key's, the
    /// key id (which the signature does not cover) this key's, and the
    /// value must match.
    pub fn check(&self, sig: &Signature, message: &[u8]) -> Result<(), String> {
        if sig.algorithm != self.algorithm() {
            return Err(format!("the manifest is signed with {:?}, the key given is {}", sig.algorithm, self.algorithm()));
        }
        if sig.key_id.is_some() && sig.key_id != self.key_id() {
            return Err("the manifest names another signing key than the one given".into());
        }
        let value = hex::decode(&sig.value).map_err(|_| "the signature is not hex".to_string())?;
        let ok = match self {
            VerifyingKey::Hmac(key) => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
                mac.update(message);
                mac.verify_slice(&value).is_ok()
            }
            VerifyingKey::Ed25519(spki) => UnparsedPublicKey::new(&ED25519, spki).verify(message, &value).is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("the {} signature does not match the manifest and the key given", self.algorithm()))
        }
    }
}

fn hmac_key(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, KeyError> {
    if bytes.len() < MIN_HMAC_KEY {
        return Err(KeyError::Invalid(path.to_path_buf(), format!("holds {} bytes; an HMAC key needs at least {MIN_HMAC_KEY}", bytes.len())));
    }
    Ok(bytes)
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn key_id(spki: &[u8]) -> String {
    hex::encode(Sha256::digest(spki))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed Ed25519 key pair as openssl writes them (RFC 8410 example key).
    const PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
    const PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";

    fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn ed25519_signs_and_only_the_public_key_checks() {
        let dir = tempfile::tempdir().unwrap();
        let signer = SigningKey::from_file(&file(dir.path(), "k.pem", PRIVATE.as_bytes())).unwrap();
        let sig = signer.sign(b"manifest");
        assert_eq!(sig.algorithm, ED25519_NAME);
        let public = VerifyingKey::public_key_file(&file(dir.path(), "k.pub", PUBLIC.as_bytes())).unwrap();
        public.check(&sig, b"manifest").unwrap();
        assert!(public.check(&sig, b"manifesT").is_err());
        assert!(VerifyingKey::public_key_file(&dir.path().join("k.pem")).is_err(), "a private key is not a public key");
        assert!(VerifyingKey::hmac_file(&dir.path().join("k.pub")).is_err(), "a public key is no HMAC key: anyone could sign with it");
        let mut renamed = sig.clone();
        renamed.key_id = Some("00".repeat(32));
        assert!(public.check(&renamed, b"manifest").is_err(), "a key id edited in the manifest");
        let hmac_key = VerifyingKey::hmac_file(&file(dir.path(), "h", &[7u8; 32])).unwrap();
        assert!(hmac_key.check(&sig, b"manifest").unwrap_err().contains("signed with"));
    }

    #[test]
    fn hmac_keys_are_long_enough_and_check_their_own_signatures() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SigningKey::from_file(&file(dir.path(), "short", b"0123456789")).is_err());
        let path = file(dir.path(), "h", &[9u8; 32]);
        let sig = SigningKey::from_file(&path).unwrap().sign(b"m");
        assert_eq!((sig.algorithm.as_str(), sig.key_id.is_none()), (HMAC_SHA256, true));
        VerifyingKey::hmac_file(&path).unwrap().check(&sig, b"m").unwrap();
        assert!(VerifyingKey::hmac_file(&file(dir.path(), "other", &[8u8; 32])).unwrap().check(&sig, b"m").is_err());
    }
}
