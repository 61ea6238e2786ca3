//! Time travel: the tables as they were at an events-table version or at
//! a moment (`--as-of VERSION|TIME`).
//!
//! A version names the events table's commit; `dead_letters` is read as
//! of that commit's time (its own commits come just before the events
//! commit they belong to). Files of old versions stay until a vacuum
//! older than them; `forget` deletes the erased subject's files at once,
//! so a version from before an erasure cannot be read whole
//! ([`crate::LakeError::Erased`]).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;

use crate::actions::live_files;
use crate::commit::LakeState;
use crate::table::{self, TableKind};
use crate::{Lake, LakeError};

/// Which state of the lake to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// An events-table version (`authlake lake history` lists them).
    Version(u64),
    /// The newest version committed at or before this moment.
    Time(DateTime<Utc>),
}

impl FromStr for AsOf {
    type Err = String;

    /// `42`, `2026-11-30T12:00:00Z` (RFC 3339) or `2026-11-30` (the end of
    /// that day, UTC).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(v) = s.parse::<u64>() {
            return Ok(Self::Version(v));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Self::Time(t.with_timezone(&Utc)));
        }
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Ok(Self::Time(d.and_hms_milli_opt(23, 59, 59, 999).expect("valid time").and_utc())),
            Err(e) => Err(format!("{s:?} is neither a table version (a number), an RFC 3339 time nor a date YYYY-MM-DD ({e})")),
        }
    }
}

impl std::fmt::Display for AsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Version(v) => write!(f, "version {v}"),
            Self::Time(t) => write!(f, "{}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }
}

/// The live files of `events` and `dead_letters` as of `at`. `None`: the
/// lake had no events table yet at that moment.
pub async fn snapshot_at(lake: &Lake, at: AsOf) -> Result<Option<LakeState>, LakeError> {
    let events = match table::open_as_of(lake, TableKind::Events, at).await {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(None),
        Err(e) => return Err(e),
    };
    let version = events.version().unwrap_or(0);
    // The commit's own time (its commitInfo), which the dead letters that
    // belong to it precede.
    let infos: Vec<_> = events.history(Some(1)).try_collect().await.map_err(|e| LakeError::delta(TableKind::Events, e))?;
    let when = infos.first().and_then(|c| c.timestamp).and_then(DateTime::from_timestamp_millis).unwrap_or_else(Utc::now);
    // Before its first commit a table reads as its (empty) creation.
    let dead = table::open_as_of(lake, TableKind::DeadLetters, AsOf::Time(when)).await?;
    let mut live = HashMap::new();
    for (kind, t) in [(TableKind::Events, Some(&events)), (TableKind::DeadLetters, dead.as_ref())] {
        if let Some(t) = t {
            live.extend(live_files(t, kind)?.into_iter().map(|f| (f.path.clone(), f)));
        }
    }
    Ok(Some(LakeState { latest: Some(version), positions: Default::default(), live }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_times_and_dates_parse() {
        assert_eq!("7".parse::<AsOf>().unwrap(), AsOf::Version(7));
        let t: AsOf = "2026-11-30T12:00:00+01:00".parse().unwrap();
        assert_eq!(t, AsOf::Time("2026-11-30T11:00:00Z".parse().unwrap()));
        assert_eq!("2026-11-30".parse::<AsOf>().unwrap(), AsOf::Time("2026-11-30T23:59:59.999Z".parse().unwrap()));
        let err = "2026-11-31".parse::<AsOf>().unwrap_err();
        assert!(err.contains("2026-11-31") && err.contains("out of range"), "{err}");
    }
}
