//! Roles for keys: the record and its copy by name, written in one
//! transaction with their audit event.

use domain::{AuditEvent, Cursor, KeyRole, Page, PageLimit, RoleId, RoleName, TenantId};

use super::audit::audit_item;
use super::transaction::Transaction;
use super::{DynamoStore, Item, entity_item};
use crate::keys::{ROLE_SK_PREFIX, role_name_sk, role_sk, tenant_pk};
use crate::{Conflict, RoleLookup, RoleStore, StoreResult};

fn record_item(role: &KeyRole) -> StoreResult<Item> {
    let (pk, sk) = (tenant_pk(&role.tenant_id), role_sk(&role.id));
    entity_item(role, "role", pk, sk)
}

fn name_item(role: &KeyRole) -> StoreResult<Item> {
    let (pk, sk) = (tenant_pk(&role.tenant_id), role_name_sk(&role.name));
    entity_item(role, "role_name", pk, sk)
}

impl RoleLookup for DynamoStore {
    async fn role_named(&self, tenant: &TenantId, name: &RoleName) -> StoreResult<Option<KeyRole>> {
        self.get_item(tenant_pk(tenant), role_name_sk(name)).await
    }
}

impl RoleStore for DynamoStore {
    async fn create_role(&self, role: &KeyRole, audit: &AuditEvent) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        transaction.put_new(self, record_item(role)?, Conflict::AlreadyExists)?;
        transaction.put_new(self, name_item(role)?, Conflict::AlreadyExists)?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
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
        let mut transaction = Transaction::default();
        transaction.put_if_revision(self, record_item(next)?, current.revision)?;
        transaction.put(self, name_item(next)?)?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn delete_role(&self, current: &KeyRole, audit: &AuditEvent) -> StoreResult<()> {
        let pk = tenant_pk(&current.tenant_id);
        let mut transaction = Transaction::default();
        let record = (pk.clone(), role_sk(&current.id));
        transaction.delete_if_revision(self, record, current.revision)?;
        transaction.delete(self, (pk, role_name_sk(&current.name)))?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }
}
