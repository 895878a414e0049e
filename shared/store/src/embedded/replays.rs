//! Kept first answers (`replays`): written by the create or rotation they
//! answer, in its transaction; read here.

use domain::TenantId;

use super::{EmbeddedStore, ITEMS, Items, get, put};
use crate::keys::{replay_sk, tenant_pk};
use crate::{Conflict, Replay, ReplayKeep, ReplayLookup, StoreError, StoreResult};

/// Keeps `replay` in this transaction, unless an answer is still kept in
/// its slot (an older one is written over: it is gone).
pub(super) fn keep_replay(items: &mut Items<'_>, replay: &Replay) -> StoreResult<()> {
    let (pk, sk) = (tenant_pk(&replay.tenant_id), replay_sk(&replay.slot));
    let now = domain::Timestamp::now().unix_seconds();
    if get::<Replay>(items, &pk, &sk)?.is_some_and(|kept| kept.expires > now) {
        return Err(Conflict::Replayed.into());
    }
    put(items, &pk, &sk, replay)
}

impl ReplayLookup for EmbeddedStore {
    async fn replay(&self, tenant: &TenantId, slot: &str, now: i64) -> StoreResult<Option<Replay>> {
        let kept: Option<Replay> = self
            .get_tenant_item(tenant_pk(tenant), replay_sk(slot))
            .await?;
        Ok(kept.filter(|replay| replay.expires > now))
    }
}

impl ReplayKeep for EmbeddedStore {
    async fn keep_replay(&self, replay: &Replay) -> StoreResult<()> {
        let replay = replay.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            keep_replay(&mut items, &replay)
        })
        .await
    }
}
