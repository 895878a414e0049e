//! Every storage key string, in one place. Both stores use these: DynamoDB as
//! `PK`/`SK`/`GSI…` attributes, the embedded store as the keys of its tables.
//!
//! Every partition of tenant data starts with `TENANT#<id>`, so a request can only
//! ever name its own tenant's items: isolation is structural, not a filter. Tenant
//! and object ids cannot contain `#` (see `domain::ids`), so no id can forge a key.

use domain::{
    ApiKey, ApiKeyId, ApiKeyStatus, ApplicationId, ArxId, AuditEventId, ExternalId, FeedbackId,
    IdentityCounter, IdentityId, NamespaceId, NamespaceName, RoleId, RoleName, ServiceKeyId,
    TenantId,
};

use crate::{ApiKeyQuery, AuditFilter, DueWork};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const ENTITY_TYPE: &str = "entity_type";
/// Epoch seconds after which DynamoDB may delete the item. Only handled leak
/// reports set it (keys are purged by the sweep with their counts and audit
/// event in one transaction, which a TTL deletion could not).
pub const TTL: &str = "ttl";
/// On a key item: when it was last verified, as the record shows it.
pub const LAST_USED_AT: &str = "last_used_at";
/// An API key item's revision (`ApiKey::revision`): every write of the
/// item adds one, and a whole-item write is conditional on it.
pub const REVISION: &str = "revision";
/// The same instant in epoch seconds, which conditions compare.
pub const LAST_USED_SECONDS: &str = "last_used_s";

pub const API_KEY_SK_PREFIX: &str = "KEY#";
pub const APPLICATION_SK_PREFIX: &str = "APP#";
pub const ARX_SK_PREFIX: &str = "ARX#";
pub const AUDIT_SK_PREFIX: &str = "AUDIT#";
pub const FEEDBACK_SK_PREFIX: &str = "FEEDBACK#";
pub const SERVICE_KEY_SK_PREFIX: &str = "SVCKEY#";
pub const IDENTITY_SK_PREFIX: &str = "IDENTITY#";
pub const ROLE_SK_PREFIX: &str = "ROLE#";
pub const NAMESPACE_SK_PREFIX: &str = "RLNS#";
pub const API_KEY_COUNTS_SK: &str = "COUNTS#API_KEYS";

pub fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

pub fn api_key_sk(id: &ApiKeyId) -> String {
    format!("{API_KEY_SK_PREFIX}{id}")
}

pub fn application_sk(id: &ApplicationId) -> String {
    format!("{APPLICATION_SK_PREFIX}{id}")
}

pub fn arx_sk(id: &ArxId) -> String {
    format!("{ARX_SK_PREFIX}{id}")
}

pub fn audit_sk(id: &AuditEventId) -> String {
    format!("{AUDIT_SK_PREFIX}{id}")
}

/// The sort keys of audit events written within `from..=to` lie between
/// these two: event ids are UUIDv7, whose first 12 hex digits are the
/// millisecond they were made. A minute's margin on each side covers an
/// event whose `at` was taken a moment before its id; the exact times are
/// checked on the events read.
pub fn audit_sk_range(
    from: Option<domain::Timestamp>,
    to: Option<domain::Timestamp>,
) -> (String, String) {
    let bound = |at: domain::Timestamp, margin_seconds: i64, fill: char| {
        let millis = at
            .unix_seconds()
            .saturating_add(margin_seconds)
            .max(0)
            .saturating_mul(1000);
        let rest: String = std::iter::repeat_n(fill, 20).collect();
        format!("{AUDIT_SK_PREFIX}audit--{millis:012x}{rest}")
    };
    (
        from.map_or_else(|| AUDIT_SK_PREFIX.to_owned(), |at| bound(at, -60, '0')),
        to.map_or_else(|| "AUDIT$".to_owned(), |at| bound(at, 61, 'f')),
    )
}

pub fn feedback_sk(id: &FeedbackId) -> String {
    format!("{FEEDBACK_SK_PREFIX}{id}")
}

pub fn service_key_sk(id: &ServiceKeyId) -> String {
    format!("{SERVICE_KEY_SK_PREFIX}{id}")
}

pub fn identity_sk(id: &IdentityId) -> String {
    format!("{IDENTITY_SK_PREFIX}{id}")
}

/// The copy of an identity under the tenant that verify reads by the
/// `external_id` a key carries; written with the record, and only if no
/// identity of the tenant has that external id (one identity per customer).
/// An external id may hold `#`: it is the key's whole tail, in the tenant's
/// own partition, after a prefix no other item's sort key starts with.
pub fn identity_owner_sk(external_id: &ExternalId) -> String {
    format!("IDOWNER#{external_id}")
}

pub fn role_sk(id: &RoleId) -> String {
    format!("{ROLE_SK_PREFIX}{id}")
}

/// The copy of a role under the tenant that verify reads by the name a key
/// carries; written with the record, and only if the tenant has no role of
/// that name (names hold no `#`).
pub fn role_name_sk(name: &RoleName) -> String {
    format!("ROLENAME#{name}")
}

/// A first answer kept for an `Idempotency-Key` (`replays`): its slot names
/// the caller, the route and the key's digest (no `#` in any of them but
/// the separators the slot puts between them).
pub fn replay_sk(slot: &str) -> String {
    format!("REPLAY#{slot}")
}

pub fn namespace_sk(id: &NamespaceId) -> String {
    format!("{NAMESPACE_SK_PREFIX}{id}")
}

/// The copy of a rate-limit namespace under the tenant that checks read by
/// the name they give; written with the record, and only if the tenant has
/// no namespace of that name (names hold no `#`).
pub fn namespace_name_sk(name: &NamespaceName) -> String {
    format!("RLNSNAME#{name}")
}

/// The counter of one identifier in one window of a namespace's limit
/// (partition and sort key are the same string): by the namespace's id (a
/// namespace made again counts afresh), the limit (a changed limit counts
/// afresh), the window's first second, and the identifier's digest (never
/// the identifier). A counter is never read after its window, so nothing
/// depends on when DynamoDB's TTL deletes it.
pub fn rate_limit_counter_pk(
    namespace: &NamespaceId,
    requests: u64,
    per_seconds: u64,
    window_start: i64,
    identifier_digest: &str,
) -> String {
    format!("RLC#{namespace}#{requests}/{per_seconds}#{window_start}#{identifier_digest}")
}

/// One counter of an identity's limits (partition and sort key are the same
/// string), charged as a key's counters are: its credits, or one named rate
/// limit (names hold no `#`).
pub fn identity_counter_pk(id: &IdentityId, counter: &IdentityCounter) -> String {
    match counter {
        IdentityCounter::Credits => format!("IDUSAGE#{id}#CREDITS"),
        IdentityCounter::Rate(name) => format!("IDUSAGE#{id}#RATE#{name}"),
    }
}

/// The item the authorizer reads by service key id alone (partition and
/// sort key are the same string); present only while the key is not revoked.
pub fn service_key_lookup_pk(id: &ServiceKeyId) -> String {
    format!("SVCKEYLOOKUP#{id}")
}

/// The item verification reads by key id alone (the access key carries no
/// tenant): partition and sort key are the same string.
pub fn api_key_lookup_pk(id: &ApiKeyId) -> String {
    format!("LOOKUP#{id}")
}

/// The item that points at an imported key by how verify finds it (its
/// digest or lookup prefix: [`domain::KeyLocator`]); partition and sort key
/// are the same string. Present while the key's record is.
pub fn imported_key_pk(locator: &domain::KeyLocator) -> String {
    format!("IMPORTED#{locator}")
}

/// The one item that says keys were ever imported here: until it exists, a
/// presented string not of our format is refused without another read.
pub const IMPORTS_MARKER_PK: &str = "IMPORTED";

/// The counters a limited key is charged against, by key id alone as verify
/// knows it (partition and sort key are the same string). Apart from the key
/// item, so the writes that replace a key item never lose a charge.
pub fn api_key_balance_pk(id: &ApiKeyId) -> String {
    format!("USAGE#{id}")
}

/// One key's verify counts, a bucket per item (`usage_sk`).
pub fn key_usage_pk(tenant: &TenantId, key: &ApiKeyId) -> String {
    format!("{}#TRAFFIC#{key}", tenant_pk(tenant))
}

/// One identity's verify counts, a bucket per item (`usage_sk`): beside its
/// keys' (an identity id never starts as a key id does).
pub fn identity_usage_pk(tenant: &TenantId, identity: &IdentityId) -> String {
    format!("{}#TRAFFIC#{identity}", tenant_pk(tenant))
}

/// One rate-limit namespace's checks, a bucket per item (`usage_sk`), and
/// its days' top limited identifiers (`namespace_top_sk`): beside its
/// tenant's keys' (a namespace id never starts as a key id does).
pub fn namespace_usage_pk(tenant: &TenantId, namespace: &NamespaceId) -> String {
    format!("{}#TRAFFIC#{namespace}", tenant_pk(tenant))
}

/// The item of a namespace's day that counts, by identifier, the checks
/// refused that day (each counter named `i#<identifier>`).
pub fn namespace_top_sk(day: i64) -> String {
    format!("TOP#{:012}", day.max(0))
}

/// A tenant's days of verify counts, by key, application and Arx.
pub fn tenant_usage_pk(tenant: &TenantId) -> String {
    format!("{}#TRAFFIC", tenant_pk(tenant))
}

/// A tenant's days of verify counts by key, in [`TENANT_TRAFFIC_SHARDS`]
/// items a day (`tenant_usage_shard_sk`), apart from its summary so that
/// neither grows past what one cheap write touches.
pub fn tenant_key_usage_pk(tenant: &TenantId) -> String {
    format!("{}#TRAFFIC#KEYS", tenant_pk(tenant))
}

/// How many items a tenant's day of per-key counts is spread over.
pub const TENANT_TRAFFIC_SHARDS: u32 = 16;

/// The item of a tenant's day that holds `key`'s counts: `DAY#<start>#K<nn>`,
/// after the day's own sort key, so one range reads a day's shards.
pub fn tenant_usage_shard_sk(day: i64, key: &str) -> String {
    // FNV-1a: stable across processes and releases (a std hasher is not).
    let hash = key.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!(
        "{}#K{:02}",
        usage_sk(domain::Granularity::Day, day),
        hash % TENANT_TRAFFIC_SHARDS
    )
}

/// A bucket's sort key: its width and its start (zero-padded epoch seconds,
/// so text order is time order).
pub fn usage_sk(granularity: domain::Granularity, start: i64) -> String {
    let width = match granularity {
        domain::Granularity::Hour => "HOUR",
        domain::Granularity::Day => "DAY",
    };
    format!("{width}#{:012}", start.max(0))
}

/// The attribute of a tenant's day that counts `outcome` for one key (`k`),
/// application (`a`), Arx (`x`) or identity (`i`, in the key shards): ids
/// and outcome codes hold no `#`.
pub fn tenant_usage_attribute(dimension: char, id: &str, outcome: &str) -> String {
    format!("{dimension}#{id}#{outcome}")
}

/// The data version item (`data_version`): one per table, outside every
/// tenant.
pub const DATA_VERSION_PK: &str = "META";
pub const DATA_VERSION_SK: &str = "DATA_VERSION";

/// A handled GitHub secret scanning report, by the SHA-256 of its body.
pub fn leak_report_pk(digest: &str) -> String {
    format!("LEAKREPORT#{digest}")
}

/// The indexes over audit events, one per filter. They share the table's
/// `GSI1`-`GSI3` with the API key indexes (single-table design): the
/// partitions cannot meet, since these all carry `#AUDIT#`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditIndex {
    /// `GSI1`: a tenant's events about one object.
    ByObject,
    /// `GSI2`: a tenant's events by one actor.
    ByActor,
    /// `GSI3`: a tenant's events of one action.
    ByAction,
}

impl AuditIndex {
    pub const ALL: [AuditIndex; 3] = [Self::ByObject, Self::ByActor, Self::ByAction];

    pub fn name(self) -> &'static str {
        match self {
            Self::ByObject => "GSI1",
            Self::ByActor => "GSI2",
            Self::ByAction => "GSI3",
        }
    }

    /// The partition and sort key attribute names of this index.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Self::ByObject => ("GSI1PK", "GSI1SK"),
            Self::ByActor => ("GSI2PK", "GSI2SK"),
            Self::ByAction => ("GSI3PK", "GSI3SK"),
        }
    }

    /// The index and partition a query reads: its first filter's, or the
    /// table's (`None`) when it has none.
    pub fn of_query(tenant: &TenantId, query: &crate::AuditQuery) -> Option<(Self, String)> {
        query.filters.first().map(|filter| Self::of(tenant, filter))
    }

    /// The index and partition a filter reads.
    pub fn of(tenant: &TenantId, filter: &AuditFilter) -> (Self, String) {
        match filter {
            AuditFilter::Object(id) => (
                Self::ByObject,
                format!("{}#AUDIT#OBJECT#{id}", tenant_pk(tenant)),
            ),
            AuditFilter::Actor(actor) => (
                Self::ByActor,
                format!("{}#AUDIT#ACTOR#{actor}", tenant_pk(tenant)),
            ),
            AuditFilter::Action(action) => (
                Self::ByAction,
                format!("{}#AUDIT#ACTION#{}", tenant_pk(tenant), action.as_str()),
            ),
        }
    }

    /// This index's partition and sort key for `event`.
    pub fn entry_of(self, event: &domain::AuditEvent) -> (String, String) {
        let filter = match self {
            Self::ByObject => AuditFilter::Object(event.target_id.clone()),
            Self::ByActor => AuditFilter::Actor(event.actor.to_string()),
            Self::ByAction => AuditFilter::Action(event.action),
        };
        (Self::of(&event.tenant_id, &filter).1, audit_sk(&event.id))
    }
}

/// The indexes over API keys. Each sorts a tenant's keys by id (time-ordered),
/// so every list is newest first whichever index serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyIndex {
    /// The table itself: all of a tenant's keys (`PK = TENANT#t`).
    Table,
    /// `GSI1`: a tenant's keys of one application.
    ByApplication,
    /// `GSI2`: a tenant's keys on one Arx.
    ByArx,
    /// `GSI3`: a tenant's keys in one status.
    ByStatus,
    /// `GSI4`, sparse: keys with work due on a day, across tenants (an active
    /// key in the day it expires, under its notice until that is sent, then
    /// under its expiry; a deleted or expired key in the day it ended). The sweep reads it one day at a time: no Scan.
    Due,
    /// `GSI5`, sparse: a tenant's active keys that have an expiry, by when.
    /// The counts read the part already past, so a key counts as expired as
    /// soon as it reads expired, not an hour later when the sweep records it.
    Expiring,
    /// `GSI6`, sparse: a tenant's keys of one owner (`external_id`).
    ByOwner,
}

impl ApiKeyIndex {
    pub const SECONDARY: [ApiKeyIndex; 6] = [
        Self::ByApplication,
        Self::ByArx,
        Self::ByStatus,
        Self::Due,
        Self::Expiring,
        Self::ByOwner,
    ];

    /// The DynamoDB index name, or `None` for the table.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::Table => None,
            Self::ByApplication => Some("GSI1"),
            Self::ByArx => Some("GSI2"),
            Self::ByStatus => Some("GSI3"),
            Self::Due => Some("GSI4"),
            Self::Expiring => Some("GSI5"),
            Self::ByOwner => Some("GSI6"),
        }
    }

    /// Whether the index carries whole items (lists read keys from it) or
    /// only the keys (it is only counted).
    pub fn projects_items(self) -> bool {
        self != Self::Expiring
    }

    /// The partition and sort key attribute names of this index.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Self::Table => (PK, SK),
            Self::ByApplication => ("GSI1PK", "GSI1SK"),
            Self::ByArx => ("GSI2PK", "GSI2SK"),
            Self::ByStatus => ("GSI3PK", "GSI3SK"),
            Self::Due => ("GSI4PK", "GSI4SK"),
            Self::Expiring => ("GSI5PK", "GSI5SK"),
            Self::ByOwner => ("GSI6PK", "GSI6SK"),
        }
    }

    /// This index's partition and sort key for `key`, if the key is in this index.
    pub fn entry_of(self, key: &ApiKey) -> Option<(String, String)> {
        let tenant = &key.tenant_id;
        let by_id = |partition: String| Some((partition, api_key_sk(&key.id)));
        match self {
            Self::Table => by_id(tenant_pk(tenant)),
            Self::ByApplication => by_id(keys_by_application_pk(tenant, &key.application_id)),
            Self::ByArx => by_id(keys_by_arx_pk(tenant, &key.arx_id)),
            Self::ByStatus => by_id(keys_by_status_pk(tenant, key.status)),
            Self::Due => {
                let (work, due) = match key.status {
                    ApiKeyStatus::Active if key.awaits_expiry_notice() => {
                        (DueWork::Notice, key.expires_at?.at())
                    }
                    ApiKeyStatus::Active => (DueWork::Expire, key.expires_at?.at()),
                    ApiKeyStatus::Deleted | ApiKeyStatus::Expired => {
                        (DueWork::Purge, key.ended_at()?)
                    }
                    ApiKeyStatus::Disabled => return None,
                };
                Some((due_pk(work, due.date()), due_sk(due, &key.id)))
            }
            Self::Expiring => match (key.status, key.expires_at) {
                (ApiKeyStatus::Active, Some(expiry)) => {
                    Some((expiring_keys_pk(tenant), due_sk(expiry.at(), &key.id)))
                }
                _ => None,
            },
            Self::ByOwner => by_id(keys_by_owner_pk(tenant, key.external_id.as_ref()?)),
        }
    }
}

/// The partition of a tenant's active keys that have an expiry (`GSI5`).
pub fn expiring_keys_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#EXPIRING")
}

/// The partition of keys with `work` due on `day`.
pub fn due_pk(work: DueWork, day: time::Date) -> String {
    let work = match work {
        DueWork::Notice => "NOTICE",
        DueWork::Expire => "EXPIRE",
        DueWork::Purge => "PURGE",
    };
    format!("DUE#{work}#{day}")
}

/// Due keys sort by when they fell due (zero-padded epoch seconds, so text
/// order is time order), then by id.
pub fn due_sk(due: domain::Timestamp, id: &ApiKeyId) -> String {
    format!("{:012}#{id}", due.unix_seconds())
}

/// The exclusive upper bound of due sort keys at or before `until`.
pub fn due_sk_after(until: domain::Timestamp) -> String {
    format!("{:012}$", until.unix_seconds())
}

/// The key id at the end of a due sort key.
pub fn id_of_due_sk(sk: &str) -> Option<&str> {
    sk.split_once('#').map(|(_, id)| id)
}

/// The partition of cascades not yet run, across tenants (normally empty).
pub const PENDING_CASCADES_PK: &str = "CASCADE";

/// A pending cascade's sort key: its tenant and target (one per target).
pub fn pending_cascade_sk(target: &crate::CascadeTarget) -> String {
    match target {
        crate::CascadeTarget::Application { tenant, id } => {
            format!("{tenant}#{}", application_sk(id))
        }
        crate::CascadeTarget::Arx { tenant, id } => format!("{tenant}#{}", arx_sk(id)),
    }
}

/// Where the sweep keeps how far it has got.
pub const SWEEP_PROGRESS_PK: &str = "SWEEP";
pub const SWEEP_PROGRESS_SK: &str = "PROGRESS";

/// Which index serves a list, and its partition. The most selective filter
/// picks the index and any other filter is applied to what it returns. A
/// consistent list (the cleanup cascade's) reads the table, the only place
/// strong reads exist; so does the `expired` filter, since keys past their
/// expiry are expired before the sweep moves them out of the `active` partition.
pub fn api_key_list_partition(tenant: &TenantId, query: &ApiKeyQuery) -> (ApiKeyIndex, String) {
    let filter = &query.filter;
    if query.consistent {
        return (ApiKeyIndex::Table, tenant_pk(tenant));
    }
    // An owner has a handful of keys: the narrowest partition there is.
    if let Some(owner) = &filter.external_id {
        return (ApiKeyIndex::ByOwner, keys_by_owner_pk(tenant, owner));
    }
    if let Some(application) = &filter.application_id {
        return (
            ApiKeyIndex::ByApplication,
            keys_by_application_pk(tenant, application),
        );
    }
    if let Some(arx) = &filter.arx_id {
        return (ApiKeyIndex::ByArx, keys_by_arx_pk(tenant, arx));
    }
    match filter.status {
        Some(status) if status != ApiKeyStatus::Expired => {
            (ApiKeyIndex::ByStatus, keys_by_status_pk(tenant, status))
        }
        _ => (ApiKeyIndex::Table, tenant_pk(tenant)),
    }
}

fn keys_by_application_pk(tenant: &TenantId, application: &ApplicationId) -> String {
    format!("TENANT#{tenant}#APP#{application}")
}

fn keys_by_arx_pk(tenant: &TenantId, arx: &ArxId) -> String {
    format!("TENANT#{tenant}#ARX#{arx}")
}

/// The owner's id is the partition's last part, after a fixed prefix that
/// names the tenant: whatever it holds (`#` included), it cannot reach
/// another tenant's partition or another index's.
fn keys_by_owner_pk(tenant: &TenantId, owner: &domain::ExternalId) -> String {
    format!("TENANT#{tenant}#OWNER#{owner}")
}

fn keys_by_status_pk(tenant: &TenantId, status: ApiKeyStatus) -> String {
    format!("TENANT#{tenant}#KEYSTATUS#{}", status.as_str())
}

#[cfg(test)]
mod tests;
