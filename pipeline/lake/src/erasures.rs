//! Erasures that stay erased.
//!
//! `authlake forget` records each identifier (username, sub) of the
//! subject it erased in the `erasures` table as a keyed HMAC-SHA256: a
//! reader without the key cannot tell whom it names, not even by hashing
//! guessed usernames. Every later ingest loads the table and drops any row
//! whose username or sub is among them ([`Erased`]), so a re-delivered
//! record does not bring the subject back. The key lives outside the lake
//! (a file or [`KEY_ENV`]); a lake with erasures refuses ingests and
//! erasures without it.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use authlake_core::schema::erasures_schema;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::append::{append, read_all};
use crate::table::TableKind;
use crate::{Lake, LakeError};

/// Environment variable holding the erasure key (the key itself).
pub const KEY_ENV: &str = "AUTHLAKE_ERASURE_KEY";

/// Shortest key accepted, in bytes.
const MIN_KEY_BYTES: usize = 16;

/// The secret the erasure HMACs are keyed with.
#[derive(Clone)]
pub struct ErasureKey(Arc<Vec<u8>>);

impl std::fmt::Debug for ErasureKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErasureKey(..)")
    }
}

impl ErasureKey {
    /// A key from its bytes (a trailing newline, as editors leave, is not
    /// part of it).
    pub fn new(bytes: &[u8], origin: &str) -> Result<Self, LakeError> {
        let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if trimmed.len() < MIN_KEY_BYTES {
            return Err(LakeError::BadErasureKey(format!("{origin} holds {} bytes; an erasure key needs at least {MIN_KEY_BYTES}", trimmed.len())));
        }
        Ok(Self(Arc::new(trimmed.to_vec())))
    }

    /// The key from `file` if given, else from [`KEY_ENV`]; `None` when
    /// neither is set.
    pub fn resolve(file: Option<&std::path::Path>) -> Result<Option<Self>, LakeError> {
        if let Some(f) = file {
            let bytes = std::fs::read(f).map_err(|e| LakeError::BadErasureKey(format!("cannot read {}: {e}", f.display())))?;
            return Self::new(&bytes, &f.display().to_string()).map(Some);
        }
        match std::env::var_os(KEY_ENV) {
            Some(v) => Self::new(v.as_encoded_bytes(), KEY_ENV).map(Some),
            None => Ok(None),
        }
    }

    /// The HMAC of one identifier, in hex.
    pub fn tag(&self, identifier: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(identifier.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// One erasure, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erasure {
    pub erased_at: DateTime<Utc>,
    /// The events-table version of the commit that removed the rows.
    pub events_version: u64,
    pub rows_erased: u64,
    pub dead_letters_erased: u64,
    pub files_rewritten: u64,
    /// Files deleted outright: the rewritten ones and older, unreferenced
    /// copies (kept for time travel) that held the subject.
    pub files_deleted: u64,
}

/// Appends the erasure of `identifiers` to the `erasures` table.
pub async fn record(lake: &Lake, key: &ErasureKey, identifiers: &[String], e: &Erasure) -> Result<u64, LakeError> {
    let n = identifiers.len();
    let int = |v: u64| Arc::new(Int64Array::from(vec![v as i64; n])) as ArrayRef;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(TimestampMicrosecondArray::from(vec![e.erased_at.timestamp_micros(); n]).with_timezone("UTC")),
        int(e.events_version),
        Arc::new(StringArray::from_iter_values(identifiers.iter().map(|i| key.tag(i)))),
        int(e.rows_erased),
        int(e.dead_letters_erased),
        int(e.files_rewritten),
        int(e.files_deleted),
    ];
    let batch = RecordBatch::try_new(erasures_schema(), columns).map_err(|e| LakeError::Parquet { path: "erasures".into(), reason: e.to_string() })?;
    append(lake, "forget", TableKind::Erasures, &[batch]).await
}

/// The erased identifiers' HMACs and the events versions of the erasures.
#[derive(Debug, Default)]
struct Recorded {
    tags: HashSet<String>,
    versions: Vec<u64>,
}

async fn recorded(lake: &Lake) -> Result<Recorded, LakeError> {
    let mut r = Recorded::default();
    for b in read_all(lake, TableKind::Erasures).await? {
        let tags = b.column_by_name("identifier_hmac").map(|c| c.as_string::<i32>().clone());
        let versions = b.column_by_name("events_version").and_then(|c| c.as_any().downcast_ref::<Int64Array>().cloned());
        r.tags.extend(tags.iter().flat_map(|a| a.iter().flatten().map(str::to_string)));
        r.versions.extend(versions.iter().flat_map(|a| a.iter().flatten().map(|v| v as u64)));
    }
    r.versions.sort_unstable();
    r.versions.dedup();
    Ok(r)
}

/// The first erasure committed after events version `version`, if any: a
/// read of `version` may miss files that erasure deleted.
pub async fn erased_after(lake: &Lake, version: u64) -> Result<Option<u64>, LakeError> {
    Ok(recorded(lake).await?.versions.into_iter().find(|v| *v > version))
}

/// The subjects erased from a lake, for an ingest to drop.
#[derive(Debug)]
pub struct Erased {
    key: ErasureKey,
    tags: HashSet<String>,
}

impl Erased {
    /// Loads the lake's erasures; `None` when it has none. A lake with
    /// erasures and no `key` is refused: its rows could not be checked.
    pub async fn load(lake: &Lake, key: Option<&ErasureKey>) -> Result<Option<Self>, LakeError> {
        let r = recorded(lake).await?;
        if r.tags.is_empty() {
            return Ok(None);
        }
        let key = key.ok_or_else(|| LakeError::ErasureKeyMissing(lake.display()))?;
        Ok(Some(Self { key: key.clone(), tags: r.tags }))
    }

    /// Does this identifier belong to an erased subject?
    pub fn names(&self, identifier: &str) -> bool {
        self.tags.contains(&self.key.tag(identifier))
    }

    /// The rows of an events batch to keep (`None`: all of them).
    pub fn keep(&self, batch: &RecordBatch) -> Option<BooleanArray> {
        let columns: Vec<&StringArray> = ["username", "user_sub"]
            .iter()
            .filter_map(|c| batch.column_by_name(c))
            .filter_map(|a| a.as_any().downcast_ref::<StringArray>())
            .collect();
        let mut seen: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
        let mut any = false;
        let mask: BooleanArray = (0..batch.num_rows())
            .map(|i| {
                let erased = columns.iter().any(|c| c.is_valid(i) && *seen.entry(c.value(i)).or_insert_with(|| self.names(c.value(i))));
                any |= erased;
                Some(!erased)
            })
            .collect();
        any.then_some(mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_tags_depend_on_them() {
        assert!(ErasureKey::new(b"short\n", "test").is_err());
        let a = ErasureKey::new(b"0123456789abcdef\n", "test").unwrap();
        let b = ErasureKey::new(b"0123456789abcdeX", "test").unwrap();
        assert_eq!(a.tag("alice"), ErasureKey::new(b"0123456789abcdef", "t").unwrap().tag("alice"));
        assert_ne!(a.tag("alice"), b.tag("alice"));
        assert_ne!(a.tag("alice"), authlake_core::position::sha256_hex(b"alice"));
        assert_eq!(format!("{a:?}"), "ErasureKey(..)");
    }

    #[tokio::test]
    async fn recorded_subjects_are_dropped_and_a_key_is_required() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap(), false).unwrap();
        let key = ErasureKey::new(b"0123456789abcdef", "test").unwrap();
        assert!(Erased::load(&lake, None).await.unwrap().is_none(), "no erasures: no key needed");
        let e = Erasure { erased_at: Utc::now(), events_version: 5, rows_erased: 3, ..Default::default() };
        record(&lake, &key, &["alice".into(), "sub-a".into()], &e).await.unwrap();
        assert!(matches!(Erased::load(&lake, None).await, Err(LakeError::ErasureKeyMissing(_))));
        let erased = Erased::load(&lake, Some(&key)).await.unwrap().unwrap();
        assert!(erased.names("alice") && erased.names("sub-a") && !erased.names("bob"));
        assert_eq!(erased_after(&lake, 4).await.unwrap(), Some(5));
        assert_eq!(erased_after(&lake, 5).await.unwrap(), None);
        // The table names no one in clear.
        for f in walk(dir.path()) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(!bytes.windows(5).any(|w| w == b"alice"), "{}", f.display());
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }
}
