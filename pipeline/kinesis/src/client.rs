//! [`KinesisApi`] over `aws-sdk-kinesis`: region, credentials and endpoint
//! from the standard AWS configuration chain (`AWS_ENDPOINT_URL` points it
//! at an emulator).

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::{ShardFilter, ShardFilterType, ShardIteratorType};
use aws_sdk_kinesis::Client;

use crate::api::{ApiError, KinesisApi, KinesisRecord, RecordsPage, StartFrom};
use crate::lineage::Shard;

pub struct SdkKinesis {
    client: Client,
}

impl SdkKinesis {
    pub async fn from_env() -> Self {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        SdkKinesis { client: Client::new(&conf) }
    }
}

fn api_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(e: SdkError<E, R>, stream: &str) -> ApiError {
    let code = e.code().map(str::to_string);
    match code.as_deref() {
        Some("ExpiredIteratorException") => ApiError::ExpiredIterator,
        Some("ProvisionedThroughputExceededException" | "LimitExceededException" | "ThrottlingException") => ApiError::Throttled,
        Some("ResourceNotFoundException") => ApiError::StreamNotFound(stream.to_string()),
        _ => ApiError::Other(match (code, e.message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c,
            _ => format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&e)),
        }),
    }
}

impl KinesisApi for SdkKinesis {
    async fn list_shards(&self, stream: &str) -> Result<Vec<Shard>, ApiError> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // A paginated call names the stream only on its first page.
            let req = match &token {
                Some(t) => self.client.list_shards().next_token(t),
                None => self
                    .client
                    .list_shards()
                    .stream_name(stream)
                    .shard_filter(ShardFilter::builder().r#type(ShardFilterType::FromTrimHorizon).build().map_err(|e| ApiError::Other(e.to_string()))?),
            };
            let out = req.send().await.map_err(|e| api_error(e, stream))?;
            for s in out.shards() {
                shards.push(Shard {
                    id: s.shard_id().to_string(),
                    parent: s.parent_shard_id().map(str::to_string),
                    adjacent_parent: s.adjacent_parent_shard_id().map(str::to_string),
                    closed: s.sequence_number_range().and_then(|r| r.ending_sequence_number()).is_some(),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(shards),
            }
        }
    }

    async fn shard_iterator(&self, stream: &str, shard: &str, from: &StartFrom) -> Result<String, ApiError> {
        let mut req = self.client.get_shard_iterator().stream_name(stream).shard_id(shard);
        req = match from {
            StartFrom::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            StartFrom::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
            StartFrom::AtTimestamp(t) => req.shard_iterator_type(ShardIteratorType::AtTimestamp).timestamp(DateTime::from_secs_f64(*t)),
            StartFrom::AfterSequence(s) => req.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(s),
        };
        let out = req.send().await.map_err(|e| api_error(e, stream))?;
        out.shard_iterator().map(str::to_string).ok_or_else(|| ApiError::Other(format!("no shard iterator for {shard}")))
    }

    async fn get_records(&self, iterator: &str, limit: i32) -> Result<RecordsPage, ApiError> {
        let out = self.client.get_records().shard_iterator(iterator).limit(limit).send().await.map_err(|e| api_error(e, ""))?;
        let records = out
            .records()
            .iter()
            .map(|r| KinesisRecord {
                sequence: r.sequence_number().to_string(),
                data: r.data().as_ref().to_vec(),
                arrival_micros: r.approximate_arrival_timestamp().and_then(|t| t.to_millis().ok()).map(|ms| ms * 1000),
            })
            .collect();
        Ok(RecordsPage { records, next_iterator: out.next_shard_iterator().map(str::to_string), millis_behind_latest: out.millis_behind_latest() })
    }
}
