//! Source positions as Delta `txn` actions.
//!
//! A commit carries, beside the files it adds, one `txn` action per source
//! key it advances, so the data and the position that covers it are one
//! atomic commit and Delta's own conflict check refuses two writers moving
//! the same key at once. A `txn` holds an app id and a 64-bit version, and
//! the table's snapshot keeps the newest version of every app id across
//! checkpoints and log cleanup.
//!
//! - **Offsets** (files: the next byte; Kafka: the next offset): one action,
//!   app id `authlake:<key>`, version = the offset.
//! - **Sequences** (Kinesis: decimal sequence numbers of up to 129 digits,
//!   beyond 64 bits): app id `authlake:<key>` carries a counter that rises
//!   by one with every commit that moves the key, so Delta sees a version
//!   that only grows. The sequence itself is kept in the same commit as
//!   app ids `authlake:<key>#s<i>`, 18 digits each (stored as `1` followed
//!   by the digits, so leading zeros survive), closed by a chunk of
//!   version 0; `authlake:<key>#sub` holds the sub-sequence inside a KPL
//!   aggregate plus one (0: none).

use deltalake_core::kernel::Transaction;

use crate::Checkpoint;

/// Digits of a sequence number per `txn` version.
const CHUNK_DIGITS: usize = 18;

/// The app id of a source key.
pub fn app_id(key: &str) -> String {
    format!("authlake:{key}")
}

fn chunk_id(key: &str, i: usize) -> String {
    format!("authlake:{key}#s{i}")
}

fn sub_id(key: &str) -> String {
    format!("authlake:{key}#sub")
}

/// How a key's position is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Offset,
    Sequence,
}

impl Shape {
    pub fn of(c: &Checkpoint) -> Self {
        if c.sequence.is_some() {
            Self::Sequence
        } else {
            Self::Offset
        }
    }
}

/// The actions that record `key` at `at`. `counter` is the key's counter
/// after this commit (sequences only).
pub fn to_txns(key: &str, at: &Checkpoint, counter: i64, now_ms: i64) -> Vec<Transaction> {
    let txn = |id: String, v: i64| Transaction::new_with_last_update(id, v, Some(now_ms));
    match (&at.sequence, at.offset) {
        (Some(seq), _) => {
            let mut out = vec![txn(app_id(key), counter)];
            let digits = seq.as_bytes();
            let chunks = digits.chunks(CHUNK_DIGITS).enumerate();
            for (i, chunk) in chunks {
                let text = format!("1{}", std::str::from_utf8(chunk).unwrap_or("0"));
                out.push(txn(chunk_id(key, i), text.parse().unwrap_or(0)));
            }
            out.push(txn(chunk_id(key, digits.len().div_ceil(CHUNK_DIGITS)), 0));
            out.push(txn(sub_id(key), at.sub_sequence.map_or(0, |s| s as i64 + 1)));
            out
        }
        (None, offset) => vec![txn(app_id(key), offset.unwrap_or(0) as i64)],
    }
}

/// Reads a key's position back through `version_of` (the snapshot's
/// newest version of an app id). Returns the position and the counter.
pub async fn read<F, Fut, E>(key: &str, shape: Shape, version_of: F) -> Result<Option<(Checkpoint, i64)>, E>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<i64>, E>>,
{
    let Some(main) = version_of(app_id(key)).await? else { return Ok(None) };
    if shape == Shape::Offset {
        return Ok(Some((Checkpoint::offset(main.max(0) as u64), main)));
    }
    let mut sequence = String::new();
    for i in 0.. {
        match version_of(chunk_id(key, i)).await? {
            Some(v) if v > 0 => sequence.push_str(v.to_string().get(1..).unwrap_or_default()),
            _ => break,
        }
    }
    let sub = version_of(sub_id(key)).await?.filter(|s| *s > 0).map(|s| s as u64 - 1);
    let at = Checkpoint { offset: None, sequence: Some(sequence), sub_sequence: sub };
    Ok(Some((at, main)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    async fn round_trip(key: &str, at: &Checkpoint, earlier: &[Vec<Transaction>]) -> Option<(Checkpoint, i64)> {
        let mut table: HashMap<String, i64> = HashMap::new();
        for t in earlier.iter().flatten().chain(&to_txns(key, at, 7, 0)) {
            table.insert(t.app_id.clone(), t.version);
        }
        let lookup = |id: String| {
            let v = table.get(&id).copied();
            async move { Ok::<_, ()>(v) }
        };
        read(key, Shape::of(at), lookup).await.unwrap()
    }

    #[tokio::test]
    async fn offsets_are_the_version() {
        let at = Checkpoint::offset(123_456);
        assert_eq!(round_trip("kafka:t/0", &at, &[]).await, Some((at, 123_456)));
    }

    #[tokio::test]
    async fn kinesis_sequences_beyond_64_bits_survive_with_leading_zeros_in_chunks() {
        // 56 digits, as Kinesis issues them, with a chunk starting in zeros.
        let seq = "49590338271490256608559692538361571095921575989136588898".to_string();
        let zeros = format!("{}000000000000000001{}", &seq[..18], &seq[36..]);
        for s in [seq, zeros, "7".to_string()] {
            let at = Checkpoint { offset: None, sequence: Some(s.clone()), sub_sequence: Some(0) };
            assert_eq!(round_trip("kinesis:s/shard-0", &at, &[]).await, Some((at, 7)), "{s}");
        }
    }

    #[tokio::test]
    async fn a_shorter_sequence_after_a_longer_one_ignores_the_stale_chunks() {
        let long = Checkpoint { offset: None, sequence: Some("9".repeat(60)), sub_sequence: None };
        let short = Checkpoint { offset: None, sequence: Some("12".into()), sub_sequence: None };
        let earlier = vec![to_txns("k", &long, 1, 0)];
        assert_eq!(round_trip("k", &short, &earlier).await, Some((short, 7)));
    }

    #[tokio::test]
    async fn an_unknown_key_has_no_position() {
        let lookup = |_: String| async { Ok::<Option<i64>, ()>(None) };
        assert_eq!(read("k", Shape::Sequence, lookup).await.unwrap(), None);
    }
}
