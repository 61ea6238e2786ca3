//! Kafka lag: messages behind the high watermark, and the age of the last
//! message read while more wait.

use std::collections::BTreeMap;

use authlake_ingest::telemetry::Lag;

/// Lag per partition from next offsets, high watermarks and last message times.
pub fn lags(next: &BTreeMap<(String, i32), i64>, high: &BTreeMap<(String, i32), i64>, last_ms: &BTreeMap<(String, i32), i64>, now_ms: i64) -> Vec<Lag> {
    next.iter()
        .filter_map(|(k, n)| {
            let messages = (high.get(k)? - n).max(0);
            let seconds = match (messages, last_ms.get(k)) {
                (0, _) | (_, None) => 0.0,
                (_, Some(t)) => ((now_ms - t).max(0)) as f64 / 1000.0,
            };
            Some(Lag { labels: vec![("topic", k.0.clone()), ("partition", k.1.to_string())], messages: Some(messages), seconds })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_messages_behind_and_the_age_of_the_last_read() {
        let k = |p| ("auth".to_string(), p);
        let next = BTreeMap::from([(k(0), 90), (k(1), 50), (k(2), 7)]);
        let high = BTreeMap::from([(k(0), 100), (k(1), 50)]);
        let last = BTreeMap::from([(k(0), 10_000), (k(1), 11_000)]);
        let l = lags(&next, &high, &last, 14_000);
        assert_eq!(l.len(), 2, "no watermark, no figure");
        assert_eq!((l[0].messages, l[0].seconds), (Some(10), 4.0));
        assert_eq!((l[1].messages, l[1].seconds), (Some(0), 0.0));
    }
}
