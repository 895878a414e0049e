//! Roles for keys: a record under the tenant (listed, shown, changed,
//! deleted) and a copy by name (what verify reads: a key names its roles),
//! written together.

use std::future::Future;

use domain::{AuditEvent, Cursor, KeyRole, Page, PageLimit, RoleId, RoleName, TenantId};

use crate::error::StoreResult;

/// What verify (and the routes that give keys roles) read of roles.
pub trait RoleLookup: Send + Sync {
    /// The tenant's role with this name, read strongly.
    fn role_named(
        &self,
        tenant: &TenantId,
        name: &RoleName,
    ) -> impl Future<Output = StoreResult<Option<KeyRole>>> + Send;
}

/// What owners and admins do with roles.
pub trait RoleStore: RoleLookup {
    /// Stores a new role (its record and its copy by name) with `audit`;
    /// [`Conflict::AlreadyExists`](crate::Conflict::AlreadyExists) if the
    /// tenant has a role of that name.
    fn create_role(
        &self,
        role: &KeyRole,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_role(
        &self,
        tenant: &TenantId,
        id: &RoleId,
    ) -> impl Future<Output = StoreResult<Option<KeyRole>>> + Send;

    /// A page of the tenant's roles, newest first.
    fn list_roles(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<RoleId>>,
    ) -> impl Future<Output = StoreResult<Page<KeyRole, RoleId>>> + Send;

    /// Writes `next` over `current` (record and copy) with `audit`, if the
    /// stored revision is still `current`'s.
    fn update_role(
        &self,
        current: &KeyRole,
        next: &KeyRole,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Removes the role and its copy with `audit`, if the stored revision
    /// is still `current`'s.
    fn delete_role(
        &self,
        current: &KeyRole,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
