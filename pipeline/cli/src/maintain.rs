//! `authlake retention`, `forget`, `compact`, `vacuum` and `catalog`.

use anyhow::Context;
use authlake_analytics::catalog::{ddl, Engine, Table};
use authlake_analytics::maintain::{compact, forget, prune_empty_dirs, retention, Change};
use authlake_lake::erasures::{ErasureKey, KEY_ENV};
use authlake_lake::append::live_paths;
use authlake_lake::TableKind;
use authlake_lake::Lake;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::config::{parse_duration, parse_size};
use crate::exit::{Exit, ExitContext};
use crate::out::{bytes, group};

/// `--dry-run`, shared by every maintenance command.
#[derive(Debug, Args)]
pub struct DryRun {
    /// Plan only: print what would be removed or rewritten (partitions,
    /// files, rows, bytes) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Keep this much history, e.g. 400d; older partitions (and dead letters ingested before) are dropped.
    #[arg(long)]
    pub keep: String,
    #[command(flatten)]
    pub dry: DryRun,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// The person to erase: a username or a sub.
    #[arg(long)]
    pub user: String,
    /// File holding the erasure key (at least 16 bytes), which keys the
    /// HMACs the erasure is recorded under [default: the environment
    /// variable AUTHLAKE_ERASURE_KEY]. Keep it outside the lake; ingests
    /// need the same key to keep erased subjects out.
    #[arg(long, value_name = "FILE")]
    pub erasure_key_file: Option<PathBuf>,
    /// Record the erasure even when the lake holds no row of the person
    /// (an erasure request that comes before their data); without it, a
    /// name with no rows is an error, so a typo never reads as done.
    #[arg(long)]
    pub allow_missing: bool,
    #[command(flatten)]
    pub dry: DryRun,
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
    #[command(flatten)]
    pub dry: DryRun,
}

#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Delete files removed from a table longer ago than this, and files
    /// no commit added that are older: versions older than this can no
    /// longer be read with --as-of. At least 1h (a writer's files wait
    /// that long at most before their commit).
    #[arg(long, default_value = "7d")]
    pub older_than: String,
    #[command(flatten)]
    pub dry: DryRun,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Engine to write DDL for.
    #[arg(value_enum)]
    pub engine: CatalogEngine,
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Table names are PREFIX_events, PREFIX_dead_letters, PREFIX_erasures.
    #[arg(long, default_value = "authlake")]
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CatalogEngine {
    /// Athena (`table_type = DELTA`).
    Athena,
    /// Glue Data Catalog table inputs for Delta tables.
    Glue,
    /// Spark or Databricks (`USING DELTA`).
    Spark,
    /// Trino's Delta Lake connector (`register_table`).
    Trino,
    /// DuckDB with its delta extension (`delta_scan`).
    Duckdb,
    /// DuckDB without the extension: views over the snapshot's file lists.
    DuckdbFiles,
}

fn today() -> i32 {
    (chrono::Utc::now().timestamp().div_euclid(86_400)) as i32
}

fn days(spec: &str) -> anyhow::Result<i32> {
    Ok((parse_duration(spec)?.as_secs() / 86_400) as i32)
}

/// One line saying what a maintenance command did or would do.
fn report(command: &str, dry_run: bool, c: &Change, detail: &str) -> String {
    let (verb, tail) = match (dry_run, c.commit) {
        (true, _) => ("would remove", " (dry run: nothing changed)".to_string()),
        (false, Some(v)) => ("removed", format!(" in commit {v}")),
        (false, None) => ("removed", String::new()),
    };
    format!(
        "{command}: {verb} {} files ({}, {} rows, {} dead letters) in {} partitions, adding {} files ({} rows rewritten){detail}{tail}",
        group(c.files_removed as u64),
        bytes(c.bytes_removed),
        group(c.rows_removed),
        group(c.dead_letters_removed),
        group(c.partitions as u64),
        group(c.files_added as u64),
        group(c.rows_rewritten),
    )
}

pub async fn run_retention(a: RetentionArgs) -> anyhow::Result<()> {
    let keep = days(&a.keep).with_context(|| format!("invalid --keep {:?} (e.g. 400d)", a.keep)).exit_code(Exit::Usage)?;
    if keep < 1 {
        return Err(crate::exit::coded(Exit::Usage, format!("--keep {} is less than a day: keep at least 1d", a.keep)));
    }
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let cutoff = today() - keep;
    let c = retention::retention(&lake, cutoff, a.dry.dry_run).await?;
    let date = authlake_core::partition::day_to_date_string(cutoff);
    println!("{}", report("retention", a.dry.dry_run, &c, &format!(", everything before {date}")));
    Ok(())
}

pub async fn run_forget(a: ForgetArgs) -> anyhow::Result<()> {
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let key = ErasureKey::resolve(a.erasure_key_file.as_deref())?.ok_or_else(|| {
        crate::exit::coded(
            Exit::Usage,
            format!("forget needs an erasure key, to record whom it erased without naming them: --erasure-key-file FILE or {KEY_ENV}"),
        )
    })?;
    let f = forget::forget(&lake, &a.user, &key, a.allow_missing, a.dry.dry_run).await?;
    let detail = format!(", {} identifiers, {} files deleted at once", f.identifiers, f.files_deleted);
    println!("{}", report("forget", a.dry.dry_run, &f.change, &detail));
    if let Some(v) = f.record {
        println!("forget: erasure recorded in _authlake/tables/erasures (version {v}); later ingests drop this subject's rows");
    }
    Ok(())
}

pub async fn run_compact(a: CompactArgs) -> anyhow::Result<()> {
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let o = compact::CompactOptions {
        closed_before_day: today() - days(&a.closed_after).with_context(|| format!("invalid --closed-after {:?}", a.closed_after)).exit_code(Exit::Usage)?,
        target_bytes: parse_size(&a.target_file_size).with_context(|| format!("invalid --target-file-size {:?}", a.target_file_size)).exit_code(Exit::Usage)?,
        only: a.partition,
    };
    let c = compact::compact(&lake, &o, a.dry.dry_run).await?;
    println!("{}", report("compact", a.dry.dry_run, &c, ""));
    Ok(())
}

pub async fn run_vacuum(a: VacuumArgs) -> anyhow::Result<()> {
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let older = parse_duration(&a.older_than).with_context(|| format!("invalid --older-than {:?} (e.g. 7d)", a.older_than)).exit_code(Exit::Usage)?;
    let older = chrono::Duration::from_std(older).context("--older-than is too long")?;
    let done = authlake_lake::vacuum::vacuum(&lake, older, a.dry.dry_run, None).await.map_err(|e| match e {
        authlake_lake::LakeError::Refused(m) => crate::exit::coded(Exit::Usage, m),
        e => e.into(),
    })?;
    if !a.dry.dry_run {
        prune_empty_dirs(&lake);
    }
    let verb = if a.dry.dry_run { "would delete" } else { "deleted" };
    for t in &done {
        println!("vacuum: {} {verb} {} files ({})", t.table, group(t.files.len() as u64), bytes(t.bytes));
        for f in &t.files {
            tracing::debug!(file = %f, "vacuum");
        }
    }
    if a.dry.dry_run {
        println!("vacuum: dry run, nothing changed");
    }
    Ok(())
}

pub async fn run_catalog(a: CatalogArgs) -> anyhow::Result<()> {
    let lake = Lake::open(crate::cli::lake(&a.lake)?, false)?;
    let engine = match a.engine {
        CatalogEngine::Athena => Engine::Athena,
        CatalogEngine::Glue => Engine::Glue,
        CatalogEngine::Spark => Engine::Spark,
        CatalogEngine::Trino => Engine::Trino,
        CatalogEngine::Duckdb => Engine::DuckDb,
        CatalogEngine::DuckdbFiles => Engine::DuckDbFiles,
    };
    let url = lake.url();
    // Only the file-list views need the snapshot; the others name
    // locations, and every engine reads the Delta logs itself.
    let live = match engine {
        Engine::DuckDbFiles => Some(authlake_lake::CommitLog::load(&lake).await?.state.live),
        _ => None,
    };
    let mut tables = Vec::new();
    for kind in TableKind::ALL {
        let mut files: Vec<String> = match (&live, kind) {
            // The erasures table exists once `forget` ran, findings once `detect` did.
            (_, TableKind::Erasures | TableKind::Findings) => match live_paths(&lake, kind).await {
                Ok(Some(paths)) => paths,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!("cannot tell whether the lake has a {} table ({e}); leaving it out", kind.name());
                    continue;
                }
            },
            (Some(live), _) => live.values().filter(|f| f.table == kind).map(|f| f.path.clone()).collect(),
            (None, _) => Vec::new(),
        };
        files.sort();
        tables.push(Table {
            kind,
            name: format!("{}_{}", a.prefix, kind.name()),
            url: match kind.dir() {
                "" => url.clone(),
                dir => format!("{url}{dir}/"),
            },
            files: files.into_iter().map(|f| format!("{url}{f}")).collect(),
        });
    }
    print!("{}", ddl(engine, &tables));
    Ok(())
}
