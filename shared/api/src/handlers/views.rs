//! What records look like on the wire. Built from domain records field by
//! field, so a field added to the domain (a hash, say) is not exposed by accident.

use domain::{
    Actor, ApiKey, ApiKeyCounts, Application, Arx, AuditEvent, Balance, Cursor, Identity,
    IdentityCounter, Page, PrefixedId, ServiceKey, Timestamp,
};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ApiKeyView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub application_id: &'a str,
    pub application_name: &'a str,
    pub arx_id: &'a str,
    pub arx_name: &'a str,
    pub arx_purpose: domain::Purpose,
    pub status: domain::ApiKeyStatus,
    pub created_at: Timestamp,
    pub created_by: &'a str,
    pub expires_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub deleted_by: Option<String>,
    pub last_used_at: Option<Timestamp>,
    pub rotated_from: Option<&'a str>,
    pub rotated_to: Option<&'a str>,
    /// Active and within the notice period of its expiry.
    pub expires_soon: bool,
    /// Why the key is disabled when a person did not choose it (`leaked`).
    pub disabled_reason: Option<&'static str>,
    /// The limits as last set (null: none).
    pub limits: Option<domain::KeyLimits>,
    /// What the key may do, in order (empty: nothing asked of it passes a
    /// permission query).
    pub permissions: &'a domain::Permissions,
    /// The tenant's roles the key has (their permissions count as its own).
    pub roles: &'a domain::KeyRoles,
    /// The addresses it may be used from (null: any).
    pub allowlist: Option<&'a domain::IpAllowlist>,
    /// The owner's id in the customer's own system (null: none).
    pub external_id: Option<&'a str>,
    /// The customer's own object (null: none).
    pub meta: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Imported (`POST /v1/api-keys/import`): a key the team issued before,
    /// found by its digest or prefix. Absent for keys made here.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
    /// What is left of them now: only where one key is read or changed
    /// (the counters are an item of their own, not read for a list). The
    /// field is `usage` in the published API; we call it the balance.
    #[serde(rename = "usage", skip_serializing_if = "Option::is_none")]
    pub balance: Option<BalanceView>,
}

/// A limited key's counters as they stand.
#[derive(Debug, Serialize)]
pub struct BalanceView {
    pub rate_remaining: Option<u64>,
    pub rate_resets_at: Option<Timestamp>,
    pub credits_remaining: Option<u64>,
    pub refill_at: Option<Timestamp>,
}

impl BalanceView {
    pub fn at(balance: &domain::Balance, now: Timestamp) -> Self {
        let current = balance.at(now);
        Self {
            rate_remaining: current.rate.map(|rate| rate.left),
            rate_resets_at: current
                .rate
                .map(|rate| Timestamp::from_unix_seconds(rate.resets_at)),
            credits_remaining: current.credits.map(|credits| credits.left),
            refill_at: current
                .credits
                .and_then(|credits| credits.refill_at)
                .map(Timestamp::from_unix_seconds),
        }
    }
}

impl<'a> ApiKeyView<'a> {
    /// The key as a client sees it at `now`: past its expiry it shows as
    /// expired, whether or not the sweep has recorded that yet.
    pub fn at(key: &'a ApiKey, now: Timestamp, notice: domain::NoticePeriod) -> Self {
        Self {
            id: key.id.as_str(),
            name: key.name.as_str(),
            application_id: key.application_id.as_str(),
            application_name: key.application_name.as_str(),
            arx_id: key.arx_id.as_str(),
            arx_name: key.arx_name.as_str(),
            arx_purpose: key.arx_purpose,
            status: key.status_at(now),
            created_at: key.created_at,
            created_by: key.created_by.as_str(),
            expires_at: key.expires_at.map(|e| e.at()),
            deleted_at: key.deleted_at,
            deleted_by: key.deleted_by.as_ref().map(ToString::to_string),
            last_used_at: key.last_used_at,
            rotated_from: key.rotated_from.as_ref().map(|id| id.as_str()),
            rotated_to: key.rotated_to.as_ref().map(|id| id.as_str()),
            expires_soon: notice.covers(key, now),
            disabled_reason: key.disabled_reason.map(domain::DisabledReason::as_str),
            limits: key.limits,
            permissions: &key.permissions,
            roles: &key.roles,
            allowlist: key.allowlist.as_ref(),
            external_id: key.external_id.as_ref().map(domain::ExternalId::as_str),
            meta: key.meta.as_ref().map(domain::KeyMeta::as_object),
            imported: key.locator.is_some(),
            balance: None,
        }
    }

    /// The same view, with what is left of the key's limits.
    pub fn with_balance(self, balance: Option<&domain::Balance>, now: Timestamp) -> Self {
        Self {
            balance: balance.map(|balance| BalanceView::at(balance, now)),
            ..self
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ApplicationView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub technology: domain::Technology,
    pub cors_origins: Vec<&'a str>,
    pub status: domain::ApplicationStatus,
    pub created_at: Timestamp,
    pub created_by: &'a str,
    pub updated_at: Timestamp,
}

impl<'a> From<&'a Application> for ApplicationView<'a> {
    fn from(app: &'a Application) -> Self {
        Self {
            id: app.id.as_str(),
            name: app.name.as_str(),
            technology: app.technology,
            cors_origins: app.cors_origins.iter().map(|o| o.as_str()).collect(),
            status: app.status,
            created_at: app.created_at,
            created_by: app.created_by.as_str(),
            updated_at: app.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ArxView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub purpose: domain::Purpose,
    pub provider: &'a str,
    pub region: &'a str,
    pub encryption_method: &'a str,
    pub rotation_cycle: &'a str,
    pub plan: &'a str,
    pub arx_url: &'a str,
    pub status: domain::ArxStatus,
    pub created_at: Timestamp,
    pub created_by: &'a str,
    pub updated_at: Timestamp,
}

impl<'a> From<&'a Arx> for ArxView<'a> {
    fn from(arx: &'a Arx) -> Self {
        Self {
            id: arx.id.as_str(),
            name: arx.name.as_str(),
            purpose: arx.purpose,
            provider: arx.provider.as_str(),
            region: arx.region.as_str(),
            encryption_method: arx.encryption_method.as_str(),
            rotation_cycle: arx.rotation_cycle.as_str(),
            plan: arx.plan.as_str(),
            arx_url: &arx.arx_url,
            status: arx.status,
            created_at: arx.created_at,
            created_by: arx.created_by.as_str(),
            updated_at: arx.updated_at,
        }
    }
}

/// One audit event: who (a user and the role they acted in, or one of our
/// jobs), what, to which object, when.
#[derive(Debug, Serialize)]
pub struct AuditEventView<'a> {
    pub id: &'a str,
    pub at: Timestamp,
    pub action: &'static str,
    pub object_id: &'a str,
    pub actor: ActorView<'a>,
    /// What else a reader needs: where a leaked key was found
    /// (`api_key_leaked`), what an update changed (`api_key_updated`).
    pub detail: Option<&'a str>,
}

/// A service key as owners and admins see it: never its secret or hash.
#[derive(Debug, Serialize)]
pub struct ServiceKeyView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub role: &'static str,
    /// `active`, `revoked`, or `expired` once past `expires_at`.
    pub status: &'static str,
    pub created_at: Timestamp,
    pub created_by: &'a str,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
}

impl<'a> ServiceKeyView<'a> {
    pub fn at(key: &'a ServiceKey, now: Timestamp) -> Self {
        Self {
            id: key.id.as_str(),
            name: key.name.as_str(),
            role: key.role.as_str(),
            status: key.status_at(now).as_str(),
            created_at: key.created_at,
            created_by: key.created_by.as_str(),
            expires_at: key.expires_at.map(|e| e.at()),
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
            revoked_by: key.revoked_by.as_ref().map(ToString::to_string),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ActorView<'a> {
    /// `user`, `service_key` (its id is `service-key:<id>`) or `system` (a
    /// job: `cascade`, `sweep`, `seed`).
    pub kind: &'static str,
    pub id: &'a str,
    pub role: Option<&'static str>,
}

impl<'a> From<&'a AuditEvent> for AuditEventView<'a> {
    fn from(event: &'a AuditEvent) -> Self {
        let actor = match &event.actor {
            Actor::User(user) => ActorView {
                kind: if user.as_str().starts_with(auth::SERVICE_KEY_USER_PREFIX) {
                    "service_key"
                } else {
                    "user"
                },
                id: user.as_str(),
                role: event.role.map(domain::Role::as_str),
            },
            Actor::System(job) => ActorView {
                kind: "system",
                id: job,
                role: None,
            },
        };
        Self {
            id: event.id.as_str(),
            at: event.at,
            action: event.action.as_str(),
            object_id: &event.target_id,
            detail: event.detail.as_deref(),
            actor,
        }
    }
}

/// A page on the wire: `{items, next_cursor}` (and `counts` for API keys).
#[derive(Debug, Serialize)]
pub struct PageView<V> {
    pub items: Vec<V>,
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<ApiKeyCounts>,
}

impl<V> PageView<V> {
    pub fn of<'a, T: 'a, Id: PrefixedId>(page: &'a Page<T, Id>, view: impl Fn(&'a T) -> V) -> Self {
        Self {
            items: page.items.iter().map(view).collect(),
            next_cursor: page.next.as_ref().map(Cursor::encode),
            counts: None,
        }
    }
}

/// An identity on the wire; where one identity is read or changed, what
/// each of its limits has left.
#[derive(Debug, Serialize)]
pub struct IdentityView<'a> {
    pub id: &'a str,
    pub external_id: &'a str,
    pub meta: Option<&'a serde_json::Map<String, serde_json::Value>>,
    pub limits: &'a domain::IdentityLimits,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits_left: Option<Vec<LimitLeftView>>,
}

/// One of an identity's limits as it stands.
#[derive(Debug, Serialize)]
pub struct LimitLeftView {
    /// `credits` or `rate`.
    pub kind: &'static str,
    /// A rate limit's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub remaining: u64,
    /// When `remaining` next grows (null: never).
    pub reset_at: Option<Timestamp>,
}

impl<'a> IdentityView<'a> {
    pub fn of(identity: &'a Identity) -> Self {
        Self {
            id: identity.id.as_str(),
            external_id: identity.external_id.as_str(),
            meta: identity.meta.as_ref().map(domain::KeyMeta::as_object),
            limits: &identity.limits,
            created_at: identity.created_at,
            updated_at: identity.updated_at,
            limits_left: None,
        }
    }

    /// With each counter's standing at `now` (a counter not stored is left out).
    pub fn with_balances(
        self,
        balances: &[(IdentityCounter, Option<Balance>)],
        now: Timestamp,
    ) -> Self {
        let left = balances
            .iter()
            .filter_map(|(counter, balance)| {
                let current = balance.as_ref()?.at(now);
                Some(match counter {
                    IdentityCounter::Credits => {
                        let credits = current.credits?;
                        LimitLeftView {
                            kind: "credits",
                            name: None,
                            remaining: credits.left,
                            reset_at: credits.refill_at.map(Timestamp::from_unix_seconds),
                        }
                    }
                    IdentityCounter::Rate(name) => {
                        let rate = current.rate?;
                        LimitLeftView {
                            kind: "rate",
                            name: Some(name.to_string()),
                            remaining: rate.left,
                            reset_at: Some(Timestamp::from_unix_seconds(rate.resets_at)),
                        }
                    }
                })
            })
            .collect();
        Self {
            limits_left: Some(left),
            ..self
        }
    }
}

/// A role for keys on the wire.
#[derive(Debug, Serialize)]
pub struct RoleView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub permissions: &'a domain::Permissions,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<'a> RoleView<'a> {
    pub fn of(role: &'a domain::KeyRole) -> Self {
        Self {
            id: role.id.as_str(),
            name: role.name.as_str(),
            permissions: &role.permissions,
            created_at: role.created_at,
            updated_at: role.updated_at,
        }
    }
}

/// A rate-limit namespace on the wire: its limit as `limit` requests per
/// `duration` seconds, and how many overrides it holds (listed apart).
#[derive(Debug, Serialize)]
pub struct NamespaceView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub limit: u64,
    pub duration: u64,
    pub fail_open: bool,
    pub override_count: usize,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<'a> NamespaceView<'a> {
    pub fn of(namespace: &'a domain::RateLimitNamespace) -> Self {
        Self {
            id: namespace.id.as_str(),
            name: namespace.name.as_str(),
            limit: namespace.limit.requests.get(),
            duration: namespace.limit.per_seconds.get(),
            fail_open: namespace.fail_open,
            override_count: namespace.overrides.len(),
            created_at: namespace.created_at,
            updated_at: namespace.updated_at,
        }
    }
}

/// One override of a namespace on the wire.
#[derive(Debug, Serialize)]
pub struct OverrideView<'a> {
    pub identifier: &'a str,
    pub limit: u64,
    pub duration: u64,
    pub updated_at: Timestamp,
}

/// A namespace's overrides, all of them (at most 500), by identifier.
#[derive(Debug, Serialize)]
pub struct OverridesView<'a> {
    pub namespace_id: &'a str,
    pub items: Vec<OverrideView<'a>>,
}

impl<'a> OverridesView<'a> {
    pub fn of(namespace: &'a domain::RateLimitNamespace) -> Self {
        let items = namespace
            .overrides
            .iter()
            .map(|o| OverrideView {
                identifier: o.identifier.as_str(),
                limit: o.limit.requests.get(),
                duration: o.limit.per_seconds.get(),
                updated_at: o.updated_at,
            })
            .collect();
        Self {
            namespace_id: namespace.id.as_str(),
            items,
        }
    }
}
