//! Messages as read, before decoding: the reader thread only copies
//! payloads here; [`RawChunk::decode`] runs on the blocking pool (see
//! `authlake_ingest::source::ordered`), several chunks at a time.

use authlake_core::position::PayloadPosition;
use authlake_ingest::decode::{Decoder, Defaults, PayloadContext};
use authlake_lake::Checkpoint;
use authlake_ingest::source::Chunk;

use crate::spec::position_key;

/// Hand messages over at least this often (bytes or messages).
const CHUNK_BYTES: u64 = 4 * 1024 * 1024;
const CHUNK_MESSAGES: u64 = 5_000;

/// One message: where it came from and where its payload ends in `data`.
struct RawMessage {
    topic: usize,
    partition: i32,
    offset: i64,
    end: usize,
    /// Broker timestamp, µs.
    transport_time: Option<i64>,
    ingest_time: i64,
}

/// Messages copied off the consumer, waiting to be decoded together.
#[derive(Default)]
pub struct RawChunk {
    topics: Vec<String>,
    data: Vec<u8>,
    messages: Vec<RawMessage>,
    /// Offsets that were gone from the topic (see `Commit::gaps`).
    pub gaps: Vec<String>,
}

impl RawChunk {
    /// Copies one message's payload in.
    pub fn push(&mut self, topic: &str, partition: i32, offset: i64, transport_time: Option<i64>, ingest_time: i64, payload: &[u8]) {
        let topic = match self.topics.iter().position(|t| t == topic) {
            Some(i) => i,
            None => {
                self.topics.push(topic.to_string());
                self.topics.len() - 1
            }
        };
        self.data.extend_from_slice(payload);
        self.messages.push(RawMessage { topic, partition, offset, end: self.data.len(), transport_time, ingest_time });
    }

    /// Enough to hand over.
    pub fn is_full(&self) -> bool {
        self.data.len() as u64 >= CHUNK_BYTES || self.messages.len() as u64 >= CHUNK_MESSAGES
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.gaps.is_empty()
    }

    /// Decodes every message into one chunk, with the position after the
    /// last message of each partition, and seals it into Arrow batches.
    pub fn decode(self, defaults: &Defaults) -> Chunk {
        let mut chunk = Chunk { gaps: self.gaps, ..Default::default() };
        let mut decoder = Decoder::default();
        // Next offset per (topic, partition), in first-seen order.
        let mut next: Vec<((usize, i32), i64)> = Vec::new();
        // One position, moved along (not a topic copy per message).
        let mut position = PayloadPosition::Kafka { topic: String::new(), partition: -1, offset: 0 };
        let mut start = 0;
        for m in &self.messages {
            let bytes = &self.data[start..m.end];
            start = m.end;
            chunk.payloads += 1;
            chunk.bytes += bytes.len() as u64;
            match next.iter_mut().find(|(k, _)| *k == (m.topic, m.partition)) {
                Some(n) => n.1 = m.offset + 1,
                None => next.push(((m.topic, m.partition), m.offset + 1)),
            }
            if bytes.is_empty() {
                decoder.skip();
                continue;
            }
            if let PayloadPosition::Kafka { topic, partition, offset } = &mut position {
                topic.clone_from(&self.topics[m.topic]);
                (*partition, *offset) = (m.partition, m.offset);
            }
            // Rows go straight into the chunk's Arrow builders.
            let pctx = PayloadContext {
                position: &position,
                transport_time: m.transport_time.map(|us| (us, "kafka_timestamp")),
                ingest_time: m.ingest_time,
                defaults,
            };
            decoder.payload(bytes, &pctx);
        }
        chunk.positions = next
            .into_iter()
            .map(|((topic, partition), n)| (position_key(&self.topics[topic], partition), Checkpoint::offset(n as u64)))
            .collect();
        chunk.decoded = decoder.finish();
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    fn line(id: &str) -> String {
        format!(r#"{{"event_id":"{id}","event_time":"2026-11-10T10:00:00Z","event_type":"sign_in","outcome":"success","user_pool_id":"p","username":"u"}}"#)
    }

    #[test]
    fn decodes_every_message_with_its_own_position_and_the_last_offset_per_partition() {
        let mut raw = RawChunk::default();
        raw.push("auth", 0, 10, Some(1_000_000), 5, line("a").as_bytes());
        raw.push("auth", 1, 7, None, 5, line("b").as_bytes());
        raw.push("auth", 0, 11, None, 5, b"");
        raw.push("other", 0, 3, None, 5, b"not json");
        raw.gaps.push("kafka:auth/1@1..2".into());
        assert!(!raw.is_full() && !raw.is_empty());
        let chunk = raw.decode(&Defaults::default());
        assert_eq!(chunk.payloads, 4);
        assert_eq!(chunk.decoded.skipped, 1);
        assert_eq!(chunk.decoded.dead_letters.len(), 1);
        assert_eq!(chunk.gaps, ["kafka:auth/1@1..2"]);
        let positions: Vec<(String, Option<u64>)> = chunk.positions.iter().map(|(k, c)| (k.clone(), c.offset)).collect();
        assert_eq!(
            positions,
            [("kafka:auth/0".to_string(), Some(12)), ("kafka:auth/1".to_string(), Some(8)), ("kafka:other/0".to_string(), Some(4))]
        );
        let rows: usize = chunk.decoded.batches.iter().map(|(_, b)| b.num_rows()).sum();
        assert_eq!(rows, 2);
        let sources: Vec<String> = chunk
            .decoded
            .batches
            .iter()
            .flat_map(|(_, b)| {
                let col = b.column_by_name("source").unwrap();
                let s = arrow::array::cast::as_string_array(col.as_ref());
                (0..s.len()).map(|i| s.value(i).to_string()).collect::<Vec<_>>()
            })
            .collect();
        assert!(sources.contains(&"kafka:auth/0@10".to_string()) && sources.contains(&"kafka:auth/1@7".to_string()), "{sources:?}");
        assert!(chunk.decoded.dead_letters[0].source.contains("kafka:other/0@3"), "{}", chunk.decoded.dead_letters[0].source);
    }
}
