//! Kept first answers (`replays`): written by the create or rotation they
//! answer (`api_keys.rs`), read here.

use domain::TenantId;

use super::DynamoStore;
use crate::keys::{replay_sk, tenant_pk};
use crate::{Replay, ReplayLookup, StoreResult};

impl ReplayLookup for DynamoStore {
    async fn replay(&self, tenant: &TenantId, slot: &str, now: i64) -> StoreResult<Option<Replay>> {
        let kept: Option<Replay> = self.get_item(tenant_pk(tenant), replay_sk(slot)).await?;
        Ok(kept.filter(|replay| replay.expires > now))
    }
}
