//! `authlake alarms sync|list|backtest`.

use std::path::{Path, PathBuf};

use authlake_analytics::lake_context;
use authlake_lake::Lake;
use authlake_kpi::alarms::{backtest, spec::AlarmSpec, sync as alarm_sync, AlarmConfig};
use authlake_kpi::cloudwatch::{client, ClientOptions};
use chrono::Utc;
use clap::{Args, Subcommand};

use super::{parse_time, MetricsFormat};
use crate::exit::{Exit, ExitContext};

#[derive(Debug, Args)]
pub struct AlarmsArgs {
    /// The declared alarms (TOML) [default: ./dashboards/alarms.toml if present, else the built-in ones].
    #[arg(long, global = true, env = "AUTHLAKE_ALARMS")]
    pub alarms: Option<PathBuf>,
    #[command(subcommand)]
    pub action: AlarmsAction,
}

impl AlarmsArgs {
    /// The subcommand's `--lake`.
    pub fn lake_mut(&mut self) -> &mut Option<String> {
        match &mut self.action {
            AlarmsAction::Sync(c) => &mut c.lake,
            AlarmsAction::List(l) => &mut l.common.lake,
            AlarmsAction::Backtest(b) => &mut b.common.lake,
        }
    }

    /// The declared alarms: `--alarms`, else `./dashboards/alarms.toml`,
    /// else the built-in ones.
    fn declared(&self) -> anyhow::Result<AlarmConfig> {
        let default = Path::new("dashboards/alarms.toml");
        Ok(match &self.alarms {
            Some(path) => AlarmConfig::load(path).exit_code(Exit::Usage)?,
            None if default.exists() => AlarmConfig::load(default).exit_code(Exit::Usage)?,
            None => AlarmConfig::builtin(),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum AlarmsAction {
    /// Create, update and delete CloudWatch alarms to match the declared ones.
    Sync(AlarmsCommon),
    /// Show the declared and the deployed alarms side by side.
    List(AlarmsList),
    /// Replay the declared alarms over lake history and print when each would have fired.
    Backtest(AlarmsBacktest),
}

#[derive(Debug, Args)]
pub struct AlarmsCommon {
    /// Lake (its user pools are the alarms' dimensions) [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
}

#[derive(Debug, Args)]
pub struct AlarmsList {
    #[command(flatten)]
    pub common: AlarmsCommon,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: MetricsFormat,
}

#[derive(Debug, Args)]
pub struct AlarmsBacktest {
    #[command(flatten)]
    pub common: AlarmsCommon,
    /// Replay from: RFC 3339 time, a date, or an age such as 30d.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Replay until [default: now].
    #[arg(long)]
    pub until: Option<String>,
    /// Output format (table or json).
    #[arg(long, value_enum, default_value_t)]
    pub format: MetricsFormat,
}

pub async fn run_alarms(args: AlarmsArgs) -> anyhow::Result<()> {
    let config = args.declared()?;
    match args.action {
        AlarmsAction::Sync(c) => {
            let lake = Lake::open(crate::cli::lake(&c.lake)?, false)?;
            let specs = specs(&config, &lake).await?;
            let cw = client(&ClientOptions::default()).await;
            let r = alarm_sync::sync(&cw, &config.prefix, &specs).await?;
            for (what, names) in [("created", &r.created), ("updated", &r.updated), ("unchanged", &r.unchanged), ("deleted", &r.deleted)] {
                for n in names {
                    println!("{what:<9} {n}");
                }
            }
            println!(
                "alarms: {} created, {} updated, {} unchanged, {} deleted",
                r.created.len(),
                r.updated.len(),
                r.unchanged.len(),
                r.deleted.len()
            );
        }
        AlarmsAction::List(l) => {
            let lake = Lake::open(crate::cli::lake(&l.common.lake)?, false)?;
            let specs = specs(&config, &lake).await?;
            let cw = client(&ClientOptions::default()).await;
            let deployed = alarm_sync::deployed(&cw, &config.prefix).await?;
            let mut names: Vec<String> = specs.iter().map(|s| s.name.clone()).chain(deployed.iter().map(|d| d.name.clone())).collect();
            names.sort();
            names.dedup();
            let rows: Vec<serde_json::Value> = names
                .iter()
                .map(|n| {
                    let s = specs.iter().find(|s| &s.name == n);
                    let d = deployed.iter().find(|d| &d.name == n);
                    let in_sync = matches!((s, d), (Some(s), Some(d)) if d.fingerprint.as_deref() == Some(s.fingerprint().as_str()));
                    serde_json::json!({"name": n, "declared": s, "deployed": d, "in_sync": in_sync, "state": d.map(|d| d.state.clone())})
                })
                .collect();
            if l.format == MetricsFormat::Json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<40} {:<9} {:<9} {:<8} state", "alarm", "declared", "deployed", "in sync");
                for r in &rows {
                    println!(
                        "{:<40} {:<9} {:<9} {:<8} {}",
                        r["name"].as_str().unwrap_or_default(),
                        !r["declared"].is_null(),
                        !r["deployed"].is_null(),
                        r["in_sync"].to_string(),
                        r["state"].as_str().unwrap_or("-")
                    );
                }
            }
        }
        AlarmsAction::Backtest(b) => {
            let now = Utc::now();
            let lake = Lake::open(crate::cli::lake(&b.common.lake)?, false)?;
            let since = parse_time(&b.since, now)?;
            let until = b.until.as_deref().map(|s| parse_time(s, now)).transpose()?.unwrap_or(now);
            let ctx = lake_context(&lake).await?;
            let mut results = Vec::new();
            for a in &config.alarms {
                tracing::info!("replaying {} over {since} .. {until}", a.name);
                results.push(backtest::backtest(&ctx, a, since, until).await?);
            }
            if b.format == MetricsFormat::Json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                for r in &results {
                    println!(
                        "{}: fired {} times, at most {} in one week of {} ({} of {} periods breaching, {} with data)",
                        r.name,
                        r.firings.len(),
                        r.most_in_a_week(),
                        r.firings_per_week.len(),
                        r.breaching_periods,
                        r.periods,
                        r.periods_with_data
                    );
                    for f in &r.firings {
                        let until = f.until.map(|u| u.format("%Y-%m-%dT%H:%MZ").to_string()).unwrap_or_else(|| "still firing".into());
                        let worst = f.worst.map(|w| format!(" (worst {w:.2})")).unwrap_or_default();
                        println!("  ALARM {} -> {until}{worst}", f.from.format("%Y-%m-%dT%H:%MZ"));
                    }
                }
            }
        }
    }
    Ok(())
}

async fn specs(config: &AlarmConfig, lake: &Lake) -> anyhow::Result<Vec<AlarmSpec>> {
    let pools = authlake_kpi::lake_pools(lake).await?;
    Ok(config.alarms.iter().map(|a| AlarmSpec::build(config, a, &pools)).collect::<Result<_, _>>()?)
}

