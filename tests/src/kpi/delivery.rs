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

