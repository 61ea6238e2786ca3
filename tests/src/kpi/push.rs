//! Metrics pushed to CloudWatch (ministack) exactly once, equal to the
//! counts DuckDB computes from the Parquet files; throttling and outages.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{generated_lake, hours_ago};
use crate::support::{authlake_env, authlake_env_ok, authlake_ok, duckdb, walk, Ministack};

/// Per hour and pool, from the Parquet files by DuckDB: the catalogue's
/// definitions (docs/metrics.md) written independently of authlake's SQL.
fn duckdb_hourly(lake: &str) -> BTreeMap<(i64, String, String), f64> {
    let out = duckdb(&format!(
        r#"
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
rows = con.execute('''
  SELECT CAST(epoch(time_bucket(INTERVAL 1 hour, event_time)) AS BIGINT) AS w, coalesce(user_pool_id, 'unknown') AS pool,
    count(*) FILTER (WHERE (event_type IN ('sign_in','federated_sign_in','mfa_response') AND outcome IN ('success','failure','throttled'))
                        OR (event_type IN ('sign_in','federated_sign_in') AND outcome = 'in_progress')) AS SignInAttempts,
    count(*) FILTER (WHERE (event_type IN ('sign_in','federated_sign_in') OR event_type = 'mfa_response') AND outcome = 'success') AS SignInSuccesses,
    count(*) FILTER (WHERE (event_type IN ('sign_in','federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge') AS MfaChallenges,
    least(count(*) FILTER (WHERE (event_type IN ('sign_in','federated_sign_in') AND mfa_challenged AND mfa_passed) OR (event_type = 'mfa_response' AND outcome = 'success')),
          count(*) FILTER (WHERE (event_type IN ('sign_in','federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge')) AS MfaCompletions,
    count(*) FILTER (WHERE event_type IN ('sign_in','federated_sign_in') AND risk_level = 'high') AS HighRiskSignIns,
    count(*) FILTER (WHERE outcome = 'throttled') AS ThrottledRequests,
    count(*) AS Requests,
    count(DISTINCT CASE WHEN event_type = 'user_migration' AND outcome = 'success' THEN coalesce(username, user_sub) END) AS UsersMigrated
  FROM read_parquet('{lake}/*/*/*.parquet', hive_partitioning = true)
  GROUP BY ALL''').fetchall()
cols = ['SignInAttempts','SignInSuccesses','MfaChallenges','MfaCompletions','HighRiskSignIns','ThrottledRequests','Requests','UsersMigrated']
for r in rows:
    for c, v in zip(cols, r[2:]):
        print(r[0], r[1], c, v)
"#
    ));
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            ((f[0].parse().unwrap(), f[1].to_string(), f[2].to_string()), f[3].parse().unwrap())
        })
        .collect()
}

/// CloudWatch's Sum and SampleCount per (hour, pool, metric), read back with boto3.
fn cloudwatch_hourly(cw: &Ministack, namespace: &str, pools: &[String], metrics: &[&str]) -> BTreeMap<(i64, String, String), (f64, f64)> {
    let out = cw.python(&format!(
        r#"
now = datetime.datetime.now(datetime.timezone.utc)
for pool in {pools:?}:
    for m in {metrics:?}:
        r = cw.get_metric_statistics(Namespace='{namespace}', MetricName=m, Dimensions=[{{'Name': 'UserPoolId', 'Value': pool}}],
            StartTime=now - datetime.timedelta(days=13), EndTime=now + datetime.timedelta(hours=1), Period=3600, Statistics=['Sum', 'SampleCount'])
        for d in r['Datapoints']:
            print(int(d['Timestamp'].timestamp()), pool, m, d['Sum'], d['SampleCount'])
"#
    ));
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            ((f[0].parse().unwrap(), f[1].to_string(), f[2].to_string()), (f[3].parse().unwrap(), f[4].parse().unwrap()))
        })
        .collect()
}

/// The pools (authlake's `unknown` for events without one included).
fn pools_of(values: &BTreeMap<(i64, String, String), f64>) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = values.keys().map(|(_, p, _)| p.clone()).collect();
    set.into_iter().collect()
}

const CHECKED: &[&str] =
    &["SignInAttempts", "SignInSuccesses", "MfaChallenges", "MfaCompletions", "HighRiskSignIns", "ThrottledRequests", "Requests", "UsersMigrated"];

#[test]
fn metrics_are_pushed_exactly_once_and_equal_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = generated_lake(dir.path(), 40_000, 2, &hours_ago(2));
    let cw = Ministack::start();
    let env = cw.env();
    let push = |ns: &str| {
        authlake_env_ok(&["metrics", "--lake", &lake, "--push", "--namespace", ns, "--reconcile-after", "0s", "--format", "json"], &env)
    };
    let report: Value = serde_json::from_str(&push("Authlake")).unwrap();
    assert!(report["windows_pushed"].as_u64().unwrap() >= 40, "{report}");
    assert_eq!(report["failed"], Value::Null);

    // Every pushed count equals DuckDB's count over the Parquet files, and
    // every hour DuckDB sees is in CloudWatch once.
    let want = duckdb_hourly(&lake);
    let pools = pools_of(&want);
    let got = cloudwatch_hourly(&cw, "Authlake", &pools, CHECKED);
    assert!(want.len() >= 40 * CHECKED.len(), "{} expected values", want.len());
    for (key, value) in &want {
        let (sum, samples) = got.get(key).unwrap_or_else(|| panic!("{key:?} not in CloudWatch"));
        assert_eq!((*sum, *samples), (*value, 1.0), "{key:?}");
    }
    assert_eq!(got.len(), want.len(), "CloudWatch holds values the lake does not");

    // The same values as the JSON and EMF renderings.
    let emf = authlake_ok(&["metrics", "--lake", &lake, "--format", "emf"]);
    let line = emf.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|l| l.get("ClientId").is_none() && l.get("UserPoolId").is_some()).unwrap();
    let key = ((line["_aws"]["Timestamp"].as_i64().unwrap() / 1000), line["UserPoolId"].as_str().unwrap().to_string(), "SignInAttempts".to_string());
    assert_eq!(line["SignInAttempts"].as_f64(), want.get(&key).copied());

    // A second push sends nothing; no sample count changes.
    let again: Value = serde_json::from_str(&push("Authlake")).unwrap();
    assert_eq!(again["windows_pushed"], 0, "{again}");
    assert_eq!(again["windows_already_pushed"], report["windows_pushed"]);
    assert_eq!(cloudwatch_hourly(&cw, "Authlake", &pools, CHECKED), got);

    // A crash after a request was accepted but before the ledger said so:
    // the request is found in CloudWatch, not sent again.
    let ledger_dir = Path::new(&lake).join("_authlake/metrics/Authlake/1h");
    let entry = walk(&ledger_dir).into_iter().next().unwrap();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    v["requests"][0]["done"] = Value::Bool(false);
    std::fs::write(&entry, v.to_string()).unwrap();
    let after_crash: Value = serde_json::from_str(&push("Authlake")).unwrap();
    assert_eq!(after_crash["requests_reconciled"], 1, "{after_crash}");
    assert_eq!(after_crash["requests_sent"], 0, "{after_crash}");
    assert_eq!(cloudwatch_hourly(&cw, "Authlake", &pools, CHECKED), got);

    // A crash after the window was taken but before anything was sent: the
    // request is not in CloudWatch, so it is sent, once.
    let crash_dir = Path::new(&lake).join("_authlake/metrics/Crashed/1h");
    std::fs::create_dir_all(&crash_dir).unwrap();
    v["namespace"] = Value::String("Crashed".into());
    std::fs::write(crash_dir.join(entry.file_name().unwrap()), v.to_string()).unwrap();
    let resumed: Value = serde_json::from_str(&push("Crashed")).unwrap();
    assert_eq!(resumed["requests_reconciled"], 0, "{resumed}");
    let crashed = cloudwatch_hourly(&cw, "Crashed", &pools, CHECKED);
    assert_eq!(crashed.len(), want.len());
    assert!(crashed.values().all(|(_, samples)| *samples == 1.0));
}

/// A proxy in front of the emulator that answers the first N
/// PutMetricData calls with CloudWatch's throttling error.
const THROTTLE_PROXY: &str = r#"
import http.client, http.server, socketserver, sys, cbor2, threading
upstream_port, throttle = int(sys.argv[1]), int(sys.argv[2])
state = {'throttled': 0}
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with lock:
            hit = 'PutMetricData' in self.path and state['throttled'] < throttle
            if hit: state['throttled'] += 1
        if hit:
            out = cbor2.dumps({'__type': 'Throttling', 'message': 'Rate exceeded'})
            self.send_response(400)
            self.send_header('smithy-protocol', 'rpc-v2-cbor')
            self.send_header('Content-Type', 'application/cbor')
            self.send_header('Content-Length', str(len(out)))
            self.end_headers(); self.wfile.write(out)
            print('throttled', flush=True)
            return
        c = http.client.HTTPConnection('127.0.0.1', upstream_port)
        c.request('POST', self.path, body, {k: v for k, v in self.headers.items() if k.lower() != 'host'})
        r = c.getresponse(); data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ('transfer-encoding', 'content-length', 'connection'): self.send_header(k, v)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers(); self.wfile.write(data)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
s = S(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

#[test]
fn push_retries_throttling_and_pushes_later_what_an_outage_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = generated_lake(dir.path(), 10_000, 1, &hours_ago(2));
    let cw = Ministack::start();

    // CloudWatch unreachable: the push fails with one line, nothing is lost.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = Ministack::env_for(&format!("http://127.0.0.1:{closed}"));
    let out = authlake_env(&["metrics", "--lake", &lake, "--push", "--reconcile-after", "0s"], &down);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pushed by the next run"), "{err}");

    // Through a throttling proxy: retried with backoff, then accepted.
    let script = dir.path().join("proxy.py");
    std::fs::write(&script, THROTTLE_PROXY).unwrap();
    let mut proxy = Command::new("python3")
        .args([script.display().to_string(), cw.port.to_string(), "3".into()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(proxy.stdout.take().unwrap());
    let mut port = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut port).unwrap();
    let via_proxy = Ministack::env_for(&format!("http://127.0.0.1:{}", port.trim()));
    let report: Value = serde_json::from_str(&authlake_env_ok(
        &["metrics", "--lake", &lake, "--push", "--reconcile-after", "0s", "--format", "json"],
        &via_proxy,
    ))
    .unwrap();
    let _ = proxy.kill();
    let _ = proxy.wait();
    let mut throttled = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut throttled).unwrap();
    assert_eq!(throttled.lines().filter(|l| *l == "throttled").count(), 3, "the proxy throttled three calls");
    assert_eq!(report["failed"], Value::Null, "{report}");
    assert!(report["windows_pushed"].as_u64().unwrap() >= 20, "{report}");

    // Everything arrived once, including the window the outage interrupted.
    let want = duckdb_hourly(&lake);
    let pools = pools_of(&want);
    let got = cloudwatch_hourly(&cw, "Authlake", &pools, CHECKED);
    for (key, value) in &want {
        assert_eq!(got.get(key), Some(&(*value, 1.0)), "{key:?}");
    }
}

#[test]
fn ingest_pushes_closed_windows_and_keeps_going_when_cloudwatch_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson").display().to_string();
    authlake_ok(&["generate", "--events", "8000", "--days", "1", "--seed", "3", "--end", &hours_ago(2), "--out", &input]);
    let (first, second) = (dir.path().join("first.ndjson"), dir.path().join("second.ndjson"));
    let text = std::fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&first, lines[..lines.len() / 2].join("\n") + "\n").unwrap();
    std::fs::write(&second, lines[lines.len() / 2..].join("\n") + "\n").unwrap();
    let lake = dir.path().join("lake").display().to_string();

    // CloudWatch down: the ingest still lands everything and exits 0.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = Ministack::env_for(&format!("http://127.0.0.1:{closed}"));
    let out = authlake_env(&["ingest", "--from", &format!("file://{}", first.display()), "--lake", &lake, "--push-metrics"], &down);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("retried later"), "{}", String::from_utf8_lossy(&out.stderr));

    // CloudWatch back: the next ingest pushes every closed window once,
    // with the data that arrived meanwhile.
    let cw = Ministack::start();
    let out = authlake_env_ok(&["ingest", "--from", &format!("file://{}", second.display()), "--lake", &lake, "--push-metrics"], &cw.env());
    assert!(out.contains("ingested"), "{out}");
    let want = duckdb_hourly(&lake);
    let got = cloudwatch_hourly(&cw, "Authlake", &pools_of(&want), &["SignInAttempts", "Requests"]);
    let expected: BTreeMap<_, _> = want.iter().filter(|((_, _, m), _)| m == "SignInAttempts" || m == "Requests").map(|(k, v)| (k.clone(), (*v, 1.0))).collect();
    assert!(expected.len() >= 40);
    let wrong: Vec<_> = expected.iter().filter(|(k, v)| got.get(*k) != Some(*v)).take(5).collect();
    assert!(wrong.is_empty() && got.len() == expected.len(), "differ from the lake (first 5): {wrong:?}");
}

