//! Exports, OCSF, pseudonyms, tenant isolation, retention, erasure,
//! compaction and catalog DDL, checked against DuckDB and by hand.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::{authlake, authlake_env_ok, authlake_ok, duckdb, fixtures, partition_files, walk};

fn canonical(id: &str, tenant: &str, user: &str, time: &str, event_type: &str) -> String {
    json!({"event_id": id, "event_type": event_type, "outcome": "success", "event_time": time, "tenant_id": tenant,
           "username": user, "user_sub": format!("sub-{user}"), "email": format!("{user}@{tenant}.example"),
           "ip_address": format!("10.0.0.{}", id.len()), "user_pool_id": format!("us-east-1_{tenant}")})
    .to_string()
}

/// A lake of interleaved tenants t1/t2 on 2026-11-20..24, plus the fixtures.
fn tenant_lake(dir: &Path) -> String {
    let input = dir.join("tenants.ndjson");
    let mut lines = Vec::new();
    for i in 0..400 {
        let tenant = if i % 3 == 0 { "t1" } else { "t2" };
        let user = format!("user{}", i % 17);
        let day = 20 + i % 5;
        let kind = ["sign_in", "sign_up", "password_reset", "token_refresh"][i % 4];
        lines.push(canonical(&format!("ev-{i}"), tenant, &user, &format!("2026-11-{day}T10:{:02}:00Z", i % 60), kind));
    }
    std::fs::write(&input, lines.join("\n")).unwrap();
    let lake = dir.join("lake").display().to_string();
    authlake_ok(&["ingest", "--from", &format!("file://{}", input.display()), "--lake", &lake]);
    authlake_ok(&["ingest", "--from", &format!("file://{}", fixtures().display()), "--lake", &lake]);
    lake
}

/// Rows matching `filter` in Parquet files outside the lake (exports).
fn duck_count_files(glob: &str, filter: &str) -> u64 {
    let out = duckdb(&format!("print(duckdb.sql(\"SELECT COUNT(*) FROM read_parquet('{glob}') WHERE {filter}\").fetchall()[0][0])"));
    out.trim().parse().unwrap()
}

/// Rows matching `filter`, as DuckDB counts them over the events table's
/// snapshot (its file list read by Python `deltalake`).
fn duck_count(lake: &str, filter: &str) -> u64 {
    let out = duckdb(&format!(
        "import deltalake\nfiles = deltalake.DeltaTable('{lake}').file_uris()\n\
         print(duckdb.sql(f\"SELECT COUNT(*) FROM read_parquet({{files!r}}, hive_partitioning = true) WHERE {filter}\").fetchall()[0][0] if files else 0)"
    ));
    out.trim().parse().unwrap()
}

#[test]
fn exports_verify_isolate_tenants_and_detect_tampering() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tenant_lake(tmp.path());
    let expected = duck_count(&lake, "tenant_id = 't1' AND event_time >= TIMESTAMPTZ '2026-11-21 00:00:00+00' AND event_time < TIMESTAMPTZ '2026-11-24 00:00:00+00'");
    assert!(expected > 50);
    for format in ["parquet", "csv", "jsonl", "ocsf"] {
        let out = tmp.path().join(format!("export-{format}"));
        let o = out.display().to_string();
        let msg = authlake_ok(&["export", "--lake", &lake, "--from", "2026-11-21", "--to", "2026-11-23", "--tenant", "t1", "--format", format, "--out", &o]);
        assert!(msg.starts_with(&format!("exported {expected} rows")), "{format}: {msg}");
        let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["rows"], json!(expected));
        assert!(manifest["sql"].as_str().unwrap().contains("tenant_id = 't1'"));
        assert!(manifest["table_version"].is_u64());
        for f in manifest["files"].as_array().unwrap() {
            let sha = authlake_core::position::sha256_hex(&std::fs::read(out.join(f["path"].as_str().unwrap())).unwrap());
            assert_eq!(f["sha256"].as_str().unwrap(), sha);
        }
        let line = authlake_ok(&["export", "verify", &o]);
        assert!(line.contains("verified") && line.contains("UNSIGNED"), "an unsigned export must say so: {line}");
        if format == "parquet" {
            // Read by another tool before the tampering below damages it.
            assert_eq!(duck_count_files(&format!("{o}/events.parquet"), "true"), expected);
        }
        // Nothing of the other tenant, whatever the format.
        let text: String = walk(&out).iter().map(|p| crate::support::file_text(p)).collect();
        assert!(!text.contains("t2.example") && !text.contains("us-east-1_t2"), "{format} export holds t2 rows");
        // Tampering is caught.
        let data = out.join(manifest["files"][0]["path"].as_str().unwrap());
        let mut bytes = std::fs::read(&data).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x20;
        std::fs::write(&data, bytes).unwrap();
        let bad = authlake(&["export", "verify", &o]);
        assert_eq!(bad.status.code(), Some(4), "{format}: tampered export verified");
        assert!(String::from_utf8_lossy(&bad.stderr).contains("sha256"));
    }
}

#[test]
fn signed_and_pseudonymized_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tenant_lake(tmp.path());
    let key = tmp.path().join("key");
    let other = tmp.path().join("other-key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef").unwrap();
    std::fs::write(&other, "fedcba9876543210fedcba9876543210").unwrap();
    let export = |name: &str, k: &Path| {
        let out = tmp.path().join(name).display().to_string();
        authlake_ok(&["export", "--lake", &lake, "--from", "2026-11-20", "--to", "2026-11-24", "--format", "jsonl", "--redact", "ip,email,username",
            "--redact-key", &k.display().to_string(), "--sign-key", &k.display().to_string(), "--out", &out]);
        out
    };
    let a = export("a", &key);
    let b = export("b", &key);
    let c = export("c", &other);
    assert!(authlake_ok(&["export", "verify", &a, "--sign-key", &key.display().to_string()]).contains("signed with HMAC-SHA256"));
    assert_eq!(authlake(&["export", "verify", &a, "--sign-key", &other.display().to_string()]).status.code(), Some(4));
    assert_eq!(authlake(&["export", "verify", &a]).status.code(), Some(4), "a signed export verified without its key");
    let rows = |dir: &str| -> Vec<Value> {
        std::fs::read_to_string(Path::new(dir).join("events.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let (ra, rb, rc) = (rows(&a), rows(&b), rows(&c));
    let text = std::fs::read_to_string(Path::new(&a).join("events.jsonl")).unwrap();
    assert!(!text.contains(".example") && !text.contains("\"user0\"") && !text.contains("10.0.0."), "personal data left in a redacted export");
    assert_eq!(ra.len(), 400);
    for ((x, y), z) in ra.iter().zip(&rb).zip(&rc) {
        assert_eq!(x["username"], y["username"], "same key, same pseudonym");
        assert_ne!(x["username"], z["username"], "another key, another pseudonym");
        assert!(x["username"].as_str().unwrap().starts_with("anon-"));
        assert_eq!(x["tenant_id"], y["tenant_id"]);
    }
}

#[test]
fn ocsf_maps_real_format_events() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake").display().to_string();
    authlake_ok(&["ingest", "--from", &format!("file://{}", fixtures().display()), "--lake", &lake]);
    let out = tmp.path().join("ocsf").display().to_string();
    authlake_ok(&["export", "--lake", &lake, "--from", "2000-01-01", "--to", "2100-01-01", "--format", "ocsf", "--out", &out]);
    let events: Vec<Value> = std::fs::read_to_string(Path::new(&out).join("events.ocsf.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let by_id = |id: &str| events.iter().find(|e| e["metadata"]["uid"] == json!(id)).unwrap_or_else(|| panic!("{id} missing")).clone();
    let ok = by_id("ct-mfa-ok");
    assert_eq!((ok["class_uid"].clone(), ok["activity_id"].clone(), ok["type_uid"].clone(), ok["status_id"].clone()), (json!(3002), json!(1), json!(300201), json!(1)));
    assert_eq!((ok["is_mfa"].clone(), ok["auth_factors"][0]["factor_type_id"].clone()), (json!(true), json!(1)));
    let throttled = by_id("ct-throttled");
    assert_eq!((throttled["status_id"].clone(), throttled["status_code"].clone()), (json!(99), json!("TooManyRequestsException")));
    let import = by_id("ct-import");
    assert_eq!((import["class_uid"].clone(), import["activity_id"].clone()), (json!(3001), json!(1)));
    // AWS's examples reuse ids: the real corpus holds another event with it.
    let risky: Vec<&Value> = events.iter().filter(|e| e["metadata"]["uid"] == json!("a1b2c3d4-5678-90ab-cdef-EXAMPLE22222")).collect();
    assert!(risky.iter().any(|e| e["user"]["risk_level_id"] == json!(2)), "{risky:?}");
    let federated = events.iter().find(|e| e["unmapped"]["cognito"]["provider_type"] == json!("SAML")).unwrap();
    assert_eq!(federated["auth_protocol_id"], json!(5));
    assert!(events.iter().all(|e| e["metadata"]["version"] == json!("1.8.0") && e["time"].is_i64()));

    let sl = tmp.path().join("sl").display().to_string();
    authlake_ok(&["export", "--lake", &lake, "--from", "2000-01-01", "--to", "2100-01-01", "--format", "ocsf", "--layout", "security-lake", "--out", &sl]);
    let files = walk(Path::new(&sl));
    assert!(files.iter().any(|f| f.to_string_lossy().contains("ext/authlake-authentication/region=ap-northeast-1/accountId=123456789012/eventDay=20251009/")));
    assert!(files.iter().any(|f| f.to_string_lossy().contains("ext/authlake-account-change/")));
    let n = duck_count_files(&format!("{sl}/ext/*/*/*/*/*.parquet"), "true");
    assert_eq!(n as usize, events.len());
    assert!(authlake_ok(&["export", "verify", &sl]).contains("verified"));
}

#[test]
fn retention_forget_compact_and_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let lake_s = lake.display().to_string();
    // Five separate ingests: five small files per partition; three old
    // (closed) partitions and today's (open) one.
    let now_days = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 86_400;
    let today = authlake_core::partition::day_to_date_string(now_days as i32);
    for part in 0..5 {
        let input = tmp.path().join(format!("part{part}.ndjson"));
        let lines: Vec<String> = (0..40)
            .map(|i| canonical(&format!("p{part}-{i}"), "t1", &format!("user{}", i % 7), &format!("2020-01-0{}T08:00:{:02}Z", 1 + i % 3, i), "sign_in"))
            .chain((0..10).map(|i| canonical(&format!("new{part}-{i}"), "t1", "user1", &format!("{today}T00:00:{i:02}Z"), "sign_in")))
            .collect();
        std::fs::write(&input, lines.join("\n")).unwrap();
        authlake_ok(&["ingest", "--from", &format!("file://{}", input.display()), "--lake", &lake_s]);
    }
    // A dead letter that names user3.
    let bad = tmp.path().join("bad.ndjson");
    std::fs::write(&bad, "{\"username\": \"user3\", \"oops\": \n").unwrap();
    authlake_ok(&["ingest", "--from", &format!("file://{}", bad.display()), "--lake", &lake_s]);

    let before = partition_files(&lake).len();
    assert_eq!(before, 20);
    let dry = authlake_ok(&["compact", "--lake", &lake_s, "--target-file-size", "64MiB", "--dry-run"]);
    assert!(dry.starts_with("compact: would remove 15 files") && dry.contains("in 3 partitions, adding 3 files (200 rows rewritten)"), "{dry}");
    assert_eq!(partition_files(&lake).len(), 20, "a dry run changes nothing");
    let msg = authlake_ok(&["compact", "--lake", &lake_s, "--target-file-size", "64MiB"]);
    assert_eq!(msg.split(" in commit").next(), dry.split(" (dry run").next().map(|d| d.replace("would remove", "removed")).as_deref(), "{msg}");
    // The open partition (today) keeps its five files.
    assert_eq!(partition_files(&lake).len(), 8);
    assert_eq!(duck_count(&lake_s, "true"), 250);

    let user3 = duck_count(&lake_s, "username = 'user3'");
    assert!(user3 > 0);
    let no_key = crate::support::authlake(&["forget", "--lake", &lake_s, "--user", "sub-user3"]);
    assert_eq!(no_key.status.code(), Some(2), "forget without a key is a usage error");
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("AUTHLAKE_ERASURE_KEY"));
    let key = [("AUTHLAKE_ERASURE_KEY", "compliance-test-erasure-key".to_string())];
    let dry = authlake_env_ok(&["forget", "--lake", &lake_s, "--user", "sub-user3", "--dry-run"], &key);
    assert!(dry.contains(&format!(" {user3} rows, 1 dead letters)")), "{dry}");
    let msg = authlake_env_ok(&["forget", "--lake", &lake_s, "--user", "sub-user3"], &key);
    assert!(msg.contains(&format!(" {user3} rows, 1 dead letters)")), "{msg}");
    assert_eq!(msg.lines().next().unwrap().split(" in commit").next(), dry.split(" (dry run").next().map(|d| d.replace("would remove", "removed")).as_deref());
    assert_eq!(duck_count(&lake_s, "username = 'user3' OR user_sub = 'sub-user3'"), 0);
    assert_eq!(duck_count(&lake_s, "true"), 250 - user3);
    // Gone from every file, including those compaction replaced (kept for
    // time travel until a vacuum) and the logs.
    let everything: String = walk(&lake).iter().map(|p| crate::support::file_text(p)).collect();
    assert!(!everything.contains("user3"), "user3 still somewhere in the lake");
    assert!(!walk(&lake.join("_authlake/tables/erasures")).is_empty());
    // A name with no rows is an error, not an erasure done; with
    // --allow-missing the erasure is recorded for later ingests.
    let erasures = walk(&lake.join("_authlake/tables/erasures")).len();
    let typo = crate::support::authlake_env(&["forget", "--lake", &lake_s, "--user", "usr3"], &key);
    assert_eq!(typo.status.code(), Some(1), "a forget that found nobody succeeded");
    assert!(String::from_utf8_lossy(&typo.stderr).contains("--allow-missing"));
    assert_eq!(walk(&lake.join("_authlake/tables/erasures")).len(), erasures, "a forget that found nobody recorded an erasure");
    let ahead = authlake_env_ok(&["forget", "--lake", &lake_s, "--user", "not-yet-ingested", "--allow-missing"], &key);
    assert!(ahead.contains("erasure recorded"), "{ahead}");
    // A number without a unit names the missing unit.
    let unitless = crate::support::authlake(&["retention", "--lake", &lake_s, "--keep", "20"]);
    assert_eq!(unitless.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unitless.stderr).contains("20d (days)"), "{}", String::from_utf8_lossy(&unitless.stderr));

    let dry = authlake_ok(&["retention", "--lake", &lake_s, "--keep", "400d", "--dry-run"]);
    let msg = authlake_ok(&["retention", "--lake", &lake_s, "--keep", "400d"]);
    assert!(msg.contains(" in 3 partitions,"), "{msg}");
    assert_eq!(msg.split(" in commit").next(), dry.split(" (dry run").next().map(|d| d.replace("would remove", "removed")).as_deref());
    assert_eq!(duck_count(&lake_s, "true"), 50);
    assert!(partition_files(&lake).iter().all(|p| p.to_string_lossy().contains(&format!("event_date={today}"))));

    let ddl = authlake_ok(&["catalog", "duckdb-files", "--lake", &lake_s, "--prefix", "x"]);
    let out = duckdb(&format!("duckdb.sql(\"\"\"{ddl}\"\"\")\nprint(duckdb.sql('SELECT COUNT(*), MIN(event_date) FROM x_events').fetchall()[0], duckdb.sql('SELECT COUNT(*) FROM x_erasures').fetchall()[0][0])"));
    let (y, m, d) = (&today[0..4], today[5..7].trim_start_matches('0'), today[8..10].trim_start_matches('0'));
    // Erasure records: user3's two identifiers, and the one recorded ahead.
    assert_eq!(out.trim(), format!("(50, datetime.date({y}, {m}, {d})) 3"));
    for engine in ["athena", "glue", "spark", "trino", "duckdb"] {
        assert!(authlake_ok(&["catalog", engine, "--lake", "s3://bucket/lake"]).contains("s3"), "{engine}");
    }
}

/// Rewrites `manifest.json` of `dir` through `edit`.
fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let path = dir.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// A copy of export `from` at `to`.
fn copy_export(from: &Path, to: &Path) {
    for f in walk(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, dest).unwrap();
    }
}

/// Every way of changing an export a reviewer might try fails `verify`
/// with exit 4, signed (HMAC, Ed25519) or not; a key file that cannot be
/// used is a usage error (exit 2).
#[test]
fn every_tampering_fails_verification_with_exit_4() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tenant_lake(tmp.path());
    let hmac = tmp.path().join("hmac.key");
    std::fs::write(&hmac, "0123456789abcdef0123456789abcdef").unwrap();
    let private = tmp.path().join("ed25519.pem");
    let public = tmp.path().join("ed25519.pub.pem");
    let other_public = tmp.path().join("other.pub.pem");
    for (key, pubkey) in [(&private, &public), (&tmp.path().join("other.pem"), &other_public)] {
        let gen = std::process::Command::new("openssl").args(["genpkey", "-algorithm", "ed25519", "-out"]).arg(key).status().unwrap();
        let out = std::process::Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(key).arg("-out").arg(pubkey).status().unwrap();
        assert!(gen.success() && out.success(), "openssl could not make an Ed25519 key");
    }
    let s = |p: &Path| p.display().to_string();
    let export = |name: &str, format: &str, sign: Option<&Path>| -> std::path::PathBuf {
        let out = tmp.path().join(name);
        let mut args = vec!["export".to_string(), "--lake".into(), lake.clone(), "--from".into(), "2026-11-20".into(), "--to".into(), "2026-11-24".into(),
            "--format".into(), format.into(), "--out".into(), s(&out)];
        if let Some(k) = sign {
            args.extend(["--sign-key".into(), s(k)]);
        }
        authlake_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        out
    };
    let verify = |dir: &Path, key: &[&str]| {
        let mut args = vec!["export", "verify"];
        let d = s(dir);
        args.push(&d);
        args.extend_from_slice(key);
        authlake(&args)
    };
    let hmac_s = s(&hmac);
    let public_s = s(&public);
    let unsigned = export("unsigned", "csv", None);
    let signed_hmac = export("hmac", "jsonl", Some(&hmac));
    let signed_ed = export("ed25519", "parquet", Some(&private));
    let ok = authlake_ok(&["export", "verify", &s(&signed_ed), "--public-key", &public_s]);
    assert!(ok.contains("signed with Ed25519"), "{ok}");
    let manifest: Value = serde_json::from_slice(&std::fs::read(signed_ed.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["signature"]["algorithm"], json!("Ed25519"));

    type Tamper = Box<dyn Fn(&Path)>;
    let tamperings: Vec<(&str, Tamper)> = vec![
        ("rows edited in total and per file alike", Box::new(|d: &Path| edit_manifest(d, |m| {
            m["rows"] = json!(m["rows"].as_u64().unwrap() + 1);
            m["files"][0]["rows"] = json!(m["files"][0]["rows"].as_u64().unwrap() + 1);
        }))),
        ("total rows edited", Box::new(|d: &Path| edit_manifest(d, |m| m["rows"] = json!(1)))),
        ("signature removed and rows edited", Box::new(|d: &Path| edit_manifest(d, |m| {
            m.as_object_mut().unwrap().remove("signature");
            m["rows"] = json!(m["rows"].as_u64().unwrap() - 1);
            m["files"][0]["rows"] = json!(m["files"][0]["rows"].as_u64().unwrap() - 1);
        }))),
        ("filter widened in the manifest", Box::new(|d: &Path| edit_manifest(d, |m| m["filters"]["from"] = json!("2000-01-01T00:00:00Z")))),
        ("file listed twice", Box::new(|d: &Path| edit_manifest(d, |m| {
            let f = m["files"][0].clone();
            m["files"].as_array_mut().unwrap().push(f);
        }))),
        ("path outside the export", Box::new(|d: &Path| edit_manifest(d, |m| m["files"][0]["path"] = json!("../hmac.key")))),
        ("file added", Box::new(|d: &Path| std::fs::write(d.join("extra.csv"), "a\n1\n").unwrap())),
        ("data file removed", Box::new(|d: &Path| {
            let m: Value = serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
            std::fs::remove_file(d.join(m["files"][0]["path"].as_str().unwrap())).unwrap();
        })),
        ("manifest deleted", Box::new(|d: &Path| std::fs::remove_file(d.join("manifest.json")).unwrap())),
        ("signing key id replaced", Box::new(|d: &Path| edit_manifest(d, |m| {
            if m.get("signature").is_some() {
                m["signature"]["key_id"] = json!("0".repeat(64));
            } else {
                m["files"][0]["bytes"] = json!(1);
            }
        }))),
        ("signature algorithm renamed", Box::new(|d: &Path| edit_manifest(d, |m| {
            if m.get("signature").is_some() {
                m["signature"]["algorithm"] = json!("none");
            } else {
                m["rows"] = json!(0);
            }
        }))),
    ];
    let cases: [(&str, &Path, Vec<&str>); 3] = [
        ("unsigned", &unsigned, vec![]),
        ("hmac", &signed_hmac, vec!["--sign-key", &hmac_s]),
        ("ed25519", &signed_ed, vec!["--public-key", &public_s]),
    ];
    for (kind, original, key) in &cases {
        for (i, (what, tamper)) in tamperings.iter().enumerate() {
            if *kind == "unsigned" && what.starts_with("filter") {
                continue; // what an unsigned manifest cannot prove: its own metadata
            }
            let copy = tmp.path().join(format!("{kind}-{i}"));
            copy_export(original, &copy);
            tamper(&copy);
            let out = verify(&copy, key);
            assert_eq!(out.status.code(), Some(4), "{kind}, {what}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    // The wrong key, or a key of the other kind, fails the check.
    assert_eq!(verify(&signed_ed, &["--public-key", &s(&other_public)]).status.code(), Some(4));
    assert_eq!(verify(&signed_ed, &["--sign-key", &hmac_s]).status.code(), Some(4));
    assert_eq!(verify(&signed_hmac, &["--public-key", &public_s]).status.code(), Some(4));
    assert_eq!(verify(&unsigned, &["--public-key", &public_s]).status.code(), Some(4), "a key given but no signature: it may have been removed");
    // Keys that cannot be used are usage errors.
    let short = tmp.path().join("short.key");
    std::fs::write(&short, "too short").unwrap();
    assert_eq!(verify(&signed_hmac, &["--sign-key", &s(&short)]).status.code(), Some(2));
    assert_eq!(verify(&signed_ed, &["--public-key", &s(&private)]).status.code(), Some(2), "a private key is not a public key");
    assert_eq!(verify(&signed_ed, &["--sign-key", &public_s]).status.code(), Some(2), "a public key is no HMAC key: anyone could sign with it");
    let help = authlake_ok(&["export", "verify", "--help"]);
    assert!(help.contains("Exit codes:") && help.contains("4  a check it ran failed"), "{help}");
}
