//! Findings: rows of the finding queries turned into the `findings`
//! table's rows, written once. A finding's id comes from its key (rule
//! id, group-by values, window start); a finding the table already holds
//! is written again only when what it covers changed (late events), as
//! its next revision. Re-running a backtest, restarting a follower or
//! replaying a topic writes nothing new. One process detects per lake:
//! two writing at once may both write the same revision.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, ListBuilder, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, TimeUnit};
use authlake_core::schema::findings_schema;
use authlake_lake::{Lake, TableKind};
use sha2::{Digest, Sha256};

use crate::error::DetectError;
use crate::rules::Rule;

/// One finding, as a rule's query found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub id: String,
    pub rule_id: String,
    pub rule_title: String,
    pub rule_level: String,
    pub rule_tags: Vec<String>,
    pub window_start: i64,
    pub window_end: i64,
    /// Group-by field -> value, as a JSON object.
    pub group_by: String,
    pub user_pool_id: Option<String>,
    pub user_key: Option<String>,
    pub ip_address: Option<String>,
    pub device_name: Option<String>,
    pub event_count: i64,
    pub value_count: Option<i64>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub evidence: Vec<String>,
}

impl Finding {
    /// What a later revision may change: the events it covers.
    fn fingerprint(&self) -> String {
        fingerprint(self.event_count, self.value_count, self.first_seen, self.last_seen, &self.evidence)
    }
}

fn fingerprint(events: i64, values: Option<i64>, first: i64, last: i64, evidence: &[String]) -> String {
    format!("{events}|{values:?}|{first}|{last}|{}", evidence.join(","))
}

/// The finding id of a key.
pub fn finding_id(rule_id: &str, group_key: &str, window_start: i64) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0x1f]);
    h.update(group_key.as_bytes());
    h.update([0x1f]);
    h.update(window_start.to_be_bytes());
    hex::encode(&h.finalize()[..16])
}

/// The columns of a batch (a finding query's, or the table's), read as
/// the findings table types them.
struct Columns<'a>(&'a RecordBatch);

impl Columns<'_> {
    fn cast(&self, name: &str, to: &DataType) -> Result<ArrayRef, DetectError> {
        let c = self.0.column_by_name(name).ok_or_else(|| arrow::error::ArrowError::SchemaError(format!("findings without {name}")))?;
        Ok(cast(c, to)?)
    }
    fn text(&self, name: &str) -> Result<StringArray, DetectError> {
        Ok(self.cast(name, &DataType::Utf8)?.as_string::<i32>().clone())
    }
    fn time(&self, name: &str) -> Result<TimestampMicrosecondArray, DetectError> {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        Ok(self.cast(name, &ts)?.as_primitive::<arrow::datatypes::TimestampMicrosecondType>().clone())
    }
    fn int(&self, name: &str) -> Result<Int64Array, DetectError> {
        Ok(self.cast(name, &DataType::Int64)?.as_primitive().clone())
    }
    fn list(&self, name: &str) -> Result<ListArray, DetectError> {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        Ok(self.cast(name, &list)?.as_list::<i32>().clone())
    }
}

/// Row `i` of a list of strings.
fn strings(list: &ListArray, i: usize) -> Vec<String> {
    list.value(i).as_string::<i32>().iter().flatten().map(str::to_string).collect()
}

/// The findings in a rule's query result.
pub fn from_batches(rule: &Rule, batches: &[RecordBatch]) -> Result<Vec<Finding>, DetectError> {
    let mut out = Vec::new();
    for b in batches {
        let c = Columns(b);
        let (start, end, first, last) = (c.time("window_start")?, c.time("window_end")?, c.time("first_seen")?, c.time("last_seen")?);
        let (key, pool, user, ip, device) =
            (c.text("group_key")?, c.text("user_pool_id")?, c.text("user_key")?, c.text("ip_address")?, c.text("device_name")?);
        let (events, values, evidence) = (c.int("event_count")?, c.int("value_count")?, c.list("evidence")?);
        let opt = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
        for i in 0..b.num_rows() {
            let group_key = key.value(i).to_string();
            let group_by = match rule.span {
                None => serde_json::json!({ "event_id": group_key }),
                Some(_) => {
                    let values = group_key.split('\u{1f}');
                    serde_json::Value::Object(rule.group_by.iter().cloned().zip(values.map(serde_json::Value::from)).collect())
                }
            };
            out.push(Finding {
                id: finding_id(&rule.id, &group_key, if rule.windowed_key { start.value(i) } else { 0 }),
                rule_id: rule.id.clone(),
                rule_title: rule.title.clone(),
                rule_level: rule.level.clone(),
                rule_tags: rule.tags.clone(),
                window_start: start.value(i),
                window_end: end.value(i),
                group_by: group_by.to_string(),
                user_pool_id: opt(&pool, i),
                user_key: opt(&user, i),
                ip_address: opt(&ip, i),
                device_name: opt(&device, i),
                event_count: events.value(i),
                value_count: values.is_valid(i).then(|| values.value(i)),
                first_seen: first.value(i),
                last_seen: last.value(i),
                evidence: strings(&evidence, i),
            });
        }
    }
    Ok(out)
}

/// What a write did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub new: usize,
    pub revised: usize,
    pub unchanged: usize,
}

/// The latest revision and fingerprint of every finding in the table.
async fn latest(lake: &Lake) -> Result<HashMap<String, (i64, String)>, DetectError> {
    let mut out: HashMap<String, (i64, String)> = HashMap::new();
    for b in authlake_lake::append::read_all(lake, TableKind::Findings).await? {
        let c = Columns(&b);
        let (ids, revisions, events, values) = (c.text("finding_id")?, c.int("revision")?, c.int("event_count")?, c.int("value_count")?);
        let (first, last, evidence) = (c.time("first_seen")?, c.time("last_seen")?, c.list("evidence")?);
        for i in 0..b.num_rows() {
            let slot = out.entry(ids.value(i).to_string()).or_insert((0, String::new()));
            if revisions.value(i) > slot.0 {
                let v = values.is_valid(i).then(|| values.value(i));
                *slot = (revisions.value(i), fingerprint(events.value(i), v, first.value(i), last.value(i), &strings(&evidence, i)));
            }
        }
    }
    Ok(out)
}

/// Writes the findings the table does not hold yet, and new revisions of
/// those whose events changed, in one commit.
pub async fn write(lake: &Lake, writer: &str, found: &[Finding], now_us: i64) -> Result<Written, DetectError> {
    let known = latest(lake).await?;
    let mut w = Written::default();
    let mut rows: Vec<(i64, &Finding)> = Vec::new();
    // One row per id and pass (an event id the lake holds twice keys twice).
    let mut seen = std::collections::HashSet::new();
    for f in found.iter().filter(|f| seen.insert(f.id.as_str())) {
        match known.get(&f.id) {
            None => {
                w.new += 1;
                rows.push((1, f));
            }
            Some((rev, fp)) if *fp != f.fingerprint() => {
                w.revised += 1;
                rows.push((rev + 1, f));
            }
            Some(_) => w.unchanged += 1,
        }
    }
    if !rows.is_empty() {
        let batch = to_batch(&rows, now_us)?;
        authlake_lake::append::append(lake, writer, TableKind::Findings, &[batch]).await?;
    }
    Ok(w)
}

pub fn to_batch(rows: &[(i64, &Finding)], now_us: i64) -> Result<RecordBatch, DetectError> {
    let strings = |f: &dyn Fn(&Finding) -> Option<String>| -> ArrayRef { Arc::new(rows.iter().map(|(_, r)| f(r)).collect::<StringArray>()) };
    let times = |f: &dyn Fn(&Finding) -> i64| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(rows.iter().map(|(_, r)| f(r)).collect::<Vec<_>>()).with_timezone("UTC"))
    };
    let lists = |f: &dyn Fn(&Finding) -> &Vec<String>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for (_, r) in rows {
            for v in f(r) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|r| Some(r.id.clone())),
        Arc::new(Int64Array::from(rows.iter().map(|(rev, _)| *rev).collect::<Vec<_>>())),
        Arc::new(TimestampMicrosecondArray::from(vec![now_us; rows.len()]).with_timezone("UTC")),
        strings(&|r| Some(r.rule_id.clone())),
        strings(&|r| Some(r.rule_title.clone())),
        strings(&|r| Some(r.rule_level.clone())),
        lists(&|r| &r.rule_tags),
        times(&|r| r.window_start),
        times(&|r| r.window_end),
        strings(&|r| Some(r.group_by.clone())),
        strings(&|r| r.user_pool_id.clone()),
        strings(&|r| r.user_key.clone()),
        strings(&|r| r.ip_address.clone()),
        strings(&|r| r.device_name.clone()),
        Arc::new(Int64Array::from(rows.iter().map(|(_, r)| r.event_count).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(rows.iter().map(|(_, r)| r.value_count).collect::<Vec<_>>())),
        times(&|r| r.first_seen),
        times(&|r| r.last_seen),
        lists(&|r| &r.evidence),
    ];
    Ok(RecordBatch::try_new(findings_schema(), columns)?)
}
