//! Why the Kinesis source stopped, with where it was.

use authlake_ingest::source::ordered::DecodeFailed;
use authlake_ingest::source::SourceError;

use crate::api::ApiError;
use crate::lease::LeaseError;

/// A failure of the Kinesis source; its message names the stream (and
/// the lease table) it concerns.
#[derive(Debug, thiserror::Error)]
pub enum KinesisError {
    #[error("kinesis: listing the shards of {stream}: {source}")]
    ListShards { stream: String, source: ApiError },
    #[error("kinesis: reading {stream}: {source}")]
    Read { stream: String, source: ApiError },
    #[error("kinesis: lease table {table}: {source}")]
    Leases { table: String, source: LeaseError },
    #[error("kinesis: reading the lake's positions: {0}")]
    Lake(#[from] authlake_lake::LakeError),
    #[error("kinesis: {0}")]
    Decode(#[from] DecodeFailed),
}

impl From<KinesisError> for SourceError {
    fn from(e: KinesisError) -> Self {
        SourceError::Stream(Box::new(e))
    }
}
