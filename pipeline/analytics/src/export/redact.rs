//! Keyed pseudonyms: the same value under the same key always gives the
//! same pseudonym, so a shared export can still be joined, while nobody
//! without the key can recover or test a value.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::error::ArrowError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Columns `--redact` may name, and the `events` columns they cover.
pub const REDACTABLE: &[(&str, &[&str])] = &[
    ("ip", &["ip_address"]),
    ("email", &["email"]),
    ("username", &["username"]),
    ("sub", &["user_sub"]),
    ("device", &["device_name", "user_agent"]),
];

/// Maps `--redact ip,email` to the columns to pseudonymize.
pub fn columns_for(names: &[String]) -> Result<Vec<&'static str>, String> {
    let mut cols = Vec::new();
    for n in names {
        let (_, c) = REDACTABLE
            .iter()
            .find(|(k, _)| k == &n.trim())
            .ok_or_else(|| format!("cannot redact {n:?}: choose from ip, email, username, sub, device"))?;
        cols.extend_from_slice(c);
    }
    Ok(cols)
}

/// `anon-` and 16 bytes of HMAC-SHA256(key, value) in hex.
pub fn pseudonym(key: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    format!("anon-{}", hex::encode(&mac.finalize().into_bytes()[..16]))
}

/// Replaces the values of `columns` with pseudonyms, and drops `raw`
/// (the original record holds every value in clear).
pub fn redact_batch(batch: &RecordBatch, columns: &[&str], key: &[u8]) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (i, field) in schema.fields().iter().enumerate() {
        let col = batch.column(i);
        let name = field.name().as_str();
        if name == "raw" {
            arrays.push(arrow::array::new_null_array(field.data_type(), batch.num_rows()));
        } else if columns.contains(&name) {
            let strings = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8)?;
            let strings = strings.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
            let out: StringArray = strings.iter().map(|v| v.map(|v| pseudonym(key, v))).collect();
            arrays.push(arrow::compute::cast(&(Arc::new(out) as ArrayRef), field.data_type())?);
        } else {
            arrays.push(col.clone());
        }
    }
    RecordBatch::try_new(schema, arrays)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key() {
        assert_eq!(pseudonym(b"k1", "jane"), pseudonym(b"k1", "jane"));
        assert_ne!(pseudonym(b"k1", "jane"), pseudonym(b"k2", "jane"));
        assert_ne!(pseudonym(b"k1", "jane"), pseudonym(b"k1", "john"));
        assert!(columns_for(&["ip".into(), "bogus".into()]).is_err());
    }
}
