//! A limited key's counters, charged inside a write transaction.

use domain::{ApiKey, ApiKeyId, Cost, KeyLimits, Timestamp, Usage};

use crate::keys::api_key_usage_pk;
use crate::{ApiKeyCharge, Charge, StoreError, StoreResult, fresh_usage};

use super::{EmbeddedStore, ITEMS, get, put};

/// `key`'s counters started afresh, or none if it has no limits.
pub(super) fn put_usage(
    items: &mut redb::Table<(&'static str, &'static str), &'static [u8]>,
    key: &ApiKey,
) -> StoreResult<()> {
    let usage_pk = api_key_usage_pk(key.balance_key());
    match fresh_usage(key, Timestamp::now()) {
        Some(usage) => put(items, &usage_pk, &usage_pk, &usage),
        None => items
            .remove((usage_pk.as_str(), usage_pk.as_str()))
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
        let pk = api_key_usage_pk(id);
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let Some(usage) = get::<Usage>(&items, &pk, &pk)? else {
                return Ok(Charge::Unlimited);
            };
            match usage.charge(cost, now) {
                Err(hit) => Ok(Charge::Refused(usage, hit)),
                Ok(charged) => {
                    // A peek writes only to start a window or refill.
                    if cost.get() > 0 || usage.rolls_over(now) {
                        put(&mut items, &pk, &pk, &charged)?;
                    }
                    Ok(Charge::Charged(charged))
                }
            }
        })
        .await
    }

    async fn api_key_usage(&self, id: &ApiKeyId) -> StoreResult<Option<Usage>> {
        let pk = api_key_usage_pk(id);
        self.get_tenant_item(pk.clone(), pk).await
    }
}
