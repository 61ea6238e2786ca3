//! A Sigma detection (named selections and a condition) as one SQL
//! boolean expression over `events`.
//!
//! Sigma's semantics, and how they hold here:
//! - strings match case-insensitively unless `|cased` (`lower(f) = 'v'`,
//!   `f ILIKE 'p'`); `*` and `?` are wildcards; `re` is case-sensitive
//!   unless `|i`, and is checked with the regex engine that runs it;
//! - a field the event lacks (a null) matches nothing, so `not selection`
//!   matches it: every selection is `COALESCE(..., FALSE)`;
//! - a list of values is any of them (all of them with `|all`); a list of
//!   mappings is any of them; the items of one mapping are all of them.
//!
//! What cannot run as written is refused ([`Refusal`]), never approximated.

use arrow::datatypes::DataType;
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Detections, Modifier, Quantifier, SelectorPattern, SigmaString, SigmaValue,
};

use crate::error::Refusal;
use crate::mapping::{Field, Mapping};
use crate::sql::{like_pattern, plain, string, Anchor};

/// Compiles the detection of rule `rule` (its id, for refusals).
pub fn condition(rule: &str, d: &Detections, map: &Mapping) -> Result<String, Refusal> {
    let refuse = |reason: String| Refusal::new(rule, reason);
    if d.timeframe.is_some() {
        return Err(refuse("`timeframe` belongs to Sigma's deprecated aggregations; write a correlation rule".into()));
    }
    if d.conditions.is_empty() {
        return Err(refuse("the detection has no condition".into()));
    }
    let mut named = std::collections::BTreeMap::new();
    for (name, det) in &d.named {
        named.insert(name.clone(), format!("COALESCE({}, FALSE)", detection(rule, det, map)?));
    }
    let parts: Vec<String> = d.conditions.iter().map(|c| expr(rule, c, &named)).collect::<Result<_, _>>()?;
    Ok(join(parts, "OR"))
}

fn expr(rule: &str, c: &ConditionExpr, named: &std::collections::BTreeMap<String, String>) -> Result<String, Refusal> {
    Ok(match c {
        ConditionExpr::And(xs) => join(xs.iter().map(|x| expr(rule, x, named)).collect::<Result<_, _>>()?, "AND"),
        ConditionExpr::Or(xs) => join(xs.iter().map(|x| expr(rule, x, named)).collect::<Result<_, _>>()?, "OR"),
        ConditionExpr::Not(x) => format!("(NOT {})", expr(rule, x, named)?),
        ConditionExpr::Identifier(id) => {
            named.get(id).cloned().ok_or_else(|| Refusal::new(rule, format!("the condition names `{id}`, which the detection does not define")))?
        }
        ConditionExpr::Selector { quantifier, pattern } => {
            let chosen: Vec<&String> = named
                .iter()
                .filter(|(name, _)| match pattern {
                    // `them`: every selection but those named with a leading underscore.
                    SelectorPattern::Them => !name.starts_with('_'),
                    SelectorPattern::Pattern(p) => rsigma_parser::detection_name_matches(p, name),
                })
                .map(|(_, sql)| sql)
                .collect();
            if chosen.is_empty() {
                return Err(Refusal::new(rule, format!("`{c}` selects no selection")));
            }
            match quantifier {
                Quantifier::Any => join(chosen.into_iter().cloned().collect(), "OR"),
                Quantifier::All => join(chosen.into_iter().cloned().collect(), "AND"),
                Quantifier::Count(n) => {
                    let sum: Vec<String> = chosen.iter().map(|s| format!("CAST({s} AS INT)")).collect();
                    format!("(({}) >= {n})", sum.join(" + "))
                }
            }
        }
    })
}

fn detection(rule: &str, d: &Detection, map: &Mapping) -> Result<String, Refusal> {
    Ok(match d {
        Detection::AllOf(items) => join(items.iter().map(|i| item(rule, i, map)).collect::<Result<_, _>>()?, "AND"),
        Detection::AnyOf(ds) => join(ds.iter().map(|x| detection(rule, x, map)).collect::<Result<_, _>>()?, "OR"),
        Detection::And(ds) => join(ds.iter().map(|x| detection(rule, x, map)).collect::<Result<_, _>>()?, "AND"),
        Detection::Keywords(_) => {
            return Err(Refusal::new(rule, "keyword selections (values without a field) search a whole record; events are columns"))
        }
        Detection::ArrayMatch { field, .. } => {
            return Err(Refusal::new(rule, format!("array quantifier on `{field}`: events hold no arrays")))
        }
        Detection::Conditional { .. } => return Err(Refusal::new(rule, "element-scoped conditions: events hold no arrays")),
    })
}

/// How one value is compared, from an item's modifiers.
#[derive(Debug, Default)]
struct How {
    anchor: Option<Anchor>,
    cased: bool,
    all: bool,
    re: Option<String>,
    cidr: bool,
    exists: bool,
    fieldref: bool,
    compare: Option<&'static str>,
    neq: bool,
    part: Option<&'static str>,
}

fn how(rule: &str, field: &str, mods: &[Modifier]) -> Result<How, Refusal> {
    let mut h = How::default();
    let mut flags = String::new();
    for m in mods {
        match m {
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith if h.anchor.is_some() => {
                return Err(Refusal::new(rule, format!("`{field}`: contains, startswith and endswith exclude each other")))
            }
            Modifier::Contains => h.anchor = Some(Anchor::Contains),
            Modifier::StartsWith => h.anchor = Some(Anchor::StartsWith),
            Modifier::EndsWith => h.anchor = Some(Anchor::EndsWith),
            Modifier::All => h.all = true,
            Modifier::Cased => h.cased = true,
            Modifier::Re => h.re = Some(String::new()),
            Modifier::IgnoreCase => flags.push('i'),
            Modifier::Multiline => flags.push('m'),
            Modifier::DotAll => flags.push('s'),
            Modifier::Cidr => h.cidr = true,
            Modifier::Exists => h.exists = true,
            Modifier::FieldRef => h.fieldref = true,
            Modifier::Gt => h.compare = Some(">"),
            Modifier::Gte => h.compare = Some(">="),
            Modifier::Lt => h.compare = Some("<"),
            Modifier::Lte => h.compare = Some("<="),
            Modifier::Neq => h.neq = true,
            Modifier::Minute => h.part = Some("minute"),
            Modifier::Hour => h.part = Some("hour"),
            Modifier::Day => h.part = Some("day"),
            Modifier::Week => h.part = Some("week"),
            Modifier::Month => h.part = Some("month"),
            Modifier::Year => h.part = Some("year"),
            Modifier::Base64 | Modifier::Base64Offset | Modifier::Wide | Modifier::Utf16be | Modifier::Utf16 | Modifier::WindAsh => {
                return Err(Refusal::new(rule, format!("`{field}|{m:?}`: encoding modifiers are for Windows process data, not identity events")))
            }
            Modifier::Expand => return Err(Refusal::new(rule, format!("`{field}|expand`: placeholders need values authlake does not define"))),
        }
    }
    match &mut h.re {
        Some(f) => *f = flags,
        None if !flags.is_empty() => return Err(Refusal::new(rule, format!("`{field}`: regex flags without `re`"))),
        None => {}
    }
    // One way of comparing per item; `neq`, `all` and `cased` go with any.
    let ways = [h.anchor.is_some(), h.re.is_some(), h.cidr, h.exists, h.fieldref, h.compare.is_some(), h.part.is_some()];
    if ways.iter().filter(|w| **w).count() > 1 {
        return Err(Refusal::new(rule, format!("`{field}`: modifiers that compare in different ways ({mods:?})")));
    }
    Ok(h)
}

fn item(rule: &str, i: &DetectionItem, map: &Mapping) -> Result<String, Refusal> {
    let name = i.field.name.as_deref().ok_or_else(|| Refusal::new(rule, "a value without a field"))?;
    let f = map.field(name).ok_or_else(|| Refusal::new(rule, format!("field `{name}` has no events column in the field mapping")))?;
    let h = how(rule, name, &i.field.modifiers)?;
    if h.exists {
        return match i.values.as_slice() {
            [SigmaValue::Bool(true)] => Ok(format!("({} IS NOT NULL)", f.sql)),
            [SigmaValue::Bool(false)] => Ok(format!("({} IS NULL)", f.sql)),
            _ => Err(Refusal::new(rule, format!("`{name}|exists` takes true or false"))),
        };
    }
    if i.values.is_empty() {
        return Err(Refusal::new(rule, format!("`{name}` has no value")));
    }
    let each: Vec<String> = i.values.iter().map(|v| value(rule, name, &f, &h, v, map)).collect::<Result<_, _>>()?;
    Ok(join(each, if h.all { "AND" } else { "OR" }))
}

fn value(rule: &str, name: &str, f: &Field, h: &How, v: &SigmaValue, map: &Mapping) -> Result<String, Refusal> {
    let m = compare(rule, name, f, h, v, map)?;
    Ok(match h.neq {
        // Present and not matching: a field the event lacks matches nothing.
        true => format!("({} IS NOT NULL AND NOT COALESCE({m}, FALSE))", f.sql),
        false => m,
    })
}

fn compare(rule: &str, name: &str, f: &Field, h: &How, v: &SigmaValue, map: &Mapping) -> Result<String, Refusal> {
    let refuse = |why: &str| Refusal::new(rule, format!("`{name}`: {why}"));
    let col = &f.sql;
    let text = matches!(f.data_type, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
    if h.fieldref {
        let other = match v {
            SigmaValue::String(s) => s.as_plain().ok_or_else(|| refuse("fieldref names a field"))?,
            _ => return Err(refuse("fieldref names a field")),
        };
        let o = map.field(&other).ok_or_else(|| refuse(&format!("fieldref `{other}` has no events column")))?;
        let both_text = text && matches!(o.data_type, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
        return Ok(match both_text && !h.cased {
            true => format!("(lower({col}) = lower({}))", o.sql),
            false => format!("({col} = {})", o.sql),
        });
    }
    if let Some(part) = h.part {
        let n = number(v).ok_or_else(|| refuse("a timestamp part compares with a number"))?;
        if !matches!(f.data_type, DataType::Timestamp(..)) {
            return Err(refuse("timestamp parts need a timestamp column"));
        }
        return Ok(format!("(date_part('{part}', {col}) = {n})"));
    }
    if let Some(op) = h.compare {
        let n = number(v).ok_or_else(|| refuse("comparisons take a number"))?;
        return Ok(match text {
            true => format!("(TRY_CAST({col} AS DOUBLE) {op} {n})"),
            false if f.data_type.is_numeric() => format!("({col} {op} {n})"),
            false => return Err(refuse("comparisons need a number column")),
        });
    }
    if let Some(flags) = &h.re {
        let SigmaValue::String(s) = v else { return Err(refuse("`re` takes a pattern")) };
        let pattern = &s.original;
        let mut b = regex::RegexBuilder::new(pattern);
        b.case_insensitive(flags.contains('i')).multi_line(flags.contains('m')).dot_matches_new_line(flags.contains('s'));
        b.build().map_err(|e| refuse(&format!("regex the engine cannot run: {e}")))?;
        if !text {
            return Err(refuse("`re` needs a text column"));
        }
        return Ok(match flags.is_empty() {
            true => format!("regexp_like({col}, {})", string(pattern)),
            false => format!("regexp_like({col}, {}, {})", string(pattern), string(flags)),
        });
    }
    if h.cidr {
        let SigmaValue::String(s) = v else { return Err(refuse("`cidr` takes a network")) };
        let net = s.as_plain().ok_or_else(|| refuse("a network has no wildcards"))?;
        crate::udf::Cidr::parse(&net).ok_or_else(|| refuse(&format!("`{net}` is not a network")))?;
        return Ok(format!("sigma_cidr({col}, {})", string(&net)));
    }
    Ok(match v {
        SigmaValue::Null => {
            if h.anchor.is_some() || h.neq {
                return Err(refuse("null takes no string modifier"));
            }
            format!("({col} IS NULL)")
        }
        SigmaValue::Bool(b) if f.data_type == DataType::Boolean => format!("({col} = {b})"),
        SigmaValue::Integer(_) | SigmaValue::Float(_) if f.data_type.is_numeric() => match number(v) {
            Some(n) => format!("({col} = {n})"),
            None => return Err(refuse("not a finite number")),
        },
        SigmaValue::String(s) if f.data_type == DataType::Boolean => match s.as_plain().map(|p| p.to_lowercase()).as_deref() {
            Some(b @ ("true" | "false")) => format!("({col} = {b})"),
            _ => return Err(refuse("a boolean column matches true or false")),
        },
        _ if !text => return Err(refuse(&format!("a {} column cannot match text", f.data_type))),
        SigmaValue::String(s) => string_match(col, s, h),
        SigmaValue::Bool(b) => string_match(col, &SigmaString::from_raw(&b.to_string()), h),
        SigmaValue::Integer(n) => string_match(col, &SigmaString::from_raw(&n.to_string()), h),
        SigmaValue::Float(x) => string_match(col, &SigmaString::from_raw(&x.to_string()), h),
    })
}

fn string_match(col: &str, s: &SigmaString, h: &How) -> String {
    let anchor = h.anchor.unwrap_or(Anchor::Whole);
    let target = if h.cased { col.to_string() } else { format!("lower({col})") };
    match like_pattern(s, anchor, h.cased) {
        Some(p) => format!("({target} LIKE {})", string(&p)),
        None => format!("({target} = {})", string(&plain(s, h.cased))),
    }
}

fn number(v: &SigmaValue) -> Option<String> {
    match v {
        SigmaValue::Integer(n) => Some(n.to_string()),
        SigmaValue::Float(x) if x.is_finite() => Some(x.to_string()),
        SigmaValue::String(s) => s.as_plain().filter(|p| p.parse::<f64>().is_ok_and(f64::is_finite)),
        _ => None,
    }
}

fn join(parts: Vec<String>, op: &str) -> String {
    match parts.len() {
        1 => parts.into_iter().next().expect("one part"),
        _ => format!("({})", parts.join(&format!(" {op} "))),
    }
}

#[cfg(test)]
#[path = "detection_tests.rs"]
mod tests;
