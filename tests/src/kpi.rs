//! KPIs: named queries (golden files), detections on generated incidents,
//! metrics pushed to a CloudWatch emulator exactly once and equal to what
//! DuckDB computes from the Parquet files, throttling and outages, alarms
//! and dashboards as code, and the HTML report drawn by Chromium.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use authlake_analytics::named;
use authlake_analytics::output::{render, Format};
use authlake_ingest::Lake;
use serde_json::Value;

use crate::support::{authlake_bin, authlake_env, authlake_env_ok, authlake_ok, duckdb, fixtures, root, walk, Ministack};

/// Columns left out of golden files: they hold machine paths or ingest times.
/// A subquery loses its order, so each wrapped query is ordered again.
const VOLATILE: &[(&str, &str, &str)] = &[
    ("auth_history", "source", "event_time, event_type, outcome, username, user_sub, ip_address"),
    ("kpi_catalogue", "ingest_lag_seconds", "window_start, user_pool_id, dimension_set, client_id"),
];

fn lake_of_fixtures(dir: &Path) -> String {
    let lake = dir.join("lake").display().to_string();
    authlake_ok(&["ingest", "--from", &format!("file://{}", fixtures().display()), "--lake", &lake]);
    let detections = root().join("tests/queries/detections.ndjson");
    authlake_ok(&["ingest", "--from", &format!("file://{}", detections.display()), "--lake", &lake]);
    lake
}

/// Every built-in named query over the fixtures and the detection cases,
/// compared with `tests/golden/queries/<name>.json` (`UPDATE_GOLDEN=1`
/// rewrites them).
#[tokio::test]
async fn named_queries_match_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&lake_of_fixtures(dir.path()), false).unwrap();
    let ctx = authlake_analytics::lake_context(&lake).await.unwrap();
    // Rows whose time is the ingest time (fixtures without a time of their
    // own) differ on every run: the golden lake leaves them out.
    let all = ctx.deregister_table("events").unwrap().unwrap();
    ctx.register_table("events_all", all).unwrap();
    ctx.sql("CREATE VIEW events AS SELECT * FROM events_all WHERE event_time_source <> 'ingest'").await.unwrap().collect().await.unwrap();
    let golden_dir = root().join("tests/golden/queries");
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let mut mismatches = Vec::new();
    for q in named::builtin().unwrap() {
        let mut sql = q.bind(&BTreeMap::new()).unwrap();
        for (name, col, order) in VOLATILE {
            if *name == q.name {
                sql = format!("SELECT * EXCLUDE ({col}) FROM ({sql}) ORDER BY {order}");
            }
        }
        let (schema, batches) = authlake_analytics::run_sql(&ctx, &sql).await.unwrap_or_else(|e| panic!("{}: {e}", q.name));
        let got = render(&schema, &batches, Format::Json).unwrap();
        let path = golden_dir.join(format!("{}.json", q.name));
        if update {
            std::fs::create_dir_all(&golden_dir).unwrap();
            std::fs::write(&path, &got).unwrap();
        } else {
            let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} missing: UPDATE_GOLDEN=1", path.display()));
            if want != got {
                mismatches.push(format!("{}:\n--- want\n{want}\n--- got\n{got}", q.name));
            }
        }
    }
    assert!(mismatches.is_empty(), "named query output changed (UPDATE_GOLDEN=1 to accept):\n{}", mismatches.join("\n"));

    // The detection cases are found, and their near misses are not.
    let rows = |name: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(golden_dir.join(format!("{name}.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let stuffing = rows("credential_stuffing");
    assert_eq!(stuffing.len(), 1, "{stuffing:?}");
    assert_eq!(stuffing[0]["ip_address"], "203.0.113.66");
    assert_eq!(stuffing[0]["distinct_users"], 25);
    let fatigue = rows("mfa_fatigue");
    assert_eq!(fatigue.iter().map(|r| r["user_key"].as_str().unwrap()).collect::<Vec<_>>(), vec!["fatigued.user"]);
    let travel = rows("impossible_travel");
    assert_eq!(travel.iter().map(|r| r["user_key"].as_str().unwrap()).collect::<Vec<_>>(), vec!["traveller"]);
    assert_eq!(travel[0]["minutes_apart"], 20.0);
    let new_device = rows("new_device_high_risk");
    assert_eq!(new_device.len(), 1);
    assert_eq!(new_device[0]["user_key"], "new.device");
    let dupes = rows("duplicate_identities");
    assert_eq!(dupes.len(), 1, "{dupes:?}");
    assert_eq!(dupes[0]["email"], "maria.lopez@example.com");
    assert_eq!(dupes[0]["identities"], 2);
}

#[test]
fn named_query_parameters_are_checked_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_of_fixtures(dir.path());
    let q = |params: &[&str]| {
        let mut args = vec!["query", "--lake", &lake, "--named", "credential_stuffing", "--format", "json"];
        for p in params {
            args.extend(["--param", p]);
        }
        let v: Vec<Value> = serde_json::from_str(&authlake_ok(&args)).unwrap();
        v
    };
    assert_eq!(q(&[]).len(), 1);
    assert_eq!(q(&["min_users=26"]).len(), 0);
    assert_eq!(q(&["min_users=5", "window=1 hour"]).len(), 2, "the office NAT too at a lower threshold");
    let history: Vec<Value> =
        serde_json::from_str(&authlake_ok(&["query", "--lake", &lake, "--named", "auth_history", "--param", "user=traveller", "--format", "json"]))
            .unwrap();
    assert_eq!(history.len(), 2);
    for bad in ["min_users=5; DROP TABLE events", "nope=1", "window=3 fortnights"] {
        let out = crate::support::authlake(&["query", "--lake", &lake, "--named", "credential_stuffing", "--param", bad]);
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    }
    let list = authlake_ok(&["query", "--list-named"]);
    for name in ["credential_stuffing", "mfa_fatigue", "impossible_travel", "new_device_high_risk", "duplicate_identities", "auth_history", "kpi_catalogue"] {
        assert!(list.contains(name), "{name} not listed");
    }
}

/// Generated traffic with the generator's injected incidents.
fn generated_lake(dir: &Path, events: u64, days: u32, end: &str) -> (String, Value) {
    let input = dir.join("in.ndjson").display().to_string();
    let truth = dir.join("truth.json").display().to_string();
    authlake_ok(&[
        "generate", "--events", &events.to_string(), "--days", &days.to_string(), "--seed", "17", "--end", end, "--out", &input, "--truth", &truth,
    ]);
    let lake = dir.join("lake").display().to_string();
    authlake_ok(&["ingest", "--from", &format!("file://{input}"), "--lake", &lake]);
    (lake, serde_json::from_str(&std::fs::read_to_string(&truth).unwrap()).unwrap())
}

#[test]
fn detections_find_the_generators_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, truth) = generated_lake(dir.path(), 80_000, 10, "2026-11-20T00:00:00Z");
    let named = |name: &str| -> Vec<Value> {
        serde_json::from_str(&authlake_ok(&["query", "--lake", &lake, "--named", name, "--format", "json"])).unwrap()
    };
    let stuffing = named("credential_stuffing");
    assert!(!stuffing.is_empty());
    assert!(stuffing.iter().all(|r| r["ip_address"] == truth["credential_stuffing"]["ip"]), "{stuffing:?}");
    let fatigue = named("mfa_fatigue");
    assert!(!fatigue.is_empty());
    assert!(fatigue.iter().all(|r| r["user_key"] == truth["mfa_fatigue"]["username"]), "{fatigue:?}");
    let travel = named("impossible_travel");
    assert_eq!(travel.len(), 1, "{travel:?}");
    assert_eq!(travel[0]["user_key"], truth["impossible_travel"]["username"]);
}

/// `YYYY-MM-DDTHH:00:00Z` for `hours_ago` hours before now.
fn hours_ago(hours_ago: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let t = (now / 3600 - hours_ago) * 3600;
    let date = authlake_core::partition::day_to_date_string(t.div_euclid(86_400) as i32);
    format!("{date}T{:02}:00:00Z", t.rem_euclid(86_400) / 3600)
}

/// Per hour and pool, from the Parquet files by DuckDB: the catalogue's
/// definitions (DESIGN section 6) written independently of authlake's SQL.
fn duckdb_hourly(lake: &str) -> BTreeMap<(i64, String, String), f64> {
    let out = duckdb(&format!(
        r#"
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
rows = con.execute('''
  SELECT CAST(epoch(time_bucket(INTERVAL 1 hour, event_time)) AS BIGINT) AS w, coalesce(user_pool_id, 'unknown') AS pool,
    count(*) FILTER (WHERE event_type IN ('sign_in','federated_sign_in')) AS SignInAttempts,
    count(*) FILTER (WHERE (event_type IN ('sign_in','federated_sign_in') OR event_type = 'mfa_response') AND outcome = 'success') AS SignInSuccesses,
    count(*) FILTER (WHERE (event_type IN ('sign_in','federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge') AS MfaChallenges,
    count(*) FILTER (WHERE (event_type IN ('sign_in','federated_sign_in') AND mfa_challenged AND mfa_passed) OR (event_type = 'mfa_response' AND outcome = 'success')) AS MfaCompletions,
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

fn pools(lake: &str) -> Vec<String> {
    let v: Vec<Value> =
        serde_json::from_str(&authlake_ok(&["query", "--lake", lake, "--format", "json", "SELECT DISTINCT user_pool_id FROM events ORDER BY 1"]))
            .unwrap();
    v.iter().filter_map(|r| r["user_pool_id"].as_str().map(String::from)).collect()
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
fn alarms_and_dashboards_are_synced_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = generated_lake(dir.path(), 20_000, 3, "2026-11-20T00:00:00Z");
    let cw = Ministack::start();
    let env = cw.env();
    let declared = root().join("dashboards/alarms.toml").display().to_string();
    let sync = |config: &str| authlake_env_ok(&["alarms", "sync", "--lake", &lake, "--config", config], &env);
    let first = sync(&declared);
    assert!(first.contains("alarms: 7 created, 0 updated, 0 unchanged, 0 deleted"), "{first}");
    let second = sync(&declared);
    assert!(second.contains("alarms: 0 created, 0 updated, 7 unchanged, 0 deleted"), "{second}");
    let names = |cw: &Ministack| -> Vec<String> {
        cw.python("print('\\n'.join(sorted(a['AlarmName'] for a in cw.describe_alarms(AlarmNamePrefix='authlake/')['MetricAlarms'])))")
            .lines()
            .map(String::from)
            .collect()
    };
    assert_eq!(
        names(&cw),
        ["heartbeat", "high-risk-sign-ins", "mfa-completion-low", "migration-failures-spike", "pipeline-lag", "sign-in-failure-ratio", "throttle-rate-high"]
            .map(|n| format!("authlake/{n}"))
    );
    let heartbeat = cw.python(
        "a = cw.describe_alarms(AlarmNames=['authlake/heartbeat'])['MetricAlarms'][0]\nprint(a['TreatMissingData'], a['ComparisonOperator'], a['Threshold'], a['EvaluationPeriods'])",
    );
    assert_eq!(heartbeat.trim(), "breaching LessThanThreshold 1.0 1");

    // An alarm dropped and a threshold changed: one deleted, one updated.
    let text = std::fs::read_to_string(&declared).unwrap();
    let cut = text.find("[[alarm]]\nname = \"heartbeat\"").unwrap();
    let edited = text[..cut].replace("threshold = 25", "threshold = 40");
    let edited_path = dir.path().join("alarms.toml");
    std::fs::write(&edited_path, edited).unwrap();
    let third = sync(&edited_path.display().to_string());
    assert!(third.contains("alarms: 0 created, 1 updated, 5 unchanged, 1 deleted"), "{third}");
    assert!(!names(&cw).contains(&"authlake/heartbeat".to_string()));
    let list: Vec<Value> = serde_json::from_str(&authlake_env_ok(
        &["alarms", "list", "--lake", &lake, "--config", &edited_path.display().to_string(), "--format", "json"],
        &env,
    ))
    .unwrap();
    assert_eq!(list.len(), 6);
    assert!(list.iter().all(|r| r["in_sync"] == true), "{list:?}");

    // Dashboards: one per template, filled in with the lake's pools;
    // unchanged ones left alone, undeclared ones removed.
    let dash = |extra: &[&str]| {
        let mut args = vec!["dashboards", "sync", "--lake", lake.as_str()];
        args.extend(extra);
        authlake_env_ok(&args, &env)
    };
    let out = dash(&[]);
    assert!(out.contains("dashboards: 3 created, 0 updated, 0 unchanged, 0 deleted"), "{out}");
    let out = dash(&[]);
    assert!(out.contains("dashboards: 0 created, 0 updated, 3 unchanged, 0 deleted"), "{out}");
    let body = cw.python("print(cw.get_dashboard(DashboardName='authlake-security-overview')['DashboardBody'])");
    let body: Value = serde_json::from_str(body.trim()).unwrap();
    let text = body.to_string();
    assert!(!text.contains("${"), "{text}");
    for pool in pools(&lake) {
        assert!(text.contains(&pool), "{pool} missing from the dashboard");
    }
    let only = dir.path().join("dashboards");
    std::fs::create_dir_all(&only).unwrap();
    let template = std::fs::read_to_string(root().join("dashboards/security-overview.json")).unwrap();
    std::fs::write(only.join("security-overview.json"), template.replace("security overview", "security overview (edited)")).unwrap();
    let out = dash(&["--dir", &only.display().to_string()]);
    assert!(out.contains("dashboards: 0 created, 1 updated, 0 unchanged, 2 deleted"), "{out}");
    let left = cw.python(
        "for n in ['authlake-security-overview', 'authlake-migration-progress']:\n    try:\n        b = cw.get_dashboard(DashboardName=n)['DashboardBody']; print(n, 'edited' in b)\n    except cw.exceptions.ClientError as e:\n        print(n, 'gone')\n    except Exception as e:\n        print(n, 'gone')",
    );
    assert_eq!(left.trim(), "authlake-security-overview True\nauthlake-migration-progress gone");
}

#[test]
fn backtest_reports_when_alarms_would_have_fired() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = generated_lake(dir.path(), 60_000, 5, "2026-11-20T00:00:00Z");
    let declared = root().join("dashboards/alarms.toml").display().to_string();
    let out = authlake_ok(&[
        "alarms", "backtest", "--lake", &lake, "--config", &declared, "--since", "2026-11-14", "--until", "2026-11-20", "--format", "json",
    ]);
    let results: Vec<Value> = serde_json::from_str(&out).unwrap();
    let by_name = |n: &str| results.iter().find(|r| r["name"] == n).unwrap_or_else(|| panic!("{n} missing"));
    // The injected credential stuffing burst fails >30% of sign-ins for a few 5-minute periods.
    let failures = by_name("sign-in-failure-ratio");
    assert!(!failures["firings"].as_array().unwrap().is_empty(), "{failures}");
    // The lake starts on 2026-11-15: the heartbeat breaches on the day before, then stays quiet.
    let heartbeat = by_name("heartbeat");
    let firings = heartbeat["firings"].as_array().unwrap();
    assert_eq!(firings.len(), 1, "{heartbeat}");
    assert!(firings[0]["from"].as_str().unwrap().starts_with("2026-11-14"), "{heartbeat}");
}

#[test]
fn html_report_draws_its_charts_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, truth) = generated_lake(dir.path(), 60_000, 30, "2026-11-20T00:00:00Z");
    let report = dir.path().join("report.html");
    let legacy = truth["legacy_users"].to_string();
    authlake_ok(&["dashboards", "render", "--lake", &lake, "--out", &report.display().to_string(), "--legacy-users", &legacy]);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the report must not need the network");
    for section in ["id=\"mfa\"", "id=\"risk\"", "id=\"throttle\"", "id=\"migration\"", "Projected completion", "Remaining"] {
        assert!(html.contains(section), "{section} missing");
    }

    // Chromium renders it: the DOM it builds has the charts, and the
    // screenshot has their colours.
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new("which").arg(c).output().is_ok_and(|o| o.status.success()))
        .expect("chromium missing: tests/run.sh installs Debian's chromium");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1000,4200",
    ];
    let profile = format!("--user-data-dir={}", dir.path().join("profile").display());
    let url = format!("file://{}", report.display());
    let dom = Command::new(chromium).args(flags).arg(&profile).arg("--dump-dom").arg(&url).output().unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.matches("<svg class=\"chart\"").count() >= 6, "charts missing from the rendered DOM");
    assert!(dom.matches("class=\"series\"").count() >= 20, "series missing from the rendered DOM");
    let shot = dir.path().join("shot.png");
    let out = Command::new(chromium).args(flags).arg(&profile).arg(format!("--screenshot={}", shot.display())).arg(&url).output().unwrap();
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let counts = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "from PIL import Image\nim = Image.open('{}').convert('RGB')\nfrom collections import Counter\nc = Counter(im.getdata())\nfor rgb in [(31,119,180),(214,39,40),(44,160,44),(255,127,14),(148,103,189)]: print(c[rgb])",
            shot.display()
        ))
        .output()
        .unwrap();
    assert!(counts.status.success(), "{}", String::from_utf8_lossy(&counts.stderr));
    let counts: Vec<u64> = String::from_utf8_lossy(&counts.stdout).lines().map(|l| l.parse().unwrap()).collect();
    assert!(counts.iter().all(|n| *n >= 200), "chart colours drawn (pixels per colour): {counts:?}");
    let _ = authlake_bin();
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
