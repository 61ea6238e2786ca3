//! Instants given on the command line.

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::config::parse_duration;
use crate::exit::{coded, Exit};

/// Parses an instant: RFC 3339, `YYYY-MM-DD` (midnight UTC, or the next
/// midnight with `end_of_day`), or an age (`30d`, `12h`) before `now`. A
/// date that does not exist (`2026-11-31`) is named as such.
pub fn parse_time(s: &str, now: DateTime<Utc>, end_of_day: bool) -> anyhow::Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Some(day) = parse_date(s)? {
        let day = if end_of_day { day.succ_opt().context("date out of range")? } else { day };
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    if looks_like_a_time(s) {
        // RFC 3339's own errors name no field; check the date part first.
        if let Some(date) = s.get(..10) {
            parse_date(date)?;
        }
        return Err(coded(Exit::Usage, format!("invalid time {s:?}: use RFC 3339 (2026-11-27T12:00:00Z), YYYY-MM-DD or an age like 7d")));
    }
    let age = parse_duration(s).map_err(|_| coded(Exit::Usage, format!("invalid time {s:?}: use RFC 3339 (2026-11-27T12:00:00Z), YYYY-MM-DD or an age like 7d")))?;
    Ok(now - Duration::from_std(age)?)
}

/// `YYYY-MM-DD`: `None` when `s` is not of that shape, an error naming the
/// problem when it is and the day does not exist.
fn parse_date(s: &str) -> anyhow::Result<Option<NaiveDate>> {
    let b = s.as_bytes();
    let shaped = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Ok(None);
    }
    let (year, month, day): (i32, u32, u32) = (s[..4].parse()?, s[5..7].parse()?, s[8..10].parse()?);
    if !(1..=12).contains(&month) {
        return Err(coded(Exit::Usage, format!("{s} is not a date: there is no month {month}")));
    }
    let first = NaiveDate::from_ymd_opt(year, month, 1).context("year out of range")?;
    let next = if month == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, month + 1, 1) };
    let days = next.context("year out of range")?.signed_duration_since(first).num_days() as u32;
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => Ok(Some(d)),
        None => Err(coded(Exit::Usage, format!("{s} is not a date: {} {year} has {days} days", first.format("%B")))),
    }
}

fn looks_like_a_time(s: &str) -> bool {
    s.len() > 10 && s.as_bytes()[4] == b'-' && s.contains('T')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dates_times_and_ages() {
        assert_eq!(parse_time("2026-11-27", now(), false).unwrap().to_rfc3339(), "2026-11-27T00:00:00+00:00");
        assert_eq!(parse_time("2026-11-27", now(), true).unwrap().to_rfc3339(), "2026-11-28T00:00:00+00:00");
        assert_eq!(parse_time("2026-11-27T12:00:00Z", now(), true).unwrap().to_rfc3339(), "2026-11-27T12:00:00+00:00");
        assert_eq!(parse_time("7d", now(), false).unwrap().to_rfc3339(), "2026-11-24T00:00:00+00:00");
    }

    #[test]
    fn impossible_dates_say_why() {
        let err = parse_time("2026-11-31", now(), false).unwrap_err().to_string();
        assert_eq!(err, "2026-11-31 is not a date: November 2026 has 30 days");
        let err = parse_time("2026-02-29T10:00:00Z", now(), false).unwrap_err().to_string();
        assert_eq!(err, "2026-02-29 is not a date: February 2026 has 28 days");
        assert!(parse_time("2026-13-01", now(), false).unwrap_err().to_string().contains("no month 13"));
        assert!(parse_time("yesterday", now(), false).unwrap_err().to_string().contains("invalid time"));
        assert_eq!(crate::exit::of(&parse_time("2026-11-31", now(), false).unwrap_err()), Exit::Usage);
    }
}
