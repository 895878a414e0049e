//! Service keys: the record under the tenant and the lookup item by id,
//! written in one transaction with their audit event.

use domain::{
    AuditEvent, Cursor, Page, PageLimit, ServiceKey, ServiceKeyId, ServiceKeyStatus, TenantId,
    Timestamp,
};

use super::audit::put_audit;
use super::{EmbeddedStore, ITEMS, get, put};
use crate::keys::{SERVICE_KEY_SK_PREFIX, service_key_lookup_pk, service_key_sk, tenant_pk};
use crate::{Conflict, ServiceKeyLookup, ServiceKeyStore, StoreError, StoreResult};

impl ServiceKeyLookup for EmbeddedStore {
    async fn lookup_service_key(&self, id: &ServiceKeyId) -> StoreResult<Option<ServiceKey>> {
        let pk = service_key_lookup_pk(id);
        self.get_tenant_item(pk.clone(), pk).await
    }

    async fn record_service_key_use(
        &self,
        tenant: &TenantId,
        id: &ServiceKeyId,
        at: Timestamp,
    ) -> StoreResult<()> {
        let (pk, sk) = (tenant_pk(tenant), service_key_sk(id));
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            if let Some(mut key) = get::<ServiceKey>(&items, &pk, &sk)? {
                key.last_used_at = Some(at);
                put(&mut items, &pk, &sk, &key)?;
            }
            Ok(())
        })
        .await
    }
}

impl ServiceKeyStore for EmbeddedStore {
    async fn create_service_key(&self, key: &ServiceKey, audit: &AuditEvent) -> StoreResult<()> {
        let (key, audit) = (key.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&key.tenant_id), service_key_sk(&key.id));
            let lookup = service_key_lookup_pk(&key.id);
            let record_exists = get::<ServiceKey>(&items, &pk, &sk)?.is_some();
            if record_exists || get::<ServiceKey>(&items, &lookup, &lookup)?.is_some() {
                return Err(Conflict::AlreadyExists.into());
            }
            put(&mut items, &pk, &sk, &key)?;
            put(&mut items, &lookup, &lookup, &key)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    async fn get_service_key(
        &self,
        tenant: &TenantId,
        id: &ServiceKeyId,
    ) -> StoreResult<Option<ServiceKey>> {
        self.get_tenant_item(tenant_pk(tenant), service_key_sk(id))
            .await
    }

    async fn list_service_keys(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ServiceKeyId>>,
    ) -> StoreResult<Page<ServiceKey, ServiceKeyId>> {
        self.list_tenant_items(
            tenant,
            SERVICE_KEY_SK_PREFIX,
            limit,
            cursor,
            |key: &ServiceKey| &key.id,
        )
        .await
    }

    async fn revoke_service_key(
        &self,
        revoked: &ServiceKey,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (revoked, audit) = (revoked.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&revoked.tenant_id), service_key_sk(&revoked.id));
            let Some(mut stored) = get::<ServiceKey>(&items, &pk, &sk)?
                .filter(|stored| stored.status == ServiceKeyStatus::Active)
            else {
                return Err(Conflict::Changed.into());
            };
            // The revocation's own fields only, as DynamoDB's update: what
            // was written since the caller read the key (its last use) stays.
            stored.status = revoked.status;
            stored.revoked_at = revoked.revoked_at;
            stored.revoked_by = revoked.revoked_by.clone();
            put(&mut items, &pk, &sk, &stored)?;
            let lookup = service_key_lookup_pk(&revoked.id);
            items
                .remove((lookup.as_str(), lookup.as_str()))
                .map_err(StoreError::backend)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }
}
