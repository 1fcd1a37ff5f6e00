//! Wall-clock time as epoch milliseconds, the unit every table stores, and its RFC 3339 form.
//!
//! Times are stored as integers in both backends so the same SQL compares them with the
//! service's "now" (`held_until > $now`) without dialect-specific date types.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::Serializer;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub fn now() -> Millis {
    Utc::now().timestamp_millis()
}

pub fn to_rfc3339(ms: Millis) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc).timestamp_millis())
}

pub fn millis(d: std::time::Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `#[serde(serialize_with = "clock::ser")]` for a `Millis` field.
pub fn ser<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_rfc3339(*ms))
}

/// `#[serde(serialize_with = "clock::ser_opt")]` for an `Option<Millis>` field.
pub fn ser_opt<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&to_rfc3339(*ms)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339_in_utc() {
        let ms = parse_rfc3339("2026-12-24T19:30:00+09:00").unwrap();
        assert_eq!(to_rfc3339(ms), "2026-12-24T10:30:00.000Z");
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
