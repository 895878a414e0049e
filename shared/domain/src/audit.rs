use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{AuditEventId, InvalidValue, Role, TenantId, Timestamp, UserId};

/// Who made a change: a signed-in user, or one of our own jobs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    User(UserId),
    /// A job of ours, such as `cascade` or `sweep`; shown as `system:<job>`.
    System(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(user) => write!(f, "{user}"),
            Self::System(job) => write!(f, "system:{job}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    ApiKeyCreated,
    ApiKeyDeleted,
    /// An owner or admin suspended the key: it verifies as `DISABLED`.
    ApiKeyDisabled,
    /// A suspended key was made active again.
    ApiKeyEnabled,
    /// The key was replaced by a new one (recorded on the old key); it works
    /// until the grace period ends.
    ApiKeyRotated,
    /// An owner or admin set, changed or removed the key's limits; its
    /// counters started afresh.
    ApiKeyLimitsChanged,
    /// An owner or admin changed the key's permissions, owner or meta (the
    /// detail says what: the permissions added and removed, the new owner).
    ApiKeyUpdated,
    /// GitHub secret scanning reported the key in public code, and it was
    /// disabled (the event's detail says where it was found).
    ApiKeyLeaked,
    /// The sweep recorded that the key passed its expiry.
    ApiKeyExpired,
    /// The sweep removed a key (and its lookup item) past retention; its
    /// audit events stay.
    ApiKeyPurged,
    /// An owner or admin imported a key the team issued before (the detail
    /// names how it was stored).
    ApiKeyImported,
    /// An imported key's first verify replaced the hash it was imported with
    /// by our argon2id.
    ApiKeyRehashed,
    ApplicationCreated,
    ApplicationUpdated,
    ApplicationArchived,
    ArxCreated,
    ArxUpdated,
    ArxDisabled,
    ArxEnabled,
    ArxDeleted,
    /// An owner or admin made a service key (the event records its role).
    ServiceKeyCreated,
    /// An owner or admin revoked a service key: it never works again.
    ServiceKeyRevoked,
    /// GitHub secret scanning reported the service key in public code, and
    /// it was revoked (the detail says where it was found).
    ServiceKeyLeaked,
    /// An owner or admin recorded a customer (an identity) and its limits.
    IdentityCreated,
    /// An owner or admin changed an identity's meta or limits (the detail
    /// says which; new limits restart its counters).
    IdentityUpdated,
    /// An owner or admin deleted an identity that held no live key.
    IdentityDeleted,
    /// An owner or admin made a role for keys (a named set of permissions).
    RoleCreated,
    /// An owner or admin changed a role's permissions (the detail says
    /// which): every key that has it gets them at its next check.
    RoleUpdated,
    /// An owner or admin deleted a role: keys that name it lose what it gave.
    RoleDeleted,
    /// An owner or admin made a namespace of rate limits.
    RateLimitNamespaceCreated,
    /// An owner or admin changed a namespace's limit or how clients fail.
    RateLimitNamespaceUpdated,
    /// An owner or admin deleted a namespace: its checks are refused.
    RateLimitNamespaceDeleted,
    /// An owner or admin gave an identifier or pattern its own limit.
    RateLimitOverrideSet,
    /// An owner or admin removed an override: the namespace's limit applies.
    RateLimitOverrideRemoved,
}

/// Who did what to which object, when. Written in the same transaction as the
/// change it records, so the log and the data never disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub tenant_id: TenantId,
    pub actor: Actor,
    pub action: AuditAction,
    /// The id of the object changed (an API key, service key, application or Arx id).
    pub target_id: String,
    pub at: Timestamp,
    /// The signed-in user's role when they made the change; `None` for our
    /// own jobs (and for events written before roles were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// What else a reader needs, in our words: where a leaked key was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(
        tenant_id: TenantId,
        actor: Actor,
        action: AuditAction,
        target_id: impl fmt::Display,
        at: Timestamp,
    ) -> Self {
        Self {
            id: AuditEventId::new(),
            tenant_id,
            actor,
            action,
            target_id: target_id.to_string(),
            at,
            role: None,
            detail: None,
        }
    }

    /// The same event, with `detail`.
    pub fn with_detail(self, detail: String) -> Self {
        Self {
            detail: Some(detail),
            ..self
        }
    }

    /// The same event, recording the role the user acted in.
    pub fn in_role(self, role: Role) -> Self {
        Self {
            role: Some(role),
            ..self
        }
    }
}

impl AuditAction {
    /// The wire and storage name: `api_key_created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKeyCreated => "api_key_created",
            Self::ApiKeyDeleted => "api_key_deleted",
            Self::ApiKeyDisabled => "api_key_disabled",
            Self::ApiKeyEnabled => "api_key_enabled",
            Self::ApiKeyRotated => "api_key_rotated",
            Self::ApiKeyLimitsChanged => "api_key_limits_changed",
            Self::ApiKeyUpdated => "api_key_updated",
            Self::ApiKeyLeaked => "api_key_leaked",
            Self::ApiKeyExpired => "api_key_expired",
            Self::ApiKeyPurged => "api_key_purged",
            Self::ApiKeyImported => "api_key_imported",
            Self::ApiKeyRehashed => "api_key_rehashed",
            Self::ApplicationCreated => "application_created",
            Self::ApplicationUpdated => "application_updated",
            Self::ApplicationArchived => "application_archived",
            Self::ArxCreated => "arx_created",
            Self::ArxUpdated => "arx_updated",
            Self::ArxDisabled => "arx_disabled",
            Self::ArxEnabled => "arx_enabled",
            Self::ArxDeleted => "arx_deleted",
            Self::ServiceKeyCreated => "service_key_created",
            Self::ServiceKeyRevoked => "service_key_revoked",
            Self::ServiceKeyLeaked => "service_key_leaked",
            Self::IdentityCreated => "identity_created",
            Self::IdentityUpdated => "identity_updated",
            Self::IdentityDeleted => "identity_deleted",
            Self::RoleCreated => "role_created",
            Self::RoleUpdated => "role_updated",
            Self::RoleDeleted => "role_deleted",
            Self::RateLimitNamespaceCreated => "rate_limit_namespace_created",
            Self::RateLimitNamespaceUpdated => "rate_limit_namespace_updated",
            Self::RateLimitNamespaceDeleted => "rate_limit_namespace_deleted",
            Self::RateLimitOverrideSet => "rate_limit_override_set",
            Self::RateLimitOverrideRemoved => "rate_limit_override_removed",
        }
    }

    /// By its wire name. Serde's own names decide, so a new action parses
    /// the moment it exists.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        use serde::de::IntoDeserializer;
        let names: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            raw.into_deserializer();
        Self::deserialize(names).map_err(|_| InvalidValue::NotOneOf {
            allowed: "an audit action such as api_key_created, api_key_deleted, arx_disabled",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [AuditAction; 34] = [
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyDeleted,
        AuditAction::ApiKeyDisabled,
        AuditAction::ApiKeyEnabled,
        AuditAction::ApiKeyRotated,
        AuditAction::ApiKeyLimitsChanged,
        AuditAction::ApiKeyUpdated,
        AuditAction::ApiKeyLeaked,
        AuditAction::ApiKeyExpired,
        AuditAction::ApiKeyPurged,
        AuditAction::ApiKeyImported,
        AuditAction::ApiKeyRehashed,
        AuditAction::ApplicationCreated,
        AuditAction::ApplicationUpdated,
        AuditAction::ApplicationArchived,
        AuditAction::ArxCreated,
        AuditAction::ArxUpdated,
        AuditAction::ArxDisabled,
        AuditAction::ArxEnabled,
        AuditAction::ArxDeleted,
        AuditAction::ServiceKeyCreated,
        AuditAction::ServiceKeyRevoked,
        AuditAction::ServiceKeyLeaked,
        AuditAction::IdentityCreated,
        AuditAction::IdentityUpdated,
        AuditAction::IdentityDeleted,
        AuditAction::RoleCreated,
        AuditAction::RoleUpdated,
        AuditAction::RoleDeleted,
        AuditAction::RateLimitNamespaceCreated,
        AuditAction::RateLimitNamespaceUpdated,
        AuditAction::RateLimitNamespaceDeleted,
        AuditAction::RateLimitOverrideSet,
        AuditAction::RateLimitOverrideRemoved,
    ];

    #[test]
    fn action_names_are_the_serialized_names() {
        for action in ALL {
            let json = serde_json::to_value(action).expect("serializes");
            assert_eq!(json, action.as_str(), "{action:?}");
            assert_eq!(AuditAction::parse(action.as_str()), Ok(action));
        }
        assert!(AuditAction::parse("api_key_stolen").is_err());
    }
}
