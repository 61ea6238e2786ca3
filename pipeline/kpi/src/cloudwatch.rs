//! The CloudWatch client, from the standard AWS configuration chain
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, profiles), with bounded retries and
//! timeouts so a server that goes away slows a push down instead of
//! hanging it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, SdkError};
use aws_sdk_cloudwatch::Client;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Attempts per request, the first included (throttling and transient
    /// errors back off exponentially between them).
    pub max_attempts: u32,
    /// Per-attempt timeout.
    pub attempt_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self { max_attempts: 6, attempt_timeout: Duration::from_secs(15) }
    }
}

/// A CloudWatch client from the environment.
pub async fn client(opts: &ClientOptions) -> Client {
    let retry = RetryConfig::standard()
        .with_max_attempts(opts.max_attempts.max(1))
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(10));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(opts.attempt_timeout)
        .build();
    let conf = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry).timeout_config(timeouts).load().await;
    Client::new(&conf)
}

/// One line with the whole error chain.
pub fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(e: &SdkError<E, R>) -> String {
    format!("{}", DisplayErrorContext(e))
}
