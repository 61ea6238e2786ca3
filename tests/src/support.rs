//! Shared helpers: paths, the `authlake` binary, reading what a lake holds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::RecordBatch;
use authlake_ingest::decode::Defaults;
use authlake_ingest::{IngestOptions, IngestSummary, Lake, Progress};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

pub fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// The `authlake` binary built next to this test binary.
pub fn authlake_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("authlake");
    assert!(bin.exists(), "{} is missing: run `cargo build -p authlake` first (tests/run.sh does)", bin.display());
    bin
}

/// Runs `authlake args...` and returns its output.
pub fn authlake(args: &[&str]) -> Output {
    Command::new(authlake_bin()).args(args).output().expect("run authlake")
}

/// Runs `authlake args...`, asserting success; returns stdout.
pub fn authlake_ok(args: &[&str]) -> String {
    let out = authlake(args);
    assert!(
        out.status.success(),
        "authlake {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Ingests `source` into the lake at `lake_dir` through the library.
pub async fn ingest(lake_dir: &Path, source: &str, defaults: Defaults) -> IngestSummary {
    let lake = Lake::open(&lake_dir.display().to_string(), true).expect("open lake");
    let files = authlake_ingest::source::file::resolve(source).expect("resolve source");
    let opts = IngestOptions { writer_id: "test".into(), defaults, ..Default::default() };
    authlake_ingest::run_files(&lake, files, &opts, std::sync::Arc::new(Progress::default()), std::future::pending())
        .await
        .expect("ingest")
}

/// Runs SQL over a lake and returns the rows as JSON objects.
pub async fn query_json(lake_dir: &Path, sql: &str) -> Vec<serde_json::Value> {
    let lake = Lake::open(&lake_dir.display().to_string(), false).expect("open lake");
    let ctx = authlake_analytics::lake_context(&lake).await.expect("context");
    let (schema, batches) = authlake_analytics::run_sql(&ctx, sql).await.expect("query");
    let text = authlake_analytics::output::render(&schema, &batches, authlake_analytics::output::Format::Json).unwrap();
    serde_json::from_str(&text).expect("json rows")
}

/// Every file under `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Parquet data files in partition directories (what a Hive reader sees).
pub fn partition_files(lake_dir: &Path) -> Vec<PathBuf> {
    walk(lake_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet") && !p.strip_prefix(lake_dir).unwrap().starts_with("_authlake"))
        .collect()
}

/// A file's content as text: Parquet decoded to its values, gzip inflated,
/// anything else as lossy UTF-8.
pub fn file_text(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read file");
    if bytes.starts_with(b"PAR1") {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .and_then(|b| b.build())
            .unwrap_or_else(|e| panic!("{} is not readable Parquet: {e}", path.display()));
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().expect("parquet batches");
        return arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string();
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut s).expect("gunzip");
        return s;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs Python code with DuckDB; the test fails (never skips) when DuckDB
/// is missing, since tests/run.sh installs it.
pub fn duckdb(code: &str) -> String {
    let out = Command::new("python3").arg("-c").arg(format!("import duckdb\n{code}")).output().expect("run python3");
    assert!(out.status.success(), "DuckDB script failed (tests/run.sh installs duckdb): {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}
