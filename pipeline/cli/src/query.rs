//! `authlake query`.

use anyhow::Context;
use authlake_analytics::output::{render, Format};
use authlake_analytics::{lake_context, run_sql_with};
use authlake_ingest::Lake;
use clap::Args;

use crate::cli::OutputFormat;

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Lake: a directory or s3://bucket/prefix.
    #[arg(long)]
    pub lake: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Allow statements that write or define tables (COPY ... TO, INSERT, CREATE ...).
    #[arg(long)]
    pub allow_writes: bool,
    /// SQL over tables `events` and `dead_letters`.
    pub sql: String,
}

pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake, false)?;
    print!("{}", query_text(&lake, &args.sql, args.format, args.allow_writes).await?);
    Ok(())
}

/// Runs `sql` and renders the result.
pub async fn query_text(lake: &Lake, sql: &str, format: OutputFormat, allow_writes: bool) -> anyhow::Result<String> {
    let ctx = lake_context(lake).await?;
    let (schema, batches) = run_sql_with(&ctx, sql, allow_writes).await.map_err(|e| anyhow::anyhow!("query failed: {e}"))?;
    let format = match format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    };
    render(&schema, &batches, format).context("cannot render result")
}
