//! Rate-limit namespaces: the record and its copy by name, written in one
//! transaction with their audit event. (Window counters: `balance.rs`.)

use domain::{
    AuditEvent, Cursor, NamespaceId, NamespaceName, Page, PageLimit, RateLimitNamespace, TenantId,
};

use super::audit::put_audit;
use super::{EmbeddedStore, ITEMS, Items, get, put};
use crate::keys::{NAMESPACE_SK_PREFIX, namespace_name_sk, namespace_sk, tenant_pk};
use crate::{Conflict, NamespaceLookup, NamespaceStore, StoreError, StoreResult};

fn put_namespace(items: &mut Items<'_>, namespace: &RateLimitNamespace) -> StoreResult<()> {
    let pk = tenant_pk(&namespace.tenant_id);
    put(items, &pk, &namespace_sk(&namespace.id), namespace)?;
    put(items, &pk, &namespace_name_sk(&namespace.name), namespace)
}

/// Refuses unless the stored namespace's revision is still `current`'s.
fn still(items: &Items<'_>, current: &RateLimitNamespace) -> StoreResult<()> {
    let pk = tenant_pk(&current.tenant_id);
    match get::<RateLimitNamespace>(items, &pk, &namespace_sk(&current.id))? {
        Some(stored) if stored.revision == current.revision => Ok(()),
        _ => Err(Conflict::Changed.into()),
    }
}

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
        let (namespace, audit) = (namespace.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let pk = tenant_pk(&namespace.tenant_id);
            let name_sk = namespace_name_sk(&namespace.name);
            if get::<RateLimitNamespace>(&items, &pk, &name_sk)?.is_some() {
                return Err(Conflict::AlreadyExists.into());
            }
            put_namespace(&mut items, &namespace)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
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
        let (current, next, audit) = (current.clone(), next.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            still(&items, &current)?;
            put_namespace(&mut items, &next)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    async fn delete_namespace(
        &self,
        current: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (current, audit) = (current.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            still(&items, &current)?;
            let pk = tenant_pk(&current.tenant_id);
            for sk in [namespace_sk(&current.id), namespace_name_sk(&current.name)] {
                items
                    .remove((pk.as_str(), sk.as_str()))
                    .map_err(StoreError::backend)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }
}
