use std::fmt;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::InvalidValue;

/// An instant in UTC, written as RFC 3339 everywhere (wire and storage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        OffsetDateTime::parse(raw, &Rfc3339)
            .map(Self::from)
            .map_err(|_| InvalidValue::Malformed("must be an RFC 3339 date-time"))
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn plus(self, duration: time::Duration) -> Self {
        Self(self.0 + duration)
    }

    /// The UTC calendar day.
    pub fn date(self) -> time::Date {
        self.0.date()
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        // Microseconds are plenty and keep the text short and stable across stores.
        let at = at.to_offset(time::UtcOffset::UTC);
        let micros = at.microsecond();
        Self(at.replace_microsecond(micros).unwrap_or(at))
    }
}

impl TryFrom<String> for Timestamp {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Timestamp> for String {
    fn from(at: Timestamp) -> String {
        at.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Formatting a UTC OffsetDateTime in RFC 3339 cannot fail for years 0..=9999.
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_in_utc() {
        let at = Timestamp::parse("2026-11-26T10:00:00.123456+02:00").expect("valid");
        assert_eq!(at.to_string(), "2026-11-26T08:00:00.123456Z");
        assert_eq!(Timestamp::parse(&at.to_string()), Ok(at));
    }

    #[test]
    fn refuses_other_formats() {
        assert!(Timestamp::parse("26/11/2026").is_err());
        assert!(Timestamp::parse("2026-11-26").is_err());
    }
}
