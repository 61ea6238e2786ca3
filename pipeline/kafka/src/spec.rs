//! What to consume and how.

/// `kafka://BROKERS/TOPIC[,TOPIC2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSpec {
    /// Comma-separated `host:port` list.
    pub brokers: String,
    pub topics: Vec<String>,
}

impl KafkaSpec {
    pub fn parse(uri: &str) -> Result<Self, String> {
        let rest = uri.strip_prefix("kafka://").ok_or_else(|| format!("{uri:?} is not kafka://BROKERS/TOPIC"))?;
        let (brokers, topics) = rest.split_once('/').ok_or_else(|| format!("{uri:?}: missing /TOPIC after the brokers"))?;
        let topics: Vec<String> = topics.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect();
        if brokers.is_empty() || topics.is_empty() {
            return Err(format!("{uri:?}: expected kafka://host:port[,host:port]/topic[,topic]"));
        }
        Ok(Self { brokers: brokers.into(), topics })
    }
}

/// Where to start a partition the lake has no position for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    #[default]
    Earliest,
    Latest,
}

/// How to consume.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    /// Consumer group; with `follow`, members of one group share the
    /// partitions. Without it a backfill still commits its offsets under
    /// `authlake`.
    pub group: Option<String>,
    /// Keep consuming until shutdown (group member); otherwise read every
    /// partition up to the end offsets captured at start, then stop.
    pub follow: bool,
    pub start: StartAt,
    /// librdkafka properties passed through (SASL, TLS, timeouts, ...).
    pub properties: Vec<(String, String)>,
    /// Authenticate to Amazon MSK with IAM (SASL/OAUTHBEARER tokens signed
    /// with the AWS credential chain); see [`crate::msk`].
    pub msk_iam: bool,
    /// Where the consumer's telemetry is written (Prometheus text), if anywhere.
    pub telemetry_file: Option<std::path::PathBuf>,
    /// How often telemetry is logged and written.
    pub telemetry_interval: std::time::Duration,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        KafkaOptions {
            group: None,
            follow: false,
            start: StartAt::default(),
            properties: Vec::new(),
            msk_iam: false,
            telemetry_file: None,
            telemetry_interval: std::time::Duration::from_secs(10),
        }
    }
}

impl KafkaOptions {
    pub fn group_id(&self) -> String {
        self.group.clone().unwrap_or_else(|| "authlake".into())
    }
}

/// The lake's position key of a partition.
pub fn position_key(topic: &str, partition: i32) -> String {
    format!("kafka:{topic}/{partition}")
}

/// The (topic, partition) of a position key, if it is a Kafka one.
pub fn parse_position_key(key: &str) -> Option<(&str, i32)> {
    let rest = key.strip_prefix("kafka:")?;
    let (topic, partition) = rest.rsplit_once('/')?;
    Some((topic, partition.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uris_and_keys() {
        let s = KafkaSpec::parse("kafka://a:9092,b:9092/auth,cloudtrail").unwrap();
        assert_eq!(s.brokers, "a:9092,b:9092");
        assert_eq!(s.topics, vec!["auth", "cloudtrail"]);
        assert!(KafkaSpec::parse("kafka://a:9092").is_err());
        assert!(KafkaSpec::parse("kafka:///t").is_err());
        assert_eq!(parse_position_key(&position_key("a/b", 3)), Some(("a/b", 3)));
        assert_eq!(parse_position_key("file:/x"), None);
    }
}
