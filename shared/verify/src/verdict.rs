//! What a verify answers, and how a checked key's facts decide it.

use std::net::IpAddr;

use domain::{
    AddressCheck, ApiKeyId, ApiKeyName, ApiKeyStatus, ApplicationId, ArxId, Balance, ExpiresAt,
    ExternalId, Identity, IdentityId, IpAllowlist, KeyLimits, KeyMeta, KeyRoles, LimitHit,
    LimitName, PermissionQuery, Permissions, Standing, TenantId, Timestamp,
};
use serde::{Serialize, Serializer};

/// What a verify answers: `VALID` with the key's fields, or a code alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerdictCode {
    Valid,
    /// Wrong shape or checksum: decided with no read and no argon2.
    Malformed,
    /// No such key, a wrong secret, or another tenant's key: one code, so
    /// the answer is no oracle for which.
    NotFound,
    Expired,
    Deleted,
    /// The key is suspended, or its application is archived, or its Arx is
    /// not active.
    Disabled,
    /// The key's rate window is spent: `reset_at` says when it starts afresh.
    RateLimited,
    /// The key's credits are spent: `reset_at` is the next refill, if any.
    UsageExceeded,
    /// The key is good, but its permissions do not satisfy the verify's
    /// permission query. Nothing is charged: the request it guards is
    /// refused, so it did no work worth a credit (as with every refusal).
    InsufficientPermissions,
    /// The key has an allowlist (enforced) and the request's address is not
    /// on it, or no address came with the verify. Never charged.
    AddressNotAllowed,
}

impl VerdictCode {
    /// The wire name (`VALID`, `INSUFFICIENT_PERMISSIONS`), as logged and counted.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::Malformed => "MALFORMED",
            Self::NotFound => "NOT_FOUND",
            Self::Expired => "EXPIRED",
            Self::Deleted => "DELETED",
            Self::Disabled => "DISABLED",
            Self::RateLimited => "RATE_LIMITED",
            Self::UsageExceeded => "USAGE_EXCEEDED",
            Self::InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
            Self::AddressNotAllowed => "ADDRESS_NOT_ALLOWED",
        }
    }
}

/// What usage counts a `VALID` verify of a key whose report-only allowlist
/// does not hold the request's address as: let through, and said.
pub const ADDRESS_REPORTED: &str = "ADDRESS_REPORTED";

/// The answer to one verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub valid: bool,
    pub code: VerdictCode,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub key: Option<VerifiedKey>,
    /// For a key with limits: requests of cost 1 that would still pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// For a key with limits: when `remaining` next grows (null: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<Option<Timestamp>>,
    /// For a `VALID` verify that charged limits: each one, and what it has
    /// left (the key's own, its identity's credits and rate limits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<LimitLeft>,
    /// For `RATE_LIMITED` and `USAGE_EXCEEDED`: the limit that refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limited_by: Option<LimitLeft>,
    /// For a `VALID` verify let through by a report-only allowlist: what an
    /// enforced one would have answered (`ADDRESS_NOT_ALLOWED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_refuse: Option<VerdictCode>,
}

/// Whose a limit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitOwner {
    Key,
    Identity,
}

/// What kind of limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    Rate,
    Credits,
}

/// One limit a verify charged (or was refused by), and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitLeft {
    pub owner: LimitOwner,
    pub kind: LimitKind,
    /// An identity's rate limit's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<LimitName>,
    /// Requests of cost 1 this limit would still pass.
    pub remaining: u64,
    /// When `remaining` next grows (null: never).
    pub reset_at: Option<Timestamp>,
}

impl LimitLeft {
    /// Each limit `balance` keeps, as it stands at `now`.
    pub(crate) fn of(
        owner: LimitOwner,
        name: Option<&LimitName>,
        balance: &Balance,
        now: Timestamp,
    ) -> Vec<Self> {
        let current = balance.at(now);
        let rate = current.rate.map(|rate| Self {
            owner,
            kind: LimitKind::Rate,
            name: name.cloned(),
            remaining: rate.left,
            reset_at: Some(Timestamp::from_unix_seconds(rate.resets_at)),
        });
        let credits = current.credits.map(|credits| Self {
            owner,
            kind: LimitKind::Credits,
            name: name.cloned(),
            remaining: credits.left,
            reset_at: credits.refill_at.map(Timestamp::from_unix_seconds),
        });
        rate.into_iter().chain(credits).collect()
    }

    /// The limit of `balance` that refused with `hit`.
    pub(crate) fn refusing(
        owner: LimitOwner,
        name: Option<&LimitName>,
        balance: &Balance,
        hit: LimitHit,
        now: Timestamp,
    ) -> Option<Self> {
        let kind = match hit {
            LimitHit::Rate => LimitKind::Rate,
            LimitHit::Credits => LimitKind::Credits,
        };
        Self::of(owner, name, balance, now)
            .into_iter()
            .find(|limit| limit.kind == kind)
    }
}

/// The identity a key belongs to, as a `VALID` verdict names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedIdentity {
    pub id: IdentityId,
    pub external_id: ExternalId,
    #[serde(serialize_with = "meta_as_object")]
    pub meta: Option<KeyMeta>,
}

impl VerifiedIdentity {
    pub(crate) fn of(identity: &Identity) -> Self {
        Self {
            id: identity.id.clone(),
            external_id: identity.external_id.clone(),
            meta: identity.meta.clone(),
        }
    }
}

/// What a valid key is for (only a `VALID` verdict carries it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedKey {
    pub key_id: ApiKeyId,
    /// The caller knows its tenant; the key-authorizer passes it on.
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub application_id: ApplicationId,
    pub arx_id: ArxId,
    pub arx_url: String,
    pub name: ApiKeyName,
    pub expires_at: Option<Timestamp>,
    /// What the key may do, in order: its own permissions and its roles'.
    pub permissions: Permissions,
    /// The roles it has (their permissions are in `permissions`).
    pub roles: KeyRoles,
    /// Who owns it in the customer's own system.
    pub external_id: Option<ExternalId>,
    /// The customer's own JSON object about it.
    #[serde(serialize_with = "meta_as_object")]
    pub meta: Option<KeyMeta>,
    /// The identity (customer) whose `external_id` the key carries, if the
    /// tenant recorded one.
    pub identity: Option<VerifiedIdentity>,
}

/// `meta` as the object it is (it is stored as its JSON text).
fn meta_as_object<S: Serializer>(meta: &Option<KeyMeta>, serializer: S) -> Result<S::Ok, S::Error> {
    meta.as_ref().map(KeyMeta::as_object).serialize(serializer)
}

impl Verdict {
    pub(crate) fn refused(code: VerdictCode) -> Self {
        Self {
            valid: false,
            code,
            key: None,
            remaining: None,
            reset_at: None,
            limits: Vec::new(),
            limited_by: None,
            would_refuse: None,
        }
    }

    /// This verdict with where a limited key stands.
    pub(crate) fn standing(self, standing: Standing) -> Self {
        Self {
            remaining: Some(standing.remaining),
            reset_at: Some(standing.reset_at),
            ..self
        }
    }
}

/// Everything a verdict depends on besides the clock, as read when the key
/// was last checked. `None` in [`Checked::Found`]'s place means not found (no
/// such key or a wrong secret), which is cached too: a client repeating a
/// wrong key costs one argon2 run per TTL, not one per request.
#[derive(Debug)]
pub(crate) enum Checked {
    NotFound,
    Found(Box<KeyFacts>),
}

#[derive(Debug)]
pub(crate) struct KeyFacts {
    pub(crate) key: VerifiedKey,
    pub(crate) status: ApiKeyStatus,
    pub(crate) expires_at: Option<ExpiresAt>,
    pub(crate) catalog_active: bool,
    /// What a good verify is charged against. Cached with the rest, but the
    /// charge itself never is: every verify of a limited key is a write.
    pub(crate) limits: Option<KeyLimits>,
    /// Whose counters: the key's own, or its rotation chain's (every key of
    /// a chain shares one balance).
    pub(crate) charged_to: ApiKeyId,
    /// The identity the key belongs to, with its limits, as read at the
    /// check: a change to it is seen when the cached verdict ends.
    pub(crate) identity: Option<Identity>,
    /// The addresses the key may be used from (none: any).
    pub(crate) allowlist: Option<IpAllowlist>,
}

impl Checked {
    /// The verdict for `caller` (a tenant, or any for the key-authorizer) at
    /// `now`, for a request that needs what `permissions` asks (if anything).
    pub(crate) fn verdict(
        &self,
        caller: Option<&TenantId>,
        now: Timestamp,
        permissions: Option<&PermissionQuery>,
        address: Option<IpAddr>,
    ) -> Verdict {
        let Checked::Found(facts) = self else {
            return Verdict::refused(VerdictCode::NotFound);
        };
        if caller.is_some_and(|tenant| *tenant != facts.key.tenant_id) {
            return Verdict::refused(VerdictCode::NotFound);
        }
        let expired = facts.expires_at.is_some_and(|expiry| expiry.at() <= now);
        let code = match facts.status {
            ApiKeyStatus::Deleted => VerdictCode::Deleted,
            ApiKeyStatus::Expired => VerdictCode::Expired,
            ApiKeyStatus::Active if expired => VerdictCode::Expired,
            ApiKeyStatus::Disabled => VerdictCode::Disabled,
            ApiKeyStatus::Active if !facts.catalog_active => VerdictCode::Disabled,
            ApiKeyStatus::Active
                if IpAllowlist::check(facts.allowlist.as_ref(), address)
                    == AddressCheck::Refused =>
            {
                VerdictCode::AddressNotAllowed
            }
            ApiKeyStatus::Active
                if permissions.is_some_and(|query| !query.allows(&facts.key.permissions)) =>
            {
                VerdictCode::InsufficientPermissions
            }
            ApiKeyStatus::Active => {
                return Verdict {
                    valid: true,
                    code: VerdictCode::Valid,
                    key: Some(facts.key.clone()),
                    remaining: None,
                    reset_at: None,
                    limits: Vec::new(),
                    limited_by: None,
                    would_refuse: (IpAllowlist::check(facts.allowlist.as_ref(), address)
                        == AddressCheck::Reported)
                        .then_some(VerdictCode::AddressNotAllowed),
                };
            }
        };
        Verdict::refused(code)
    }
}
