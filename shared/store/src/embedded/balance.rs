//! A limited key's counters, charged inside a write transaction.

use domain::{ApiKey, ApiKeyId, Balance, Cost, KeyLimits, Timestamp};

use crate::keys::api_key_balance_pk;
use crate::leases::{self, Lease, LeaseWrites, Start};
use crate::{ApiKeyCharge, Charge, ChargePart, Charges, StoreError, StoreResult, fresh_balance};

use super::{EmbeddedStore, ITEMS, expiring, get, put};

/// `key`'s counters started afresh, or none if it has no limits.
pub(super) fn put_balance(
    items: &mut redb::Table<(&'static str, &'static str), &'static [u8]>,
    key: &ApiKey,
) -> StoreResult<()> {
    let balance_pk = api_key_balance_pk(key.balance_key());
    match fresh_balance(key, Timestamp::now()) {
        Some(balance) => put(items, &balance_pk, &balance_pk, &balance),
        None => items
            .remove((balance_pk.as_str(), balance_pk.as_str()))
            .map(drop)
            .map_err(StoreError::backend),
    }
}

impl ApiKeyCharge for EmbeddedStore {
    async fn charge_together(&self, parts: &[ChargePart], now: Timestamp) -> StoreResult<Charges> {
        leases::charge_together(self, &self.leases, parts, now).await
    }

    async fn charge_api_key(
        &self,
        id: &ApiKeyId,
        expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
    ) -> StoreResult<Charge> {
        let pk = api_key_balance_pk(id);
        leases::charge(self, &self.leases, &pk, expected, cost, now).await
    }

    async fn api_key_balance(&self, id: &ApiKeyId) -> StoreResult<Option<Balance>> {
        let pk = api_key_balance_pk(id);
        self.get_tenant_item(pk.clone(), pk).await
    }

    async fn return_leases(&self, everything: bool) -> StoreResult<usize> {
        Ok(leases::return_leases(self, &self.leases, everything).await)
    }
}

/// Each write transaction serialises the charges in it: read, decide, write.
impl LeaseWrites for EmbeddedStore {
    /// A peek writes only to start a window or refill.
    async fn peek(&self, pk: &str, now: Timestamp) -> StoreResult<Charge> {
        self.charge_once(pk, &KeyLimits::default(), Cost::ZERO, now, None)
            .await
    }

    async fn charge_once(
        &self,
        pk: &str,
        _expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
        start: Option<&Start>,
    ) -> StoreResult<Charge> {
        let (pk, start) = (pk.to_owned(), start.copied());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (balance, expires) = match (get::<Balance>(&items, &pk, &pk)?, start) {
                (Some(balance), _) => (balance, None),
                (None, Some(start)) => (start.fresh, Some(start.expires)),
                (None, None) => return Ok(Charge::Unlimited),
            };
            match balance.charge(cost, now) {
                Err(hit) => Ok(Charge::Refused(balance, hit)),
                Ok(charged) => {
                    // A peek writes only to start a window or refill.
                    if cost.get() > 0 || balance.rolls_over(now) {
                        put(&mut items, &pk, &pk, &charged)?;
                        if let Some(expires) = expires {
                            expiring::made(txn, &mut items, &pk, expires, now)?;
                        }
                    }
                    Ok(Charge::Charged(charged))
                }
            }
        })
        .await
    }

    async fn take_lease(
        &self,
        pk: &str,
        (rate, credits): (bool, bool),
        units: u64,
        now: Timestamp,
    ) -> StoreResult<Option<Balance>> {
        let pk = pk.to_owned();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let Some(balance) = get::<Balance>(&items, &pk, &pk)? else {
                return Ok(None);
            };
            // Only from current counters of the shape asked: a boundary is a
            // charge's to cross.
            let shaped = balance.rate.is_some() == rate && balance.credits.is_some() == credits;
            if !shaped || balance.rolls_over(now) {
                return Ok(None);
            }
            let Ok(taken) = balance.lease(units, now) else {
                return Ok(None);
            };
            put(&mut items, &pk, &pk, &taken)?;
            Ok(Some(taken))
        })
        .await
    }

    async fn give_back(&self, pk: &str, lease: &Lease) -> StoreResult<bool> {
        let (pk, lease) = (pk.to_owned(), *lease);
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let Some(balance) = get::<Balance>(&items, &pk, &pk)? else {
                return Ok(false);
            };
            let taken = &lease.taken;
            let same = balance.series == taken.series
                && balance.rate.map(|rate| rate.resets_at) == taken.rate.map(|rate| rate.resets_at)
                && balance.credits.map(|c| c.refill_at) == taken.credits.map(|c| c.refill_at);
            if !same {
                return Ok(false);
            }
            let back = Balance {
                rev: balance.rev.wrapping_add(1) & Balance::REV_MASK,
                ..balance.with_unspent(lease.units)
            };
            put(&mut items, &pk, &pk, &back)?;
            Ok(true)
        })
        .await
    }
}
