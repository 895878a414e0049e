//! A limited key's counters, charged inside a write transaction.

use domain::{ApiKey, ApiKeyId, Balance, Cost, KeyLimits, Timestamp};

use crate::keys::api_key_balance_pk;
use crate::{ApiKeyCharge, Charge, StoreError, StoreResult, fresh_balance};

use super::{EmbeddedStore, ITEMS, get, put};

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
    async fn charge_api_key(
        &self,
        id: &ApiKeyId,
        _expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
    ) -> StoreResult<Charge> {
        // The write transaction serialises charges: read, decide, write.
        let pk = api_key_balance_pk(id);
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let Some(balance) = get::<Balance>(&items, &pk, &pk)? else {
                return Ok(Charge::Unlimited);
            };
            match balance.charge(cost, now) {
                Err(hit) => Ok(Charge::Refused(balance, hit)),
                Ok(charged) => {
                    // A peek writes only to start a window or refill.
                    if cost.get() > 0 || balance.rolls_over(now) {
                        put(&mut items, &pk, &pk, &charged)?;
                    }
                    Ok(Charge::Charged(charged))
                }
            }
        })
        .await
    }

    async fn api_key_balance(&self, id: &ApiKeyId) -> StoreResult<Option<Balance>> {
        let pk = api_key_balance_pk(id);
        self.get_tenant_item(pk.clone(), pk).await
    }
}
