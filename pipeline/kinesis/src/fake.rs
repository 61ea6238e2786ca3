//! An in-memory Kinesis for tests: shards with parents, records, and
//! faults the emulators cannot produce (expired iterators, throttling).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use crate::api::{ApiError, KinesisApi, KinesisRecord, RecordsPage, StartFrom};
use crate::lineage::Shard;

#[derive(Default)]
pub struct FakeKinesis {
    pub shards: Vec<Shard>,
    pub records: Mutex<BTreeMap<String, Vec<Vec<u8>>>>,
    /// GetRecords calls (counted from 1) that fail this way.
    pub expire_calls: HashSet<usize>,
    pub throttle_calls: HashSet<usize>,
    pub calls: Mutex<usize>,
    /// Records per GetRecords answer.
    pub page: usize,
}

fn sequence(shard: &str, i: usize) -> String {
    // Sequence numbers grow within a shard; the shard is part of the text.
    format!("{}{i:012}", &shard[shard.len() - 3..])
}

impl KinesisApi for FakeKinesis {
    async fn list_shards(&self, _stream: &str) -> Result<Vec<Shard>, ApiError> {
        Ok(self.shards.clone())
    }

    async fn shard_iterator(&self, _stream: &str, shard: &str, from: &StartFrom) -> Result<String, ApiError> {
        let at = match from {
            StartFrom::TrimHorizon => 0,
            StartFrom::Latest => self.records.lock().unwrap().get(shard).map_or(0, Vec::len),
            StartFrom::AtTimestamp(_) => 0,
            StartFrom::AfterSequence(s) => s[3..].parse::<usize>().unwrap() + 1,
        };
        Ok(format!("{shard}|{at}"))
    }

    async fn get_records(&self, iterator: &str, limit: i32) -> Result<RecordsPage, ApiError> {
        let call = {
            let mut c = self.calls.lock().unwrap();
            *c += 1;
            *c
        };
        if self.expire_calls.contains(&call) {
            return Err(ApiError::ExpiredIterator);
        }
        if self.throttle_calls.contains(&call) {
            return Err(ApiError::Throttled);
        }
        let (shard, at) = iterator.split_once('|').unwrap();
        let at: usize = at.parse().unwrap();
        let records = self.records.lock().unwrap();
        let all = records.get(shard).map(Vec::as_slice).unwrap_or_default();
        let end = all.len().min(at + self.page.max(1).min(limit as usize));
        let page: Vec<KinesisRecord> = (at..end).map(|i| KinesisRecord { sequence: sequence(shard, i), data: all[i].clone(), arrival_micros: Some(1_795_000_000_000_000) }).collect();
        let closed = self.shards.iter().any(|s| s.id == shard && s.closed);
        let next = if closed && end == all.len() { None } else { Some(format!("{shard}|{end}")) };
        Ok(RecordsPage { records: page, next_iterator: next, millis_behind_latest: Some(((all.len() - end) * 1000) as i64) })
    }
}
