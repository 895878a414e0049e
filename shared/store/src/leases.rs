//! Leases: a key this process charges often is charged without a write per
//! charge, and never past its limits. Both stores lease (DynamoDB: a write
//! per charge is a round trip and an item's write capacity; the embedded
//! store: a durable commit); each says how to take and give back one
//! ([`LeaseWrites`]), and [`charge`] is the rest.
//!
//! A lease is a part of a key's counters taken with one conditional write
//! (the same subtraction a charge makes, of `units` instead of the cost), so
//! the stored counters already count it as spent: whatever every process
//! holds leased, plus what is left in the item, is what the limits allow.
//! This process then spends the lease in memory, one charge at a time, until
//! it is spent or it expires. What it did not spend goes back with a write
//! (at its next charge of the key after the expiry, at the end of a Lambda
//! invocation once expired, and at shutdown), and only to the counters it
//! came from: the same series of counters (not ones a change of limits
//! started afresh), the same rate window, the same refill period.
//!
//! Invariants:
//! - Never over-admit: every unit this process spends was subtracted from
//!   the stored counters first, under DynamoDB's condition that enough was
//!   left; a give-back never adds more than was taken and not spent.
//! - A lease ends at its expiry ([`LeaseSettings::expiry`], `LEASE_SECONDS`,
//!   5 s by default), or at the end of its rate window or refill period if
//!   sooner: it is never spent in a window it was not taken in.
//! - A lease is only ever taken from counters that are current: one that
//!   ended (a window, a refill) is rolled over by a charge's own write first.
//! - The end of a balance is exact: a lease is taken only while at least
//!   [`MIN_LEFT_TO_LEASE`] is left and is at most a sixteenth of it, so
//!   every process together holds a bounded part, and the last units go one
//!   conditional write at a time, as for a key charged rarely.
//! - A process that dies holding a lease (a `kill -9`, a crash) cannot say
//!   how much of it it spent; its remainder stays counted as spent. Giving
//!   it back after the expiry would give back what it did spend too, and
//!   over-admit by that much, so it does not: a crash costs the key's owner
//!   at most one lease per process, never an admission past the limits.
//!
//! What an owner sees: `remaining` in this process's answers counts its own
//! unspent lease as left, and other processes' leases as spent until they
//! come back.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use domain::{Balance, Cost, KeyLimits, Timestamp};
use telemetry::metrics::LEASES;

use crate::{Charge, ChargePart, Charges, StoreResult};

/// What a store writes for leases: its part of [`charge`].
pub(crate) trait LeaseWrites: Sync {
    /// A charge of cost 0: passes if a request of cost 1 would, spends nothing.
    fn peek(&self, pk: &str, now: Timestamp) -> impl Future<Output = StoreResult<Charge>> + Send;

    /// One charge, one write (or a few across a boundary), as for a key
    /// charged rarely.
    /// Counters not there yet are made by the charge if `start` says how
    /// (a rate limit's window), and are [`Charge::Unlimited`] otherwise.
    fn charge_once(
        &self,
        pk: &str,
        expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
        start: Option<&Start>,
    ) -> impl Future<Output = StoreResult<Charge>> + Send;

    /// Takes `units` from each counter of this shape (rate, credits) if each
    /// is current and holds them: the counters after, or `None` (too few
    /// left, another shape, a boundary to cross: the charge goes alone).
    fn take_lease(
        &self,
        pk: &str,
        shape: (bool, bool),
        units: u64,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<Balance>>> + Send;

    /// Adds what `lease` did not spend back to the counters it came from, if
    /// they are still those (the same series, window and refill): whether
    /// it went back.
    fn give_back(&self, pk: &str, lease: &Lease) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// Counters that a charge makes when they are not there yet: a rate
/// limit's window, which nothing creates beforehand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Start {
    /// The counters before any charge.
    pub fresh: Balance,
    /// When storage may forget them (Unix seconds): after their window.
    pub expires: i64,
    /// Whether this process has charged them before. If not, the first try
    /// is to make them, so a cold identifier costs one write; if so, to
    /// subtract, as for a key.
    pub known: bool,
}

/// A charge of `cost` to the counters at `pk`: from this process's lease
/// when it holds one, by taking one when the key is hot, else one write.
pub(crate) async fn charge<S: LeaseWrites>(
    store: &S,
    leases: &Leases,
    pk: &str,
    expected: &KeyLimits,
    cost: Cost,
    now: Timestamp,
) -> StoreResult<Charge> {
    Ok(charge_paid(store, leases, pk, expected, cost, now, None)
        .await?
        .0)
}

/// How a charge was paid, so that it can be undone.
#[derive(Debug, Clone, Copy)]
enum Paid {
    /// Nothing spent (a peek, a refusal, no counters).
    Nothing,
    /// From this process's lease, taken as these counters.
    FromLease(Balance),
    /// By a write that left these counters.
    Written(Balance),
}

/// Charges each part in turn, both (all) or none: when one refuses (or
/// fails), what the parts before it spent goes back before the answer, so a
/// refusal by any spends nothing on the others. While a later part is being
/// charged an earlier one's cost is held; a concurrent charge of that
/// counter sees it spent for that moment (it may refuse on the last units),
/// and nothing is ever admitted past a limit.
pub(crate) async fn charge_together<S: LeaseWrites>(
    store: &S,
    leases: &Leases,
    parts: &[ChargePart],
    now: Timestamp,
) -> StoreResult<Charges> {
    let mut paid = Vec::with_capacity(parts.len());
    let mut after = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let pk = part.counter.pk();
        let start = part.counter.start();
        let outcome = charge_paid(store, leases, &pk, &part.expected, part.cost, now, start).await;
        let answer = match outcome {
            Ok((Charge::Charged(balance), how)) => {
                paid.push((pk, part.cost, how));
                after.push(Some(balance));
                continue;
            }
            Ok((Charge::Unlimited, _)) => {
                after.push(None);
                continue;
            }
            Ok((Charge::Refused(balance, hit), _)) => Ok(Charges::Refused {
                part: index,
                balance,
                hit,
            }),
            Err(error) => Err(error),
        };
        for (pk, cost, how) in paid.into_iter().rev() {
            undo(store, leases, &pk, cost, how).await;
        }
        return answer;
    }
    Ok(Charges::Charged(after))
}

/// Gives `cost` back to the counters at `pk` that `paid` spent it from: to
/// this process's lease while it is the same one, else with a write to the
/// same counters (series, window, refill) it came from.
async fn undo<S: LeaseWrites>(store: &S, leases: &Leases, pk: &str, cost: Cost, paid: Paid) {
    let taken = match paid {
        Paid::Nothing => return,
        Paid::FromLease(taken) if leases.unspend(pk, cost.get(), &taken) => return,
        Paid::FromLease(taken) | Paid::Written(taken) => taken,
    };
    let lease = Lease {
        units: cost.get(),
        until: 0,
        taken,
    };
    give_back_logged(store, pk, &lease).await;
}

/// [`charge`], and how it was paid.
async fn charge_paid<S: LeaseWrites>(
    store: &S,
    leases: &Leases,
    pk: &str,
    expected: &KeyLimits,
    cost: Cost,
    now: Timestamp,
    mut start: Option<Start>,
) -> StoreResult<(Charge, Paid)> {
    if cost.get() == 0 {
        return Ok((store.peek(pk, now).await?, Paid::Nothing));
    }
    let shape = (expected.rate.is_some(), expected.credits.is_some());
    let stale = match leases.plan(pk, cost.get(), shape, now) {
        Plan::Spent(seen, taken) => {
            LEASES.inc("spent_from");
            return Ok((Charge::Charged(seen), Paid::FromLease(taken)));
        }
        Plan::Charge { stale, known } => {
            if let Some(start) = start.as_mut() {
                start.known = known;
            }
            stale
        }
        Plan::Take {
            units,
            stale,
            taking,
        } => {
            if let Some(stale) = stale {
                give_back_logged(store, pk, &stale).await;
            }
            if let Some(taken) = store.take_lease(pk, shape, units, now).await? {
                LEASES.inc("taken");
                let seen = taking.hold(units, cost.get(), taken, now);
                return Ok((Charge::Charged(seen), Paid::FromLease(taken)));
            }
            None
        }
    };
    if let Some(stale) = stale {
        give_back_logged(store, pk, &stale).await;
    }
    let charge = store
        .charge_once(pk, expected, cost, now, start.as_ref())
        .await?;
    if let Charge::Charged(balance) | Charge::Refused(balance, _) = &charge {
        leases.saw(pk, balance, now);
    }
    let paid = match charge {
        Charge::Charged(balance) => Paid::Written(balance),
        _ => Paid::Nothing,
    };
    Ok((charge, paid))
}

/// Gives back the leases that ended (or all: `everything`); how many went.
pub(crate) async fn return_leases<S: LeaseWrites>(
    store: &S,
    leases: &Leases,
    everything: bool,
) -> usize {
    let mut returned = 0;
    for (pk, lease) in leases.due(everything, Timestamp::now()) {
        returned += usize::from(give_back_logged(store, &pk, &lease).await);
    }
    returned
}

/// [`LeaseWrites::give_back`] where a failure must not fail a charge: what
/// could not go back stays counted as spent (never an over-admission).
async fn give_back_logged<S: LeaseWrites>(store: &S, pk: &str, lease: &Lease) -> bool {
    match store.give_back(pk, lease).await {
        Ok(went_back) => {
            if went_back {
                LEASES.inc("returned");
            }
            went_back
        }
        Err(error) => {
            let reason = crate::error_chain(&error);
            tracing::warn!(%reason, units = lease.units, "a lease's unspent part could not go back");
            false
        }
    }
}

/// How this process leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseSettings {
    /// How long a lease may be spent; zero takes none (every charge a write).
    pub expiry: Duration,
}

impl LeaseSettings {
    pub const DEFAULT: Self = Self {
        expiry: Duration::from_secs(5),
    };
    pub const OFF: Self = Self {
        expiry: Duration::ZERO,
    };
}

impl Default for LeaseSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A key is hot for this process from this many charges in a second.
const HOT_CHARGES_PER_SECOND: u64 = 10;
/// A lease is taken only while the least counter holds at least this much...
pub const MIN_LEFT_TO_LEASE: u64 = 1_000;
/// ...and is at most this share of it (1/16)...
const LEASE_SHARE: u64 = 16;
/// ...and at most this many units.
const MAX_LEASE: u64 = 100_000;
/// The most keys whose heat a process keeps; past it the cold ones go.
const MAX_TRACKED: usize = 10_000;

/// A part of a key's counters this process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lease {
    /// What this process may still spend, from each counter it was taken from.
    pub units: u64,
    /// Until when it may be spent (Unix seconds, exclusive).
    pub until: i64,
    /// The counters right after it was taken: where what is left goes back.
    pub taken: Balance,
}

impl Lease {
    fn shape(&self) -> (bool, bool) {
        (self.taken.rate.is_some(), self.taken.credits.is_some())
    }
}

/// What this process knows of one key.
#[derive(Debug, Default)]
struct Key {
    lease: Option<Lease>,
    /// A lease is being taken (by another request of this process).
    taking: bool,
    /// Charges in the current second and the one before: how hot it is.
    second: i64,
    this_second: u64,
    last_second: u64,
    /// The least counter as the last write left it.
    seen_left: Option<u64>,
}

/// What a charge does, as [`Leases::plan`] decides.
#[derive(Debug)]
enum Plan<'a> {
    /// Spent from this process's lease: the counters as this process sees
    /// them, and as the lease was taken.
    Spent(Balance, Balance),
    /// Take a lease of `units` (the charge's cost among them).
    Take {
        units: u64,
        stale: Option<Lease>,
        taking: Taking<'a>,
    },
    /// One conditional write, as for a key charged rarely; `known`: this
    /// process has written these counters before.
    Charge { stale: Option<Lease>, known: bool },
}

/// The right to take a lease of one key; dropped unused (an error, a
/// refusal, a request gone), it lets the next charge try again.
#[derive(Debug)]
struct Taking<'a> {
    leases: &'a Leases,
    pk: String,
}

impl Taking<'_> {
    /// Holds the lease just taken: `units` with `cost` of them spent by this
    /// charge. Returns the counters as this process sees them.
    fn hold(self, units: u64, cost: u64, taken: Balance, now: Timestamp) -> Balance {
        let expiry = i64::try_from(self.leases.settings.expiry.as_secs()).unwrap_or(i64::MAX);
        let current = taken.at(now);
        let ends = [
            Some(now.unix_seconds().saturating_add(expiry)),
            current.rate.map(|rate| rate.resets_at),
            current.credits.and_then(|credits| credits.refill_at),
        ];
        let lease = Lease {
            units: units - cost,
            until: ends.into_iter().flatten().min().unwrap_or_default(),
            taken,
        };
        let mut keys = self.leases.lock();
        let key = keys.entry(self.pk.clone()).or_default();
        key.lease = Some(lease);
        self.leases
            .next_end
            .fetch_min(lease.until, Ordering::Relaxed);
        key.seen_left = taken.least_left(now);
        taken.with_unspent(lease.units)
    }
}

impl Drop for Taking<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.leases.lock().get_mut(&self.pk) {
            key.taking = false;
        }
    }
}

/// This process's leases and the heat of the keys it charges.
#[derive(Debug)]
pub(crate) struct Leases {
    settings: LeaseSettings,
    keys: Mutex<HashMap<String, Key>>,
    /// No lease held ends before this (Unix seconds; `i64::MAX`: none), so
    /// the look after every Lambda invocation skips the scan of every key
    /// until one is due. Never later than the truth: at worst a scan too many.
    next_end: AtomicI64,
}

impl Default for Leases {
    fn default() -> Self {
        Self::new(LeaseSettings::DEFAULT)
    }
}

impl Leases {
    pub fn new(settings: LeaseSettings) -> Self {
        Self {
            settings,
            keys: Mutex::default(),
            next_end: AtomicI64::new(i64::MAX),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Key>> {
        // Every change under this lock is whole: a panic elsewhere leaves
        // nothing half-done.
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What a charge of `cost` to the counters at `pk`, of this shape (rate,
    /// credits), does at `now`. A lease that can no longer pay (expired,
    /// spent, another shape) comes back as `stale`, to give back.
    fn plan(&self, pk: &str, cost: u64, shape: (bool, bool), now: Timestamp) -> Plan<'_> {
        if self.settings.expiry.is_zero() {
            return Plan::Charge {
                stale: None,
                known: false,
            };
        }
        let mut keys = self.lock();
        if keys.len() >= MAX_TRACKED && !keys.contains_key(pk) {
            forget_cold(&mut keys, now);
        }
        let key = keys.entry(pk.to_owned()).or_default();
        let second = now.unix_seconds();
        if second != key.second {
            let followed = second == key.second.saturating_add(1);
            key.last_second = if followed { key.this_second } else { 0 };
            key.this_second = 0;
            key.second = second;
        }
        key.this_second += 1;
        if let Some(lease) = key.lease.as_mut()
            && lease.until > second
            && lease.shape() == shape
            && lease.units >= cost
        {
            lease.units -= cost;
            return Plan::Spent(lease.taken.with_unspent(lease.units), lease.taken);
        }
        let stale = key.lease.take().filter(|lease| lease.units > 0);
        let heat = key.this_second.max(key.last_second);
        let known = key.seen_left.is_some();
        let left = key.seen_left.unwrap_or_default();
        if key.taking || heat < HOT_CHARGES_PER_SECOND || left < MIN_LEFT_TO_LEASE {
            return Plan::Charge { stale, known };
        }
        // About a second of this process's charges, within the share.
        let units = heat.min(left / LEASE_SHARE).min(MAX_LEASE);
        if units <= cost {
            return Plan::Charge { stale, known };
        }
        key.taking = true;
        Plan::Take {
            units,
            stale,
            taking: Taking {
                leases: self,
                pk: pk.to_owned(),
            },
        }
    }

    /// Puts `units` back in this process's lease of `pk` if it is still the
    /// one taken as `taken`: whether it went back.
    fn unspend(&self, pk: &str, units: u64, taken: &Balance) -> bool {
        let mut keys = self.lock();
        match keys.get_mut(pk).and_then(|key| key.lease.as_mut()) {
            Some(lease) if lease.taken == *taken => {
                lease.units += units;
                true
            }
            _ => false,
        }
    }

    /// What a write of the counters at `pk` left (sizes the next lease).
    fn saw(&self, pk: &str, balance: &Balance, now: Timestamp) {
        if self.settings.expiry.is_zero() {
            return;
        }
        if let Some(key) = self.lock().get_mut(pk) {
            key.seen_left = balance.least_left(now);
        }
    }

    /// Takes out the leases to give back: those past their expiry with
    /// something unspent, or every one (`everything`).
    fn due(&self, everything: bool, now: Timestamp) -> Vec<(String, Lease)> {
        if !everything && now.unix_seconds() < self.next_end.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let mut keys = self.lock();
        let mut due = Vec::new();
        let mut next_end = i64::MAX;
        for (pk, key) in keys.iter_mut() {
            let ended = key
                .lease
                .is_some_and(|lease| everything || lease.until <= now.unix_seconds());
            if let Some(lease) = key.lease.take_if(|_| ended)
                && lease.units > 0
            {
                due.push((pk.clone(), lease));
            }
            if let Some(lease) = key.lease {
                next_end = next_end.min(lease.until);
            }
        }
        // Under the lock, so a lease held meanwhile lowers it after this.
        self.next_end.store(next_end, Ordering::Relaxed);
        due
    }
}

/// Forgets the keys that hold no lease and were not charged in the last
/// two seconds, so the heat of many keys cannot grow without bound.
fn forget_cold(keys: &mut HashMap<String, Key>, now: Timestamp) {
    let recent = now.unix_seconds().saturating_sub(2);
    keys.retain(|_, key| key.lease.is_some() || key.taking || key.second >= recent);
}

#[cfg(test)]
mod tests;
