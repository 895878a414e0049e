//! Kept first answers (`replays`): written by the create or rotation they
//! answer (`api_keys.rs`), read here.

use domain::TenantId;

use super::DynamoStore;
use crate::keys::{replay_sk, tenant_pk};
use crate::{Replay, ReplayKeep, ReplayLookup, StoreResult};

impl ReplayLookup for DynamoStore {
    async fn replay(&self, tenant: &TenantId, slot: &str, now: i64) -> StoreResult<Option<Replay>> {
        let kept: Option<Replay> = self.get_item(tenant_pk(tenant), replay_sk(slot)).await?;
        Ok(kept.filter(|replay| replay.expires > now))
    }
}

impl ReplayKeep for DynamoStore {
    async fn keep_replay(&self, replay: &Replay) -> StoreResult<()> {
        let mut transaction = super::transaction::Transaction::default();
        self.keep_replay_in(&mut transaction, replay)?;
        transaction.commit(self).await
    }
}
