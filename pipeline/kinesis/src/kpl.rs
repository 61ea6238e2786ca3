//! KPL aggregation: one Kinesis record carrying many user records.
//!
//! Layout: the magic `F3 89 9A C2`, a protobuf `AggregatedRecord`, and the
//! MD5 of that protobuf. As in the KCL, a record without the magic, too
//! short, with a bad MD5 or an unparseable body is *not* an aggregate: it
//! is returned whole, so the decoder sees it (and dead-letters it if it is
//! garbage) instead of it being dropped.
//!
//! ```text
//! message AggregatedRecord {
//!   repeated string partition_key_table = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes data = 3;
//!   repeated Tag tags = 4;
//! }
//! ```

use md5::{Digest, Md5};

pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const MD5_LEN: usize = 16;

/// One user record inside an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord<'a> {
    pub partition_key: &'a str,
    pub data: &'a [u8],
}

/// What a Kinesis record holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// A plain record (or one that only looks aggregated).
    Single(&'a [u8]),
    /// The user records of a KPL aggregate, in order (sub-sequence numbers
    /// are their indexes).
    Aggregated(Vec<UserRecord<'a>>),
}

/// Takes a Kinesis record's data apart.
pub fn deaggregate(data: &[u8]) -> Payload<'_> {
    if data.len() < MAGIC.len() + MD5_LEN || data[..4] != MAGIC {
        return Payload::Single(data);
    }
    let (body, digest) = data[4..].split_at(data.len() - 4 - MD5_LEN);
    if Md5::digest(body).as_slice() != digest {
        return Payload::Single(data);
    }
    match parse_aggregate(body) {
        Some(records) => Payload::Aggregated(records),
        None => Payload::Single(data),
    }
}

fn parse_aggregate(mut body: &[u8]) -> Option<Vec<UserRecord<'_>>> {
    let mut keys: Vec<&str> = Vec::new();
    let mut raw: Vec<(u64, &[u8])> = Vec::new();
    while !body.is_empty() {
        let (field, wire) = split_key(read_varint(&mut body)?);
        match (field, wire) {
            (1, 2) => keys.push(std::str::from_utf8(read_bytes(&mut body)?).ok()?),
            (3, 2) => raw.push(parse_record(read_bytes(&mut body)?)?),
            _ => skip(&mut body, wire)?,
        }
    }
    raw.into_iter()
        .map(|(key, data)| Some(UserRecord { partition_key: keys.get(usize::try_from(key).ok()?)?, data }))
        .collect()
}

fn parse_record(mut body: &[u8]) -> Option<(u64, &[u8])> {
    let (mut key, mut data) = (None, None);
    while !body.is_empty() {
        let (field, wire) = split_key(read_varint(&mut body)?);
        match (field, wire) {
            (1, 0) => key = Some(read_varint(&mut body)?),
            (3, 2) => data = Some(read_bytes(&mut body)?),
            _ => skip(&mut body, wire)?,
        }
    }
    Some((key?, data?))
}

fn split_key(key: u64) -> (u64, u8) {
    (key >> 3, (key & 7) as u8)
}

fn read_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn read_bytes<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(read_varint(buf)?).ok()?;
    if len > buf.len() {
        return None;
    }
    let (out, rest) = buf.split_at(len);
    *buf = rest;
    Some(out)
}

fn skip(buf: &mut &[u8], wire: u8) -> Option<()> {
    match wire {
        0 => read_varint(buf).map(|_| ()),
        1 | 5 => {
            let n = if wire == 1 { 8 } else { 4 };
            *buf = buf.get(n..)?;
            Some(())
        }
        2 => read_bytes(buf).map(|_| ()),
        _ => None,
    }
}

/// Builds a KPL aggregate of `(partition key, data)` records.
pub fn aggregate(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut keys: Vec<&str> = Vec::new();
    let mut body = Vec::new();
    for (key, _) in records {
        if !keys.contains(key) {
            keys.push(key);
            put_bytes(&mut body, 1, key.as_bytes());
        }
    }
    for (key, data) in records {
        let mut rec = Vec::new();
        put_varint(&mut rec, 1 << 3);
        put_varint(&mut rec, keys.iter().position(|k| k == key).expect("key listed") as u64);
        put_bytes(&mut rec, 3, data);
        put_bytes(&mut body, 3, &rec);
    }
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(Md5::digest(&body).as_slice());
    out
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_come_apart_in_order() {
        let a = aggregate(&[("u1", b"{\"a\":1}"), ("u2", b"{\"b\":2}"), ("u1", b"")]);
        let Payload::Aggregated(r) = deaggregate(&a) else { panic!("not an aggregate") };
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].partition_key, r[0].data), ("u1", &b"{\"a\":1}"[..]));
        assert_eq!((r[1].partition_key, r[1].data), ("u2", &b"{\"b\":2}"[..]));
        assert_eq!((r[2].partition_key, r[2].data), ("u1", &b""[..]));
    }

    #[test]
    fn plain_or_damaged_records_stay_whole() {
        let plain = b"{\"eventName\":\"InitiateAuth\"}";
        assert_eq!(deaggregate(plain), Payload::Single(plain));
        let mut bad_md5 = aggregate(&[("k", b"x")]);
        let last = bad_md5.len() - 1;
        bad_md5[last] ^= 1;
        assert_eq!(deaggregate(&bad_md5), Payload::Single(&bad_md5[..]));
        assert!(matches!(deaggregate(&MAGIC), Payload::Single(_)));
    }

    #[test]
    fn a_body_that_lies_about_lengths_is_not_an_aggregate() {
        // Valid MD5 over a body whose length prefix runs past its end.
        let body = [0x1A, 0xFF, 0x01, b'x'];
        let mut rec = MAGIC.to_vec();
        rec.extend_from_slice(&body);
        rec.extend_from_slice(Md5::digest(body).as_slice());
        assert_eq!(deaggregate(&rec), Payload::Single(&rec[..]));
    }

    #[test]
    fn a_record_pointing_past_the_key_table_is_not_an_aggregate() {
        let mut body = Vec::new();
        put_bytes(&mut body, 1, b"only");
        let mut r = Vec::new();
        put_varint(&mut r, 1 << 3);
        put_varint(&mut r, 7);
        put_bytes(&mut r, 3, b"d");
        put_bytes(&mut body, 3, &r);
        let mut rec = MAGIC.to_vec();
        rec.extend_from_slice(&body);
        rec.extend_from_slice(Md5::digest(&body).as_slice());
        assert_eq!(deaggregate(&rec), Payload::Single(&rec[..]));
    }
}
