//! Alarms and dashboards synced as declared, backtests, and the HTML
//! report drawn by Chromium.

use std::process::Command;

use serde_json::Value;

use super::{generated_lake, pools};
use crate::support::{authlake_bin, authlake_env_ok, authlake_ok, root, Ministack};

#[test]
fn alarms_and_dashboards_are_synced_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = generated_lake(dir.path(), 20_000, 3, "2026-11-20T00:00:00Z");
    let cw = Ministack::start();
    let env = cw.env();
    let declared = root().join("dashboards/alarms.toml").display().to_string();
    let sync = |config: &str| authlake_env_ok(&["alarms", "sync", "--lake", &lake, "--alarms", config], &env);
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
        &["alarms", "list", "--lake", &lake, "--alarms", &edited_path.display().to_string(), "--format", "json"],
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
        "alarms", "backtest", "--lake", &lake, "--alarms", &declared, "--since", "2026-11-14", "--until", "2026-11-20", "--format", "json",
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
    // Like `authlake demo`: 90 days, so the 60-day migration is over a month
    // before the end, and a last day only 26 minutes long.
    let (lake, truth) = generated_lake(dir.path(), 60_000, 90, "2026-11-20T00:26:00Z");
    let report = dir.path().join("report.html");
    let legacy = truth["legacy_users"].to_string();
    authlake_ok(&["dashboards", "render", "--lake", &lake, "--out", &report.display().to_string(), "--legacy-users", &legacy]);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the report must not need the network");
    for section in ["id=\"mfa\"", "id=\"risk\"", "id=\"throttle\"", "id=\"migration\"", "id=\"wow\"", "Projected completion", "Remaining"] {
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
    assert!(dom.matches("class=\"series").count() >= 20, "series missing from the rendered DOM");
    report_tells_the_truth(&dom, &lake);
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
    assert!(html.contains("stalled since"), "this lake's migration ended a month before its end");

    // A lake whose last day is complete and whose migration still runs.
    let dir = tempfile::tempdir().unwrap();
    let (lake, truth) = generated_lake(dir.path(), 20_000, 30, "2026-11-20T00:00:00Z");
    let report = dir.path().join("report.html");
    authlake_ok(&["dashboards", "render", "--lake", &lake, "--out", &report.display().to_string(), "--legacy-users", &truth["legacy_users"].to_string()]);
    let html = std::fs::read_to_string(&report).unwrap();
    report_tells_the_truth(&html, &lake);
    assert!(!html.contains("stalled since"), "this lake's migration runs to its end");
    let _ = authlake_bin();
}

/// Rows of `sql` over `lake`.
fn sql(lake: &str, sql: &str) -> Vec<Value> {
    serde_json::from_str(&authlake_ok(&["query", "--lake", lake, "--format", "json", sql])).unwrap()
}

fn sql_number(lake: &str, query: &str) -> u64 {
    sql(lake, query)[0]["n"].as_u64().unwrap_or(0)
}

/// The text after `start` up to `end`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    Some(&s[from..from + s[from..].find(end)?])
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn unthousands(s: &str) -> u64 {
    s.replace(',', "").trim().parse().unwrap_or_else(|_| panic!("not a count: {s:?}"))
}

/// Checks the report (its DOM or its file) against the lake, which the
/// test asks on its own: report date, partial day, chart ends, projection,
/// risk levels, separators, user pools and week over week.
fn report_tells_the_truth(dom: &str, lake: &str) {
    let sign_in = "event_type IN ('sign_in', 'federated_sign_in')";
    // SignInAttempts as docs/metrics.md defines it: what the report counts as sign-ins.
    let attempts = "((event_type IN ('sign_in', 'federated_sign_in', 'mfa_response') AND outcome IN ('success', 'failure', 'throttled'))
        OR (event_type IN ('sign_in', 'federated_sign_in') AND outcome = 'in_progress'))";
    let last = &sql(lake, "SELECT CAST(MAX(event_time) AS VARCHAR) AS t, CAST(MAX(event_date) AS VARCHAR) AS d FROM events")[0];
    let (last_time, date) = (last["t"].as_str().unwrap().replace(' ', "T"), last["d"].as_str().unwrap().to_string());
    let report_date = between(dom, "id=\"report-date\" datetime=\"", "\"").expect("report date missing");
    assert_eq!(report_date, date, "the report date is the day of the lake's last event");

    // The partial day: the lake's last event is well before the end of its day.
    let partial = last_time[11..13].parse::<u32>().unwrap() < 23;
    let charts: Vec<&str> = dom.split("<svg class=\"chart\"").skip(1).map(|c| &c[..c.find("</svg>").unwrap()]).collect();
    assert!(charts.len() >= 6, "{} charts", charts.len());
    assert_eq!(dom.contains("id=\"partial-day\""), partial, "partial-day note (last event {last_time})");
    for c in &charts {
        assert_eq!(c.contains("class=\"partial-day\""), partial, "partial day marked on every chart (last event {last_time})");
        // Every chart ends at the report date, and says so on its axis.
        assert_eq!(between(c, "data-to=\"", "\""), Some(date.as_str()), "chart ends at the report date");
        let last_label = c.rsplit("class=\"x-label\"").next().and_then(|l| between(l, ">", "<"));
        assert_eq!(last_label, Some(date.as_str()), "last x label is the report date");
    }
    if partial {
        assert!(dom.contains("class=\"series partial\""), "the partial day's bars are drawn apart");
    }

    // The projection: a date after the report date while users remain and
    // migrate, else stalled since the last day anyone migrated.
    let migrated = "category = 'migration' AND event_type IN ('user_migration', 'bulk_import') AND outcome = 'success'";
    let remaining = unthousands(between(dom, "id=\"remaining\">", "<").expect("remaining missing"));
    let projection = between(dom, "id=\"projection\">Projected completion<b>", "</b>").expect("projection missing");
    let recent = sql_number(lake, &format!("SELECT COUNT(*) AS n FROM events WHERE {migrated} AND event_date > DATE '{date}' - INTERVAL '14 days'"));
    if remaining == 0 {
        assert_eq!(projection, "complete");
    } else if recent > 0 {
        assert!(projection.len() == 10 && projection > date.as_str(), "projected {projection:?}, report date {date}, {remaining} users left");
    } else {
        let since = sql(lake, &format!("SELECT CAST(MAX(event_date) AS VARCHAR) AS d FROM events WHERE {migrated}"))[0]["d"].as_str().unwrap().to_string();
        assert_eq!(projection, format!("stalled since {since}"), "no migrations in the 14 days to {date}");
    }

    // Risk mix: `none` (not assessed) is there, with all such sign-ins.
    let risk = between(dom, "id=\"risk\"", "id=\"throttle\"").expect("risk section missing");
    assert!(risk.contains("none risk</span>") && risk.contains(" none risk: "), "`none` missing from the risk chart");
    let none = sql_number(lake, &format!("SELECT COUNT(*) AS n FROM events WHERE category = 'auth' AND {sign_in} AND risk_level IS NULL"));
    let shown: u64 = dom.split("<tr data-level=\"none\">").skip(1).map(|r| unthousands(between(r, "</td><td>", "</td>").unwrap())).sum();
    assert!(none > 0 && shown == none, "sign-ins without a risk level: {shown} shown, {none} in the lake");

    // Thousands separators, on a number that needs them.
    let sign_ins = sql_number(lake, &format!("SELECT COUNT(*) AS n FROM events WHERE {attempts}"));
    assert!(sign_ins >= 1_000);
    assert_eq!(between(dom, "id=\"kpi-sign-ins\">", "<"), Some(thousands(sign_ins).as_str()));
    for b in dom.split("<div class=\"kpi\"").skip(1).filter_map(|k| between(k, "<b", "</b>")) {
        let value = &b[b.find('>').unwrap() + 1..];
        // Dates aside, no run of more than three digits.
        let longest = value.split(|c: char| !(c.is_ascii_digit() || c == '-')).filter(|t| !t.contains('-')).map(str::len).max().unwrap_or(0);
        assert!(longest <= 3, "KPI {value:?} without separators");
    }

    // A section per user pool, with its sign-ins and its week over week.
    // Events without a pool id (some sources carry none) get one section too.
    let by_pool = sql(lake, &format!("SELECT COALESCE(user_pool_id, 'unknown') AS p, SUM(CASE WHEN {attempts} THEN 1 ELSE 0 END) AS n FROM events GROUP BY 1"));
    assert!(pools(lake).len() >= 2, "a lake of several user pools");
    assert_eq!(dom.matches("<section class=\"pool\"").count(), by_pool.len());
    for row in by_pool {
        let p = row["p"].as_str().unwrap();
        let section = between(dom, &format!("data-pool=\"{p}\"><h2>User pool {p}"), "</section>").unwrap_or_else(|| panic!("no section for {p}"));
        assert_eq!(between(section, "Sign-ins<b>", "<"), Some(thousands(row["n"].as_u64().unwrap()).as_str()), "{p}");
        assert!(section.contains("<table class=\"wow\""), "{p} has no week over week");
    }

    // Week over week: the last 7 complete days against the 7 before.
    let wow = between(dom, "<table class=\"wow\" data-scope=\"all\">", "</table>").expect("week over week missing");
    for r in ["Sign-ins", "MFA completion", "Throttle rate", "High-risk sign-ins"] {
        assert!(wow.contains(&format!("<th>{r}</th>")), "{r} missing from week over week");
    }
    let end = if partial { 1 } else { 0 };
    let week = |from: u32| {
        sql_number(lake, &format!(
            "SELECT COUNT(*) AS n FROM events WHERE {attempts} AND event_date BETWEEN DATE '{date}' - INTERVAL '{} days' AND DATE '{date}' - INTERVAL '{} days'",
            from + 6 + end,
            from + end
        ))
    };
    let (last_week, week_before) = (week(0), week(7));
    let change = format!("{:+.1}%", 100.0 * (last_week as f64 - week_before as f64) / week_before as f64);
    let expected = format!("<th>Sign-ins</th><td>{}</td><td>{}</td><td>{change}</td>", thousands(week_before), thousands(last_week));
    assert!(wow.contains(&expected), "expected {expected} in {wow}");
}

/// 90 generated days, `alarms backtest` over them: with no incident every
/// shipped alarm goes to ALARM at most once a week; with the generator's
/// incidents, each trips the alarm meant for it, while it happens; and the
/// lake, a backfill of those 90 days, leaves `pipeline-lag` quiet.
#[test]
fn shipped_alarms_are_quiet_on_quiet_days_and_trip_on_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let declared = root().join("dashboards/alarms.toml").display().to_string();
    let backtest = |lake: &str, since: &str, until: Option<&str>| -> Vec<Value> {
        let mut args = vec!["alarms", "backtest", "--lake", lake, "--alarms", &declared, "--since", since, "--format", "json"];
        if let Some(u) = until {
            args.extend(["--until", u]);
        }
        serde_json::from_str(&authlake_ok(&args)).unwrap()
    };
    let lake_of = |name: &str, quiet: bool| -> (String, Value) {
        let input = dir.path().join(format!("{name}.ndjson")).display().to_string();
        let truth = dir.path().join(format!("{name}.truth.json")).display().to_string();
        let mut args =
            vec!["generate", "--events", "250000", "--days", "90", "--seed", "23", "--end", "2026-11-20T00:00:00Z", "--out", &input, "--truth", &truth];
        if quiet {
            args.push("--no-incidents");
        }
        authlake_ok(&args);
        let lake = dir.path().join(name).display().to_string();
        authlake_ok(&["ingest", "--from", &format!("file://{input}"), "--lake", &lake]);
        (lake, serde_json::from_str(&std::fs::read_to_string(&truth).unwrap()).unwrap())
    };

    let (quiet, _) = lake_of("quiet", true);
    let results = backtest(&quiet, "2026-08-22", Some("2026-11-20"));
    assert_eq!(results.len(), 7, "every shipped alarm replayed");
    for r in &results {
        let weeks: Vec<u64> = r["firings_per_week"].as_array().unwrap().iter().map(|w| w.as_u64().unwrap()).collect();
        assert_eq!(weeks.len(), 13);
        assert!(weeks.iter().all(|n| *n <= 1), "{} fires more than once a week on quiet traffic: {weeks:?}", r["name"]);
    }

    let (noisy, truth) = lake_of("incidents", false);
    let results = backtest(&noisy, "2026-08-22", Some("2026-11-20"));
    // (first event, last event + 1 hour) as `YYYY-MM-DDTHH:MM`, to compare with firing times.
    let span = |sql: &str| -> (String, String) {
        let v: Vec<Value> = serde_json::from_str(&authlake_ok(&["query", "--lake", &noisy, "--format", "json", sql])).unwrap();
        let minute = |k: &str| v[0][k].as_str().unwrap().replace(' ', "T")[..16].to_string();
        (minute("a"), minute("b"))
    };
    // The stuffing burst (failed, high- or medium-risk sign-ins from one IP)
    // and the MFA fatigue (one user's failed SMS challenges).
    let stuffing = span("SELECT CAST(MIN(event_time) AS VARCHAR) AS a, CAST(MAX(event_time) + INTERVAL '1 hour' AS VARCHAR) AS b FROM events WHERE ip_address = '185.220.101.7'");
    let fatigued = truth["mfa_fatigue"]["username"].as_str().unwrap();
    let fatigue = span(&format!(
        "SELECT CAST(MIN(event_time) AS VARCHAR) AS a, CAST(MAX(event_time) + INTERVAL '1 hour' AS VARCHAR) AS b FROM events
         WHERE mfa_challenged AND NOT mfa_passed AND username = '{fatigued}'"
    ));
    for (alarm, (from, until)) in [("sign-in-failure-ratio", &stuffing), ("high-risk-sign-ins", &stuffing), ("mfa-completion-low", &fatigue)] {
        let r = results.iter().find(|r| r["name"] == alarm).unwrap();
        let firings = r["firings"].as_array().unwrap();
        let during = |f: &Value| {
            let at = &f["from"].as_str().unwrap()[..16];
            at >= from.as_str() && at <= until.as_str()
        };
        assert!(firings.iter().any(during), "{alarm} did not fire during its incident ({from} .. {until}): {firings:?}");
    }
    // The lake is a finished backfill: nothing behind now.
    let now = backtest(&noisy, "1d", None);
    let lag = now.iter().find(|r| r["name"] == "pipeline-lag").unwrap();
    assert!(lag["firings"].as_array().unwrap().is_empty(), "pipeline-lag reads as firing after a backfill: {lag}");
}
