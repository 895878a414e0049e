//! Identities: a record under the tenant (listed, shown, changed, deleted),
//! a copy by `external_id` (what verify reads: a key names its identity by
//! that), and one counters item per limit, written together.

use std::future::Future;

use domain::{
    AuditEvent, Balance, Cursor, ExternalId, Identity, IdentityCounter, IdentityId, Page,
    PageLimit, TenantId, Timestamp,
};

use crate::error::StoreResult;

/// What verify reads of identities.
pub trait IdentityLookup: Send + Sync {
    /// The tenant's identity with this external id, read strongly.
    fn identity_of(
        &self,
        tenant: &TenantId,
        external_id: &ExternalId,
    ) -> impl Future<Output = StoreResult<Option<Identity>>> + Send;
}

/// What owners and admins do with identities.
pub trait IdentityStore: IdentityLookup {
    /// Stores a new identity (its record, its copy by external id, fresh
    /// counters for its limits) with `audit`;
    /// [`Conflict::AlreadyExists`](crate::Conflict::AlreadyExists) if the
    /// tenant has an identity with that external id.
    fn create_identity(
        &self,
        identity: &Identity,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_identity(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> impl Future<Output = StoreResult<Option<Identity>>> + Send;

    /// A page of the tenant's identities, newest first.
    fn list_identities(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<IdentityId>>,
    ) -> impl Future<Output = StoreResult<Page<Identity, IdentityId>>> + Send;

    /// Writes `next` over `current` (its record and copy) with `audit`, if
    /// the stored revision is still `current`'s
    /// ([`Conflict::Changed`](crate::Conflict::Changed) otherwise). When
    /// the limits changed, every counter starts afresh: the new limits'
    /// counters are written and those of limits gone are removed.
    fn update_identity(
        &self,
        current: &Identity,
        next: &Identity,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Removes the identity, its copy and its counters with `audit`, if the
    /// stored revision is still `current`'s.
    fn delete_identity(
        &self,
        current: &Identity,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Each counter of the identity's limits as stored (`None`: not there,
    /// as for limits set by a release before them).
    fn identity_balances(
        &self,
        identity: &Identity,
    ) -> impl Future<Output = StoreResult<Vec<(IdentityCounter, Option<Balance>)>>> + Send;
}

/// Fresh counters for `identity`'s limits, each with a random revision (as
/// [`crate::fresh_balance`] for a key).
pub fn fresh_identity_balances(
    identity: &Identity,
    now: Timestamp,
) -> Vec<(IdentityCounter, Balance)> {
    use rand::{RngCore, TryRngCore, rngs::OsRng};
    identity
        .limits
        .fresh_balances(now, || OsRng.unwrap_err().next_u64() & Balance::REV_MASK)
}

/// The counters items `next` no longer has, and those it starts afresh:
/// what an update writes (none of either when the limits did not change).
pub fn counter_changes(
    current: &Identity,
    next: &Identity,
    now: Timestamp,
) -> (Vec<IdentityCounter>, Vec<(IdentityCounter, Balance)>) {
    if current.limits == next.limits {
        return (Vec::new(), Vec::new());
    }
    let fresh = fresh_identity_balances(next, now);
    let gone = current
        .limits
        .counters()
        .into_iter()
        .map(|(counter, _)| counter)
        .filter(|counter| fresh.iter().all(|(kept, _)| kept != counter))
        .collect();
    (gone, fresh)
}
