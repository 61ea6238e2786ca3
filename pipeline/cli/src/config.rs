//! `authlake.toml`: defaults for flags, one section per command.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::exit::{coded, Exit, ExitContext};

/// The whole config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The lake every command works on (`DIR` or `s3://bucket/prefix`);
    /// `--lake` and `AUTHLAKE_LAKE` take precedence.
    pub lake: Option<String>,
    /// Defaults for `authlake ingest`.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// Kafka source settings.
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Defaults for `authlake metrics`, `alarms` and `dashboards`.
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// `[kafka]`: the Kafka source.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Consumer group (default `authlake`).
    pub group: Option<String>,
    /// `earliest` (default) or `latest`, for partitions the lake has no position for.
    pub start: Option<String>,
    /// librdkafka properties, e.g. `"security.protocol" = "SASL_SSL"`,
    /// `"sasl.mechanism" = "SCRAM-SHA-512"`, `"ssl.ca.location" = "..."`.
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
    /// Authenticate to Amazon MSK with IAM (as `--msk-iam`).
    #[serde(default)]
    pub msk_iam: bool,
}

/// `[metrics]`: defaults for the KPI commands.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// CloudWatch namespace (default `Authlake`).
    pub namespace: Option<String>,
    /// Window length, e.g. `5m`, `1h` (default `1h`).
    pub window: Option<String>,
    /// Time after a window's end before it is closed, e.g. `15m`.
    pub lateness: Option<String>,
    /// Users in the legacy system, for MigrationProgress and the report.
    pub legacy_users: Option<u64>,
    /// Clients per pool with their own `[UserPoolId, ClientId]` metrics.
    pub max_clients_per_pool: Option<usize>,
}

/// `[ingest]`: defaults for `authlake ingest` flags of the same names.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Source URI (`file://PATH`).
    pub from: Option<String>,
    /// Lake location (`DIR` or `s3://bucket/prefix`).
    pub lake: Option<String>,
    /// User pool id for AdminListUserAuthEvents pages, which carry none.
    pub user_pool_id: Option<String>,
    /// User name for AdminListUserAuthEvents pages, which carry none.
    pub username: Option<String>,
    /// Tenant for events that do not name one.
    pub tenant_id: Option<String>,
    /// Legacy system a migration comes from (e.g. `auth0`).
    pub migration_source: Option<String>,
    /// Commit at least this often, e.g. `60s`, `5m`.
    pub commit_interval: Option<String>,
    /// Target size of data files, e.g. `128MiB`.
    pub target_file_size: Option<String>,
    /// Memory for buffered data before a commit is forced, e.g. `256MiB`.
    pub max_buffer: Option<String>,
    /// Drop a row whose `event_id` the lake holds with an `event_time`
    /// this close, e.g. `7d`; `0s` turns it off.
    pub dedupe_window: Option<String>,
}

/// Reads the config file: the given path (must exist) or `./authlake.toml`
/// when present.
pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (Path::new("authlake.toml").to_path_buf(), false),
    };
    if !path.exists() {
        anyhow::ensure!(!required, "config file {} not found", path.display());
        return Ok(Config::default());
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
}

/// `authlake config check`: reads the config file and every value in it
/// that has a syntax of its own.
pub fn check(path: Option<&Path>) -> anyhow::Result<()> {
    let shown = path.map_or_else(|| "authlake.toml".to_string(), |p| p.display().to_string());
    if path.is_none() && !Path::new("authlake.toml").exists() {
        return Err(coded(Exit::Usage, "no config file: give --config FILE or create ./authlake.toml"));
    }
    let config = load(path).exit_code(Exit::CheckFailed)?;
    let mut problems = Vec::new();
    let mut check = |what: &str, result: anyhow::Result<()>| {
        if let Err(e) = result {
            problems.push(format!("{what}: {e:#}"));
        }
    };
    let i = &config.ingest;
    if let Some(v) = &i.commit_interval {
        check("ingest.commit_interval", parse_duration(v).map(drop));
    }
    if let Some(v) = &i.target_file_size {
        check("ingest.target_file_size", parse_size(v).map(drop));
    }
    if let Some(v) = &i.max_buffer {
        check("ingest.max_buffer", parse_size(v).map(drop));
    }
    if let Some(v) = &config.metrics.window {
        check("metrics.window", authlake_kpi::metrics::window::Window::parse(v).map(drop).map_err(anyhow::Error::msg));
    }
    if let Some(v) = &config.metrics.lateness {
        check("metrics.lateness", parse_duration(v).map(drop));
    }
    if let Some(v) = &config.kafka.start {
        check("kafka.start", if matches!(v.as_str(), "earliest" | "latest") { Ok(()) } else { Err(anyhow::anyhow!("{v:?}: use earliest or latest")) });
    }
    if !problems.is_empty() {
        return Err(coded(Exit::CheckFailed, format!("config {shown} is not valid:\n  {}", problems.join("\n  "))));
    }
    println!("config {shown}: valid");
    Ok(())
}

/// Parses `90s`, `5m`, `1h`, `7d`, `500ms`. A number without a unit is
/// refused (is `--keep 20` twenty days or twenty seconds?), except 0. A
/// bad value is a usage error (exit 2).
pub fn parse_duration(s: &str) -> anyhow::Result<std::time::Duration> {
    duration_of(s).exit_code(Exit::Usage)
}

fn duration_of(s: &str) -> anyhow::Result<std::time::Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let n: f64 = num.parse().with_context(|| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "" if n == 0.0 => 0.0,
        "" => anyhow::bail!("{s:?} has no unit: write {num}d (days), {num}h, {num}m, {num}s or {num}ms"),
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => anyhow::bail!("invalid duration unit in {s:?} (use ms, s, m, h, d)"),
    };
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Parses `128MiB`, `1GiB`, `500KB`, `1048576`; a bad value is a usage
/// error (exit 2).
pub fn parse_size(s: &str) -> anyhow::Result<u64> {
    size_of(s).exit_code(Exit::Usage)
}

fn size_of(s: &str) -> anyhow::Result<u64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let n: f64 = num.parse().with_context(|| format!("invalid size {s:?}"))?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => anyhow::bail!("invalid size unit in {s:?} (use KiB, MiB, GiB)"),
    };
    Ok((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_sizes() {
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        let err = parse_duration("20").unwrap_err().to_string();
        assert!(err.contains("no unit") && err.contains("20d (days)"), "{err}");
        assert_eq!(parse_size("128MiB").unwrap(), 128 * 1024 * 1024);
        assert!(parse_size("12 parsecs").is_err());
    }
}
