//! Dashboard templates: `${namespace}` and `${region}` are replaced
//! everywhere; an array element that mentions `${pool}` is repeated once
//! per user pool of the lake.

use std::collections::BTreeMap;

use authlake_lake::Lake;
use aws_sdk_cloudwatch::Client;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::Value;

use super::DashboardError;
use crate::cloudwatch::describe;

/// The templates shipped with authlake (`dashboards/*.json`).
pub const BUILTIN: &[(&str, &str)] = &[
    ("security-overview", include_str!("../../../../dashboards/security-overview.json")),
    ("migration-progress", include_str!("../../../../dashboards/migration-progress.json")),
    ("pipeline-health", include_str!("../../../../dashboards/pipeline-health.json")),
];

/// Templates from `dir` (every `*.json`) or the built-in ones.
pub fn templates(dir: Option<&std::path::Path>) -> Result<Vec<(String, String)>, DashboardError> {
    let Some(dir) = dir else {
        return Ok(BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect());
    };
    let err = |reason: String| DashboardError::Template { path: dir.display().to_string(), reason };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| err(e.to_string()))? {
        let path = entry.map_err(|e| err(e.to_string()))?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("json") {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| DashboardError::Template { path: path.display().to_string(), reason: e.to_string() })?;
            out.push((name, text));
        }
    }
    out.sort();
    Ok(out)
}

/// A template filled in.
pub fn fill(name: &str, template: &str, namespace: &str, region: &str, pools: &[String]) -> Result<String, DashboardError> {
    let value: Value = serde_json::from_str(template)
        .map_err(|e| DashboardError::Template { path: format!("{name}.json"), reason: e.to_string() })?;
    let filled = expand(value, pools);
    let text = serde_json::to_string(&filled).unwrap_or_default();
    Ok(text.replace("${namespace}", namespace).replace("${region}", region))
}

fn mentions_pool(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${pool}"),
        Value::Array(a) => a.iter().any(mentions_pool),
        Value::Object(o) => o.values().any(mentions_pool),
        _ => false,
    }
}

fn replace_pool(v: Value, pool: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("${pool}", pool)),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| replace_pool(x, pool)).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, x)| (k, replace_pool(x, pool))).collect()),
        other => other,
    }
}

fn expand(v: Value, pools: &[String]) -> Value {
    match v {
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                // The innermost array holding the `${pool}` mention is the
                // one repeated: a metric line, not the whole widget.
                let is_line = matches!(&item, Value::Array(a) if a.iter().all(|x| !matches!(x, Value::Array(_))));
                if is_line && mentions_pool(&item) {
                    out.extend(pools.iter().map(|p| replace_pool(item.clone(), p)));
                } else {
                    out.push(expand(item, pools));
                }
            }
            Value::Array(out)
        }
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, x)| (k, expand(x, pools))).collect()),
        other => other,
    }
}

/// What a dashboard sync did, by CloudWatch dashboard name.
#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
}

/// The dashboards a sync put, kept in the lake so the next sync can delete
/// the ones no longer declared (ListDashboards is not needed, and some
/// emulators answer it with timestamps the SDK rejects).
const SYNCED: &str = "_authlake/dashboards/synced.json";

/// Puts every dashboard as `<prefix><name>` (unchanged bodies are left
/// alone) and deletes dashboards an earlier sync under the same prefix put
/// that are no longer declared.
pub async fn sync(client: &Client, lake: &Lake, prefix: &str, bodies: &[(String, String)]) -> Result<SyncReport, DashboardError> {
    let cw_err = |operation: &'static str, name: &str, reason: String| DashboardError::CloudWatch { operation, name: name.into(), reason };
    let mut report = SyncReport::default();
    let mut record: BTreeMap<String, Vec<String>> = match lake.store.get(&Path::from(SYNCED)).await {
        Ok(r) => serde_json::from_slice(&r.bytes().await.map_err(|e| write_err(e.to_string()))?).unwrap_or_default(),
        Err(object_store::Error::NotFound { .. }) => BTreeMap::new(),
        Err(e) => return Err(write_err(e.to_string())),
    };
    let mut names = Vec::new();
    for (name, body) in bodies {
        let full = format!("{prefix}{name}");
        let current = match client.get_dashboard().dashboard_name(&full).send().await {
            Ok(d) => d.dashboard_body().map(String::from),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_dashboard_not_found_error()) => None,
            Err(e) => {
                let reason = describe(&e);
                // A missing dashboard may also come back as a plain 404.
                if reason.contains("NotFound") || reason.contains("does not exist") { None } else { return Err(cw_err("GetDashboard", &full, reason)) }
            }
        };
        let same = current.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok()) == serde_json::from_str::<Value>(body).ok();
        if same {
            report.unchanged.push(full.clone());
        } else {
            client.put_dashboard().dashboard_name(&full).dashboard_body(body).send().await.map_err(|e| cw_err("PutDashboard", &full, describe(&e)))?;
            if current.is_some() { report.updated.push(full.clone()) } else { report.created.push(full.clone()) }
        }
        names.push(full);
    }
    let stale: Vec<String> = record.get(prefix).into_iter().flatten().filter(|n| !names.contains(n)).cloned().collect();
    if !stale.is_empty() {
        client.delete_dashboards().set_dashboard_names(Some(stale.clone())).send().await.map_err(|e| cw_err("DeleteDashboards", &stale.join(","), describe(&e)))?;
        report.deleted = stale;
    }
    record.insert(prefix.to_string(), names);
    let body = serde_json::to_vec_pretty(&record).map_err(|e| write_err(e.to_string()))?;
    lake.store.put(&Path::from(SYNCED), PutPayload::from(body)).await.map_err(|e| write_err(e.to_string()))?;
    Ok(report)
}

fn write_err(reason: String) -> DashboardError {
    DashboardError::Write { path: SYNCED.into(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_expand_per_pool() {
        let pools = vec!["us-east-1_A".to_string(), "eu-west-1_B".to_string()];
        for (name, t) in templates(None).unwrap() {
            let body = fill(&name, &t, "Authlake", "us-east-1", &pools).unwrap();
            assert!(!body.contains("${"), "{name}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert!(!v["widgets"].as_array().unwrap().is_empty());
        }
        let body = fill("x", r#"{"m":[["${namespace}","A","UserPoolId","${pool}"]]}"#, "NS", "r", &pools).unwrap();
        assert_eq!(body, r#"{"m":[["NS","A","UserPoolId","us-east-1_A"],["NS","A","UserPoolId","eu-west-1_B"]]}"#);
    }
}
