//! Shared helpers: paths, the `authlake` binary, reading what a lake holds.

use std::path::{Path, PathBuf};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use arrow::array::RecordBatch;
use authlake_ingest::decode::Defaults;
use authlake_lake::commit::Commit;
use authlake_lake::Checkpoint;
use authlake_ingest::{IngestOptions, IngestSummary, Progress};
use authlake_lake::Lake;

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

/// A commit that only moves one source partition's position: what a
/// writer leaves when its records went in some other way (or were lost).
pub fn position_commit(key: &str, offset: u64) -> Commit {
    Commit {
        positions: std::collections::BTreeMap::from([(key.to_string(), Checkpoint::offset(offset))]),
        ..Commit::draft(&format!("w-{key}"), "ingest")
    }
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

/// The fixture files an ingest of `fixtures/` reads: the file source skips
/// Markdown notes (`fixtures/real/SOURCES.md`) in a directory.
pub fn fixture_files() -> Vec<PathBuf> {
    walk(&fixtures()).into_iter().filter(|p| p.extension().is_none_or(|e| e != "md")).collect()
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
    let code = format!(
        "import json, deltalake\nprint(json.dumps(deltalake.DeltaTable('{}').file_uris() if deltalake.DeltaTable.is_deltatable('{0}') else []))",
        lake_dir.display()
    );
    let uris: Vec<String> = serde_json::from_str(&python(&code)).expect("file list");
    let mut files: Vec<PathBuf> = uris.iter().map(|u| PathBuf::from(u.strip_prefix("file://").unwrap_or(u))).collect();
    files.sort();
    files
}

/// Data files in the partition directories that the snapshot does not
/// hold: written by a writer that died before committing them (invisible
/// to readers; its next start removes them).
pub fn uncommitted_files(lake_dir: &Path) -> Vec<PathBuf> {
    let live: std::collections::BTreeSet<PathBuf> = partition_files(lake_dir).into_iter().collect();
    walk(lake_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .filter(|p| !p.strip_prefix(lake_dir).unwrap().starts_with("_authlake") && !p.to_string_lossy().contains("_delta_log"))
        .filter(|p| !live.contains(p))
        .collect()
}

/// Rows and distinct event ids of the events table as DuckDB reads them
/// over the snapshot's file list (Python `deltalake` reads the log).
pub fn duckdb_snapshot_counts(lake_dir: &Path) -> (u64, u64) {
    let code = format!(
        "import duckdb, deltalake\nfiles = deltalake.DeltaTable('{}').file_uris()\n\
         print(*(duckdb.sql(f\"SELECT COUNT(*), COUNT(DISTINCT event_id) FROM read_parquet({{files!r}})\").fetchall()[0] if files else (0, 0)))",
        lake_dir.display()
    );
    let out = python(&code);
    let v: Vec<u64> = out.split_whitespace().map(|v| v.parse().expect("count")).collect();
    (v[0], v[1])
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
    python(&format!("import duckdb\n{code}"))
}

/// Runs authlake and measures its peak RSS (bytes) from the kernel's
/// accounting of the child.
pub fn authlake_peak_rss(args: &[&str]) -> (Output, u64) {
    let script = "import json, resource, subprocess, sys\n\
        p = subprocess.run(sys.argv[1:], capture_output=True)\n\
        sys.stderr.write(p.stderr.decode(errors='replace'))\n\
        print(json.dumps({'rc': p.returncode, 'out': p.stdout.decode(errors='replace'), 'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))";
    let out = Command::new("python3").arg("-c").arg(script).arg(authlake_bin()).args(args).output().expect("run python3");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("rss wrapper output");
    let rc = v["rc"].as_i64().unwrap() as i32;
    let status = std::process::ExitStatus::from_raw(rc << 8);
    (Output { status, stdout: v["out"].as_str().unwrap().as_bytes().to_vec(), stderr: out.stderr }, v["rss"].as_u64().unwrap())
}

/// Runs a Python script (tests/run.sh installs duckdb, boto3, ...) and
/// returns what it printed.
pub fn python(code: &str) -> String {
    let out = Command::new("python3").arg("-c").arg(code).output().expect("run python3");
    assert!(out.status.success(), "Python script failed (tests/run.sh installs its packages): {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A moto server (S3, Kinesis, DynamoDB emulator) on a free local port,
/// stopped when dropped. Fails the test, never skips it, when moto is
/// missing: tests/run.sh installs it.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto (pip install 'moto[server]'; tests/run.sh does)");
        let endpoint = format!("http://127.0.0.1:{port}");
        wait_for_port(port, "moto");
        Moto { child, endpoint }
    }

    /// Environment for AWS clients pointed at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// Sends a signal (`-STOP`, `-CONT`) to the server.
    pub fn signal(&self, signal: &str) {
        assert!(Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap().success());
    }

    /// Creates an S3 bucket (an unsigned REST call: moto does not check
    /// signatures).
    pub fn create_bucket(&self, name: &str) {
        use std::io::{Read, Write};
        let addr = self.endpoint.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "PUT /{name} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "create bucket: {resp}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `authlake args...` with extra environment, asserting success.
pub fn authlake_env_ok(args: &[&str], env: &[(&str, String)]) -> String {
    let out = Command::new(authlake_bin()).args(args).envs(env.iter().map(|(k, v)| (*k, v.as_str()))).output().expect("run authlake");
    assert!(out.status.success(), "authlake {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// A ministack server (the CloudWatch emulator that speaks the SDK's
/// Smithy RPC v2 CBOR) on a free local port, stopped when dropped. Fails
/// the test, never skips it, when ministack is missing: tests/run.sh
/// installs it.
pub struct Ministack {
    child: std::process::Child,
    pub port: u16,
}

impl Ministack {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("ministack")
            .env("GATEWAY_PORT", port.to_string())
            .env("IOT_MTLS_ENABLED", "0")
            .current_dir(std::env::temp_dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start ministack (pip install ministack cbor2; tests/run.sh does)");
        wait_for_port(port, "ministack");
        Ministack { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Environment for AWS clients pointed at `endpoint`.
    pub fn env_for(endpoint: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", endpoint.to_string()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        Self::env_for(&self.endpoint())
    }

    /// Runs Python code with a boto3 CloudWatch client `cw` on this server.
    pub fn python(&self, code: &str) -> String {
        let prelude = format!(
            "import boto3, json, datetime\ncw = boto3.client('cloudwatch', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n",
            self.endpoint()
        );
        let out = Command::new("python3").arg("-c").arg(prelude + code).output().expect("run python3");
        assert!(out.status.success(), "boto3 script failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

impl Drop for Ministack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `authlake args...` with extra environment; returns the output.
pub fn authlake_env(args: &[&str], env: &[(&str, String)]) -> Output {
    Command::new(authlake_bin()).args(args).envs(env.iter().map(|(k, v)| (*k, v.as_str()))).output().expect("run authlake")
}

/// A tansu Kafka-protocol broker (in-memory storage) on a free local port,
/// stopped when dropped. Fails the test, never skips it, when tansu is
/// missing: tests/run.sh installs it with `cargo install`.
pub struct Tansu {
    child: std::process::Child,
    pub port: u16,
}

impl Tansu {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("tcp://127.0.0.1:{port}");
        let bin = std::env::var("TANSU").unwrap_or_else(|_| "tansu".into());
        let child = Command::new(bin)
            .args(["broker", "--storage-engine", "memory://tansu/", "--listener-url", &url, "--advertised-listener-url", &url])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start tansu (cargo install tansu --locked --features dynostore; tests/run.sh does)");
        wait_for_port(port, "tansu");
        Tansu { child, port }
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the broker: an outage
    /// without a restart, which would lose the in-memory topics.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something listens on `port` (a server the test started).
fn wait_for_port(port: u16, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "{what} did not start on port {port}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `n` generated events (mixed formats, seeded) as lines, and how many rows
/// they make through a file ingest (the reference for stream sources).
pub fn traffic(dir: &std::path::Path, n: u64, seed: u64) -> (Vec<String>, u64) {
    let input = dir.join(format!("traffic-{seed}.ndjson"));
    authlake_ok(&["generate", "--events", &n.to_string(), "--days", "5", "--seed", &seed.to_string(), "--end", "2026-11-20T00:00:00Z", "--out", &input.display().to_string()]);
    let reference = dir.join(format!("reference-{seed}"));
    let out = authlake_ok(&["ingest", "--from", &format!("file://{}", input.display()), "--lake", &reference.display().to_string(), "--quiet"]);
    let rows: u64 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    (std::fs::read_to_string(&input).unwrap().lines().map(String::from).collect(), rows)
}

/// Rows, distinct event ids and distinct sources in the lake's events.
pub fn counts(lake: &str) -> (u64, u64, u64) {
    let out = authlake_ok(&["query", "--lake", lake, "--format", "json", "SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS ids, COUNT(DISTINCT source) AS src FROM events"]);
    let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    (v[0]["n"].as_u64().unwrap(), v[0]["ids"].as_u64().unwrap(), v[0]["src"].as_u64().unwrap())
}

/// Rows in the lake; 0 before its first commit.
pub fn lake_rows(lake: &str) -> u64 {
    if std::path::Path::new(lake).join("_delta_log").exists() { counts(lake).0 } else { 0 }
}

/// Waits until the lake holds `n` rows (or the deadline passes).
pub fn wait_for_rows(lake: &str, n: u64, within: std::time::Duration) -> u64 {
    let deadline = std::time::Instant::now() + within;
    loop {
        let have = lake_rows(lake);
        if have >= n || std::time::Instant::now() > deadline {
            return have;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Asks a running `authlake` to stop (SIGTERM: flush, commit, exit).
///
/// Sent only once the child catches SIGTERM: a child spawned a moment ago
/// may not have installed its handler yet, and the default action would
/// kill it (a race a test must not lose on a loaded machine).
pub fn sigterm(child: &std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // An exited child (a zombie until reaped) is left for `finish` to report.
    while let Some(false) = catches_sigterm(child.id()) {
        assert!(std::time::Instant::now() < deadline, "authlake (pid {}) never installed its SIGTERM handler", child.id());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
}

/// Whether a running process has a handler for SIGTERM (bit 15 of
/// `SigCgt`); `None` once it has exited.
fn catches_sigterm(pid: u32) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    if status.lines().any(|l| l.starts_with("State:") && l.contains("zombie")) {
        return None;
    }
    let caught = status.lines().find_map(|l| l.strip_prefix("SigCgt:")).and_then(|m| u64::from_str_radix(m.trim(), 16).ok());
    Some(caught.is_some_and(|m| m & (1 << (15 - 1)) != 0))
}

/// Waits for an `authlake` child and checks it exited cleanly.
pub fn finish(child: std::process::Child) -> Output {
    succeeded(child.wait_with_output().unwrap())
}

fn succeeded(out: Output) -> Output {
    assert!(out.status.success(), "authlake exited with {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

/// Like [`finish`], for a process that must end by itself: one still
/// running after `within` is killed and the test fails (instead of hanging).
/// Its output is read meanwhile, so a chatty process never blocks on a full pipe.
pub fn finish_within(child: std::process::Child, within: std::time::Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    let Ok(out) = rx.recv_timeout(within) else {
        Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
        let out = rx.recv().unwrap();
        panic!("authlake still running after {within:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    succeeded(out)
}
