//! What may become of an API key. Each change is a method of [`ApiKey`]
//! that takes the record as read and returns its next revision with the
//! audit events that record it ([`KeyChange`]), or why it may not happen
//! ([`Refusal`], which the HTTP layer turns into a 409 in one place).
//!
//! The handlers, the sweep, the cascade and the leak response all change
//! keys through these methods; a store only writes what it is given, over
//! the revision it was computed from, so of two changes decided on one read
//! one is written and the other decided again ([`crate::Revision`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    Actor, ApiKey, ApiKeyId, ApiKeyName, ApiKeyStatus, Application, Arx, AuditAction, AuditEvent,
    DisabledReason, ExpiresAt, ExternalId, InvalidValue, IpAllowlist, KeyLimits, KeyMeta, KeyRoles,
    Permissions, Role, SecretHash, TenantId, Timestamp, UserId,
};

/// A key record's revision: one more with every write of it. A change is
/// written only over the revision it was computed from. Keys stored before
/// revisions read as 0.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Revision(u64);

impl Revision {
    /// The revision a store read.
    pub fn new(number: u64) -> Self {
        Self(number)
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The revision a write of this one makes (wrapping: only equality matters).
    pub fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }
}

/// How long a rotated key keeps working beside its replacement: from none
/// (it stops at once) to seven days, a day unless asked otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracePeriod(time::Duration);

impl GracePeriod {
    pub const DEFAULT_SECONDS: i64 = 24 * 60 * 60;
    pub const MAX_SECONDS: i64 = 7 * 24 * 60 * 60;

    pub fn seconds(seconds: i128) -> Result<Self, InvalidValue> {
        i64::try_from(seconds)
            .ok()
            .filter(|seconds| (0..=Self::MAX_SECONDS).contains(seconds))
            .map(|seconds| Self(time::Duration::seconds(seconds)))
            .ok_or(InvalidValue::Malformed(
                "must be a whole number of seconds from 0 to 604800 (7 days)",
            ))
    }

    pub fn as_seconds(self) -> i64 {
        self.0.whole_seconds()
    }
}

impl Default for GracePeriod {
    fn default() -> Self {
        Self(time::Duration::seconds(Self::DEFAULT_SECONDS))
    }
}

/// Who makes a change, and when: a person in a role, or one of our jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    actor: Actor,
    role: Option<Role>,
    at: Timestamp,
}

impl Author {
    pub fn person(user: UserId, role: Role, at: Timestamp) -> Self {
        Self {
            actor: Actor::User(user),
            role: Some(role),
            at,
        }
    }

    /// One of our jobs (`sweep`, `cascade`, `leak-report`).
    pub fn job(name: &str, at: Timestamp) -> Self {
        Self {
            actor: Actor::System(name.to_owned()),
            role: None,
            at,
        }
    }

    pub fn at(&self) -> Timestamp {
        self.at
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The audit event of this author doing `action` to `target`.
    pub fn event(
        &self,
        tenant: &TenantId,
        action: AuditAction,
        target: impl fmt::Display,
    ) -> AuditEvent {
        let event = AuditEvent::new(tenant.clone(), self.actor.clone(), action, target, self.at);
        match self.role {
            Some(role) => event.in_role(role),
            None => event,
        }
    }
}

/// What a change does to the counters a key is charged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counters {
    /// Left as they stand (the limits did not change).
    Kept,
    /// Started afresh from the new limits (none when the key has none).
    Restarted,
}

/// A key's change, decided: the record to write (the next revision of the
/// one read), what happens to its counters, and the audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub next: ApiKey,
    pub counters: Counters,
    pub audit: Vec<AuditEvent>,
}

/// A rotation, decided: the old key's next revision (rotated, ending at its
/// grace period), its replacement (new), and one audit event on each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub rotated: ApiKey,
    pub replacement: ApiKey,
    pub audit: [AuditEvent; 2],
}

/// Why a key may not change so. Each says what happened in words a person
/// reads; [`Refusal::code`] is the API's name for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A delete whose typed id is not exactly the key's.
    #[error("the typed id does not match the key's")]
    ConfirmationMismatch,
    #[error("this API key is already deleted")]
    AlreadyDeleted,
    #[error("this API key was rotated: rotate the key that replaced it")]
    AlreadyRotated,
    /// A rotated key's limits: it is charged against its replacement's.
    #[error(
        "this API key was rotated: it is charged against the limits of the key that \
         replaced it, so change those"
    )]
    LimitsOfRotatedKey,
    /// Its status does not allow it: `cannot` says what (`"be rotated"`).
    #[error("the API key is {} and cannot {cannot}", status.as_str())]
    Status {
        status: ApiKeyStatus,
        cannot: &'static str,
    },
    /// For the sweep: an active key not yet past its expiry.
    #[error("the API key has not reached its expiry")]
    NotDue,
}

impl Refusal {
    /// The API's code for it (a 409, but for the confirmation's 422).
    pub fn code(&self) -> &'static str {
        match self {
            Self::ConfirmationMismatch => "confirmation_mismatch",
            Self::AlreadyDeleted => "already_deleted",
            Self::AlreadyRotated | Self::LimitsOfRotatedKey => "already_rotated",
            Self::Status { .. } | Self::NotDue => "api_key_status",
        }
    }
}

/// What a new key is issued with besides its settings: its id and secret's
/// hash (the secret itself is never here), where it belongs, who made it.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    pub id: ApiKeyId,
    pub secret_hash: SecretHash,
    pub application: &'a Application,
    pub arx: &'a Arx,
    pub created_by: UserId,
}

/// What a person sets on a new key.
#[derive(Debug, Clone, Default)]
pub struct KeySettings {
    pub name: Option<ApiKeyName>,
    pub expires_at: Option<ExpiresAt>,
    pub limits: Option<KeyLimits>,
    pub permissions: Permissions,
    pub roles: KeyRoles,
    pub allowlist: Option<IpAllowlist>,
    pub external_id: Option<ExternalId>,
    pub meta: Option<KeyMeta>,
}

/// What a rotation may give the new key instead of the old key's.
#[derive(Debug, Clone, Default)]
pub struct RotateWith {
    pub permissions: Option<Permissions>,
    /// `Some(None)`: the new key has no allowlist.
    pub allowlist: Option<Option<IpAllowlist>>,
}

/// A `PATCH` of a key: each field `None` when not given (left as it is),
/// `Some(None)` to remove it, `Some(Some(value))` to set it.
#[derive(Debug, Clone, Default)]
pub struct KeyEdit {
    pub limits: Option<Option<KeyLimits>>,
    pub permissions: Option<Option<Permissions>>,
    pub roles: Option<Option<KeyRoles>>,
    pub allowlist: Option<Option<IpAllowlist>>,
    pub external_id: Option<Option<ExternalId>>,
    pub meta: Option<Option<KeyMeta>>,
}

impl KeyEdit {
    pub fn is_empty(&self) -> bool {
        self.limits.is_none()
            && self.permissions.is_none()
            && self.roles.is_none()
            && self.allowlist.is_none()
            && self.external_id.is_none()
            && self.meta.is_none()
    }
}

impl ApiKey {
    /// A new key, active, of revision 0, with its `created` event. Unnamed,
    /// it is called after its application and Arx ("Payments · Prod Sydney").
    pub fn mint(
        tenant: &TenantId,
        issue: Issue<'_>,
        settings: KeySettings,
        by: &Author,
    ) -> (ApiKey, AuditEvent) {
        let name = settings
            .name
            .unwrap_or_else(|| ApiKeyName::after(issue.application, issue.arx));
        let key = ApiKey {
            id: issue.id,
            tenant_id: tenant.clone(),
            name,
            application_id: issue.application.id.clone(),
            application_name: issue.application.name.clone(),
            arx_id: issue.arx.id.clone(),
            arx_name: issue.arx.name.clone(),
            arx_purpose: issue.arx.purpose,
            status: ApiKeyStatus::Active,
            created_at: by.at,
            created_by: issue.created_by,
            expires_at: settings.expires_at,
            deleted_at: None,
            deleted_by: None,
            last_used_at: None,
            rotated_from: None,
            rotated_to: None,
            expiry_notice_sent_at: None,
            limits: settings.limits.and_then(KeyLimits::or_none),
            balance: None,
            disabled_reason: None,
            permissions: settings.permissions,
            roles: settings.roles,
            allowlist: settings.allowlist,
            external_id: settings.external_id,
            meta: settings.meta,
            secret_hash: issue.secret_hash,
            locator: None,
            revision: Revision::default(),
        };
        let event = by.event(tenant, AuditAction::ApiKeyCreated, &key.id);
        (key, event)
    }

    /// Refuses a delete whose typed id is not exactly this key's: the user's
    /// proof they mean this key (a prefix, other case or spaces are not).
    pub fn confirms_deletion(&self, typed: Option<&str>) -> Result<(), Refusal> {
        match typed {
            Some(typed) if typed == self.id.as_str() => Ok(()),
            _ => Err(Refusal::ConfirmationMismatch),
        }
    }

    /// Deleted, at and by `by`, whatever it was but deleted.
    pub fn delete(&self, by: &Author) -> Result<KeyChange, Refusal> {
        if self.status == ApiKeyStatus::Deleted {
            return Err(Refusal::AlreadyDeleted);
        }
        let next = ApiKey {
            status: ApiKeyStatus::Deleted,
            deleted_at: Some(by.at),
            deleted_by: Some(by.actor.clone()),
            ..self.clone()
        };
        Ok(self.becomes(next, by, AuditAction::ApiKeyDeleted, None))
    }

    /// Suspended by a person: it verifies as `DISABLED` until enabled.
    pub fn disable(&self, by: &Author) -> Result<KeyChange, Refusal> {
        self.set_status(ApiKeyStatus::Active, ApiKeyStatus::Disabled, by)
    }

    /// Resumed by a person, forgetting why it was disabled (a leak, say).
    pub fn enable(&self, by: &Author) -> Result<KeyChange, Refusal> {
        self.set_status(ApiKeyStatus::Disabled, ApiKeyStatus::Active, by)
    }

    fn set_status(
        &self,
        from: ApiKeyStatus,
        to: ApiKeyStatus,
        by: &Author,
    ) -> Result<KeyChange, Refusal> {
        // `status_at`: a key past its expiry is expired before the sweep says so.
        let status = self.status_at(by.at);
        if status != from {
            return Err(Refusal::Status {
                status,
                cannot: match to {
                    ApiKeyStatus::Active => "become active",
                    _ => "become disabled",
                },
            });
        }
        let action = match to {
            ApiKeyStatus::Active => AuditAction::ApiKeyEnabled,
            _ => AuditAction::ApiKeyDisabled,
        };
        let next = ApiKey {
            status: to,
            disabled_reason: None,
            ..self.clone()
        };
        Ok(self.becomes(next, by, action, None))
    }

    /// Disabled because it was found in public code at `location` (the
    /// leak response); a key that no longer works is left as it is.
    pub fn mark_leaked(&self, location: &str, by: &Author) -> Result<KeyChange, Refusal> {
        let status = self.status_at(by.at);
        if status != ApiKeyStatus::Active {
            return Err(Refusal::Status {
                status,
                cannot: "be disabled as leaked",
            });
        }
        let next = ApiKey {
            status: ApiKeyStatus::Disabled,
            disabled_reason: Some(DisabledReason::Leaked),
            ..self.clone()
        };
        let detail = format!("found in public code at {location}");
        Ok(self.becomes(next, by, AuditAction::ApiKeyLeaked, Some(detail)))
    }

    /// Recorded expired by the sweep, once past its expiry.
    pub fn expire(&self, by: &Author) -> Result<KeyChange, Refusal> {
        if self.status != ApiKeyStatus::Active {
            return Err(Refusal::Status {
                status: self.status,
                cannot: "expire",
            });
        }
        if self.status_at(by.at) != ApiKeyStatus::Expired {
            return Err(Refusal::NotDue);
        }
        let next = ApiKey {
            status: ApiKeyStatus::Expired,
            disabled_reason: None,
            ..self.clone()
        };
        Ok(self.becomes(next, by, AuditAction::ApiKeyExpired, None))
    }

    /// The event of the sweep removing an ended key (deleted or expired);
    /// the store removes the record, its lookup item and the counters only
    /// it charged.
    pub fn purge(&self, by: &Author) -> Result<AuditEvent, Refusal> {
        match self.status {
            ApiKeyStatus::Deleted | ApiKeyStatus::Expired => {
                Ok(by.event(&self.tenant_id, AuditAction::ApiKeyPurged, &self.id))
            }
            status => Err(Refusal::Status {
                status,
                cannot: "be purged",
            }),
        }
    }

    /// What a `PATCH` asks, if it changes anything (`None`: it already is so).
    /// New limits start the counters afresh (a new credit balance, a new rate
    /// window). Every key of a rotation chain is charged against the
    /// newest's limits, so a rotated key's limits are its replacement's to
    /// change; its permissions, owner and meta are its own. A key that has
    /// ended keeps what it had.
    pub fn edit(&self, edit: &KeyEdit, by: &Author) -> Result<Option<KeyChange>, Refusal> {
        let status = self.status_at(by.at);
        if !matches!(status, ApiKeyStatus::Active | ApiKeyStatus::Disabled) {
            return Err(Refusal::Status {
                status,
                cannot: "change",
            });
        }
        if edit.limits.is_some() && self.rotated_to.is_some() {
            return Err(Refusal::LimitsOfRotatedKey);
        }
        let next = ApiKey {
            limits: edit
                .limits
                .map_or(self.limits, |limits| limits.and_then(KeyLimits::or_none)),
            permissions: edit
                .permissions
                .clone()
                .map_or_else(|| self.permissions.clone(), Option::unwrap_or_default),
            roles: edit
                .roles
                .clone()
                .map_or_else(|| self.roles.clone(), Option::unwrap_or_default),
            allowlist: edit
                .allowlist
                .clone()
                .unwrap_or_else(|| self.allowlist.clone()),
            external_id: edit
                .external_id
                .clone()
                .unwrap_or_else(|| self.external_id.clone()),
            meta: edit.meta.clone().unwrap_or_else(|| self.meta.clone()),
            revision: self.revision.next(),
            ..self.clone()
        };
        let mut audit = Vec::new();
        if edit.limits.is_some() {
            audit.push(
                by.event(&self.tenant_id, AuditAction::ApiKeyLimitsChanged, &self.id)
                    .with_detail(KeyLimits::change_detail(self.limits, next.limits)),
            );
        }
        if let Some(detail) = what_changed(self, &next) {
            audit.push(
                by.event(&self.tenant_id, AuditAction::ApiKeyUpdated, &self.id)
                    .with_detail(detail),
            );
        }
        if audit.is_empty() {
            return Ok(None);
        }
        let counters = match edit.limits {
            Some(_) => Counters::Restarted,
            None => Counters::Kept,
        };
        Ok(Some(KeyChange {
            next,
            counters,
            audit,
        }))
    }

    /// Replaced by a new key for the same application and Arx (`issue`),
    /// with the same name, owner, meta and expiry policy (the same lifetime,
    /// from now), and its permissions unless others are given. This key works
    /// on until the grace period ends (or its own expiry, if sooner). The
    /// whole chain shares one balance: the replacement is charged against
    /// the counters this key was, which go on as they stand (a rotation is
    /// no way to a fresh balance).
    pub fn rotate(
        &self,
        issue: Issue<'_>,
        grace: GracePeriod,
        with: RotateWith,
        by: &Author,
    ) -> Result<Rotation, Refusal> {
        let now = by.at;
        self.rotation_allowed(now)?;
        let settings = KeySettings {
            name: Some(self.name.clone()),
            expires_at: self
                .expires_at
                .map(|end| end.same_lifetime(self.created_at, now)),
            limits: self.limits,
            permissions: with.permissions.unwrap_or_else(|| self.permissions.clone()),
            roles: self.roles.clone(),
            allowlist: with.allowlist.unwrap_or_else(|| self.allowlist.clone()),
            external_id: self.external_id.clone(),
            meta: self.meta.clone(),
        };
        let (mut replacement, _) = ApiKey::mint(&self.tenant_id, issue, settings, by);
        let balance = self.balance_key().clone();
        replacement.rotated_from = Some(self.id.clone());
        replacement.balance = Some(balance.clone());
        let grace_end = now.plus(grace.0);
        let end = self
            .expires_at
            .map_or(grace_end, |expiry| expiry.at().min(grace_end));
        let rotated = ApiKey {
            expires_at: Some(ExpiresAt::ending(end)),
            rotated_to: Some(replacement.id.clone()),
            balance: Some(balance),
            revision: self.revision.next(),
            ..self.clone()
        };
        // One event on each key, so each one's history says where it went
        // or came from (the audit log is searched by object id).
        let audit = [
            by.event(&self.tenant_id, AuditAction::ApiKeyRotated, &self.id)
                .with_detail(format!("replaced by {}", replacement.id)),
            by.event(&self.tenant_id, AuditAction::ApiKeyCreated, &replacement.id)
                .with_detail(format!("by rotation, replacing {}", self.id)),
        ];
        Ok(Rotation {
            rotated,
            replacement,
            audit,
        })
    }

    /// Whether this key may be rotated at `at` (before a replacement's
    /// secret is made and hashed): once, while it is active or disabled.
    pub fn rotation_allowed(&self, at: Timestamp) -> Result<(), Refusal> {
        if self.rotated_to.is_some() {
            return Err(Refusal::AlreadyRotated);
        }
        let status = self.status_at(at);
        if !matches!(status, ApiKeyStatus::Active | ApiKeyStatus::Disabled) {
            return Err(Refusal::Status {
                status,
                cannot: "be rotated",
            });
        }
        Ok(())
    }

    /// Whether a new key brings counters of its own: a rotation's
    /// replacement charges its chain's, which go on as they are.
    pub fn starts_counters(&self) -> bool {
        self.balance_key() == &self.id
    }

    /// `next` as this key's next revision, with one `action` event.
    fn becomes(
        &self,
        next: ApiKey,
        by: &Author,
        action: AuditAction,
        detail: Option<String>,
    ) -> KeyChange {
        let event = by.event(&self.tenant_id, action, &self.id);
        let event = match detail {
            Some(detail) => event.with_detail(detail),
            None => event,
        };
        KeyChange {
            next: ApiKey {
                revision: self.revision.next(),
                ..next
            },
            counters: Counters::Kept,
            audit: vec![event],
        }
    }
}

mod detail;
mod import;
use detail::what_changed;

#[cfg(test)]
mod tests;
