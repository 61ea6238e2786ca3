//! authlake's canonical JSON: the `events` columns as one flat object.

use serde_json::Value;

use super::value::{flag, integer, iso_time, text};
use super::{Normalized, Record};
use authlake_core::columns::{FieldMut, COLUMNS};
use authlake_core::event::{category_of, known_event_type, Category};

/// Canonical records are flat objects with a snake_case `event_type`.
pub(crate) fn looks_canonical(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.get("event_type").is_some_and(Value::is_string) && !o.contains_key("triggerSource"))
}

pub(crate) fn normalize(rec: &Record<'_>) -> Normalized {
    let v = rec.value;
    let s = |k: &str| text(v.get(k));
    let b = |k: &str| flag(v.get(k));
    let Some(event_type) = s("event_type") else {
        return Normalized::Reject("canonical record without event_type".into());
    };
    let Some(event_type) = known_event_type(&event_type) else {
        return Normalized::Reject(format!("canonical record with unknown event_type {event_type:?}"));
    };
    let own_time = match v.get("event_time") {
        None | Some(Value::Null) => None,
        Some(t) => match text(Some(t)).and_then(|s| iso_time(&s)) {
            Some(t) => Some(t),
            None => return Normalized::Reject(format!("canonical record with invalid event_time {t}")),
        },
    };
    if let Some(c) = s("category") {
        if c != category_of(event_type) {
            return Normalized::Reject(format!("category {c:?} does not match event_type {event_type:?}"));
        }
    }
    let mut e = rec.base_event(s("event_id"), own_time, "canonical");
    if own_time.is_some() {
        if let Some(src) = s("event_time_source") {
            e.event_time_source = src;
        }
    }
    e.raw = None;
    e.event_type = event_type.to_string();
    // Every other column canonical input may carry, by kind.
    let tenant_default = e.tenant_id.take();
    for (column, field) in COLUMNS.iter().zip(e.fields_mut()) {
        if !column.spec.from_input {
            continue;
        }
        match field {
            FieldMut::Opt(f) => *f = s(column.name),
            FieldMut::Flag(f) => *f = b(column.name),
            FieldMut::Int(f) => *f = integer(v.get(column.name)),
            // Required columns are read above, with their own rules.
            FieldMut::Text(_) | FieldMut::Time(_) => {}
        }
    }
    e.outcome = e.outcome.map(|o| o.to_ascii_lowercase());
    e.tenant_id = e.tenant_id.or(tenant_default);
    if e.migration_source.is_none() && category_of(event_type) == Category::Migration.as_str() {
        e.migration_source = rec.ctx.defaults.migration_source.clone();
    }
    Normalized::Event(Box::new(e))
}
