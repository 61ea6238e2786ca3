//! One Kinesis record → rows and dead letters.
//!
//! A plain record is one payload (any input format, CloudWatch Logs
//! subscription payloads included: the decoder unpacks them). A KPL
//! aggregate is taken apart and user record `i` is decoded as the payload
//! at sequence `<seq>#<i>`, so its `source` is
//! `kinesis:<stream>/<shard>@<seq>#<i>` (and `...#<i>#<n>` for record `n`
//! of a user record that itself holds several, such as a CloudTrail batch).

use authlake_core::position::PayloadPosition;
use authlake_ingest::decode::{dead_letter, decode_payload, Decoded, Defaults, PayloadContext};

use crate::kpl::{deaggregate, Payload};

/// Where a record was read and when it arrived.
pub struct RecordMeta<'a> {
    pub stream: &'a str,
    pub shard: &'a str,
    pub sequence: &'a str,
    /// `ApproximateArrivalTimestamp`, µs.
    pub arrival_micros: Option<i64>,
    pub ingest_micros: i64,
}

/// Decodes a record's data; an empty record is skipped.
pub fn decode_record(data: &[u8], meta: &RecordMeta<'_>, defaults: &Defaults) -> Decoded {
    match deaggregate(data) {
        Payload::Single([]) => Decoded { skipped: 1, ..Default::default() },
        Payload::Single(bytes) => decode_one(bytes, meta.sequence.to_string(), meta, defaults),
        Payload::Aggregated(records) => {
            let mut out = Decoded::default();
            for (i, r) in records.iter().enumerate() {
                let one = match r.data {
                    [] => Decoded { skipped: 1, ..Default::default() },
                    bytes => decode_one(bytes, format!("{}#{i}", meta.sequence), meta, defaults),
                };
                out.absorb(one);
            }
            out
        }
    }
}

/// CloudWatch Logs subscription payloads arrive gzip-compressed; more than
/// this unpacked is not a log payload but a bomb.
const MAX_UNPACKED: u64 = 64 * 1024 * 1024;

fn decode_one(bytes: &[u8], sequence: String, meta: &RecordMeta<'_>, defaults: &Defaults) -> Decoded {
    let position = PayloadPosition::Kinesis { stream: meta.stream.to_string(), shard: meta.shard.to_string(), sequence };
    let unpacked;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        match gunzip(bytes) {
            Ok(b) => {
                unpacked = b;
                &unpacked[..]
            }
            Err(reason) => {
                let dead = dead_letter(bytes, position.render(), reason, meta.ingest_micros);
                return Decoded { dead_letters: vec![dead], ..Default::default() };
            }
        }
    } else {
        bytes
    };
    let ctx = PayloadContext {
        position: &position,
        transport_time: meta.arrival_micros.map(|t| (t, "kinesis_arrival")),
        ingest_time: meta.ingest_micros,
        defaults,
    };
    decode_payload(bytes, &ctx)
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(MAX_UNPACKED + 1);
    reader.read_to_end(&mut out).map_err(|e| format!("gzip payload: {e}"))?;
    if out.len() as u64 > MAX_UNPACKED {
        return Err(format!("gzip payload unpacks to more than {MAX_UNPACKED} bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpl::aggregate;

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn meta() -> RecordMeta<'static> {
        RecordMeta { stream: "auth", shard: "shardId-000000000001", sequence: "4960", arrival_micros: Some(1_795_000_000_000_000), ingest_micros: 1_795_000_001_000_000 }
    }

    #[test]
    fn kpl_user_records_get_their_own_source() {
        let canonical = fixture("canonical/canonical.ndjson");
        let lines: Vec<&[u8]> = canonical.split(|b| *b == b'\n').filter(|l| !l.is_empty()).take(3).collect();
        let message = |l: &[u8]| serde_json::json!({"id": "1", "timestamp": 1_764_243_000_000i64, "message": String::from_utf8_lossy(l)});
        let data = serde_json::json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/cognito/userpool",
            "logStream": "s", "subscriptionFilters": ["authlake"], "logEvents": [message(lines[0]), message(lines[1])]});
        let control = serde_json::json!({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logEvents": []});
        let (logs, control) = (gzip(data.to_string().as_bytes()), gzip(control.to_string().as_bytes()));
        let records = [("a", lines[0]), ("b", lines[1]), ("c", &b"{not json"[..]), ("d", &logs[..]), ("e", lines[2]), ("f", &control[..])];
        let out = decode_record(&aggregate(&records), &meta(), &Defaults::default());
        let sources: Vec<&str> = out.events.iter().map(|e| e.source.as_str()).collect();
        assert_eq!(&sources[..2], ["kinesis:auth/shardId-000000000001@4960#0", "kinesis:auth/shardId-000000000001@4960#1"]);
        assert!(sources.contains(&"kinesis:auth/shardId-000000000001@4960#4"));
        // The CloudWatch Logs payload inside the aggregate: one row per log event.
        let reasons: Vec<(&str, &str)> = out.dead_letters.iter().map(|d| (d.source.as_str(), d.reason.as_str())).collect();
        assert_eq!(sources.iter().filter(|s| s.starts_with("kinesis:auth/shardId-000000000001@4960#3#")).count(), 2, "{sources:?} {reasons:?}");
        assert_eq!(out.skipped, 1, "the control message");
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert_eq!(reasons[0].0, "kinesis:auth/shardId-000000000001@4960#2");
    }

    #[test]
    fn plain_records_and_empty_ones() {
        let canonical = fixture("canonical/canonical.ndjson");
        let line = canonical.split(|b| *b == b'\n').next().unwrap();
        let out = decode_record(line, &meta(), &Defaults::default());
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].source, "kinesis:auth/shardId-000000000001@4960");
        let broken_gzip = decode_record(&[0x1f, 0x8b, 8, 0, 1, 2, 3], &meta(), &Defaults::default());
        assert_eq!(broken_gzip.dead_letters.len(), 1);
        assert!(broken_gzip.dead_letters[0].reason.contains("gzip"), "{:?}", broken_gzip.dead_letters[0].reason);
        let empty = decode_record(b"", &meta(), &Defaults::default());
        assert_eq!((empty.events.len(), empty.skipped), (0, 1));
    }
}
