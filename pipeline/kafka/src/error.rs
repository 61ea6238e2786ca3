//! Why the Kafka source stopped, with where it was.

use authlake_ingest::source::ordered::DecodeFailed;
use authlake_ingest::source::SourceError;
use rdkafka::error::KafkaError as ClientError;

/// A failure of the Kafka source; its message names the topic and
/// partition (and offset) it concerns where there is one.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// Creating the client or assigning partitions failed.
    #[error("kafka: {0}")]
    Client(#[source] ClientError),
    #[error("kafka: cannot reach the brokers for topic {topic}: {source}")]
    Unreachable { topic: String, source: ClientError },
    #[error("kafka: topic {0:?} does not exist")]
    NoSuchTopic(String),
    #[error("kafka subscribe: {0}")]
    Subscribe(#[source] ClientError),
    /// `at`: the topic, partition and offset.
    #[error("kafka assign {at}: {source}")]
    Assign { at: String, source: ClientError },
    #[error("kafka: {0}")]
    MskIam(String),
    #[error("kafka: {0}")]
    Decode(#[from] DecodeFailed),
    #[error("kafka: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<KafkaError> for SourceError {
    fn from(e: KafkaError) -> Self {
        SourceError::Stream(Box::new(e))
    }
}
