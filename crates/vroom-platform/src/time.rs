//! Timestamps on the wire: RFC 3339, UTC, millisecond precision, always ending in `Z`.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serializer};

pub type Timestamp = DateTime<Utc>;

/// The current time truncated to milliseconds, the precision we store and emit, so that a
/// value read back from the store equals the value that was written.
pub fn now() -> Timestamp {
    from_millis(Utc::now().timestamp_millis())
}

pub fn from_millis(ms: i64) -> Timestamp {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub fn format(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}

/// Accepts any RFC 3339 offset and normalises to UTC (milliseconds).
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let raw = String::deserialize(d)?;
    parse(&raw).map_err(serde::de::Error::custom)
}

pub fn parse(raw: &str) -> Result<Timestamp, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| from_millis(t.with_timezone(&Utc).timestamp_millis()))
        .map_err(|e| format!("'{raw}' is not an RFC 3339 timestamp: {e}"))
}

pub mod option {
    use super::Timestamp;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }
}
