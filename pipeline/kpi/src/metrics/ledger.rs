//! The record of pushed windows, kept in the lake beside the data it was
//! computed from: `_authlake/metrics/<namespace>/<window>/<start>.json`.
//!
//! CloudWatch has no idempotency key, so exactly-once emission rests on
//! this record. A window's file is created (create-if-absent, so two
//! pushers never both take a window) holding every datum to send, split
//! into the requests that will carry them; each request is marked done
//! once CloudWatch accepted it. A request that may have been sent (the
//! process died during the call, or the call failed after connecting) is
//! looked up in CloudWatch (its first datum's sample count) before it is
//! sent again, so an accepted request is never sent twice.

use authlake_lake::Lake;
use chrono::{DateTime, Utc};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::MetricsError;

/// Where ledgers live in the lake.
pub const LEDGER_DIR: &str = "_authlake/metrics";

/// One datum as sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Datum {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub unit: String,
    pub value: f64,
}

/// One PutMetricData request of a window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub data: Vec<Datum>,
    pub done: bool,
    /// Certainly never reached CloudWatch: sent without a lookup. Cleared
    /// (and recorded) before each send, set again only when the send
    /// failed before a connection was made.
    #[serde(default)]
    pub unsent: bool,
    /// The last failure sending it, if any.
    pub last_error: Option<String>,
}

/// A window's ledger entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub namespace: String,
    pub window: String,
    pub window_start: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub requests: Vec<Request>,
}

impl Entry {
    pub fn is_done(&self) -> bool {
        self.requests.iter().all(|r| r.done)
    }
}

/// The ledger file of one window.
pub fn entry_path(namespace: &str, window: &str, start: DateTime<Utc>) -> Path {
    let ns: String = namespace.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    Path::from(format!("{LEDGER_DIR}/{ns}/{window}/{}.json", start.format("%Y%m%dT%H%M%SZ")))
}

fn err(path: &Path, reason: impl ToString) -> MetricsError {
    MetricsError::Ledger { path: path.to_string(), reason: reason.to_string() }
}

/// Reads a window's entry; None when the window was never taken.
pub async fn read(lake: &Lake, path: &Path) -> Result<Option<Entry>, MetricsError> {
    match lake.store.get(path).await {
        Ok(r) => {
            let bytes = r.bytes().await.map_err(|e| err(path, e))?;
            serde_json::from_slice(&bytes).map(Some).map_err(|e| err(path, format!("corrupt ledger entry: {e}")))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(err(path, e)),
    }
}

/// Creates a window's entry; false when another pusher created it first.
pub async fn create(lake: &Lake, path: &Path, entry: &Entry) -> Result<bool, MetricsError> {
    let body = serde_json::to_vec_pretty(entry).map_err(|e| err(path, e))?;
    let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
    match lake.store.put_opts(path, PutPayload::from(body), opts).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
        Err(e) => Err(err(path, e)),
    }
}

/// Rewrites a window's entry (progress of its requests).
pub async fn update(lake: &Lake, path: &Path, entry: &Entry) -> Result<(), MetricsError> {
    let body = serde_json::to_vec_pretty(entry).map_err(|e| err(path, e))?;
    lake.store.put(path, PutPayload::from(body)).await.map_err(|e| err(path, e))?;
    Ok(())
}
