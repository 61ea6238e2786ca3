//! Metric points as a table or JSON for people and scripts.

use super::catalogue::MetricPoint;

/// One line per point: window, dimensions, metric, value.
pub fn table(points: &[MetricPoint]) -> String {
    let rows: Vec<[String; 5]> = points
        .iter()
        .map(|p| {
            let dims = p.dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            let value = if p.value.fract() == 0.0 { format!("{}", p.value) } else { format!("{:.2}", p.value) };
            let window = format!("{} {}{}", p.window_start.format("%Y-%m-%dT%H:%MZ"), p.window, if p.provisional { " (open)" } else { "" });
            [window, dims, p.metric.clone(), value, format!("{:?}", p.unit)]
        })
        .collect();
    let header = ["window", "dimensions", "metric", "value", "unit"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: &[String; 5]| {
        let mut s = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ");
        s.truncate(s.trim_end().len());
        s + "\n"
    };
    let mut out = line(&header);
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

/// A JSON array of points.
pub fn json(points: &[MetricPoint]) -> String {
    let values: Vec<serde_json::Value> = points
        .iter()
        .map(|p| {
            serde_json::json!({
                "window_start": p.window_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "window": p.window,
                "dimensions": p.dimensions.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                "metric": p.metric,
                "unit": p.unit,
                "value": p.value,
                "provisional": p.provisional,
            })
        })
        .collect();
    serde_json::to_string_pretty(&values).unwrap_or_default() + "\n"
}
