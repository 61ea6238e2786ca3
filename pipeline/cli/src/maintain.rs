//! `authlake retention`, `forget`, `compact` and `catalog`.

use anyhow::Context;
use authlake_analytics::catalog::{ddl, Engine};
use authlake_analytics::maintain::{compact, forget, retention};
use authlake_lake::Lake;
use clap::{Args, ValueEnum};

use crate::config::{parse_duration, parse_size};

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Keep this much history, e.g. 400d; older partitions are dropped.
    #[arg(long)]
    pub keep: String,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// The person to erase: a username or a sub.
    #[arg(long)]
    pub user: String,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Only this partition (or prefix), e.g. category=auth/event_date=2026-11-26.
    #[arg(long)]
    pub partition: Option<String>,
    /// Target size of merged files.
    #[arg(long, default_value = "128MiB")]
    pub target_file_size: String,
    /// Partitions are closed (compacted) once their day is this old; default 1d (lateness).
    #[arg(long, default_value = "1d")]
    pub closed_after: String,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Engine to write DDL for.
    #[arg(value_enum)]
    pub engine: CatalogEngine,
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Table name.
    #[arg(long, default_value = "authlake_events")]
    pub table: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CatalogEngine {
    Athena,
    Glue,
    Spark,
    Duckdb,
}

fn today() -> i32 {
    (chrono::Utc::now().timestamp().div_euclid(86_400)) as i32
}

fn days(spec: &str) -> anyhow::Result<i32> {
    Ok((parse_duration(spec)?.as_secs() / 86_400) as i32)
}

pub async fn run_retention(a: RetentionArgs) -> anyhow::Result<()> {
    let keep = days(&a.keep).with_context(|| format!("invalid --keep {:?} (e.g. 400d)", a.keep))?;
    anyhow::ensure!(keep >= 1, "--keep must be at least 1d");
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let cutoff = today() - keep;
    let s = retention::retention(&lake, cutoff).await?;
    let date = authlake_core::partition::day_to_date_string(cutoff);
    match s.commit {
        Some(c) => println!("retention: dropped {} partitions before {date} ({} files, {} rows) in commit {c}", s.partitions, s.files, s.rows),
        None => println!("retention: nothing before {date}"),
    }
    Ok(())
}

pub async fn run_forget(a: ForgetArgs) -> anyhow::Result<()> {
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let s = forget::forget(&lake, &a.user).await?;
    match (s.commit, s.record) {
        (Some(c), Some(r)) => println!(
            "forget: erased {} rows and {} dead letters, rewrote {} files in commit {c}; erasure record {r}",
            s.rows, s.dead_letters, s.files_rewritten
        ),
        _ => println!("forget: no rows of that user in the lake"),
    }
    Ok(())
}

pub async fn run_compact(a: CompactArgs) -> anyhow::Result<()> {
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let target = parse_size(&a.target_file_size)?;
    let closed_before = today() - days(&a.closed_after)?;
    let s = compact::compact(&lake, closed_before, target, a.partition.as_deref()).await?;
    match s.commit {
        Some(c) => println!("compact: {} partitions, {} files merged into {} in commit {c}", s.partitions, s.files_before, s.files_after),
        None => println!("compact: nothing to merge"),
    }
    Ok(())
}

pub async fn run_catalog(a: CatalogArgs) -> anyhow::Result<()> {
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let url = lake.url();
    let engine = match a.engine {
        CatalogEngine::Athena => Engine::Athena,
        CatalogEngine::Glue => Engine::Glue,
        CatalogEngine::Spark => Engine::Spark,
        CatalogEngine::Duckdb => Engine::DuckDb,
    };
    // Only DuckDB's view names files: the others read the Delta log.
    let mut files = Vec::new();
    if engine == Engine::DuckDb {
        let log = authlake_lake::CommitLog::load(&lake).await?;
        let events = log.state.live.into_values().filter(|f| f.table == authlake_lake::TableKind::Events);
        files = events.map(|f| format!("{url}{}", f.path)).collect();
        files.sort();
    }
    print!("{}", ddl(engine, &url, &a.table, &files));
    Ok(())
}
