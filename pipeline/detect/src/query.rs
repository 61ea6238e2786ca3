//! The finding queries: one shape of output for every rule, so that a
//! row is a finding whatever the rule type.
//!
//! Columns: `window_start`, `window_end`, `group_key` (the group-by
//! values joined by U+001F), `event_count`, `value_count`, `first_seen`,
//! `last_seen`, `evidence` (event ids, oldest first, at most
//! [`EVIDENCE`]), and the entity: `user_pool_id`, `user_key`,
//! `ip_address`, `device_name`, each where every event of the finding
//! agrees on it. `${since}` and `${until}` are the range's bounds.

/// Event ids kept as a finding's evidence.
pub const EVIDENCE: usize = 100;

/// The range condition, with partition pruning on `event_date`.
const RANGE: &str = "event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE) \
                     AND event_time >= ${since} AND event_time < ${until}";

/// What a correlation groups and counts.
pub struct Shape {
    /// Window length, seconds.
    pub span: u64,
    /// Group-by expressions.
    pub groups: Vec<String>,
    /// The counted or summed value, if any.
    pub value: Option<String>,
    /// The referenced rules' conditions.
    pub bases: Vec<String>,
}

/// A rule without correlation: each matching event is a finding, keyed by
/// its event id at its own time.
pub fn single(condition: &str) -> String {
    format!(
        "SELECT event_time AS window_start, event_time AS window_end, event_id AS group_key, \
         CAST(1 AS BIGINT) AS event_count, CAST(NULL AS BIGINT) AS value_count, \
         event_time AS first_seen, event_time AS last_seen, make_array(event_id) AS evidence, \
         user_pool_id, COALESCE(username, user_sub) AS user_key, ip_address, device_name \
         FROM events WHERE {RANGE} AND {condition}"
    )
}

/// The rows the correlation reads, with window, group values, value and
/// one flag per referenced rule.
fn matched(s: &Shape) -> String {
    let mut cols = vec![
        "event_id".to_string(),
        "event_time".to_string(),
        "user_pool_id".to_string(),
        "COALESCE(username, user_sub) AS user_key".to_string(),
        "ip_address".to_string(),
        "device_name".to_string(),
        format!("date_bin(INTERVAL '{} seconds', event_time, TIMESTAMP '1970-01-01T00:00:00Z') AS w", s.span),
    ];
    cols.extend(s.groups.iter().enumerate().map(|(i, g)| format!("{g} AS g{i}")));
    cols.push(format!("{} AS v", s.value.as_deref().unwrap_or("CAST(NULL AS VARCHAR)")));
    cols.extend(s.bases.iter().enumerate().map(|(i, b)| format!("CASE WHEN {b} THEN 1 ELSE 0 END AS r{i}")));
    let any = s.bases.iter().map(|b| format!("({b})")).collect::<Vec<_>>().join(" OR ");
    let grouped = s.groups.iter().enumerate().map(|(i, _)| format!(" AND g{i} IS NOT NULL")).collect::<String>();
    format!(
        "m0 AS (SELECT {} FROM events WHERE {RANGE} AND ({any})), m AS (SELECT * FROM m0 WHERE TRUE{grouped})",
        cols.join(", ")
    )
}

fn keys(s: &Shape) -> Vec<String> {
    std::iter::once("w".to_string()).chain((0..s.groups.len()).map(|i| format!("g{i}"))).collect()
}

/// The aggregate over `from`, grouped by window and group values, in two
/// steps: the groups that pass `having` first (only what it needs), then
/// the finding's columns over those groups' rows alone. Evidence lists and
/// the entity's distinct counts cost per group, and most groups (every
/// user in every window) never pass.
fn aggregate(s: &Shape, from: &str, having: &str) -> String {
    let keys = keys(s);
    let group_key = match s.groups.len() {
        0 => "''".to_string(),
        n => format!("concat_ws(chr(31), {})", (0..n).map(|i| format!("CAST(g{i} AS VARCHAR)")).collect::<Vec<_>>().join(", ")),
    };
    let entity = |c: &str| format!("CASE WHEN COUNT(DISTINCT {c}) = 1 AND COUNT({c}) = COUNT(*) THEN MIN({c}) END AS {c}");
    let passing = keys.iter().map(|k| format!("{k} AS q_{k}")).collect::<Vec<_>>().join(", ");
    let on = keys.iter().map(|k| format!("{k} = q_{k}")).collect::<Vec<_>>().join(" AND ");
    format!(
        "q AS (SELECT {passing} FROM {from} GROUP BY {list} HAVING {having}) \
         SELECT w AS window_start, w + INTERVAL '{span} seconds' AS window_end, {group_key} AS group_key, \
         COUNT(*) AS event_count, {value_count} AS value_count, MIN(event_time) AS first_seen, MAX(event_time) AS last_seen, \
         array_slice(array_agg(event_id ORDER BY event_time, event_id), 1, {EVIDENCE}) AS evidence, \
         {}, {}, {}, {} FROM {from} JOIN q ON {on} GROUP BY {list}",
        entity("user_pool_id"),
        entity("user_key"),
        entity("ip_address"),
        entity("device_name"),
        list = keys.join(", "),
        span = s.span,
        value_count = if s.value.is_some() { "COUNT(DISTINCT v)" } else { "CAST(NULL AS BIGINT)" },
    )
}

/// authlake's `new_value` rules: a value of `field` first seen in its
/// group at least `learning` seconds after the group's first event, one
/// finding per group, value and UTC day of first sight (the events of
/// that day). First sights are judged over the whole lake; the range
/// picks the days reported.
pub fn new_value(condition: &str, groups: &[String], field: &str, learning: u64) -> String {
    let g: Vec<String> = (0..groups.len()).map(|i| format!("g{i}")).collect();
    let n = groups.len();
    let cols: Vec<String> = groups.iter().enumerate().map(|(i, e)| format!("{e} AS g{i}")).collect();
    let on = |a: &str, b: &str| g.iter().map(|k| format!("{a}.{k} = {b}.{k}")).collect::<Vec<_>>().join(" AND ");
    let not_null: String = g.iter().map(|k| format!(" AND {k} IS NOT NULL")).collect();
    let gl = g.join(", ");
    let sql = format!(
        "WITH m AS (SELECT event_id, event_time, user_pool_id, COALESCE(username, user_sub) AS user_key, ip_address, device_name, \
         {cols}, {field} AS v FROM events WHERE {condition}), \
         m1 AS (SELECT * FROM m WHERE v IS NOT NULL{not_null}), \
         s AS (SELECT {gl}, MIN(event_time) AS t0 FROM m1 GROUP BY {gl}), \
         f AS (SELECT {gl}, v, MIN(event_time) AS t1 FROM m1 GROUP BY {gl}, v), \
         n AS (SELECT f.*, date_bin(INTERVAL '86400 seconds', f.t1, TIMESTAMP '1970-01-01T00:00:00Z') AS w FROM f JOIN s ON {on_fs} \
               WHERE f.t1 >= s.t0 + INTERVAL '{learning} seconds'), \
         o AS (SELECT m1.event_id, m1.event_time, m1.user_pool_id, m1.user_key, m1.ip_address, m1.device_name, {m_g}, m1.v AS g{n}, n.w \
               FROM m1 JOIN n ON {on_mn} AND m1.v = n.v \
               WHERE n.w >= ${{since}} AND n.w < ${{until}} AND m1.event_time >= n.w AND m1.event_time < n.w + INTERVAL '86400 seconds') ",
        cols = cols.join(", "),
        on_fs = on("f", "s"),
        on_mn = on("m1", "n"),
        m_g = g.iter().map(|k| format!("m1.{k}")).collect::<Vec<_>>().join(", "),
    );
    let shape = Shape { span: 86_400, groups: vec![String::new(); n + 1], value: None, bases: Vec::new() };
    format!("{sql}, {}", aggregate(&shape, "o", "TRUE"))
}

/// Counts, values and unordered temporal correlations.
pub fn windowed(s: &Shape, having: &str) -> String {
    format!("WITH {}, {}", matched(s), aggregate(s, "m", having))
}

/// `temporal_ordered`: step `i` is the first match of rule `i` after
/// step `i - 1` in the same window and group; a group and window that
/// reach the last step is a finding over all its matching events.
pub fn ordered(s: &Shape, having: &str) -> String {
    let keys = keys(s);
    let on = |a: &str, b: &str| keys.iter().map(|k| format!("{a}.{k} = {b}.{k}")).collect::<Vec<_>>().join(" AND ");
    let list = |t: &str| keys.iter().map(|k| format!("{t}.{k}")).collect::<Vec<_>>().join(", ");
    let mut ctes = vec![matched(s)];
    ctes.push(format!("s0 AS (SELECT {}, MIN(m.event_time) AS t FROM m WHERE m.r0 = 1 GROUP BY {})", list("m"), list("m")));
    for i in 1..s.bases.len() {
        ctes.push(format!(
            "s{i} AS (SELECT {l}, MIN(m.event_time) AS t FROM m JOIN s{p} ON {on} WHERE m.r{i} = 1 AND m.event_time > s{p}.t GROUP BY {l})",
            l = list("m"),
            p = i - 1,
            on = on("m", &format!("s{}", i - 1)),
        ));
    }
    let last = s.bases.len() - 1;
    ctes.push(format!("o AS (SELECT m.* FROM m JOIN s{last} ON {})", on("m", &format!("s{last}"))));
    format!("WITH {}, {}", ctes.join(", "), aggregate(s, "o", having))
}
