use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{AuditEventId, TenantId, Timestamp, UserId};

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
    /// The sweep recorded that the key passed its expiry.
    ApiKeyExpired,
    /// The sweep removed a key (and its lookup item) past retention; its
    /// audit events stay.
    ApiKeyPurged,
    ApplicationCreated,
    ApplicationUpdated,
    ApplicationArchived,
    ArxCreated,
    ArxUpdated,
    ArxDisabled,
    ArxEnabled,
    ArxDeleted,
}

/// Who did what to which object, when. Written in the same transaction as the
/// change it records, so the log and the data never disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub tenant_id: TenantId,
    pub actor: Actor,
    pub action: AuditAction,
    /// The id of the object changed (an API key, application or Arx id).
    pub target_id: String,
    pub at: Timestamp,
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
        }
    }
}
