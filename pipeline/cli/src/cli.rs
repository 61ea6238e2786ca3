//! Command-line surface (DESIGN section 7).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::{config, demo, export, generate, ingest, kpi, maintain, query};

/// authlake: audit and security analytics for Amazon Cognito identity events.
#[derive(Debug, Parser)]
#[command(name = "authlake", version, about, long_about = None)]
pub struct Cli {
    /// Config file (TOML); flags override it. Defaults to ./authlake.toml if present.
    /// For `authlake alarms`: the alarms file (default dashboards/alarms.toml).
    #[arg(long, global = true, env = "AUTHLAKE_CONFIG")]
    pub config: Option<PathBuf>,
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
    Ingest(ingest::IngestArgs),
    /// Run SQL over the lake (tables `events` and `dead_letters`).
    Query(query::QueryArgs),
    /// The metrics catalogue per closed window: table, JSON, EMF, or pushed to CloudWatch exactly once.
    Metrics(kpi::MetricsArgs),
    /// Alarms as code (dashboards/alarms.toml): sync to CloudWatch, list, backtest over lake history.
    Alarms(kpi::AlarmsArgs),
    /// CloudWatch dashboards for the lake's user pools, and a self-contained HTML report.
    Dashboards(kpi::DashboardsArgs),
    /// Export selected events (Parquet, CSV, JSON lines, OCSF) with a verifiable manifest.
    Export(export::ExportArgs),
    /// Drop partitions older than the retention period, through a commit.
    Retention(maintain::RetentionArgs),
    /// Erase one person's rows and dead letters, through a commit, with an erasure record.
    Forget(maintain::ForgetArgs),
    /// Merge small files of closed partitions, atomically.
    Compact(maintain::CompactArgs),
    /// Print DDL for Athena, Glue, Spark or DuckDB to query the lake directly.
    Catalog(maintain::CatalogArgs),
}

/// Output formats of commands that print rows.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Csv,
}

pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    if let Command::Alarms(a) = cli.command {
        return kpi::run_alarms(a, cli.config).await;
    }
    let config = config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Metrics(a) => kpi::run_metrics(a, &config.metrics).await,
        Command::Alarms(_) => unreachable!("handled above"),
        Command::Dashboards(a) => kpi::run_dashboards(a, &config.metrics).await,
        Command::Demo(a) => demo::run(a).await,
        Command::Generate(a) => generate::run(a),
        Command::Ingest(a) => ingest::run(a, &config.ingest, &config.kafka, &config.metrics).await,
        Command::Query(a) => query::run(a).await,
        Command::Export(a) => export::run(a).await,
        Command::Retention(a) => maintain::run_retention(a).await,
        Command::Forget(a) => maintain::run_forget(a).await,
        Command::Compact(a) => maintain::run_compact(a).await,
        Command::Catalog(a) => maintain::run_catalog(a),
    }
}
