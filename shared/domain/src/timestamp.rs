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

    /// RFC 3339 text with any UTC offset, as an instant in UTC. The offset may
    /// carry a date across a year boundary, so the range is checked after the
    /// move to UTC: only years 0000 to 9999 can be written back as RFC 3339.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let at = OffsetDateTime::parse(raw, &Rfc3339)
            .map_err(|_| InvalidValue::Malformed("must be an RFC 3339 date-time"))?;
        at.checked_to_offset(time::UtcOffset::UTC)
            .filter(|utc| (0..=9999).contains(&utc.year()))
            .map(Self::from)
            .ok_or(InvalidValue::Malformed(
                "must be a date-time between the years 0000 and 9999 in UTC",
            ))
    }

    /// The instant `seconds` after the Unix epoch, held within the years 0000 to 9999.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        match OffsetDateTime::from_unix_timestamp(seconds) {
            Ok(at) if (0..=9999).contains(&at.year()) => Self(at),
            _ if seconds < 0 => Self::MIN,
            _ => Self::MAX,
        }
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// `self + duration`, held within the years 0000 to 9999 (the sums we make
    /// are days or years from now, far inside them).
    pub fn plus(self, duration: time::Duration) -> Self {
        let bounds = |at: OffsetDateTime| {
            if at.year() > 9999 {
                Self::MAX
            } else if at.year() < 0 {
                Self::MIN
            } else {
                Self(at)
            }
        };
        match self.0.checked_add(duration) {
            Some(at) => bounds(at),
            None if duration.is_negative() => Self::MIN,
            None => Self::MAX,
        }
    }

    pub(crate) const MIN: Self = Self(time::macros::datetime!(0000-01-01 00:00:00 UTC));
    pub(crate) const MAX: Self = Self(time::macros::datetime!(9999-12-31 23:59:59.999999 UTC));

    /// The UTC calendar day.
    pub fn date(self) -> time::Date {
        self.0.date()
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        // An offset that would carry the instant out of range keeps its own
        // offset rather than panic; `parse` refuses such text before this.
        let at = at.checked_to_offset(time::UtcOffset::UTC).unwrap_or(at);
        // Microseconds are plenty and keep the text short and stable across stores.
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

    #[test]
    fn refuses_offsets_that_leave_the_writable_years() {
        // Found by a hostile client: these panicked on the move to UTC.
        assert!(Timestamp::parse("9999-12-31T23:59:59-23:59").is_err());
        assert!(Timestamp::parse("0000-01-01T00:00:00+23:59").is_err());
        let last = Timestamp::parse("9999-12-31T23:59:59Z").expect("valid");
        assert_eq!(last.to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(last.plus(time::Duration::days(3650)), Timestamp::MAX);
        assert_eq!(last.plus(time::Duration::MIN), Timestamp::MIN);
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_what_parses_prints(raw in "\\PC*") {
            if let Ok(at) = Timestamp::parse(&raw) {
                proptest::prop_assert_eq!(Timestamp::parse(&at.to_string()), Ok(at));
            }
        }

        #[test]
        fn any_date_time_shape_never_panics(
            year in 0u16..=9999, month in 0u8..14, day in 0u8..33, hour in 0u8..25,
            offset_hours in 0u8..30, sign in "[+-]", frac in "(\\.[0-9]{1,12})?",
        ) {
            let raw = format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:59:60{frac}{sign}{offset_hours:02}:59"
            );
            if let Ok(at) = Timestamp::parse(&raw) {
                let _ = at.to_string();
                let _ = at.plus(time::Duration::days(3660));
            }
        }
    }
}
