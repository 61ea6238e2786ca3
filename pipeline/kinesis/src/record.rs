//! One Kinesis record → rows and dead letters.
//!
//! A plain record is one payload (any input format, CloudWatch Logs
//! subscription payloads included: the decoder unpacks them). A KPL
//! aggregate is taken apart and user record `i` is decoded as the payload
//! at sequence `<seq>#<i>`, so its `source` is
//! `kinesis:<stream>/<shard>@<seq>#<i>` (and `...#<i>#<n>` for record `n`
//! of a user record that itself holds several, such as a CloudTrail batch).

use authlake_core::position::PayloadPosition;
use authlake_ingest::decode::{Decoder, Defaults, PayloadContext};
use authlake_lake::Checkpoint;
use authlake_ingest::source::Chunk;

use crate::api::KinesisRecord;
use crate::kpl::{deaggregate, Payload};
use crate::reader::position_key;

/// Where a record was read and when it arrived.
pub struct RecordMeta<'a> {
    pub stream: &'a str,
    pub shard: &'a str,
    pub sequence: &'a str,
    /// `ApproximateArrivalTimestamp`, µs.
    pub arrival_micros: Option<i64>,
    pub ingest_micros: i64,
}

/// The records of one GetRecords page, as read: the reader hands them to
/// the decode stage (`authlake_ingest::source::ordered`) and goes on.
pub struct RawPage {
    pub stream: String,
    pub shard: String,
    pub records: Vec<KinesisRecord>,
    pub ingest_micros: i64,
}

impl RawPage {
    /// Decodes every record into one chunk, with the shard's position
    /// after its last record.
    pub fn decode(self, defaults: &Defaults) -> Chunk {
        let mut decoder = Decoder::default();
        let mut chunk = Chunk::default();
        for r in &self.records {
            let meta = RecordMeta {
                stream: &self.stream,
                shard: &self.shard,
                sequence: &r.sequence,
                arrival_micros: r.arrival_micros,
                ingest_micros: self.ingest_micros,
            };
            decode_record(&mut decoder, &r.data, &meta, defaults);
            chunk.payloads += 1;
            chunk.bytes += r.data.len() as u64;
        }
        if let Some(last) = self.records.last() {
            let at = Checkpoint { sequence: Some(last.sequence.clone()), ..Default::default() };
            chunk.positions.push((position_key(&self.stream, &self.shard), at));
        }
        chunk.decoded = decoder.finish();
        chunk
    }
}

/// Decodes a record's data into `decoder`; an empty record is skipped.
/// A gzip payload (CloudWatch Logs subscriptions) is unpacked by the
/// decoder, under its one size cap.
pub fn decode_record(decoder: &mut Decoder, data: &[u8], meta: &RecordMeta<'_>, defaults: &Defaults) {
    match deaggregate(data) {
        Payload::Single([]) => decoder.skip(),
        Payload::Single(bytes) => decode_one(decoder, bytes, meta.sequence.to_string(), meta, defaults),
        Payload::Aggregated(records) => {
            for (i, r) in records.iter().enumerate() {
                match r.data {
                    [] => decoder.skip(),
                    bytes => decode_one(decoder, bytes, format!("{}#{i}", meta.sequence), meta, defaults),
                }
            }
        }
    }
}

fn decode_one(decoder: &mut Decoder, bytes: &[u8], sequence: String, meta: &RecordMeta<'_>, defaults: &Defaults) {
    let position = PayloadPosition::Kinesis { stream: meta.stream.to_string(), shard: meta.shard.to_string(), sequence };
    let ctx = PayloadContext {
        position: &position,
        transport_time: meta.arrival_micros.map(|t| (t, "kinesis_arrival")),
        ingest_time: meta.ingest_micros,
        defaults,
    };
    decoder.payload(bytes, &ctx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpl::aggregate;
    use arrow::array::AsArray;

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// Decodes one record; its rows' `source` values in row order, and
    /// what else it decoded into.
    fn decode(data: &[u8]) -> (Vec<String>, authlake_ingest::decode::Decoded) {
        let mut decoder = Decoder::default();
        decode_record(&mut decoder, data, &meta(), &Defaults::default());
        let out = decoder.finish();
        let mut sources = Vec::new();
        for (_, b) in &out.batches {
            let col = b.column_by_name("source").unwrap().as_string::<i32>();
            sources.extend(col.iter().map(|s| s.unwrap().to_string()));
        }
        (sources, out)
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
        let (sources, out) = decode(&aggregate(&records));
        let mut sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        sources.sort();
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
        let (sources, _) = decode(line);
        assert_eq!(sources, ["kinesis:auth/shardId-000000000001@4960"]);
        let (rows, broken_gzip) = decode(&[0x1f, 0x8b, 8, 0, 1, 2, 3]);
        assert!(rows.is_empty());
        assert_eq!(broken_gzip.dead_letters.len(), 1);
        assert!(broken_gzip.dead_letters[0].reason.contains("gzip"), "{:?}", broken_gzip.dead_letters[0].reason);
        let (rows, empty) = decode(b"");
        assert_eq!((rows.len(), empty.skipped), (0, 1));
    }
}
