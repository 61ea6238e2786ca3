//! CloudWatch Embedded Metric Format: one JSON line per window and
//! dimension combination, for the CloudWatch agent or a Lambda to deliver
//! (at least once; `--push` is the exactly-once path).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::catalogue::MetricPoint;

/// EMF allows at most 100 metrics per directive.
const MAX_METRICS_PER_LINE: usize = 100;

/// Renders `points` as EMF lines under `namespace`.
pub fn render(points: &[MetricPoint], namespace: &str) -> String {
    // One line per (timestamp, dimensions, provisional).
    type Key<'a> = (i64, &'a Vec<(String, String)>, bool);
    let mut groups: BTreeMap<Key, Vec<&MetricPoint>> = BTreeMap::new();
    for p in points {
        groups.entry((p.window_start.timestamp_millis(), &p.dimensions, p.provisional)).or_default().push(p);
    }
    let mut out = String::new();
    for ((millis, dims, provisional), metrics) in groups {
        for chunk in metrics.chunks(MAX_METRICS_PER_LINE) {
            let names: Vec<&str> = dims.iter().map(|(k, _)| k.as_str()).collect();
            let mut line = Map::new();
            let defs: Vec<Value> = chunk.iter().map(|p| json!({"Name": p.metric, "Unit": p.unit})).collect();
            line.insert(
                "_aws".into(),
                json!({"Timestamp": millis, "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [names], "Metrics": defs}]}),
            );
            for (k, v) in dims.iter() {
                line.insert(k.clone(), Value::String(v.clone()));
            }
            for p in chunk {
                line.insert(p.metric.clone(), json!(p.value));
            }
            line.insert("Window".into(), Value::String(chunk[0].window.clone()));
            if provisional {
                line.insert("Provisional".into(), Value::Bool(true));
            }
            out.push_str(&Value::Object(line).to_string());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue::Unit;

    #[test]
    fn one_line_per_window_and_dimensions() {
        let t = chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let p = |metric: &str, value: f64, dims: Vec<(String, String)>| MetricPoint {
            window_start: t,
            window: "1h".into(),
            dimensions: dims,
            metric: metric.into(),
            unit: Unit::Count,
            value,
            provisional: false,
        };
        let pool = vec![("UserPoolId".to_string(), "us-east-1_A".to_string())];
        let text = render(&[p("SignInAttempts", 3.0, pool.clone()), p("MfaChallenges", 1.0, pool), p("DeadLetters", 2.0, vec![])], "Authlake");
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        let pool_line = lines.iter().find(|l| l.get("UserPoolId").is_some()).unwrap();
        assert_eq!(pool_line["SignInAttempts"], 3.0);
        assert_eq!(pool_line["_aws"]["Timestamp"], 1_764_000_000_000i64);
        assert_eq!(pool_line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0], "UserPoolId");
        assert_eq!(pool_line["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), 2);
    }
}
