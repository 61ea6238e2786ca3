//! Secrets never land: every file written (decompressed), and what the CLI
//! printed, is scanned for the plaintext secrets present in the fixtures.

use crate::support::{authlake, fixtures, file_text, walk};

/// Plaintext secrets that occur in `fixtures/` (passwords, codes,
/// sessions, tokens, challenge answers).
const SECRETS: &[&str] = &[
    "Auth0-Legacy-Pa55!",
    "wrong-guess-123",
    "CorrectHorse9!",
    "482913",
    "918273",
    "NewPassw0rd!",
    "Temp0rary!",
    "AYABeBF-session-token",
    "eyJraWQiOiJBQUFBIn0",
    "eyJjdHkiOiJKV1QifQ.refresh",
    "eyJraWQiOiJCQkJCIn0",
    "Carol-Old-Secret#1",
    "Trunc4ted-Secret",
    "sess-should-not-land",
    "purple-elephant-42",
    "password=plain",
];

#[test]
fn no_secret_reaches_the_lake_dead_letters_or_output() {
    // The fixtures really hold every secret (else the scan proves nothing).
    let all_input: String = walk(&fixtures()).iter().map(|p| file_text(p)).collect();
    for s in SECRETS {
        assert!(all_input.contains(s), "fixture secret {s} not in fixtures");
    }
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let out = authlake(&["ingest", "--from", &format!("file://{}", fixtures().display()), "--lake", &lake.display().to_string()]);
    assert!(out.status.success());
    let dump = authlake(&["query", "--lake", &lake.display().to_string(), "--format", "json", "SELECT * FROM events"]);
    let dead = authlake(&["query", "--lake", &lake.display().to_string(), "--format", "csv", "SELECT * FROM dead_letters"]);
    let mut written = vec![
        ("ingest output".to_string(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)),
        ("query output".to_string(), String::from_utf8_lossy(&dump.stdout).to_string()),
        ("dead letter output".to_string(), String::from_utf8_lossy(&dead.stdout).to_string()),
    ];
    let files = walk(&lake);
    assert!(files.len() >= 5, "lake too small to prove anything");
    for f in files {
        written.push((f.display().to_string(), file_text(&f)));
    }
    let dead_text = &written[2].1;
    assert!(dead_text.contains("[REDACTED]"), "dead letters show no scrubbing: {dead_text}");
    for (name, text) in &written {
        for s in SECRETS {
            assert!(!text.contains(s), "secret {s:?} found in {name}");
        }
    }
}
