//! Rate limits for anything: a tenant's namespaces (a record, and a copy by
//! name that checks read, written together; each holds its overrides), and
//! the counters of identifiers, one per identifier and window, charged as a
//! key's counters are ([`crate::ApiKeyCharge::charge_together`] with
//! [`crate::Counter::RateLimit`]) and made by their first charge.

use std::future::Future;

use domain::limits::{RateLimit, RateWindow};
use domain::{
    AuditEvent, Balance, Cursor, NamespaceId, NamespaceName, Page, PageLimit, RateLimitNamespace,
    TenantId,
};

use crate::error::StoreResult;
use crate::leases::Start;

/// How long past its window a counter is kept before DynamoDB's TTL may
/// take it: nothing reads it then, so this only spares deleting one early
/// against a clock a little behind.
const KEPT_PAST_WINDOW_SECONDS: i64 = 60;

/// One identifier's counter in one window of a limit: what a check charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitWindow {
    pub namespace: NamespaceId,
    /// The identifier's digest (`verify::ratelimit` makes it): storage never
    /// sees the identifier.
    pub identifier_digest: String,
    pub limit: RateLimit,
    /// The window's first second and the second it ends (exclusive).
    pub start: i64,
    pub end: i64,
}

impl LimitWindow {
    pub fn pk(&self) -> String {
        crate::keys::rate_limit_counter_pk(
            &self.namespace,
            self.limit.requests.get(),
            self.limit.per_seconds.get(),
            self.start,
            &self.identifier_digest,
        )
    }

    /// The counters before any charge: every request left until the end.
    pub(crate) fn start(&self) -> Start {
        use rand::{RngCore, TryRngCore, rngs::OsRng};
        let rev = OsRng.unwrap_err().next_u64() & Balance::REV_MASK;
        Start {
            fresh: Balance {
                rev,
                series: rev,
                rate: Some(RateWindow {
                    limit: self.limit,
                    left: self.limit.requests.get(),
                    resets_at: self.end,
                }),
                credits: None,
            },
            expires: self.end.saturating_add(KEPT_PAST_WINDOW_SECONDS),
            known: false,
        }
    }
}

/// What a check reads of namespaces.
pub trait NamespaceLookup: Send + Sync {
    /// The tenant's namespace with this name, read strongly.
    fn namespace_named(
        &self,
        tenant: &TenantId,
        name: &NamespaceName,
    ) -> impl Future<Output = StoreResult<Option<RateLimitNamespace>>> + Send;
}

/// What owners and admins do with namespaces and their overrides.
pub trait NamespaceStore: NamespaceLookup {
    /// Stores a new namespace (its record and its copy by name) with
    /// `audit`; [`Conflict::AlreadyExists`](crate::Conflict::AlreadyExists)
    /// if the tenant has a namespace of that name.
    fn create_namespace(
        &self,
        namespace: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_namespace(
        &self,
        tenant: &TenantId,
        id: &NamespaceId,
    ) -> impl Future<Output = StoreResult<Option<RateLimitNamespace>>> + Send;

    /// A page of the tenant's namespaces, newest first.
    fn list_namespaces(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<NamespaceId>>,
    ) -> impl Future<Output = StoreResult<Page<RateLimitNamespace, NamespaceId>>> + Send;

    /// Writes `next` over `current` (record and copy) with `audit`, if the
    /// stored revision is still `current`'s
    /// ([`Conflict::Changed`](crate::Conflict::Changed) otherwise): a change
    /// of its limit or of its overrides.
    fn update_namespace(
        &self,
        current: &RateLimitNamespace,
        next: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Removes the namespace and its copy with `audit`, if the stored
    /// revision is still `current`'s. Its counters end with their windows.
    fn delete_namespace(
        &self,
        current: &RateLimitNamespace,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
