//! The fast path must give exactly the rows and dead letters of the general
//! path, for canonical records and for everything it hands back.

use authlake_core::position::PayloadPosition;
use authlake_core::schema::events_to_batch;
use proptest::prelude::*;

use authlake_core::columns::PartitionedRows;

use super::super::{decode_payload, Decoded, DecodedEvents, Decoder, Defaults, PayloadContext};

const CANONICAL: &str = include_str!("../../../../fixtures/canonical/canonical.ndjson");

/// Both decodes of one payload: (general path, columnar path with the fast path).
fn both(bytes: &[u8], defaults: &Defaults, transport: Option<(i64, &'static str)>) -> (DecodedEvents, Decoded) {
    let pos = PayloadPosition::Kafka { topic: "t".into(), partition: 2, offset: 9 };
    let ctx = PayloadContext { position: &pos, transport_time: transport, ingest_time: 1_700_000_000_000_000, defaults };
    let general = decode_payload(bytes, &ctx);
    let mut decoder = Decoder::default();
    decoder.payload(bytes, &ctx);
    (general, decoder.finish())
}

/// Rows as structs sealed as the decode stage seals its builders.
fn sealed(events: &[authlake_core::AuthEvent]) -> Vec<(authlake_core::PartitionKey, arrow::array::RecordBatch)> {
    let mut rows = PartitionedRows::default();
    events.iter().for_each(|e| rows.push_event(e));
    rows.finish()
}

/// Asserts that both paths made the same rows and dead letters; returns
/// whether the fast path took the payload (no `Value` was built).
fn assert_same(bytes: &[u8]) {
    let defaults = Defaults { tenant_id: Some("t-default".into()), migration_source: Some("auth0".into()), ..Default::default() };
    for transport in [None, Some((1_600_000_000_000_000, "kafka_timestamp"))] {
        let (general, columnar) = both(bytes, &defaults, transport);
        let expected = sealed(&general.events);
        assert_eq!(columnar.batches.len(), expected.len(), "{}", String::from_utf8_lossy(bytes));
        for ((ka, a), (kb, b)) in columnar.batches.iter().zip(&expected) {
            assert_eq!(ka, kb);
            assert_eq!(a, b, "{}", String::from_utf8_lossy(bytes));
        }
        assert_eq!(columnar.dead_letters, general.dead_letters);
        assert_eq!(columnar.skipped, general.skipped);
    }
}

fn fast_takes(bytes: &[u8]) -> bool {
    let pos = PayloadPosition::File { path: "/x".into(), offset: 0 };
    let defaults = Defaults::default();
    let ctx = PayloadContext { position: &pos, transport_time: None, ingest_time: 0, defaults: &defaults };
    let mut rows = PartitionedRows::default();
    super::canonical_into(bytes, &ctx, &mut rows)
}

#[test]
fn canonical_fixtures_decode_alike_on_both_paths() {
    let mut taken = 0;
    for line in CANONICAL.lines().filter(|l| !l.trim().is_empty()) {
        assert_same(line.as_bytes());
        taken += usize::from(fast_takes(line.as_bytes()));
    }
    // The record without an id takes the general path (its id is a hash of
    // its text).
    assert!(taken >= 2, "the fast path took only {taken} fixture records");
}

#[test]
fn edge_cases_decode_alike_and_the_unusual_ones_take_the_general_path() {
    let cases: &[(&str, bool)] = &[
        (r#"{"event_id":"e","event_type":"sign_in","event_time":"2026-01-02T03:04:05Z","outcome":"SUCCESS","username":"a"}"#, true),
        (r#" {"event_id":"e", "event_type" : "sign_in" , "username" : "null" , "email" : "  " , "city":"HIDDEN_DUE_TO_SECURITY_REASONS" } "#, true),
        (r#"{"event_id":"e","event_type":"user_migration","event_time":"2026-01-02T03:04:05.123456+02:00"}"#, true),
        (r#"{"event_type":"sign_in","event_id":"x","event_time":"2026-01-02T03:04:05Z","event_time_source":"kinesis_arrival"}"#, true),
        (r#"{"event_id":"e","event_type":"sign_in","event_time_source":"kinesis_arrival"}"#, true),
        (r#"{"event_id":"e","event_type":"sign_in","token_size_bytes":-12,"mfa_passed":false,"new_device":null}"#, true),
        (r#"{"event_id":"e","event_type":"sign_in","category":"auth","source":"ignored","raw":"x","ingest_time":5}"#, true),
        (r#"{"event_id":"e","event_type":"sign_in","username":"é\u00e9 \"quoted\" \\ tab\t"}"#, true),
        (r#"{"event_id":"e","event_type":"sign_in","username":"ünïcödé 🦀"}"#, true),
        (r#"{"event_id":"e","event_type":"sign_in","tenant_id":"own"}"#, true),
        // Handed to the general path:
        (r#"{"event_type":"sign_in","username":"a"}"#, false), // no id: derived from the record's text
        (r#"{"event_type":"sign_in","token_size_bytes":"12"}"#, false),
        (r#"{"event_type":"sign_in","token_size_bytes":1.5}"#, false),
        (r#"{"event_type":"sign_in","token_size_bytes":012}"#, false),
        (r#"{"event_type":"sign_in","token_size_bytes":99999999999999999999}"#, false),
        (r#"{"event_type":"sign_in","mfa_passed":"yes"}"#, false),
        (r#"{"event_type":"sign_in","username":42}"#, false),
        (r#"{"event_type":"sign_in","username":"a","username":"b"}"#, false),
        (r#"{"event_type":"sign_in","unknown":"a"}"#, false),
        (r#"{"event_type":"sign_in","triggerSource":"x"}"#, false),
        (r#"{"event\u005ftype":"sign_in","user\u006eame":"a"}"#, false),
        (r#"{"event_type":"sign_in","nested":{"a":1}}"#, false),
        (r#"{"event_type":"teleport"}"#, false),
        (r#"{"event_type":"sign_in","category":"token"}"#, false),
        (r#"{"event_type":"sign_in","event_time":"yesterday"}"#, false),
        (r#"{"event_type":"sign_in","event_time":""}"#, false),
        (r#"{"event_type":"sign_in","event_time":"10000-01-01T00:00:00Z"}"#, false),
        (r#"{"event_type":"sign_in","username":"bad \x escape"}"#, false),
        ("{\"event_type\":\"sign_in\",\"username\":\"raw\u{1}control\"}", false),
        (r#"{"event_type":"sign_in","username":"a"} trailing"#, false),
        (r#"{"event_type":"sign_in","username":"a",}"#, false),
        (r#"{"event_type":"sign_in" "username":"a"}"#, false),
        (r#"{"event_type":"sign_in","username":"a""#, false),
        (r#"{"event_type":null}"#, false),
        (r#"{}"#, false),
        (r#"[{"event_type":"sign_in"}]"#, false),
    ];
    for (text, fast) in cases {
        assert_same(text.as_bytes());
        assert_eq!(fast_takes(text.trim().as_bytes()), *fast, "{text}");
    }
    // Invalid UTF-8 inside a string: general path (a dead letter).
    let mut bad = br#"{"event_type":"sign_in","username":"#.to_vec();
    bad.extend_from_slice(b"\"\xff\xfe\"}");
    assert_same(&bad);
    assert!(!fast_takes(&bad));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Any byte-level damage to a canonical record decodes alike on both paths.
    #[test]
    fn damaged_canonical_records_decode_alike(line in 0usize..64, at in any::<usize>(), cut in 0usize..4, bytes in prop::collection::vec(any::<u8>(), 0..6)) {
        let lines: Vec<&str> = CANONICAL.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut rec = lines[line % lines.len()].as_bytes().to_vec();
        let i = at % (rec.len() + 1);
        let j = (i + cut).min(rec.len());
        rec.splice(i..j, bytes);
        assert_same(&rec);
    }

    /// Arbitrary flat objects over the canonical keys and JSON scalars.
    #[test]
    fn flat_objects_over_canonical_keys_decode_alike(fields in prop::collection::vec((0usize..40, 0usize..12), 0..12)) {
        const KEYS: [&str; 12] = ["event_type", "event_time", "event_id", "event_time_source", "category", "outcome",
            "tenant_id", "migration_source", "mfa_passed", "token_size_bytes", "username", "source"];
        const VALUES: [&str; 12] = ["\"sign_in\"", "\"user_migration\"", "\"2026-03-04T05:06:07Z\"", "null", "true", "7",
            "\"\"", "\"Success\"", "-3", "\"null\"", "\"auth\"", "\"a\\u0041\""];
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{}\":{}", KEYS[k % KEYS.len()], VALUES[*v])).collect();
        assert_same(format!("{{{}}}", body.join(",")).as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20000, ..ProptestConfig::default() })]

    /// The eight-at-a-time stop search finds what a byte-by-byte one finds,
    /// from any start, over bytes weighted to the ones that matter (quotes,
    /// backslashes, control and UTF-8 bytes, and their neighbours).
    #[test]
    fn string_stops_are_found_as_a_byte_scan_finds_them(
        bytes in prop::collection::vec(prop::sample::select(vec![b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, b'a', 0x7f, 0x80, 0xc3, 0xff]), 0..40),
        from in 0usize..48,
    ) {
        let naive = bytes.get(from..).and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| from + p));
        prop_assert_eq!(super::string_stop(&bytes, from), naive);
    }

    /// The strict UTC reader agrees with the general one wherever it answers,
    /// and answers for every valid date in its form.
    #[test]
    fn utc_times_read_as_iso_time_reads_them(y in 0i64..10000, mo in 0i64..14, d in 0i64..33, h in 0i64..25, mi in 0i64..61,
                                             sec in 0i64..61, frac in 0usize..10, digits in 0u64..1_000_000_000) {
        let f = if frac == 0 { String::new() } else { format!(".{:0width$}", digits % 10u64.pow(frac as u32), width = frac) };
        let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}{f}Z");
        let general = super::super::value::iso_time(&text);
        match super::utc_time(&text) {
            Some(us) => prop_assert_eq!(Some(us), general, "{}", text),
            None => prop_assert!(general.is_none() || sec == 60 || y == 0, "{} read as {:?} by iso_time only", text, general),
        }
    }
}

#[test]
fn events_to_batch_is_what_the_general_path_seals() {
    // The comparison above rests on sealing = events_to_batch per partition.
    let line = CANONICAL.lines().find(|l| !l.trim().is_empty()).expect("a fixture line");
    let (general, _) = both(line.as_bytes(), &Defaults::default(), None);
    assert_eq!(sealed(&general.events)[0].1, events_to_batch(&general.events).unwrap());
}

#[test]
fn keys_are_in_byte_order_and_found_from_any_start() {
    let keys = super::KEYS.as_slice();
    assert!(keys.windows(2).all(|w| w[0].0 < w[1].0), "KEYS must stay sorted for the binary search");
    let find = |text: &str, next: usize| {
        let mut scan = super::Scan { b: text.as_bytes(), i: 0 };
        scan.known_key(keys, next).map(|index| (index, scan.i))
    };
    for (i, (name, _)) in keys.iter().enumerate() {
        let text = format!("\"{}\":1", std::str::from_utf8(name).unwrap());
        for next in [0, i.saturating_sub(3), i.saturating_sub(1), i, i + 1, keys.len()] {
            assert_eq!(find(&text, next), Some((i, name.len() + 2)), "{text} from {next}");
        }
        // A longer key that starts with this one is not this one.
        assert_eq!(find(&format!("\"{}x\":1", std::str::from_utf8(name).unwrap()), i), None);
    }
    assert_eq!(find("\"no_such_key\":1", 0), None);
    assert_eq!(find("\"event_id", 0), None, "no closing quote");
}

#[test]
fn same_bytes_is_slice_equality() {
    let a = b"compromised_credentials_and_more";
    for n in 0..a.len() {
        for flip in 0..n {
            let mut b = a[..n].to_vec();
            assert!(super::same_bytes(&a[..n], &b));
            b[flip] ^= 1;
            assert!(!super::same_bytes(&a[..n], &b), "{n} bytes, byte {flip} differs");
        }
    }
}
