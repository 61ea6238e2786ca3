//! The real-record corpus (`fixtures/real/`): public Cognito samples from
//! AWS's Lambda runtime libraries, documentation and CLI reference, each
//! decoded and compared with what AWS's documentation says it means
//! (`tests/expected/real.json`, written by hand, not generated: a change
//! that breaks it is a decoding regression, not a golden to regenerate).
//! Provenance: `fixtures/real/SOURCES.md`; kinds without a public sample:
//! `fixtures/real/MISSING.md`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::golden::decode_fixture;
use crate::support::{fixtures, root, walk};

fn corpus() -> std::path::PathBuf {
    fixtures().join("real")
}

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(root().join("tests/expected/real.json")).expect("tests/expected/real.json");
    serde_json::from_str(&text).expect("expectations parse")
}

/// Sample files, relative to the corpus, with `/` separators.
fn samples() -> Vec<String> {
    walk(&corpus())
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .map(|p| p.strip_prefix(corpus()).unwrap().to_string_lossy().replace('\\', "/"))
        .collect()
}

#[test]
fn the_corpus_is_documented_and_every_sample_has_an_expectation() {
    let samples = samples();
    assert!(samples.len() >= 40, "{} samples; the corpus promises at least 40", samples.len());
    let expected: BTreeSet<String> = expected().keys().cloned().collect();
    let files: BTreeSet<String> = samples.iter().cloned().collect();
    assert_eq!(files.difference(&expected).collect::<Vec<_>>(), Vec::<&String>::new(), "samples without an expectation");
    assert_eq!(expected.difference(&files).collect::<Vec<_>>(), Vec::<&String>::new(), "expectations without a sample");
    let sources = std::fs::read_to_string(corpus().join("SOURCES.md")).unwrap();
    for s in &samples {
        assert!(sources.contains(&format!("`{s}`")), "{s} has no provenance in SOURCES.md");
    }
    assert!(corpus().join("MISSING.md").exists());
}

#[test]
fn every_real_sample_decodes_as_aws_documents_it() {
    let mut wrong = Vec::new();
    for (rel, want) in expected() {
        let got = decode_fixture(&corpus().join(&rel));
        let events = got["events"].as_array().unwrap();
        let dead = got["dead_letters"].as_array().unwrap();
        let count = |k: &str| want[k].as_u64().unwrap_or_else(|| panic!("{rel}: `{k}` missing")) as usize;
        if events.len() != count("rows") || dead.len() != count("dead_letters") {
            wrong.push(format!(
                "{rel}: {} rows and {} dead letters, expected {} and {} ({})",
                events.len(),
                dead.len(),
                count("rows"),
                count("dead_letters"),
                dead.iter().map(|d| d["reason"].as_str().unwrap_or("")).collect::<Vec<_>>().join("; ")
            ));
            continue;
        }
        for (i, (row, want_row)) in events.iter().zip(want["events"].as_array().into_iter().flatten()).enumerate() {
            for (col, want_value) in want_row.as_object().unwrap() {
                let value = row.get(col).unwrap_or_else(|| panic!("{rel}: no column {col}"));
                if value != want_value {
                    wrong.push(format!("{rel} row {i}: {col} = {value}, expected {want_value}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} differences from AWS's documented meaning:\n{}", wrong.len(), wrong.join("\n"));
}
