//! Roles for keys: the record and its copy by name, written in one
//! transaction with their audit event.

use domain::{AuditEvent, Cursor, KeyRole, Page, PageLimit, RoleId, RoleName, TenantId};

use super::DynamoStore;
use crate::keys::{ROLE_SK_PREFIX, role_name_sk, role_sk, tenant_pk};
use crate::{RoleLookup, RoleStore, StoreResult};

impl RoleLookup for DynamoStore {
    async fn role_named(&self, tenant: &TenantId, name: &RoleName) -> StoreResult<Option<KeyRole>> {
        self.get_item(tenant_pk(tenant), role_name_sk(name)).await
    }
}

impl RoleStore for DynamoStore {
    async fn create_role(&self, role: &KeyRole, audit: &AuditEvent) -> StoreResult<()> {
        self.create_named(role, audit).await
    }

    async fn get_role(&self, tenant: &TenantId, id: &RoleId) -> StoreResult<Option<KeyRole>> {
        self.get_item(tenant_pk(tenant), role_sk(id)).await
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
        self.update_named(current, next, audit).await
    }

    async fn delete_role(&self, current: &KeyRole, audit: &AuditEvent) -> StoreResult<()> {
        self.delete_named(current, audit).await
    }
}
