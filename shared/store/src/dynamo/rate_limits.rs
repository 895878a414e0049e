//! Rate-limit namespaces: the record and its copy by name, written in one
//! transaction with their audit event. (Window counters: `balance.rs`.)

use domain::{
    AuditEvent, Cursor, NamespaceId, NamespaceName, Page, PageLimit, RateLimitNamespace, TenantId,
};

use super::audit::audit_item;
use super::transaction::Transaction;
use super::{DynamoStore, Item, entity_item};
use crate::keys::{NAMESPACE_SK_PREFIX, namespace_name_sk, namespace_sk, tenant_pk};
use crate::{Conflict, NamespaceLookup, NamespaceStore, StoreResult};

fn record_item(namespace: &RateLimitNamespace) -> StoreResult<Item> {
    let (pk, sk) = (tenant_pk(&namespace.tenant_id), namespace_sk(&namespace.id));
    entity_item(namespace, "ratelimit_namespace", pk, sk)
}

fn name_item(namespace: &RateLimitNamespace) -> StoreResult<Item> {
    let pk = tenant_pk(&namespace.tenant_id);
    let sk = namespace_name_sk(&namespace.name);
    entity_item(namespace, "ratelimit_namespace_name", pk, sk)
}

impl NamespaceLookup for DynamoStore {
    async fn namespace_named(
        &self,
        tenant: &TenantId,
        name: &NamespaceName,
    ) -> StoreResult<Option<RateLimitNamespace>> {
        self.get_item(tenant_pk(tenant), namespace_name_sk(name))
            .await
    }
}

impl NamespaceStore for DynamoStore {
    async fn create_namespace(
        &self,
        namespace: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        transaction.put_new(self, record_item(namespace)?, Conflict::AlreadyExists)?;
        transaction.put_new(self, name_item(namespace)?, Conflict::AlreadyExists)?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn get_namespace(
        &self,
        tenant: &TenantId,
        id: &NamespaceId,
    ) -> StoreResult<Option<RateLimitNamespace>> {
        self.get_item(tenant_pk(tenant), namespace_sk(id)).await
    }

    async fn list_namespaces(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<NamespaceId>>,
    ) -> StoreResult<Page<RateLimitNamespace, NamespaceId>> {
        self.list_tenant_items(
            tenant,
            NAMESPACE_SK_PREFIX,
            limit,
            cursor,
            |ns: &RateLimitNamespace| &ns.id,
        )
        .await
    }

    async fn update_namespace(
        &self,
        current: &RateLimitNamespace,
        next: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        transaction.put_if_revision(self, record_item(next)?, current.revision)?;
        transaction.put(self, name_item(next)?)?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn delete_namespace(
        &self,
        current: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let pk = tenant_pk(&current.tenant_id);
        let mut transaction = Transaction::default();
        let record = (pk.clone(), namespace_sk(&current.id));
        transaction.delete_if_revision(self, record, current.revision)?;
        transaction.delete(self, (pk, namespace_name_sk(&current.name)))?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }
}
