//! Identities: the record, its copy by external id and its counters,
//! written in one transaction with their audit event.

use domain::{
    AuditEvent, Balance, Cursor, ExternalId, Identity, IdentityCounter, IdentityId, Page,
    PageLimit, TenantId, Timestamp,
};

use super::audit::put_audit;
use super::{EmbeddedStore, ITEMS, Items, get, put};
use crate::identities::{counter_changes, fresh_identity_balances};
use crate::keys::{
    IDENTITY_SK_PREFIX, identity_counter_pk, identity_owner_sk, identity_sk, tenant_pk,
};
use crate::{Conflict, IdentityLookup, IdentityStore, StoreError, StoreResult};

/// The record and the copy by external id of `identity`.
fn put_identity(items: &mut Items<'_>, identity: &Identity) -> StoreResult<()> {
    let pk = tenant_pk(&identity.tenant_id);
    put(items, &pk, &identity_sk(&identity.id), identity)?;
    put(
        items,
        &pk,
        &identity_owner_sk(&identity.external_id),
        identity,
    )
}

fn remove(items: &mut Items<'_>, pk: &str, sk: &str) -> StoreResult<()> {
    items
        .remove((pk, sk))
        .map(drop)
        .map_err(StoreError::backend)
}

/// The stored identity, if its revision is still `current`'s.
fn still(items: &Items<'_>, current: &Identity) -> StoreResult<()> {
    let pk = tenant_pk(&current.tenant_id);
    match get::<Identity>(items, &pk, &identity_sk(&current.id))? {
        Some(stored) if stored.revision == current.revision => Ok(()),
        _ => Err(Conflict::Changed.into()),
    }
}

impl IdentityLookup for EmbeddedStore {
    async fn identity_of(
        &self,
        tenant: &TenantId,
        external_id: &ExternalId,
    ) -> StoreResult<Option<Identity>> {
        self.get_tenant_item(tenant_pk(tenant), identity_owner_sk(external_id))
            .await
    }
}

impl IdentityStore for EmbeddedStore {
    async fn create_identity(&self, identity: &Identity, audit: &AuditEvent) -> StoreResult<()> {
        let (identity, audit) = (identity.clone(), audit.clone());
        let balances = fresh_identity_balances(&identity, Timestamp::now());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let pk = tenant_pk(&identity.tenant_id);
            let owner = identity_owner_sk(&identity.external_id);
            if get::<Identity>(&items, &pk, &owner)?.is_some() {
                return Err(Conflict::AlreadyExists.into());
            }
            put_identity(&mut items, &identity)?;
            for (counter, balance) in &balances {
                let counter_pk = identity_counter_pk(&identity.id, counter);
                put(&mut items, &counter_pk, &counter_pk, balance)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    async fn get_identity(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> StoreResult<Option<Identity>> {
        self.get_tenant_item(tenant_pk(tenant), identity_sk(id))
            .await
    }

    async fn list_identities(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<IdentityId>>,
    ) -> StoreResult<Page<Identity, IdentityId>> {
        self.list_tenant_items(
            tenant,
            IDENTITY_SK_PREFIX,
            limit,
            cursor,
            |identity: &Identity| &identity.id,
        )
        .await
    }

    async fn update_identity(
        &self,
        current: &Identity,
        next: &Identity,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (gone, fresh) = counter_changes(current, next, Timestamp::now());
        let (current, next, audit) = (current.clone(), next.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            still(&items, &current)?;
            put_identity(&mut items, &next)?;
            for counter in &gone {
                let counter_pk = identity_counter_pk(&next.id, counter);
                remove(&mut items, &counter_pk, &counter_pk)?;
            }
            for (counter, balance) in &fresh {
                let counter_pk = identity_counter_pk(&next.id, counter);
                put(&mut items, &counter_pk, &counter_pk, balance)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    async fn delete_identity(&self, current: &Identity, audit: &AuditEvent) -> StoreResult<()> {
        let (current, audit) = (current.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            still(&items, &current)?;
            let pk = tenant_pk(&current.tenant_id);
            remove(&mut items, &pk, &identity_sk(&current.id))?;
            remove(&mut items, &pk, &identity_owner_sk(&current.external_id))?;
            for (counter, _) in current.limits.counters() {
                let counter_pk = identity_counter_pk(&current.id, &counter);
                remove(&mut items, &counter_pk, &counter_pk)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    async fn identity_balances(
        &self,
        identity: &Identity,
    ) -> StoreResult<Vec<(IdentityCounter, Option<Balance>)>> {
        let mut balances = Vec::new();
        for (counter, _) in identity.limits.counters() {
            let pk = identity_counter_pk(&identity.id, &counter);
            balances.push((counter, self.get_tenant_item(pk.clone(), pk).await?));
        }
        Ok(balances)
    }
}
