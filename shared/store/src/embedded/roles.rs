//! Roles for keys: the record and its copy by name, written in one
//! transaction with their audit event.

use domain::{AuditEvent, Cursor, KeyRole, Page, PageLimit, RoleId, RoleName, TenantId};

use super::audit::put_audit;
use super::{EmbeddedStore, ITEMS, Items, get, put};
use crate::keys::{ROLE_SK_PREFIX, role_name_sk, role_sk, tenant_pk};
use crate::{Conflict, RoleLookup, RoleStore, StoreError, StoreResult};

fn put_role(items: &mut Items<'_>, role: &KeyRole) -> StoreResult<()> {
    let pk = tenant_pk(&role.tenant_id);
    put(items, &pk, &role_sk(&role.id), role)?;
    put(items, &pk, &role_name_sk(&role.name), role)
}

/// Refuses unless the stored role's revision is still `current`'s.
fn still(items: &Items<'_>, current: &KeyRole) -> StoreResult<()> {
    let pk = tenant_pk(&current.tenant_id);
    match get::<KeyRole>(items, &pk, &role_sk(&current.id))? {
        Some(stored) if stored.revision == current.revision => Ok(()),
        _ => Err(Conflict::Changed.into()),
    }
}

impl RoleLookup for EmbeddedStore {
    async fn role_named(&self, tenant: &TenantId, name: &RoleName) -> StoreResult<Option<KeyRole>> {
        self.get_tenant_item(tenant_pk(tenant), role_name_sk(name))
            .await
    }
}

impl RoleStore for EmbeddedStore {
    async fn create_role(&self, role: &KeyRole, audit: &AuditEvent) -> StoreResult<()> {
        let (role, audit) = (role.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let pk = tenant_pk(&role.tenant_id);
            if get::<KeyRole>(&items, &pk, &role_name_sk(&role.name))?.is_some() {
                return Err(Conflict::AlreadyExists.into());
            }
            put_role(&mut items, &role)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    async fn get_role(&self, tenant: &TenantId, id: &RoleId) -> StoreResult<Option<KeyRole>> {
        self.get_tenant_item(tenant_pk(tenant), role_sk(id)).await
    }

    async fn list_roles(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<RoleId>>,
    ) -> StoreResult<Page<KeyRole, RoleId>> {
        self.list_tenant_items(tenant, ROLE_SK_PREFIX, limit, cursor, |role: &KeyRole| {
            &role.id
        })
        .await
    }

    async fn update_role(
        &self,
        current: &KeyRole,
        next: &KeyRole,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (current, next, audit) = (current.clone(), next.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            still(&items, &current)?;
            put_role(&mut items, &next)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    async fn delete_role(&self, current: &KeyRole, audit: &AuditEvent) -> StoreResult<()> {
        let (current, audit) = (current.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            still(&items, &current)?;
            let pk = tenant_pk(&current.tenant_id);
            for sk in [role_sk(&current.id), role_name_sk(&current.name)] {
                items
                    .remove((pk.as_str(), sk.as_str()))
                    .map_err(StoreError::backend)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }
}
