//! Limits on a key, charged at verify time: a rate (requests per window) and
//! credits (a balance each verify spends, refilled each day or month).
//!
//! [`KeyLimits`] is what a user sets; [`Balance`] is the counters the store keeps
//! for a limited key. Charging is a pure function of a usage and the clock, so
//! both stores agree on every verdict: the embedded store applies it inside a
//! write transaction, DynamoDB as conditional updates (see `store`).

use serde::{Deserialize, Serialize};

use crate::{InvalidValue, Timestamp};

/// A whole number as JSON writes one: `115` or `115.0` alike (JSON Schema,
/// and so our OpenAPI description, calls both an integer), never `115.5`.
/// A number past `i128` (far beyond every bound here) reads as that bound,
/// so a range check still refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeNumber(pub i128);

impl<'de> Deserialize<'de> for WholeNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = WholeNumber;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<WholeNumber, E> {
                Ok(WholeNumber(value.into()))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<WholeNumber, E> {
                Ok(WholeNumber(value.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<WholeNumber, E> {
                if !value.is_finite() || value.fract() != 0.0 {
                    return Err(E::custom("must be a whole number"));
                }
                // `as` saturates at i128's bounds, past every range we check.
                Ok(WholeNumber(value as i128))
            }
        }
        // The hint is a u64: serde_json still hands over whatever number the
        // text holds, and the store's numbers are always whole.
        deserializer.deserialize_u64(Visitor)
    }
}

/// A whole number from `MIN` to `MAX`, refused beyond them with the bounds named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "WholeNumber", into = "u64")]
pub struct Bounded<const MIN: u64, const MAX: u64>(u64);

impl<const MIN: u64, const MAX: u64> TryFrom<WholeNumber> for Bounded<MIN, MAX> {
    type Error = InvalidValue;

    fn try_from(value: WholeNumber) -> Result<Self, Self::Error> {
        u64::try_from(value.0)
            .map_err(|_| InvalidValue::OutOfRange {
                min: MIN.try_into().unwrap_or(i64::MAX),
                max: MAX.try_into().unwrap_or(i64::MAX),
            })
            .and_then(Self::try_from)
    }
}

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    pub fn get(self) -> u64 {
        self.0
    }
}

impl<const MIN: u64, const MAX: u64> TryFrom<u64> for Bounded<MIN, MAX> {
    type Error = InvalidValue;

    fn try_from(value: u64) -> Result<Self, Self::Error> {
        if (MIN..=MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidValue::OutOfRange {
                min: MIN.try_into().unwrap_or(i64::MAX),
                max: MAX.try_into().unwrap_or(i64::MAX),
            })
        }
    }
}

impl<const MIN: u64, const MAX: u64> From<Bounded<MIN, MAX>> for u64 {
    fn from(value: Bounded<MIN, MAX>) -> Self {
        value.0
    }
}

/// Requests in one rate window: a million is far beyond what one key should
/// need, and keeps every sum of counters exact.
pub type RateRequests = Bounded<1, 1_000_000>;
/// A rate window, from one second to a day.
pub type RateSeconds = Bounded<1, 86_400>;
/// A credit balance: zero (spent) to a billion.
pub type CreditBalance = Bounded<0, 1_000_000_000>;
/// What a refill sets the balance to.
pub type RefillAmount = Bounded<1, 1_000_000_000>;
/// What one verify spends: 0 peeks, and a caller may weigh a request up to 1000.
pub type Cost = Bounded<0, 1_000>;

impl Cost {
    /// What a verify spends unless it says otherwise.
    pub const ONE: Self = Self(1);
    /// A peek: passes if a request of cost 1 would, spends nothing.
    pub const ZERO: Self = Self(0);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests: RateRequests,
    pub per_seconds: RateSeconds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefillEvery {
    Day,
    Month,
}

impl RefillEvery {
    /// The first period boundary (UTC midnight, or the first of a month) after `at`.
    pub fn next_after(self, at: Timestamp) -> Timestamp {
        let date = at.date();
        let next = match self {
            Self::Day => date.next_day(),
            Self::Month => {
                let (year, month) = match date.month() {
                    time::Month::December => (date.year() + 1, time::Month::January),
                    month => (date.year(), month.next()),
                };
                time::Date::from_calendar_date(year, month, 1).ok()
            }
        };
        next.map_or(Timestamp::MAX, |day| {
            Timestamp::from(day.midnight().assume_utc())
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refill {
    pub amount: RefillAmount,
    pub every: RefillEvery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credits {
    /// The balance to start from (at create, or when the limits are set again).
    pub remaining: CreditBalance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<Refill>,
}

/// The limits on a key, each part optional. A key with neither part is a key
/// without limits (stored as none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
}

impl KeyLimits {
    /// `None` when neither part is set: such a key is charged nothing.
    pub fn or_none(self) -> Option<Self> {
        (self.rate.is_some() || self.credits.is_some()).then_some(self)
    }

    /// What a change of a key's limits did, in words for the audit log:
    /// from what to what. Setting limits (even the same ones again) starts
    /// the counters afresh, which the words say.
    pub fn change_detail(before: Option<Self>, after: Option<Self>) -> String {
        let words =
            |limits: Option<Self>| limits.map_or_else(|| "none".to_owned(), |l| l.to_string());
        match (before, after) {
            (None, None) => "limits: none before, none now".to_owned(),
            (Some(before), None) => format!("limits removed (were {before})"),
            (None, Some(after)) => format!("limits set to {after}; counters started"),
            (before, after) if before == after => {
                format!("limits set again to {}; counters restarted", words(after))
            }
            (before, after) => format!(
                "limits changed from {} to {}; counters restarted",
                words(before),
                words(after)
            ),
        }
    }
}

/// In words: `10 requests per 60 s, 500 credits (refilled to 100 each day)`.
impl std::fmt::Display for KeyLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(rate) = self.rate {
            parts.push(format!(
                "{} requests per {} s",
                rate.requests.get(),
                rate.per_seconds.get()
            ));
        }
        if let Some(credits) = self.credits {
            let refill = credits.refill.map_or(String::new(), |refill| {
                let every = match refill.every {
                    RefillEvery::Day => "day",
                    RefillEvery::Month => "month",
                };
                format!(" (refilled to {} each {every})", refill.amount.get())
            });
            parts.push(format!("{} credits{refill}", credits.remaining.get()));
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Which limit refused a verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    /// The rate window is spent: try again at its end.
    Rate,
    /// The credits are spent: they come back at the next refill, if any.
    Credits,
}

/// The counters of a limited key. Times are whole Unix seconds, which the
/// DynamoDB conditions compare as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Changes with every write; an optimistic write is conditional on it.
    pub rev: u64,
    /// Names these counters for as long as they run: set (to the first,
    /// random `rev`) when they start afresh and never changed by a charge, so
    /// a leased part given back goes only to the counters it was taken from
    /// (0: counters written before there were leases).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub series: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<CreditsLeft>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    pub limit: RateLimit,
    /// Requests left in the window that ends at `resets_at`.
    pub left: u64,
    pub resets_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditsLeft {
    pub left: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<Refill>,
    /// When the balance is next set to the refill's amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_at: Option<i64>,
}

/// Where a limited key stands: how many more requests of cost 1 would pass
/// now, and when that number next grows (`None`: never, spent credits with no
/// refill).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub remaining: u64,
    pub reset_at: Option<Timestamp>,
}

impl Balance {
    /// Fresh counters for `limits` set at `now`: a full rate window that
    /// starts at the next verify, and the credits as given. `rev` should be
    /// random, so no write planned against an older item can match it.
    pub fn new(limits: &KeyLimits, now: Timestamp, rev: u64) -> Self {
        Self {
            rev,
            series: rev,
            rate: limits.rate.map(|limit| RateWindow {
                limit,
                left: limit.requests.get(),
                resets_at: now.unix_seconds(),
            }),
            credits: limits.credits.map(|credits| CreditsLeft {
                left: credits.remaining.get(),
                refill: credits.refill,
                refill_at: credits
                    .refill
                    .map(|refill| refill.every.next_after(now).unix_seconds()),
            }),
        }
    }

    /// The counters as they stand at `now`: a window that has ended starts
    /// afresh, and credits past their refill time are refilled (once: missed
    /// periods do not pile up).
    pub fn at(&self, now: Timestamp) -> Self {
        let now_s = now.unix_seconds();
        let rate = self.rate.map(|rate| {
            if rate.resets_at > now_s {
                rate
            } else {
                RateWindow {
                    left: rate.limit.requests.get(),
                    resets_at: now_s.saturating_add_unsigned(rate.limit.per_seconds.get()),
                    ..rate
                }
            }
        });
        let credits = self
            .credits
            .map(|credits| match (credits.refill, credits.refill_at) {
                (Some(refill), Some(at)) if at <= now_s => CreditsLeft {
                    left: refill.amount.get(),
                    refill_at: Some(refill.every.next_after(now).unix_seconds()),
                    ..credits
                },
                _ => credits,
            });
        Self {
            rate,
            credits,
            ..*self
        }
    }

    /// The limits these counters enforce (the credits as what is left now):
    /// what a key sharing them is charged as, whatever its own limits say.
    pub fn limits(&self) -> KeyLimits {
        KeyLimits {
            rate: self.rate.map(|rate| rate.limit),
            credits: self.credits.map(|credits| Credits {
                // Never above a balance's bound: counters only fall from one.
                remaining: Bounded(credits.left.min(1_000_000_000)),
                refill: credits.refill,
            }),
        }
    }

    /// Whether [`Balance::at`] would change anything: a charge then has to
    /// write the whole item, not just subtract.
    pub fn rolls_over(&self, now: Timestamp) -> bool {
        let current = self.at(now);
        current.rate.map(|r| r.resets_at) != self.rate.map(|r| r.resets_at)
            || current.credits.and_then(|c| c.refill_at) != self.credits.and_then(|c| c.refill_at)
    }

    /// The counters after a verify of `cost` at `now`, or the limit it hits
    /// (nothing is spent then). A cost of 0 spends nothing but passes only if
    /// a request of cost 1 would.
    pub fn charge(&self, cost: Cost, now: Timestamp) -> Result<Self, LimitHit> {
        self.take(cost.get(), cost.get().max(1), now)
    }

    /// The counters after `units` are taken from each at `now` at once (a
    /// lease: see the DynamoDB store), or the limit that has fewer.
    pub fn lease(&self, units: u64, now: Timestamp) -> Result<Self, LimitHit> {
        self.take(units, units, now)
    }

    /// `spend` off each counter, if each holds at least `needed`.
    fn take(&self, spend: u64, needed: u64, now: Timestamp) -> Result<Self, LimitHit> {
        let current = self.at(now);
        if current.rate.is_some_and(|rate| rate.left < needed) {
            return Err(LimitHit::Rate);
        }
        if current.credits.is_some_and(|credits| credits.left < needed) {
            return Err(LimitHit::Credits);
        }
        Ok(Self {
            rev: current.rev.wrapping_add(1) & Self::REV_MASK,
            series: current.series,
            rate: current.rate.map(|rate| RateWindow {
                left: rate.left - spend,
                ..rate
            }),
            credits: current.credits.map(|credits| CreditsLeft {
                left: credits.left - spend,
                ..credits
            }),
        })
    }

    /// The least any counter holds now (`None`: no counters).
    pub fn least_left(&self, now: Timestamp) -> Option<u64> {
        let current = self.at(now);
        let rate = current.rate.map(|rate| rate.left);
        let credits = current.credits.map(|credits| credits.left);
        rate.into_iter().chain(credits).min()
    }

    /// The same counters with `units` more in each (what this process holds
    /// leased and has not spent, shown as still there).
    pub fn with_unspent(&self, units: u64) -> Self {
        Self {
            rate: self.rate.map(|rate| RateWindow {
                left: rate.left.saturating_add(units),
                ..rate
            }),
            credits: self.credits.map(|credits| CreditsLeft {
                left: credits.left.saturating_add(units),
                ..credits
            }),
            ..*self
        }
    }

    /// Revisions stay below 2^53, exact in every JSON reader.
    pub const REV_MASK: u64 = (1 << 53) - 1;

    /// Where the key stands at `now` (see [`Standing`]); after a refusal, the
    /// limit that refused sets the time.
    pub fn standing(&self, now: Timestamp, hit: Option<LimitHit>) -> Standing {
        let current = self.at(now);
        let rate = current.rate.map(|rate| {
            (
                rate.left,
                Some(Timestamp::from_unix_seconds(rate.resets_at)),
            )
        });
        let credits = current.credits.map(|credits| {
            (
                credits.left,
                credits.refill_at.map(Timestamp::from_unix_seconds),
            )
        });
        let (remaining, reset_at) = match (hit, rate, credits) {
            (Some(LimitHit::Rate), Some(rate), _) => rate,
            (Some(LimitHit::Credits), _, Some(credits)) => credits,
            (_, Some(rate), Some(credits)) => {
                if rate.0 <= credits.0 {
                    rate
                } else {
                    credits
                }
            }
            (_, Some(only), None) | (_, None, Some(only)) => only,
            (_, None, None) => (u64::MAX, None),
        };
        Standing {
            remaining,
            reset_at,
        }
    }
}

#[cfg(test)]
mod tests;

fn is_zero(n: &u64) -> bool {
    *n == 0
}
