//! Identical records within one object stay distinct events.
//!
//! A record without an id of its own gets a content id
//! ([`authlake_core::position::content_event_id`]): the same record has the
//! same id in any copy, so a re-delivery is a duplicate. Two identical
//! records in one object (a trigger function that logged the same event
//! twice, a user signing in twice with nothing in the record to tell the
//! two apart) are two events: the first keeps the content id, the `n`th
//! repeat gets `<id>.<n>`, numbered in the order the object holds them.
//!
//! An object is what the row's source position names: a file or S3 object
//! (`file:<path>@<offset>`, `s3://<bucket>/<key>@<offset>`), a message or record (`kafka:...@<offset>`,
//! `kinesis:...@<seq>`, with `#<n>` inside it). Counts are kept for the
//! objects being read. A file whose reading resumes in its middle (a
//! committed position past its start) first counts the repeats the lake
//! already holds from it, whoever wrote or rewrote them: the first such
//! file of a run reads the `event_id` and `source` columns of the events
//! table once, for every object.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use authlake_core::partition::PartitionKey;
use authlake_core::position::{nth_occurrence, occurrence_of, CONTENT_ID_PREFIX};
use authlake_lake::commit::LakeState;
use authlake_lake::{Lake, LakeError, TableKind};

use authlake_lake::ranges::read_columns;

/// Objects whose counts are kept: the files of a directory are read one
/// after another, and a stream's message is never split across chunks.
const OBJECTS_KEPT: usize = 256;

/// Repeats seen per object, per content id.
#[derive(Default)]
pub struct Occurrences {
    counts: HashMap<String, HashMap<String, u32>>,
    /// Repeats in the lake per file or S3 object, read once when the first
    /// resumed object needs them.
    in_lake: Option<HashMap<String, HashMap<String, u32>>>,
    /// Objects in the order first seen, the oldest forgotten first.
    order: VecDeque<String>,
}

impl Occurrences {
    /// Renames the repeats among `batches` (rows in the object's order).
    /// `resumed` says whether an object's reading started past its start
    /// in this run (its earlier rows are then counted from the lake).
    pub async fn renumber(
        &mut self,
        batches: &mut [(PartitionKey, RecordBatch)],
        resumed: impl Fn(&str) -> bool,
        lake: &Lake,
        state: &LakeState,
    ) -> Result<(), LakeError> {
        for (_, batch) in batches.iter_mut() {
            let (Some(ids), Some(sources)) = (column(batch, "event_id"), column(batch, "source")) else { continue };
            let mut renamed: Vec<(usize, String)> = Vec::new();
            for i in 0..batch.num_rows() {
                if ids.is_null(i) || !ids.value(i).starts_with(CONTENT_ID_PREFIX) || sources.is_null(i) {
                    continue;
                }
                let Some((base, 0)) = occurrence_of(ids.value(i)) else { continue };
                let object = object_of(sources.value(i));
                if !self.counts.contains_key(object) {
                    let before = match resumed(object) {
                        true => {
                            if self.in_lake.is_none() {
                                self.in_lake = Some(committed_counts(lake, state).await?);
                            }
                            self.in_lake.as_mut().and_then(|m| m.remove(object)).unwrap_or_default()
                        }
                        false => HashMap::new(),
                    };
                    self.remember(object, before);
                }
                let seen = self.counts.get_mut(object).expect("inserted above").entry(base.to_string()).or_insert(0);
                if *seen > 0 {
                    renamed.push((i, nth_occurrence(base, *seen)));
                }
                *seen += 1;
            }
            if !renamed.is_empty() {
                let with_repeats_renamed = with_ids(batch, ids, renamed);
                *batch = with_repeats_renamed;
            }
        }
        Ok(())
    }

    fn remember(&mut self, object: &str, counts: HashMap<String, u32>) {
        if self.order.len() >= OBJECTS_KEPT {
            if let Some(oldest) = self.order.pop_front() {
                self.counts.remove(&oldest);
            }
        }
        self.order.push_back(object.to_string());
        self.counts.insert(object.to_string(), counts);
    }
}

/// The object a `source` value names: a file's path (`file:<path>`), a
/// message or record (`kafka:<topic>/<partition>@<offset>`).
pub fn object_of(source: &str) -> &str {
    let Some(at) = source.rfind('@') else { return source };
    if source.starts_with("file:") || source.starts_with("s3://") {
        return &source[..at];
    }
    match source[at..].find('#') {
        Some(hash) => &source[..at + hash],
        None => source,
    }
}

/// Repeats of each content id the lake holds, per file or S3 object.
async fn committed_counts(lake: &Lake, state: &LakeState) -> Result<HashMap<String, HashMap<String, u32>>, LakeError> {
    let mut counts: HashMap<String, HashMap<String, u32>> = HashMap::new();
    let files = state.live.values().filter(|f| f.table == TableKind::Events);
    for f in files {
        // A file removed since the snapshot: its rows are in its replacements.
        read_columns(lake, &f.path, f.bytes, &["event_id", "source"], |batch| {
            let (Some(ids), Some(sources)) = (column(batch, "event_id"), column(batch, "source")) else { return };
            for i in 0..batch.num_rows() {
                if ids.is_null(i) || sources.is_null(i) || !ids.value(i).starts_with(CONTENT_ID_PREFIX) {
                    continue;
                }
                let source = sources.value(i);
                if !(source.starts_with("file:") || source.starts_with("s3://")) {
                    continue;
                }
                if let Some((base, n)) = occurrence_of(ids.value(i)) {
                    let c = counts.entry(object_of(source).to_string()).or_default().entry(base.to_string()).or_insert(0);
                    *c = (*c).max(n + 1);
                }
            }
        })
        .await?;
    }
    tracing::debug!(objects = counts.len(), "repeats in the lake counted for resumed objects");
    Ok(counts)
}

fn column<'b>(batch: &'b RecordBatch, name: &str) -> Option<&'b StringArray> {
    batch.column_by_name(name)?.as_string_opt::<i32>()
}

fn with_ids(batch: &RecordBatch, ids: &StringArray, renamed: Vec<(usize, String)>) -> RecordBatch {
    let mut values: Vec<Option<&str>> = ids.iter().collect();
    for (i, id) in &renamed {
        values[*i] = Some(id);
    }
    let ids: ArrayRef = Arc::new(StringArray::from(values));
    let at = batch.schema().index_of("event_id").expect("checked by the caller");
    let mut columns = batch.columns().to_vec();
    columns[at] = ids;
    RecordBatch::try_new(batch.schema(), columns).expect("the same schema, one column replaced by one of its length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_files_or_messages() {
        assert_eq!(object_of("file:/d/a@b.json@120"), "file:/d/a@b.json");
        assert_eq!(object_of("file:/d/a.json@120#3"), "file:/d/a.json");
        assert_eq!(object_of("s3://b/AWSLogs/x.json.gz@0#2"), "s3://b/AWSLogs/x.json.gz");
        assert_eq!(object_of("kafka:t/2@9#1"), "kafka:t/2@9");
        assert_eq!(object_of("kafka:t/2@9"), "kafka:t/2@9");
        assert_eq!(object_of("kinesis:s/shardId-0@4955#0"), "kinesis:s/shardId-0@4955");
    }
}
