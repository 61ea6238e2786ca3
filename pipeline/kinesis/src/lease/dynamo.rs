//! The lease table in DynamoDB, laid out as the Kinesis Client Library's:
//! `leaseKey` (the shard id, hash key), `leaseOwner`, `leaseCounter`,
//! `parentShardIds`, `checkpoint = SHARD_END` for finished shards. Every
//! update is conditional on `leaseCounter`.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue, ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;

use super::store::{Change, Lease, LeaseError, LeaseStore};

const KEY: &str = "leaseKey";
const SHARD_END: &str = "SHARD_END";
/// How long a new table may take to become ACTIVE.
const TABLE_WAIT: Duration = Duration::from_secs(120);

pub struct DynamoLeases {
    client: Client,
    table: String,
}

impl DynamoLeases {
    /// Region, credentials and endpoint from the standard AWS chain.
    pub async fn from_env(table: &str) -> Self {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        DynamoLeases { client: Client::new(&conf), table: table.to_string() }
    }

    fn error(&self, op: &'static str, e: impl ProvideErrorMetadata + std::fmt::Debug) -> LeaseError {
        let message = match (e.code(), e.message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_string(),
            _ => format!("{e:?}"),
        };
        LeaseError::Table { table: self.table.clone(), op, message }
    }

    fn build_error(&self, e: impl std::fmt::Display) -> LeaseError {
        LeaseError::Table { table: self.table.clone(), op: "CreateTable", message: e.to_string() }
    }

    fn parse(&self, item: &HashMap<String, AttributeValue>) -> Result<Lease, LeaseError> {
        let key = item.get(KEY).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let bad = |reason: &str| LeaseError::Malformed { table: self.table.clone(), key: key.clone(), reason: reason.into() };
        if key.is_empty() {
            return Err(bad("no leaseKey"));
        }
        let counter = match item.get("leaseCounter") {
            Some(v) => v.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| bad("leaseCounter is not a number"))?,
            None => 0,
        };
        let parents = match item.get("parentShardIds") {
            Some(AttributeValue::L(l)) => l.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
            Some(AttributeValue::Ss(s)) => s.clone(),
            _ => Vec::new(),
        };
        Ok(Lease {
            owner: item.get("leaseOwner").and_then(|v| v.as_s().ok()).cloned(),
            counter,
            parents,
            finished: item.get("checkpoint").and_then(|v| v.as_s().ok()).is_some_and(|c| c == SHARD_END),
            key,
        })
    }
}

fn code_is<E: ProvideErrorMetadata>(e: &E, code: &str) -> bool {
    e.code() == Some(code)
}

impl LeaseStore for DynamoLeases {
    async fn ensure_table(&self) -> Result<(), LeaseError> {
        let deadline = std::time::Instant::now() + TABLE_WAIT;
        loop {
            match self.client.describe_table().table_name(&self.table).send().await {
                Ok(out) => {
                    if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                        return Ok(());
                    }
                }
                Err(e) if code_is(&e, "ResourceNotFoundException") => {
                    let schema = KeySchemaElement::builder().attribute_name(KEY).key_type(KeyType::Hash).build().map_err(|e| self.build_error(e))?;
                    let attr = AttributeDefinition::builder()
                        .attribute_name(KEY)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(|e| self.build_error(e))?;
                    let created = self
                        .client
                        .create_table()
                        .table_name(&self.table)
                        .key_schema(schema)
                        .attribute_definitions(attr)
                        .billing_mode(BillingMode::PayPerRequest)
                        .send()
                        .await;
                    match created {
                        // Another worker is creating it: wait for ACTIVE too.
                        Err(e) if !code_is(&e, "ResourceInUseException") => return Err(self.error("CreateTable", e)),
                        _ => tracing::info!("kinesis: created lease table {}", self.table),
                    }
                }
                Err(e) => return Err(self.error("DescribeTable", e)),
            }
            if std::time::Instant::now() >= deadline {
                return Err(LeaseError::Table { table: self.table.clone(), op: "DescribeTable", message: "not ACTIVE after 120 s".into() });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn scan(&self) -> Result<Vec<Lease>, LeaseError> {
        let mut leases = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.error("Scan", e))?;
            for item in out.items() {
                leases.push(self.parse(item)?);
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(leases),
            }
        }
    }

    async fn create(&self, key: &str, parents: &[String]) -> Result<(), LeaseError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(key.into()))
            .item("leaseCounter", AttributeValue::N("0".into()))
            .condition_expression("attribute_not_exists(leaseKey)");
        if !parents.is_empty() {
            put = put.item("parentShardIds", AttributeValue::L(parents.iter().map(|p| AttributeValue::S(p.clone())).collect()));
        }
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) if code_is(&e, "ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(self.error("PutItem", e)),
        }
    }

    async fn update(&self, key: &str, counter: u64, change: &Change) -> Result<Option<Lease>, LeaseError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.into()))
            .condition_expression("leaseCounter = :c")
            .expression_attribute_values(":c", AttributeValue::N(counter.to_string()))
            .expression_attribute_values(":n", AttributeValue::N((counter + 1).to_string()))
            .return_values(ReturnValue::AllNew);
        req = match change {
            Change::Own(owner) => {
                req.update_expression("SET leaseCounter = :n, leaseOwner = :o").expression_attribute_values(":o", AttributeValue::S(owner.clone()))
            }
            Change::Release => req.update_expression("SET leaseCounter = :n REMOVE leaseOwner"),
            Change::Finish => req
                .update_expression("SET leaseCounter = :n, checkpoint = :end REMOVE leaseOwner")
                .expression_attribute_values(":end", AttributeValue::S(SHARD_END.into())),
        };
        match req.send().await {
            Ok(out) => out.attributes().map(|a| self.parse(a)).transpose(),
            Err(e) if code_is(&e, "ConditionalCheckFailedException") => Ok(None),
            Err(e) => Err(self.error("UpdateItem", e)),
        }
    }
}
