//! `authlake query`.

use anyhow::Context;
use authlake_analytics::output::{render, Format};
use authlake_analytics::{lake_context, run_sql};
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
    /// SQL over tables `events` and `dead_letters`.
    pub sql: String,
}

pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake, false)?;
    print!("{}", query_text(&lake, &args.sql, args.format).await?);
    Ok(())
}

/// Runs `sql` and renders the result.
pub async fn query_text(lake: &Lake, sql: &str, format: OutputFormat) -> anyhow::Result<String> {
    let ctx = lake_context(lake).await?;
    let (schema, batches) = run_sql(&ctx, sql).await.map_err(|e| anyhow::anyhow!("query failed: {e}"))?;
    let format = match format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    };
    render(&schema, &batches, format).context("cannot render result")
}
