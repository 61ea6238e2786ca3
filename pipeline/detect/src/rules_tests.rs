use super::*;

#[test]
fn the_built_in_pack_compiles_whole_and_documents_itself() {
    let pack = Pack::load(None, &Mapping::builtin()).unwrap_or_else(|e| panic!("{e}"));
    assert!(pack.rules.len() >= 13, "{} rules", pack.rules.len());
    for (file, text) in BUILTIN {
        assert!(text.contains("Smallest"), "{file}: the description says the smallest attack it catches");
        assert!(text.contains("falsepositives:") && text.contains("references:") && text.contains("attack."), "{file}");
    }
    let base_rules_stay_quiet = pack.rules.iter().all(|r| r.level != "informational");
    assert!(base_rules_stay_quiet, "rules a correlation reads make no findings of their own");
    let mut ids: Vec<&str> = pack.rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), pack.rules.len());
}

#[test]
fn built_in_rules_are_the_files_of_the_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../detections/rules");
    let mut on_disk: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    assert_eq!(on_disk, BUILTIN.iter().map(|(f, _)| f.to_string()).collect::<Vec<_>>());
}

fn refusal(text: &str) -> String {
    let source = Source { file: "r.yml".into(), text: text.into() };
    match compile(&[source], &Mapping::builtin()) {
        Err(DetectError::Refused(r)) => r[0].to_string(),
        other => panic!("not refused: {other:?}"),
    }
}

const BASE: &str = "title: base\nid: b-1\nname: base\nlogsource: {product: aws, service: cognito}\ndetection:\n  s: {outcome: failure}\n  condition: s\n";

#[test]
fn correlations_that_cannot_be_honoured_are_refused() {
    let corr = |extra: &str| {
        format!("{BASE}---\ntitle: c\nid: c-1\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [user]\n  timespan: 10m\n  condition: {{gte: 3}}\n{extra}")
    };
    assert!(refusal(&corr("  window: sliding\n")).contains("sliding windows"));
    assert!(refusal(&format!("{BASE}---\ntitle: c\nid: c-1\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1h\n  condition: {{gte: 3}}\n")).contains("`nope`"));
    assert!(refusal(&format!("{BASE}---\ntitle: c\nid: c-1\ncorrelation:\n  type: value_percentile\n  rules: [base]\n  timespan: 1h\n  condition: {{gte: 3, field: x}}\n")).contains("percentile"));
    assert!(refusal("title: w\nid: w-1\nlogsource: {product: windows, service: security}\ndetection:\n  s: {EventID: 4625}\n  condition: s\n").contains("log source"));
    assert!(refusal("title: no id\nlogsource: {product: aws, service: cognito}\ndetection:\n  s: {outcome: failure}\n  condition: s\n").contains("needs an id"));
    assert!(refusal(&format!("{BASE}---\n{}", BASE.replace("name: base", "name: other"))).contains("two rules share this id"));
    assert!(refusal(&format!("{BASE}---\ntitle: c\nid: c-1\ncorrelation:\n  type: temporal_ordered\n  rules: []\n  timespan: 1h\n")).contains("references no rule"));
    let tumbling = corr("  window: tumbling\n");
    let pack = compile(&[Source { file: "r.yml".into(), text: tumbling }], &Mapping::builtin()).unwrap();
    assert_eq!(pack.rules.len(), 1, "the base rule makes no findings of its own");
    assert_eq!(pack.rules[0].span, Some(600));
}
