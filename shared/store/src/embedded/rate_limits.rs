//! Rate-limit namespaces: the record and its copy by name, written in one
//! transaction with their audit event. (Window counters: `balance.rs`.)

use domain::{
    AuditEvent, Cursor, NamespaceId, NamespaceName, Page, PageLimit, RateLimitNamespace, TenantId,
};

use super::EmbeddedStore;
use crate::keys::{NAMESPACE_SK_PREFIX, namespace_name_sk, namespace_sk, tenant_pk};
use crate::{NamespaceLookup, NamespaceStore, StoreResult};

impl NamespaceLookup for EmbeddedStore {
    async fn namespace_named(
        &self,
        tenant: &TenantId,
        name: &NamespaceName,
    ) -> StoreResult<Option<RateLimitNamespace>> {
        self.get_tenant_item(tenant_pk(tenant), namespace_name_sk(name))
            .await
    }
}

impl NamespaceStore for EmbeddedStore {
    async fn create_namespace(
        &self,
        namespace: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.create_named(namespace, audit).await
    }

    async fn get_namespace(
        &self,
        tenant: &TenantId,
        id: &NamespaceId,
    ) -> StoreResult<Option<RateLimitNamespace>> {
        self.get_tenant_item(tenant_pk(tenant), namespace_sk(id))
            .await
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
        self.update_named(current, next, audit).await
    }

    async fn delete_namespace(
        &self,
        current: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.delete_named(current, audit).await
    }
}
