//! `authlake lake history` and `authlake lake upgrade`.

use authlake_lake::history::history;
use authlake_lake::upgrade::upgrade;
use authlake_lake::Lake;
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use authlake_analytics::output::{render, Format};
use authlake_lake::history::Entry;
use clap::{Args, Subcommand};

use crate::cli::OutputFormat;

#[derive(Debug, Args)]
pub struct LakeArgs {
    #[command(subcommand)]
    pub action: LakeAction,
}

#[derive(Debug, Subcommand)]
pub enum LakeAction {
    /// The events table's commits, newest first: version, time, operation, rows added and removed, writer.
    History {
        /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
        #[arg(long, env = "AUTHLAKE_LAKE")]
        lake: Option<String>,
        /// Show at most this many commits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// table, csv, json or ndjson.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Convert a lake written with authlake's earlier commit log into a Delta table, in place (no data rewritten; positions kept). Running it again is harmless.
    Upgrade {
        /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
        #[arg(long, env = "AUTHLAKE_LAKE")]
        lake: Option<String>,
    },
}

impl LakeArgs {
    pub fn lake_mut(&mut self) -> &mut Option<String> {
        match &mut self.action {
            LakeAction::History { lake, .. } | LakeAction::Upgrade { lake } => lake,
        }
    }
}

pub async fn run(a: LakeArgs) -> anyhow::Result<()> {
    match a.action {
        LakeAction::History { lake, limit, format } => {
            let lake = Lake::open(crate::cli::lake(&lake)?, false)?;
            let entries = history(&lake, Some(limit)).await?;
            print!("{}", render_history(&entries, format)?);
        }
        LakeAction::Upgrade { lake } => {
            let lake = Lake::open(crate::cli::lake(&lake)?, false)?;
            let u = upgrade(&lake).await?;
            match (u.legacy_commits, u.already) {
                (0, _) => println!("{}: nothing to upgrade (no earlier commit log)", lake.display()),
                (_, true) => println!("{}: already upgraded", lake.display()),
                (n, false) => println!(
                    "{}: upgraded to Delta: {n} commits carried as {} event files, {} dead-letter files and {} source positions",
                    lake.display(),
                    u.event_files,
                    u.dead_letter_files,
                    u.positions
                ),
            }
        }
    }
    Ok(())
}

fn render_history(entries: &[Entry], format: OutputFormat) -> anyhow::Result<String> {
    let text = |f: &dyn Fn(&Entry) -> Option<String>| Arc::new(entries.iter().map(f).collect::<StringArray>()) as ArrayRef;
    let count = |f: &dyn Fn(&Entry) -> Option<u64>| Arc::new(entries.iter().map(f).collect::<UInt64Array>()) as ArrayRef;
    let schema = Arc::new(Schema::new(vec![
        Field::new("version", DataType::UInt64, true),
        Field::new("time", DataType::Utf8, true),
        Field::new("operation", DataType::Utf8, true),
        Field::new("rows_added", DataType::UInt64, true),
        Field::new("rows_removed", DataType::UInt64, true),
        Field::new("writer", DataType::Utf8, true),
    ]));
    let columns = vec![
        count(&|e| Some(e.version)),
        text(&|e| e.time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))),
        text(&|e| Some(e.authlake_operation.clone().unwrap_or_else(|| e.operation.to_lowercase()))),
        count(&|e| e.rows_added),
        count(&|e| e.rows_removed),
        text(&|e| e.writer.clone()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let format = match format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Ndjson => Format::Ndjson,
        OutputFormat::Csv => Format::Csv,
    };
    render(&schema, &[batch], format).context("cannot render history")
}
