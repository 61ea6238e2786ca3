//! Command-line surface (docs/cli.md; the README's tour).

use std::path::PathBuf;

use clap::{ArgAction, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::exit::{Exit, ExitContext};
use crate::logging::LogFormat;
use crate::{config, demo, detect, export, generate, ingest, kpi, maintain, query, table};

/// authlake: audit and security analytics for Amazon Cognito identity events.
#[derive(Debug, Parser)]
#[command(name = "authlake", version = env!("AUTHLAKE_VERSION"), about, long_about = None)]
pub struct Cli {
    /// Config file (TOML); flags override it. Defaults to ./authlake.toml if present.
    #[arg(long, global = true, env = "AUTHLAKE_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Less log output (-q errors only, -qq none) and no progress lines.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub quiet: u8,
    /// Log lines as text or JSON (for log shippers).
    #[arg(long, global = true, value_enum, default_value_t)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate traffic, ingest it into a local lake and print KPIs: no cloud, no broker.
    Demo(demo::DemoArgs),
    /// Write realistic synthetic Cognito traffic as NDJSON.
    Generate(generate::GenerateArgs),
    /// Read events from a source into the lake, exactly once per source position.
    Ingest(Box<ingest::IngestArgs>),
    /// Run SQL over the lake (tables `events` and `dead_letters`).
    Query(query::QueryArgs),
    /// Run the Sigma rule pack (--rules, default the built-in detections/) over the lake; findings are written once.
    Detect(detect::DetectArgs),
    /// The metrics catalogue per closed window: table, JSON, EMF, or pushed to CloudWatch exactly once.
    Metrics(kpi::MetricsArgs),
    /// Alarms as code (--alarms, default dashboards/alarms.toml): sync to CloudWatch, list, backtest over lake history.
    Alarms(kpi::AlarmsArgs),
    /// CloudWatch dashboards for the lake's user pools, and a self-contained HTML report.
    Dashboards(kpi::DashboardsArgs),
    /// Export selected events (Parquet, CSV, JSON lines, OCSF) with a verifiable manifest.
    Export(export::ExportArgs),
    /// Drop partitions (and dead letters) older than the retention period, in one commit.
    Retention(maintain::RetentionArgs),
    /// Erase one person's rows and dead letters, delete their files at once, and keep them out of later ingests.
    Forget(maintain::ForgetArgs),
    /// Merge small files of closed partitions, in one commit that changes no data.
    Compact(maintain::CompactArgs),
    /// Delete files the tables no longer reference (older than --older-than).
    Vacuum(maintain::VacuumArgs),
    /// Print DDL for Athena, Glue, Spark, Trino or DuckDB to read the lake's Delta tables directly.
    Catalog(maintain::CatalogArgs),
    /// The lake's Delta table: its commit history; upgrade a lake written by an earlier authlake.
    Lake(table::LakeArgs),
    /// Print a shell completion script: `authlake completions bash > /etc/bash_completion.d/authlake`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The config file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate the config file (--config, else ./authlake.toml): exit 0 when valid, 4 when not.
    Check,
}

/// Output formats of commands that print rows.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    /// One JSON object per line.
    Ndjson,
    Csv,
}

impl Command {
    /// The command's `--lake`, where it has one.
    fn lake_mut(&mut self) -> Option<&mut Option<String>> {
        match self {
            Command::Ingest(a) => Some(&mut a.lake),
            Command::Query(a) => Some(&mut a.lake),
            Command::Detect(a) => Some(&mut a.lake),
            Command::Metrics(a) => Some(&mut a.lake),
            Command::Alarms(a) => Some(a.lake_mut()),
            Command::Dashboards(a) => Some(a.lake_mut()),
            Command::Export(a) => a.lake_mut(),
            Command::Retention(a) => Some(&mut a.lake),
            Command::Forget(a) => Some(&mut a.lake),
            Command::Compact(a) => Some(&mut a.lake),
            Command::Vacuum(a) => Some(&mut a.lake),
            Command::Catalog(a) => Some(&mut a.lake),
            Command::Lake(a) => Some(a.lake_mut()),
            Command::Demo(_) | Command::Generate(_) | Command::Completions { .. } | Command::Config { .. } => None,
        }
    }
}

/// The lake a command was given (`--lake`, `AUTHLAKE_LAKE` or the config
/// file's `lake`), or a usage error that says how to give one.
pub fn lake(given: &Option<String>) -> anyhow::Result<&str> {
    given.as_deref().ok_or_else(|| crate::exit::coded(Exit::Usage, "no lake: give --lake DIR|s3://BUCKET/PREFIX, set AUTHLAKE_LAKE, or set `lake` in authlake.toml"))
}

pub async fn dispatch(mut cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "authlake", &mut out);
            print!("{}", String::from_utf8_lossy(&out));
            return Ok(());
        }
        Command::Config { action: ConfigAction::Check } => return config::check(cli.config.as_deref()),
        _ => {}
    }
    let config = config::load(cli.config.as_deref()).exit_code(Exit::Usage)?;
    if let Some(lake) = cli.command.lake_mut() {
        if lake.is_none() {
            *lake = config.lake.clone().or(config.ingest.lake.clone());
        }
    }
    match cli.command {
        Command::Metrics(a) => kpi::run_metrics(a, &config.metrics).await,
        Command::Alarms(a) => kpi::run_alarms(a).await,
        Command::Dashboards(a) => kpi::run_dashboards(a, &config.metrics).await,
        Command::Demo(a) => demo::run(a).await,
        Command::Generate(a) => generate::run(a),
        Command::Ingest(a) => ingest::run(*a, &config.ingest, &config.kafka, &config.metrics).await,
        Command::Query(a) => query::run(a).await,
        Command::Detect(a) => detect::run(a).await,
        Command::Export(a) => export::run(a).await,
        Command::Retention(a) => maintain::run_retention(a).await,
        Command::Forget(a) => maintain::run_forget(a).await,
        Command::Compact(a) => maintain::run_compact(a).await,
        Command::Vacuum(a) => maintain::run_vacuum(a).await,
        Command::Catalog(a) => maintain::run_catalog(a).await,
        Command::Lake(a) => table::run(a).await,
        Command::Completions { .. } | Command::Config { .. } => unreachable!("handled above"),
    }
}
