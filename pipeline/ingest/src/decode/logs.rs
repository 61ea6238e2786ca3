//! CloudWatch Logs subscription payloads: the log events of a
//! `DATA_MESSAGE`, each message a record or a line of text.

use serde_json::Value;

use super::value::{at, epoch_millis, text_at};
use super::{LogEvent, Walk};
use crate::secrets::scrub_value;

impl Walk<'_, '_> {
    pub(super) fn cloudwatch_logs(&mut self, v: &Value) {
        if text_at(v, &["messageType"]).as_deref() != Some("DATA_MESSAGE") {
            self.out.skipped += 1;
            return;
        }
        self.multi = true;
        let events = at(v, &["logEvents"]).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for le in events {
            let log = LogEvent { time: epoch_millis(le.get("timestamp")), id: le.get("id").and_then(Value::as_str) };
            match le.get("message") {
                Some(Value::String(m)) => match log_message_json(m) {
                    LogMessage::Json(mut inner) => {
                        scrub_value(&mut inner);
                        self.nested_or_record(&inner, log)
                    }
                    LogMessage::Text => {
                        self.next_index();
                        self.out.skipped += 1;
                    }
                    LogMessage::Invalid(e) => {
                        let i = self.next_index();
                        self.dead(m.as_bytes(), i, format!("log event message is not JSON: {e}"))
                    }
                },
                Some(inner @ Value::Object(_)) => self.nested_or_record(inner, log),
                _ => {
                    let i = self.next_index();
                    self.dead(le.to_string().as_bytes(), i, "log event without a message".into())
                }
            }
        }
    }
}

/// What a CloudWatch Logs message holds. One rule (docs/formats.md): a
/// message whose body (the message, or what follows a tab in it, as after
/// the `<time>\t<request id>\t<level>\t` prefix Lambda runtimes add) is
/// JSON, or starts with `{`, is a record: decoded, or else dead-lettered.
/// So is JSON after a label (`Received event: {...}`, as trigger functions
/// log their event). Any other message is a line of text the function or
/// its runtime logged (`START`/`END`/`REPORT`, `[ERROR] ...`, a stack
/// trace), not an event: skipped and counted.
enum LogMessage {
    Json(Value),
    Text,
    Invalid(serde_json::Error),
}

fn log_message_json(m: &str) -> LogMessage {
    let bodies = std::iter::once(m).chain(m.match_indices('\t').map(|(i, _)| &m[i + 1..]));
    let mut broken = None;
    for body in bodies {
        let body = body.trim();
        match serde_json::from_str::<Value>(body) {
            Ok(v @ (Value::Object(_) | Value::Array(_))) => return LogMessage::Json(v),
            Err(e) if body.starts_with('{') => broken = broken.or(Some(e)),
            _ => {}
        }
        if let Some(i) = body.find('{').filter(|i| *i > 0) {
            if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&body[i..]) {
                return LogMessage::Json(v);
            }
        }
    }
    broken.map_or(LogMessage::Text, LogMessage::Invalid)
}
