//! `manifest.json`: what an export holds and how to check it has not
//! changed. `verify` recomputes every SHA-256 and the signature.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MANIFEST: &str = "manifest.json";

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    /// Path relative to the export directory.
    pub path: String,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
}

/// The signature of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub algorithm: String,
    /// HMAC-SHA256 of the manifest without this field, lowercase hex.
    pub value: String,
}

/// The manifest of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub authlake_version: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub lake: String,
    /// The events table's version the export read: `export --as-of` it
    /// to repeat the export byte for byte (`None`: no table yet).
    #[serde(alias = "lake_commit")]
    pub table_version: Option<u64>,
    pub format: String,
    pub layout: String,
    pub filters: serde_json::Value,
    pub sql: String,
    pub redacted: Vec<String>,
    pub rows: u64,
    pub files: Vec<ExportFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

/// Why an export does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("invalid manifest {0}: {1}")]
    Manifest(PathBuf, String),
    #[error("{0}")]
    Mismatch(String),
}

pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h)?;
    Ok((hex::encode(h.finalize()), n))
}

impl Manifest {
    /// The bytes a signature covers: the manifest without its signature.
    fn signed_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = None;
        serde_json::to_vec(&unsigned).expect("manifest serializes")
    }

    pub fn sign(&mut self, key: &[u8]) {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(&self.signed_bytes());
        self.signature = Some(Signature { algorithm: "HMAC-SHA256".into(), value: hex::encode(mac.finalize().into_bytes()) });
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(self).expect("manifest serializes"))
    }
}

/// Checks an export directory: the manifest parses, every listed file has
/// its size and SHA-256, no file is missing or added, the signature matches
/// `key` (required when the manifest is signed). Returns the manifest.
pub fn verify(dir: &Path, key: Option<&[u8]>) -> Result<Manifest, VerifyError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| VerifyError::Io(path.clone(), e))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| VerifyError::Manifest(path.clone(), e.to_string()))?;
    let mut problems = Vec::new();
    for f in &manifest.files {
        match sha256_file(&dir.join(&f.path)) {
            Ok((sha, bytes)) if sha == f.sha256 && bytes == f.bytes => {}
            Ok((sha, bytes)) => problems.push(format!("{}: sha256 {sha} ({bytes} bytes), manifest says {} ({} bytes)", f.path, f.sha256, f.bytes)),
            Err(e) => problems.push(format!("{}: {e}", f.path)),
        }
    }
    let listed: std::collections::BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for extra in walk(dir).iter().filter(|p| p.as_str() != MANIFEST && !listed.contains(p.as_str())) {
        problems.push(format!("{extra}: not in the manifest"));
    }
    let total: u64 = manifest.files.iter().map(|f| f.rows).sum();
    if total != manifest.rows {
        problems.push(format!("files hold {total} rows, manifest says {}", manifest.rows));
    }
    match (&manifest.signature, key) {
        (Some(sig), Some(key)) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
            mac.update(&manifest.signed_bytes());
            let ok = hex::decode(&sig.value).is_ok_and(|v| mac.verify_slice(&v).is_ok());
            if sig.algorithm != "HMAC-SHA256" || !ok {
                problems.push("signature does not match the manifest and key".into());
            }
        }
        (Some(_), None) => problems.push("manifest is signed: pass --sign-key to check it".into()),
        (None, Some(_)) => problems.push("manifest is not signed but a key was given".into()),
        (None, None) => {}
    }
    if problems.is_empty() {
        Ok(manifest)
    } else {
        Err(VerifyError::Mismatch(problems.join("; ")))
    }
}

/// Files under `dir`, relative, with `/` separators.
fn walk(dir: &Path) -> Vec<String> {
    fn go(base: &Path, dir: &Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    go(base, &p, out);
                } else if let Ok(rel) = p.strip_prefix(base) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out);
    out.sort();
    out
}
