//! Rows straight into Arrow columns, grouped by partition.
//!
//! Decoders append borrowed rows ([`RowRef`]) to per-partition column
//! builders ([`PartitionedRows`]) on the decoding threads, so no owned row
//! is built per record and the run loop only routes finished batches.

use std::collections::HashMap;
use std::ops::{Index, IndexMut};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder};

use super::{kind_index, slot, FlagSlot, IntSlot, Kind, OptSlot, TextSlot, TimeSlot, COLUMNS, FLAGS, INTS, OPT, TEXT, TIMES};
use crate::event::{category_of, AuthEvent};
use crate::partition::PartitionKey;
use crate::schema::events_file_schema;

/// One row, borrowed: what a decoder hands the column builders. Values
/// are grouped by kind; [`super::slot`] says where each column is
/// (`row[slot::username]`).
#[derive(Debug, Clone, Default)]
pub struct RowRef<'a> {
    pub text: [&'a str; TEXT],
    /// µs since the epoch.
    pub times: [i64; TIMES],
    pub opt: [Option<&'a str>; OPT],
    pub flags: [Option<bool>; FLAGS],
    pub ints: [Option<i64>; INTS],
}

macro_rules! slot_index {
    ($slot:ty, $field:ident, $value:ty) => {
        impl<'a> Index<$slot> for RowRef<'a> {
            type Output = $value;
            fn index(&self, s: $slot) -> &$value {
                &self.$field[s.0]
            }
        }
        impl<'a> IndexMut<$slot> for RowRef<'a> {
            fn index_mut(&mut self, s: $slot) -> &mut $value {
                &mut self.$field[s.0]
            }
        }
    };
}
slot_index!(TextSlot, text, &'a str);
slot_index!(TimeSlot, times, i64);
slot_index!(OptSlot, opt, Option<&'a str>);
slot_index!(FlagSlot, flags, Option<bool>);
slot_index!(IntSlot, ints, Option<i64>);

impl RowRef<'_> {
    /// The partition the row belongs to.
    pub fn partition(&self) -> (&'static str, i32) {
        (category_of(self[slot::event_type]), self[slot::event_time].div_euclid(86_400_000_000) as i32)
    }
}

/// Column builders of the events file schema.
pub struct EventColumns {
    text: Vec<StringBuilder>,
    times: Vec<TimestampMicrosecondBuilder>,
    opt: Vec<StringBuilder>,
    flags: Vec<BooleanBuilder>,
    ints: Vec<Int64Builder>,
    rows: usize,
    /// String bytes appended so far (memory accounting).
    bytes: usize,
}

impl Default for EventColumns {
    fn default() -> Self {
        Self::new()
    }
}

impl EventColumns {
    pub fn new() -> Self {
        Self {
            text: (0..TEXT).map(|_| StringBuilder::new()).collect(),
            times: (0..TIMES).map(|_| TimestampMicrosecondBuilder::new()).collect(),
            opt: (0..OPT).map(|_| StringBuilder::new()).collect(),
            flags: (0..FLAGS).map(|_| BooleanBuilder::new()).collect(),
            ints: (0..INTS).map(|_| Int64Builder::new()).collect(),
            rows: 0,
            bytes: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Approximate memory held, bytes.
    pub fn memory(&self) -> usize {
        self.bytes + self.rows * (std::mem::size_of::<RowRef>() / 2)
    }

    pub fn push(&mut self, r: &RowRef<'_>) {
        for (b, v) in self.text.iter_mut().zip(r.text) {
            b.append_value(v);
            self.bytes += v.len();
        }
        for (b, v) in self.times.iter_mut().zip(r.times) {
            b.append_value(v);
        }
        for (b, v) in self.opt.iter_mut().zip(r.opt) {
            b.append_option(v);
            self.bytes += v.map_or(0, str::len);
        }
        for (b, v) in self.flags.iter_mut().zip(r.flags) {
            b.append_option(v);
        }
        for (b, v) in self.ints.iter_mut().zip(r.ints) {
            b.append_option(v);
        }
        self.rows += 1;
    }

    /// The rows so far as one batch; the builders start over empty.
    pub fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = (0..COLUMNS.len())
            .map(|i| -> ArrayRef {
                let at = kind_index(i);
                match COLUMNS[i].kind {
                    Kind::Text => Arc::new(self.text[at].finish()),
                    Kind::Time => Arc::new(self.times[at].finish().with_timezone("UTC")),
                    Kind::Opt => Arc::new(self.opt[at].finish()),
                    Kind::Flag => Arc::new(self.flags[at].finish()),
                    Kind::Int => Arc::new(self.ints[at].finish()),
                }
            })
            .collect();
        self.rows = 0;
        self.bytes = 0;
        // Every push appends to every builder, and the schema is derived
        // from the same declaration as the builders.
        RecordBatch::try_new(events_file_schema(), columns).expect("builders match the events file schema")
    }
}

/// Rows grouped by partition, each partition's in its own builders.
#[derive(Default)]
pub struct PartitionedRows {
    /// In order of first row. A decoded block spans a few partitions, so
    /// finding a row's by comparing keys costs less than hashing each
    /// row's key (SipHash was 1.3% of a canonical ingest's instructions).
    parts: Vec<((&'static str, i32), EventColumns)>,
    /// Where each key is in `parts`, for blocks of many partitions.
    index: HashMap<(&'static str, i32), usize>,
    rows: usize,
}

/// Up to this many partitions, a row's is found by comparing keys; past
/// it, through the index.
const SCAN_PARTS: usize = 16;

impl PartitionedRows {
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn push(&mut self, r: &RowRef<'_>) {
        let key = r.partition();
        let found = match self.parts.len() {
            0..=SCAN_PARTS => self.parts.iter().position(|(k, _)| *k == key),
            _ => self.index.get(&key).copied(),
        };
        let at = found.unwrap_or_else(|| {
            self.index.insert(key, self.parts.len());
            self.parts.push((key, EventColumns::new()));
            self.parts.len() - 1
        });
        self.parts[at].1.push(r);
        self.rows += 1;
    }

    pub fn push_event(&mut self, e: &AuthEvent) {
        self.push(&RowRef::of(e));
    }

    /// One batch per partition; empties the builders.
    pub fn finish(&mut self) -> Vec<(PartitionKey, RecordBatch)> {
        self.rows = 0;
        self.index.clear();
        let mut out = Vec::with_capacity(self.parts.len());
        for ((category, day), mut cols) in self.parts.drain(..) {
            out.push((PartitionKey::new(category, day), cols.finish()));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Int64Type, TimestampMicrosecondType};

    #[test]
    fn rows_land_in_their_partitions_with_every_value() {
        let day = 86_400_000_000i64;
        let rows = [
            AuthEvent {
                event_id: "a".into(),
                event_type: "sign_in".into(),
                event_time: 3 * day + 5,
                outcome: Some("success".into()),
                mfa_passed: Some(true),
                token_size_bytes: Some(9000),
                raw: Some("{}".into()),
                ..Default::default()
            },
            AuthEvent { event_id: "b".into(), event_type: "user_migration".into(), event_time: -1, ..Default::default() },
            AuthEvent { event_id: "c".into(), event_type: "sign_out".into(), event_time: 3 * day, ..Default::default() },
        ];
        let mut parts = PartitionedRows::default();
        rows.iter().for_each(|e| parts.push_event(e));
        assert_eq!(parts.len(), 3);
        let batches = parts.finish();
        assert!(parts.is_empty());
        let keys: Vec<_> = batches.iter().map(|(k, b)| (k.dir(), b.num_rows())).collect();
        assert_eq!(
            keys,
            [("category=auth/event_date=1970-01-04".to_string(), 2), ("category=migration/event_date=1969-12-31".into(), 1)]
        );
        let auth = &batches[0].1;
        assert_eq!(auth.schema(), events_file_schema());
        let col = |name: &str| auth.column_by_name(name).unwrap().clone();
        let strings = |name: &str| col(name).as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>();
        assert_eq!(strings("event_id"), [Some("a".to_string()), Some("c".into())]);
        assert_eq!(strings("outcome"), [Some("success".to_string()), None]);
        assert_eq!(strings("raw"), [Some("{}".to_string()), None]);
        assert_eq!(col("mfa_passed").as_boolean().iter().collect::<Vec<_>>(), [Some(true), None]);
        assert_eq!(col("mfa_challenged").null_count(), 2);
        let tokens = col("token_size_bytes");
        assert_eq!(tokens.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(), [Some(9000), None]);
        let times = col("event_time");
        assert_eq!(times.as_primitive::<TimestampMicrosecondType>().values().to_vec(), [3 * day + 5, 3 * day]);
        let migration = &batches[1].1;
        assert_eq!(migration.column_by_name("event_id").unwrap().as_string::<i32>().value(0), "b");
    }

    #[test]
    fn rows_of_many_partitions_are_found_by_the_index_as_by_the_scan() {
        // More partitions than are scanned: later rows go through the index,
        // interleaved so every partition is revisited.
        let day = 86_400_000_000i64;
        let types = ["sign_in", "user_migration", "sign_out"];
        let days = 3 * SCAN_PARTS as i64;
        let mut parts = PartitionedRows::default();
        let mut want = std::collections::BTreeMap::new();
        for n in 0..(days * 4) {
            let e = AuthEvent {
                event_id: format!("e{n}"),
                event_type: types[n as usize % types.len()].into(),
                event_time: (n % days) * day,
                ..Default::default()
            };
            let key = PartitionKey::new(category_of(&e.event_type), (n % days) as i32).dir();
            want.entry(key).or_insert_with(Vec::new).push(e.event_id.clone());
            parts.push_event(&e);
        }
        let got: std::collections::BTreeMap<String, Vec<String>> = parts
            .finish()
            .into_iter()
            .map(|(k, b)| {
                let ids = b.column_by_name("event_id").unwrap().as_string::<i32>().iter().map(|v| v.unwrap().to_string()).collect();
                (k.dir(), ids)
            })
            .collect();
        assert!(got.len() > SCAN_PARTS, "{} partitions", got.len());
        assert_eq!(got, want);
    }
}
