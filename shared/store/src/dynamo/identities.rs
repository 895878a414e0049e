//! Identities: the record, its copy by external id and its counters, written
//! in one transaction with their audit event.

use domain::{
    AuditEvent, Balance, Cursor, ExternalId, Identity, IdentityCounter, IdentityId, Page,
    PageLimit, TenantId, Timestamp,
};

use super::audit::audit_item;
use super::transaction::Transaction;
use super::{DynamoStore, Item, entity_item};
use crate::identities::{counter_changes, fresh_identity_balances};
use crate::keys::{
    IDENTITY_SK_PREFIX, identity_counter_pk, identity_owner_sk, identity_sk, tenant_pk,
};
use crate::{Conflict, IdentityLookup, IdentityStore, StoreResult};

fn record_item(identity: &Identity) -> StoreResult<Item> {
    let (pk, sk) = (tenant_pk(&identity.tenant_id), identity_sk(&identity.id));
    entity_item(identity, "identity", pk, sk)
}

fn owner_item(identity: &Identity) -> StoreResult<Item> {
    let pk = tenant_pk(&identity.tenant_id);
    let sk = identity_owner_sk(&identity.external_id);
    entity_item(identity, "identity_owner", pk, sk)
}

fn counter_item(
    id: &IdentityId,
    counter: &IdentityCounter,
    balance: &Balance,
) -> StoreResult<Item> {
    let pk = identity_counter_pk(id, counter);
    entity_item(balance, "identity_balance", pk.clone(), pk)
}

fn counter_key(id: &IdentityId, counter: &IdentityCounter) -> (String, String) {
    let pk = identity_counter_pk(id, counter);
    (pk.clone(), pk)
}

impl IdentityLookup for DynamoStore {
    async fn identity_of(
        &self,
        tenant: &TenantId,
        external_id: &ExternalId,
    ) -> StoreResult<Option<Identity>> {
        self.get_item(tenant_pk(tenant), identity_owner_sk(external_id))
            .await
    }
}

impl IdentityStore for DynamoStore {
    async fn create_identity(&self, identity: &Identity, audit: &AuditEvent) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        transaction.put_new(self, record_item(identity)?, Conflict::AlreadyExists)?;
        transaction.put_new(self, owner_item(identity)?, Conflict::AlreadyExists)?;
        for (counter, balance) in fresh_identity_balances(identity, Timestamp::now()) {
            transaction.put(self, counter_item(&identity.id, &counter, &balance)?)?;
        }
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn get_identity(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> StoreResult<Option<Identity>> {
        self.get_item(tenant_pk(tenant), identity_sk(id)).await
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
        let mut transaction = Transaction::default();
        transaction.put_if_revision(self, record_item(next)?, current.revision)?;
        transaction.put(self, owner_item(next)?)?;
        for counter in &gone {
            transaction.delete(self, counter_key(&next.id, counter))?;
        }
        for (counter, balance) in &fresh {
            transaction.put(self, counter_item(&next.id, counter, balance)?)?;
        }
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn delete_identity(&self, current: &Identity, audit: &AuditEvent) -> StoreResult<()> {
        let pk = tenant_pk(&current.tenant_id);
        let mut transaction = Transaction::default();
        let record = (pk.clone(), identity_sk(&current.id));
        transaction.delete_if_revision(self, record, current.revision)?;
        transaction.delete(self, (pk, identity_owner_sk(&current.external_id)))?;
        for (counter, _) in current.limits.counters() {
            transaction.delete(self, counter_key(&current.id, &counter))?;
        }
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn identity_balances(
        &self,
        identity: &Identity,
    ) -> StoreResult<Vec<(IdentityCounter, Option<Balance>)>> {
        let mut balances = Vec::new();
        for (counter, _) in identity.limits.counters() {
            let (pk, sk) = counter_key(&identity.id, &counter);
            let balance = self.get_item(pk, sk).await?;
            balances.push((counter, balance));
        }
        Ok(balances)
    }
}
