//! What keys did: verify outcomes counted per key per hour and per day
//! (usage analytics). Not the limits' counters ([`crate::Balance`]): these
//! only count, they never refuse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{InvalidValue, Timestamp};

/// How wide one bucket of counts is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "hour" => Ok(Self::Hour),
            "day" => Ok(Self::Day),
            _ => Err(InvalidValue::NotOneOf {
                allowed: "hour, day",
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }

    /// How long a bucket is kept after it ends (DynamoDB's TTL removes it):
    /// hours 90 days, days 400 (a year and its month, to compare).
    pub fn retention_days(self) -> i64 {
        match self {
            Self::Hour => 90,
            Self::Day => 400,
        }
    }

    /// The widest range one read may ask, in seconds: a week of hours,
    /// 400 days.
    pub fn max_span_seconds(self) -> i64 {
        match self {
            Self::Hour => 7 * 86_400,
            Self::Day => 400 * 86_400,
        }
    }

    /// The start (epoch seconds) of the bucket holding `unix_seconds`.
    pub fn start_of(self, unix_seconds: i64) -> i64 {
        unix_seconds.div_euclid(self.seconds()) * self.seconds()
    }

    /// When a bucket that starts at `start` may be removed (its TTL).
    pub fn expires(self, start: i64) -> i64 {
        start
            .saturating_add(self.seconds())
            .saturating_add(self.retention_days().saturating_mul(86_400))
    }

    /// Every bucket start from the one holding `from` to the one holding `to`.
    pub fn starts(self, from: Timestamp, to: Timestamp) -> impl Iterator<Item = i64> {
        let (first, last) = (
            self.start_of(from.unix_seconds()),
            self.start_of(to.unix_seconds()),
        );
        (0..)
            .map(move |n| first.saturating_add(n * self.seconds()))
            .take_while(move |start| *start <= last)
    }
}

/// How many verifies ended in each outcome (a verdict code: `VALID`,
/// `DISABLED`, …). Codes are ours, never a caller's text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutcomeCounts(BTreeMap<String, u64>);

impl OutcomeCounts {
    pub fn add(&mut self, outcome: &str, n: u64) {
        let count = self.0.entry(outcome.to_owned()).or_default();
        *count = count.saturating_add(n);
    }

    pub fn merge(&mut self, other: &OutcomeCounts) {
        for (outcome, n) in &other.0 {
            self.add(outcome, *n);
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().fold(0, |sum, n| sum.saturating_add(*n))
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|n| *n == 0)
    }

    pub fn get(&self, outcome: &str) -> u64 {
        self.0.get(outcome).copied().unwrap_or(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(outcome, n)| (outcome.as_str(), *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_on_the_hour_and_the_utc_day() {
        let at = Timestamp::parse("2026-12-04T05:42:10Z").expect("valid");
        let hour = Granularity::Hour.start_of(at.unix_seconds());
        let day = Granularity::Day.start_of(at.unix_seconds());
        assert_eq!(
            Timestamp::from_unix_seconds(hour).to_string(),
            "2026-12-04T05:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(day).to_string(),
            "2026-12-04T00:00:00Z"
        );
        assert_eq!(Granularity::Hour.expires(hour), hour + 3600 + 90 * 86_400);
        let later = Timestamp::parse("2026-12-04T08:00:00Z").expect("valid");
        assert_eq!(Granularity::Hour.starts(at, later).count(), 4);
        assert_eq!(Granularity::Day.starts(at, later).count(), 1);
        assert!(Granularity::parse("week").is_err());
    }

    #[test]
    fn counts_add_up_by_outcome() {
        let mut counts = OutcomeCounts::default();
        counts.add("VALID", 3);
        counts.add("DISABLED", 1);
        let mut more = OutcomeCounts::default();
        more.add("VALID", 2);
        counts.merge(&more);
        assert_eq!(
            (counts.get("VALID"), counts.get("EXPIRED"), counts.total()),
            (5, 0, 6)
        );
        assert_eq!(
            serde_json::to_string(&counts).expect("json"),
            r#"{"DISABLED":1,"VALID":5}"#
        );
    }
}
