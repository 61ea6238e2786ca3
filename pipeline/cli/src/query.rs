//! `authlake query`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use authlake_analytics::named;
use authlake_analytics::output::{render, Format};
use authlake_analytics::{run_sql_with, Writes};
use authlake_analytics::context::lake_context_at;
use authlake_lake::{AsOf, Lake};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
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
    /// Allow `COPY (...) TO 'PATH'` to a path outside the lake. Nothing
    /// ever writes to the lake's tables through a query (INSERT, CREATE,
    /// SET, COPY into the lake are refused): they change only through
    /// authlake's commits.
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
        print!("{}", list_named(args.queries.as_deref())?);
        return Ok(());
    }
    let lake = Lake::open(crate::cli::lake(&args.lake)?, false)?;
    let sql = match (&args.named, &args.file, args.sql.as_deref()) {
        (Some(name), _, _) => {
            let query = named::find(name, args.queries.as_deref())?;
            let params = parse_params(&args.params)?;
            if query.params.iter().any(|p| p.name == named::MAX_ROWS) {
                return capped(&lake, &query, params, args.format, args.as_of).await;
            }
            query.bind(&params)?
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

/// A named query with a `max_rows` cap: one row more is asked for, and
/// when it comes, the answer is cut at the cap and a note on standard
/// error says how many rows there are in all (counted by a second query).
async fn capped(lake: &Lake, query: &named::NamedQuery, mut params: BTreeMap<String, String>, format: OutputFormat, at: Option<AsOf>) -> anyhow::Result<()> {
    let cap_text = match params.get(named::MAX_ROWS) {
        Some(v) => v.clone(),
        None => query.params.iter().find(|p| p.name == named::MAX_ROWS).map(|p| p.default.clone()).unwrap_or_default(),
    };
    query.bind(&params)?; // the caller's values are checked as given
    let cap: usize = cap_text.parse().with_context(|| format!("{} must be a whole number", named::MAX_ROWS))?;
    params.insert(named::MAX_ROWS.into(), (cap + 1).to_string());
    let (ctx, _) = lake_context_at(lake, at, true).await?;
    let (schema, mut batches) = run_checked(&ctx, lake, &query.bind(&params)?, Writes::Refused).await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows > cap {
        batches = arrow::compute::concat_batches(&schema, &batches).map(|b| vec![b.slice(0, cap)])?;
        params.insert(named::MAX_ROWS.into(), i64::MAX.to_string());
        // The query as a subquery: a trailing `;` or `--` comment must not end it.
        let inner = query.bind(&params)?;
        let count_sql = format!("SELECT COUNT(*) AS n FROM (\n{}\n)", inner.trim_end().trim_end_matches(';'));
        let (_, counted) = run_checked(&ctx, lake, &count_sql, Writes::Refused).await?;
        let total = counted.first().and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>()).map_or(0, |a| a.value(0));
        eprintln!("showing {cap} of {total} rows (raise {m}: --param {m}={total})", m = named::MAX_ROWS);
    }
    print!("{}", render(&schema, &batches, format.into()).context("cannot render result")?);
    Ok(())
}

fn list_named(dir: Option<&std::path::Path>) -> anyhow::Result<String> {
    let mut out = String::new();
    for q in named::all(dir)? {
        out.push_str(&format!("{}\n    {}\n", q.name, q.summary.split_once(": ").map(|(_, s)| s).unwrap_or(&q.summary)));
        for line in &q.notes {
            out.push_str(&format!("    {line}\n"));
        }
        for p in &q.params {
            out.push_str(&format!("    --param {}=<{}> (default {:?}) {}\n", p.name, p.kind.name(), p.default, p.description));
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
    let writes = if allow_writes { Writes::CopyOutside(lake) } else { Writes::Refused };
    let (schema, batches) = run_checked(&ctx, lake, sql, writes).await?;
    // The session caches every footer it read; freeing them is a few
    // percent of a query, and the answer does not wait for it.
    std::thread::spawn(move || drop(ctx));
    render(&schema, &batches, format.into()).context("cannot render result")
}

/// Runs `sql`; a failure names the lake file that cannot be read, if any.
async fn run_checked(ctx: &SessionContext, lake: &Lake, sql: &str, writes: Writes<'_>) -> anyhow::Result<(SchemaRef, Vec<RecordBatch>)> {
    match run_sql_with(ctx, sql, writes).await {
        Ok(r) => Ok(r),
        // Parquet errors name no file: find the one that cannot be read.
        Err(e) if e.to_string().contains("Parquet error") => match authlake_analytics::verify::find_unreadable(lake).await {
            Ok(Some(damage)) => anyhow::bail!("query failed: {damage}"),
            _ => anyhow::bail!("query failed: {e}"),
        },
        Err(e) => anyhow::bail!("query failed: {e}"),
    }
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Table => Format::Table,
            OutputFormat::Json => Format::Json,
            OutputFormat::Ndjson => Format::Ndjson,
            OutputFormat::Csv => Format::Csv,
        }
    }
}
