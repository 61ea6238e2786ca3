//! `manifest.json`: what an export holds and how to check it has not
//! changed. `verify` recomputes every figure from the files themselves
//! (the file list, sizes, SHA-256 digests, rows per file and in total) and
//! checks the signature.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::signature::{Signature, SigningKey, VerifyingKey};

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

    pub fn sign(&mut self, key: &SigningKey) {
        self.signature = Some(key.sign(&self.signed_bytes()));
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(self).expect("manifest serializes"))
    }
}

/// What a verified export proves about who wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Authenticity {
    /// No signature: the files match the manifest, but anyone who could
    /// change the files could have rewritten the manifest to match.
    Unsigned,
    /// The signature matches the key given.
    Signed { algorithm: String, key_id: Option<String> },
}

/// An export that verified.
#[derive(Debug)]
pub struct Verified {
    pub manifest: Manifest,
    pub authenticity: Authenticity,
}

/// Checks an export directory. Every figure in the manifest is recomputed
/// from the files: the list of files (none missing, none added, no path
/// outside the directory, none twice), each file's size, SHA-256 and rows,
/// and the total rows. The signature must match `key`; a key with no
/// signature, or a signature with no key, fails.
pub fn verify(dir: &Path, key: Option<&VerifyingKey>) -> Result<Verified, VerifyError> {
    let path = dir.join(MANIFEST);
    // An export directory without its manifest has been tampered with;
    // a directory that cannot be read is an I/O failure.
    std::fs::read_dir(dir).map_err(|e| VerifyError::Io(dir.to_path_buf(), e))?;
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VerifyError::Mismatch(format!("{MANIFEST} is missing: nothing says what the export held")))
        }
        Err(e) => return Err(VerifyError::Io(path.clone(), e)),
    };
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| VerifyError::Manifest(path.clone(), e.to_string()))?;
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    let mut counted = 0u64;
    for f in &manifest.files {
        if !is_inside(&f.path) {
            problems.push(format!("{}: not a path inside the export", f.path));
            continue;
        }
        if !listed.insert(f.path.as_str()) {
            problems.push(format!("{}: listed twice", f.path));
            continue;
        }
        let d = match read_once(&dir.join(&f.path)) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{}: {e}", f.path));
                continue;
            }
        };
        if d.sha256 != f.sha256 || d.bytes != f.bytes {
            problems.push(format!("{}: sha256 {} ({} bytes), manifest says {} ({} bytes)", f.path, d.sha256, d.bytes, f.sha256, f.bytes));
        }
        match d.rows {
            Ok(n) => {
                counted += n;
                if n != f.rows {
                    problems.push(format!("{}: holds {n} rows, manifest says {}", f.path, f.rows));
                }
            }
            Err(e) => problems.push(format!("{}: cannot count its rows: {e}", f.path)),
        }
    }
    for extra in walk(dir).iter().filter(|p| p.as_str() != MANIFEST && !listed.contains(p.as_str())) {
        problems.push(format!("{extra}: not in the manifest"));
    }
    if counted != manifest.rows {
        problems.push(format!("the files hold {counted} rows, manifest says {}", manifest.rows));
    }
    let authenticity = match (&manifest.signature, key) {
        (Some(sig), Some(key)) => match key.check(sig, &manifest.signed_bytes()) {
            Ok(()) => Authenticity::Signed { algorithm: sig.algorithm.clone(), key_id: key.key_id() },
            Err(e) => {
                problems.push(e);
                Authenticity::Unsigned
            }
        },
        (Some(sig), None) => {
            let flag = if sig.algorithm == super::signature::ED25519_NAME { "--public-key" } else { "--sign-key" };
            problems.push(format!("the manifest is signed ({}): pass {flag} FILE to check the signature", sig.algorithm));
            Authenticity::Unsigned
        }
        (None, Some(key)) => {
            problems.push(format!("the manifest has no signature, but a {} key was given: it may have been removed", key.algorithm()));
            Authenticity::Unsigned
        }
        (None, None) => Authenticity::Unsigned,
    };
    if problems.is_empty() {
        Ok(Verified { manifest, authenticity })
    } else {
        Err(VerifyError::Mismatch(problems.join("; ")))
    }
}

/// A manifest path that names a file inside the export directory.
fn is_inside(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// What one read of an exported file finds.
struct FileDigest {
    sha256: String,
    bytes: u64,
    /// Rows counted from the file, or why they cannot be.
    rows: Result<u64, String>,
}

/// Hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A file's SHA-256, size and rows: the Parquet footer (read apart: it
/// is at the end), else CSV records after the header or non-empty JSON
/// lines, counted in the same pass that hashes the file, so a large
/// export is read once.
fn read_once(path: &Path) -> std::io::Result<FileDigest> {
    let name = path.to_string_lossy();
    if name.ends_with(".parquet") {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let (sha256, bytes) = sha256_file(path)?;
        let rows = std::fs::File::open(path).map_err(|e| e.to_string()).and_then(|f| {
            let reader = SerializedFileReader::new(f).map_err(|e| e.to_string())?;
            u64::try_from(reader.metadata().file_metadata().num_rows()).map_err(|e| e.to_string())
        });
        return Ok(FileDigest { sha256, bytes, rows });
    }
    let mut input = Hashing { inner: std::fs::File::open(path)?, hasher: Sha256::new(), bytes: 0 };
    let rows = if name.ends_with(".csv") { csv_records(&mut input) } else { json_lines(&mut input) };
    // What a parse error left unread still counts in the digest.
    std::io::copy(&mut input, &mut std::io::sink())?;
    Ok(FileDigest { sha256: hex::encode(input.hasher.finalize()), bytes: input.bytes, rows })
}

fn csv_records(input: impl std::io::Read) -> Result<u64, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
    let mut n = 0u64;
    for record in reader.byte_records() {
        record.map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(n)
}

fn json_lines(input: impl std::io::Read) -> Result<u64, String> {
    let mut n = 0u64;
    for line in std::io::BufReader::new(input).split(b'\n') {
        let line = line.map_err(|e| e.to_string())?;
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            n += 1;
        }
    }
    Ok(n)
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
