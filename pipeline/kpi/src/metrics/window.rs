//! Metric windows: tumbling, aligned to the epoch (UTC), closed once their
//! end plus the lateness allowance has passed.

use chrono::{DateTime, Duration, Utc};

/// A window length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    pub seconds: i64,
}

impl Window {
    /// Parses `1m`, `5m`, `1h`, `1d` (any whole number of s/m/h/d that
    /// divides a day, so windows line up with dates).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: i64 = num.parse().map_err(|_| format!("invalid window {s:?}: use e.g. 1m, 5m, 1h, 1d"))?;
        let unit_secs = match unit {
            "s" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(format!("invalid window {s:?}: use e.g. 1m, 5m, 1h, 1d")),
        };
        let seconds = n * unit_secs;
        if seconds < 60 || (86_400 % seconds != 0 && seconds != 86_400) {
            return Err(format!("window {s:?} must be at least 1m and divide a day evenly"));
        }
        Ok(Self { seconds })
    }

    /// `1m`, `5m`, `1h`, `1d`: the name used in ledger paths and output.
    pub fn label(self) -> String {
        match self.seconds {
            s if s % 86_400 == 0 => format!("{}d", s / 86_400),
            s if s % 3600 == 0 => format!("{}h", s / 3600),
            s if s % 60 == 0 => format!("{}m", s / 60),
            s => format!("{s}s"),
        }
    }

    /// The SQL interval literal text (`3600 seconds`).
    pub fn interval(self) -> String {
        format!("{} seconds", self.seconds)
    }

    /// The start of the window holding `t`.
    pub fn floor(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let secs = t.timestamp().div_euclid(self.seconds) * self.seconds;
        DateTime::from_timestamp(secs, 0).unwrap_or(t)
    }

    pub fn end(self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + Duration::seconds(self.seconds)
    }

    /// Whether the window starting at `start` is closed at `now`: its end
    /// plus the lateness allowance has passed, so no more data is expected.
    pub fn is_closed(self, start: DateTime<Utc>, lateness: Duration, now: DateTime<Utc>) -> bool {
        self.end(start) + lateness <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_label() {
        for s in ["1m", "5m", "15m", "1h", "6h", "1d"] {
            assert_eq!(Window::parse(s).unwrap().label(), s);
        }
        assert!(Window::parse("7m").is_err());
        assert!(Window::parse("30s").is_err());
        assert!(Window::parse("x").is_err());
    }

    #[test]
    fn closed_after_end_plus_lateness() {
        let w = Window::parse("1h").unwrap();
        let t = DateTime::parse_from_rfc3339("2026-11-27T10:20:00Z").unwrap().with_timezone(&Utc);
        let start = w.floor(t);
        assert_eq!(start.to_rfc3339(), "2026-11-27T10:00:00+00:00");
        let lateness = Duration::minutes(15);
        assert!(!w.is_closed(start, lateness, start + Duration::minutes(74)));
        assert!(w.is_closed(start, lateness, start + Duration::minutes(75)));
    }
}
