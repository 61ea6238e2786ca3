//! Command-line surface (DESIGN section 7).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::{config, demo, export, generate, ingest, query};

/// authlake: audit and security analytics for Amazon Cognito identity events.
#[derive(Debug, Parser)]
#[command(name = "authlake", version, about, long_about = None)]
pub struct Cli {
    /// Config file (TOML); flags override it. Defaults to ./authlake.toml if present.
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
    /// Export selected events (Parquet, CSV, JSON lines, OCSF) with a verifiable manifest.
    Export(export::ExportArgs),
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
    let config = config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Demo(a) => demo::run(a).await,
        Command::Generate(a) => generate::run(a),
        Command::Ingest(a) => ingest::run(a, &config.ingest).await,
        Command::Query(a) => query::run(a).await,
        Command::Export(a) => export::run(a).await,
    }
}
