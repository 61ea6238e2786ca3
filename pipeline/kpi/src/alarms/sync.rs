//! Makes CloudWatch hold exactly the declared alarms: PutMetricAlarm for
//! new and changed ones, DeleteAlarms for managed ones no longer declared,
//! nothing for unchanged ones (a second sync changes nothing).

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Statistic};
use aws_sdk_cloudwatch::Client;
use serde::Serialize;

use super::spec::{deployed_fingerprint, AlarmSpec, Target};
use super::AlarmError;
use crate::cloudwatch::describe;

/// A managed alarm as CloudWatch has it.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub name: String,
    pub description: String,
    pub state: String,
    pub fingerprint: Option<String>,
}

/// What a sync did, by CloudWatch alarm name.
#[derive(Debug, Default, Serialize)]
pub struct SyncReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
}

/// The alarms whose names start with `prefix`.
pub async fn deployed(client: &Client, prefix: &str) -> Result<Vec<Deployed>, AlarmError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AlarmError::CloudWatch { operation: "DescribeAlarms", reason: describe(&e) })?;
        for a in page.metric_alarms() {
            let description = a.alarm_description().unwrap_or_default().to_string();
            out.push(Deployed {
                name: a.alarm_name().unwrap_or_default().to_string(),
                fingerprint: deployed_fingerprint(&description).map(String::from),
                description,
                state: a.state_value().map(|s| s.as_str().to_string()).unwrap_or_default(),
            });
        }
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Creates, updates and deletes so that the managed alarms are `specs`.
pub async fn sync(client: &Client, prefix: &str, specs: &[AlarmSpec]) -> Result<SyncReport, AlarmError> {
    let current = deployed(client, prefix).await?;
    let mut report = SyncReport::default();
    for spec in specs {
        match current.iter().find(|d| d.name == spec.name) {
            Some(d) if d.fingerprint.as_deref() == Some(spec.fingerprint().as_str()) => report.unchanged.push(spec.name.clone()),
            Some(_) => {
                put(client, spec).await?;
                report.updated.push(spec.name.clone());
            }
            None => {
                put(client, spec).await?;
                report.created.push(spec.name.clone());
            }
        }
    }
    let stale: Vec<String> = current.iter().filter(|d| !specs.iter().any(|s| s.name == d.name)).map(|d| d.name.clone()).collect();
    for chunk in stale.chunks(100) {
        client
            .delete_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AlarmError::CloudWatch { operation: "DeleteAlarms", reason: describe(&e) })?;
        report.deleted.extend(chunk.iter().cloned());
    }
    Ok(report)
}

fn dims(d: &[(String, String)]) -> Vec<Dimension> {
    d.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect()
}

async fn put(client: &Client, spec: &AlarmSpec) -> Result<(), AlarmError> {
    let mut req = client
        .put_metric_alarm()
        .alarm_name(&spec.name)
        .alarm_description(&spec.description)
        .comparison_operator(ComparisonOperator::from(spec.comparison_operator.as_str()))
        .threshold(spec.threshold)
        .evaluation_periods(spec.evaluation_periods)
        .datapoints_to_alarm(spec.datapoints_to_alarm)
        .treat_missing_data(&spec.treat_missing_data)
        .set_alarm_actions(Some(spec.alarm_actions.clone()))
        .set_ok_actions(Some(spec.ok_actions.clone()));
    match &spec.target {
        Target::Metric { metric, dimensions, statistic } => {
            req = req
                .namespace(&spec.namespace)
                .metric_name(metric)
                .set_dimensions(Some(dims(dimensions)))
                .statistic(Statistic::from(statistic.as_str()))
                .period(spec.period);
        }
        Target::Math { queries } => {
            for q in queries {
                let mut b = MetricDataQuery::builder().id(&q.id).return_data(q.return_data);
                if let Some(e) = &q.expression {
                    b = b.expression(e);
                }
                if let Some(l) = &q.label {
                    b = b.label(l);
                }
                if let Some(m) = &q.metric {
                    let metric = Metric::builder().namespace(&spec.namespace).metric_name(m).set_dimensions(Some(dims(&q.dimensions))).build();
                    let stat = MetricStat::builder().metric(metric).period(spec.period).stat(q.stat.clone().unwrap_or_default()).build();
                    b = b.metric_stat(stat);
                }
                req = req.metrics(b.build());
            }
        }
    }
    req.send().await.map_err(|e| AlarmError::CloudWatch { operation: "PutMetricAlarm", reason: describe(&e) })?;
    Ok(())
}
