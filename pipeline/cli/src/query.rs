//! `authlake query`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use authlake_analytics::named;
use authlake_analytics::output::{render, Format};
use authlake_analytics::run_sql_with;
use authlake_analytics::context::lake_context_at;
use authlake_lake::{AsOf, Lake};
use clap::Args;

use crate::cli::OutputFormat;

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Allow statements that write or define tables (COPY ... TO, INSERT, CREATE ...).
    #[arg(long)]
    pub allow_writes: bool,
    /// Run the named query NAME (a file of `queries/`) instead of SQL.
    #[arg(long, conflicts_with_all = ["sql", "file"])]
    pub named: Option<String>,
    /// Read the SQL from FILE (`-`: standard input).
    #[arg(short, long, value_name = "FILE", conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    /// A parameter of the named query, `key=value` (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", requires = "named")]
    pub params: Vec<String>,
    /// Directory of named queries that override or add to the built-in ones.
    #[arg(long, env = "AUTHLAKE_QUERIES")]
    pub queries: Option<PathBuf>,
    /// Read the lake as it was at this events-table version (`authlake lake
    /// history` lists them) or moment (RFC 3339, or a date for the end of
    /// that day, UTC).
    #[arg(long, value_name = "VERSION|TIME")]
    pub as_of: Option<AsOf>,
    /// List the named queries with their parameters and exit.
    #[arg(long)]
    pub list_named: bool,
    /// SQL over tables `events` and `dead_letters` (`-`: read it from standard input).
    #[arg(required_unless_present_any = ["named", "list_named", "file"])]
    pub sql: Option<String>,
}

pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    if args.list_named {
        print!("{}", list_named()?);
        return Ok(());
    }
    let lake = Lake::open(crate::cli::lake(&args.lake)?, false)?;
    let sql = match (&args.named, &args.file, args.sql.as_deref()) {
        (Some(name), _, _) => {
            let query = named::find(name, args.queries.as_deref())?;
            query.bind(&parse_params(&args.params)?)?
        }
        (None, Some(path), _) if path.as_os_str() == "-" => read_stdin()?,
        (None, Some(path), _) => std::fs::read_to_string(path).with_context(|| format!("cannot read SQL from {}", path.display()))?,
        (None, None, Some("-")) => read_stdin()?,
        (None, None, Some(sql)) => sql.to_string(),
        (None, None, None) => anyhow::bail!("give SQL, -f FILE or --named NAME"),
    };
    print!("{}", query_text_at(&lake, &sql, args.format, args.allow_writes, args.as_of).await?);
    Ok(())
}

/// The SQL on standard input.
fn read_stdin() -> anyhow::Result<String> {
    let mut sql = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut sql).context("cannot read SQL from standard input")?;
    anyhow::ensure!(!sql.trim().is_empty(), "no SQL on standard input");
    Ok(sql)
}

/// `key=value` pairs.
pub fn parse_params(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p.split_once('=').with_context(|| format!("--param {p:?} is not key=value"))?;
            Ok((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

fn list_named() -> anyhow::Result<String> {
    let mut out = String::new();
    for q in named::builtin()? {
        out.push_str(&format!("{}\n    {}\n", q.name, q.summary.split_once(": ").map(|(_, s)| s).unwrap_or(&q.summary)));
        for p in &q.params {
            out.push_str(&format!("    --param {}=<{}> (default {:?}) {}\n", p.name, format!("{:?}", p.kind).to_lowercase(), p.default, p.description));
        }
    }
    Ok(out)
}

/// Runs `sql` and renders the result.
pub async fn query_text(lake: &Lake, sql: &str, format: OutputFormat, allow_writes: bool) -> anyhow::Result<String> {
    query_text_at(lake, sql, format, allow_writes, None).await
}

/// [`query_text`] over the lake as of a version or a moment.
pub async fn query_text_at(lake: &Lake, sql: &str, format: OutputFormat, allow_writes: bool, at: Option<AsOf>) -> anyhow::Result<String> {
    let (ctx, _) = lake_context_at(lake, at, true).await?;
    let (schema, batches) = match run_sql_with(&ctx, sql, allow_writes).await {
        Ok(r) => r,
        // Parquet errors name no file: find the one that cannot be read.
        Err(e) if e.to_string().contains("Parquet error") => match authlake_analytics::verify::find_unreadable(lake).await {
            Ok(Some(damage)) => anyhow::bail!("query failed: {damage}"),
            _ => anyhow::bail!("query failed: {e}"),
        },
        Err(e) => anyhow::bail!("query failed: {e}"),
    };
    // The session caches every footer it read; freeing them is a few
    // percent of a query, and the answer does not wait for it.
    std::thread::spawn(move || drop(ctx));
    let format = match format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Ndjson => Format::Ndjson,
        OutputFormat::Csv => Format::Csv,
    };
    render(&schema, &batches, format).context("cannot render result")
}
