//! Service keys: a record under the tenant (listed, shown, revoked) and a
//! lookup item by id alone (what the authorizer reads: a bearer's service
//! key carries no tenant), written together.

use std::future::Future;

use domain::{AuditEvent, Cursor, Page, PageLimit, ServiceKey, ServiceKeyId, TenantId, Timestamp};

use crate::error::StoreResult;

/// What the authorizer reads and records of the service keys it is shown.
pub trait ServiceKeyLookup: Send + Sync {
    /// The key with this id, whatever its tenant, read strongly: `None` for
    /// an id never made, and for a key revoked (its lookup item goes with
    /// the revocation, so a revoked key is never let in again).
    fn lookup_service_key(
        &self,
        id: &ServiceKeyId,
    ) -> impl Future<Output = StoreResult<Option<ServiceKey>>> + Send;

    /// Records that the key was used at `at` (on its record, if it is still
    /// there); callers write it at most once per key per few minutes.
    fn record_service_key_use(
        &self,
        tenant: &TenantId,
        id: &ServiceKeyId,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What owners and admins do with service keys.
pub trait ServiceKeyStore: ServiceKeyLookup {
    /// Stores a new key (its record and lookup item) with `audit`.
    fn create_service_key(
        &self,
        key: &ServiceKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_service_key(
        &self,
        tenant: &TenantId,
        id: &ServiceKeyId,
    ) -> impl Future<Output = StoreResult<Option<ServiceKey>>> + Send;

    /// A page of the tenant's service keys, newest first, revoked ones too.
    fn list_service_keys(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ServiceKeyId>>,
    ) -> impl Future<Output = StoreResult<Page<ServiceKey, ServiceKeyId>>> + Send;

    /// Sets `revoked`'s status, `revoked_at` and `revoked_by` on a key still
    /// active (its other fields stay as stored: a use recorded since it was
    /// read is kept), removes its lookup item and writes `audit`, in one
    /// transaction;
    /// [`Conflict::Changed`](crate::Conflict::Changed) if it is no longer
    /// active (revoked meanwhile, or gone).
    fn revoke_service_key(
        &self,
        revoked: &ServiceKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
