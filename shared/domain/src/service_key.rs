//! Service keys: our own API's credential for a machine (a team's backend
//! that verifies keys, its automation that manages them). Made by an owner or
//! admin for the tenant, shown once, stored as a hash, with a role of its own
//! that is never more than its creator's and never `platform_owner`.

use serde::{Deserialize, Serialize};

use crate::text::bounded_text;
use crate::{
    Actor, AuditAction, AuditEvent, Author, ExpiresAt, InvalidValue, Role, SecretHash,
    ServiceKeyId, TenantId, Timestamp, UserId,
};

bounded_text!(ServiceKeyName, max = 100, multiline = false);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKeyStatus {
    Active,
    /// Revoked by an owner or admin, or because it leaked: it never works again.
    Revoked,
    /// Past its `expires_at` (never stored: read from the expiry).
    Expired,
}

impl ServiceKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// The stored record of a service key; the secret is never here, only its
/// hash, which no answer returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceKey {
    pub id: ServiceKeyId,
    pub tenant_id: TenantId,
    pub name: ServiceKeyName,
    pub role: Role,
    /// `active` or `revoked` as stored; [`ServiceKey::status_at`] adds `expired`.
    pub status: ServiceKeyStatus,
    pub created_at: Timestamp,
    pub created_by: UserId,
    pub expires_at: Option<ExpiresAt>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<Actor>,
    pub secret_hash: SecretHash,
}

impl ServiceKey {
    /// The status as of `now`.
    pub fn status_at(&self, now: Timestamp) -> ServiceKeyStatus {
        match (self.status, self.expires_at) {
            (ServiceKeyStatus::Active, Some(expiry)) if expiry.at() <= now => {
                ServiceKeyStatus::Expired
            }
            (status, _) => status,
        }
    }

    /// Whether a request carrying this key is let in at `now`.
    pub fn works_at(&self, now: Timestamp) -> bool {
        self.status_at(now) == ServiceKeyStatus::Active
    }

    /// The `created` event of a new key, naming the role it was given.
    pub fn created_event(&self, by: &Author) -> AuditEvent {
        by.event(&self.tenant_id, AuditAction::ServiceKeyCreated, &self.id)
            .with_detail(format!("role {}", self.role))
    }

    /// Revoked by a person, for good (a service key has no disabled state).
    pub fn revoke(&self, by: &Author) -> Result<(ServiceKey, AuditEvent), AlreadyRevoked> {
        if self.status == ServiceKeyStatus::Revoked {
            return Err(AlreadyRevoked);
        }
        let event = by.event(&self.tenant_id, AuditAction::ServiceKeyRevoked, &self.id);
        Ok((self.revoked(by), event))
    }

    /// Revoked because it was found in public code at `location` (a
    /// credential of our own API that was public is never trusted again);
    /// `None` for a key that no longer works either way.
    pub fn revoke_as_leaked(
        &self,
        location: &str,
        by: &Author,
    ) -> Option<(ServiceKey, AuditEvent)> {
        if !self.works_at(by.at()) {
            return None;
        }
        let event = by
            .event(&self.tenant_id, AuditAction::ServiceKeyLeaked, &self.id)
            .with_detail(format!("found in public code at {location}"));
        Some((self.revoked(by), event))
    }

    fn revoked(&self, by: &Author) -> Self {
        Self {
            status: ServiceKeyStatus::Revoked,
            revoked_at: Some(by.at()),
            revoked_by: Some(by.actor().clone()),
            ..self.clone()
        }
    }
}

/// A revocation of a key already revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this service key is already revoked")]
pub struct AlreadyRevoked;

/// Why a role may not be given to a new service key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoleNotGrantable {
    /// The owner role stays with people: a leaked credential that can do
    /// everything, without a person's sign-in and MFA, is the one to avoid.
    #[error("a service key can never have the platform_owner role")]
    Owner,
    #[error("a service key's role may not do more than its creator's role")]
    MoreThanCreator,
}

impl Role {
    /// The roles a service key may have.
    pub const FOR_SERVICE_KEYS: [Role; 3] = [Role::Verifier, Role::Developer, Role::PlatformAdmin];

    /// Whether someone in this role may make a service key of role `granted`:
    /// never the owner role, and never one that may do what this role may not
    /// (judged on the permission table, operation by operation: a developer
    /// may not verify, so a developer could not grant `verifier` either).
    pub fn may_grant(self, granted: Role) -> Result<(), RoleNotGrantable> {
        if granted == Role::PlatformOwner {
            return Err(RoleNotGrantable::Owner);
        }
        let within = crate::Operation::ALL
            .into_iter()
            .all(|operation| !granted.may(operation) || self.may(operation));
        if within {
            Ok(())
        } else {
            Err(RoleNotGrantable::MoreThanCreator)
        }
    }

    /// A service key's role by name: one of [`Role::FOR_SERVICE_KEYS`].
    pub fn parse_for_service_key(raw: &str) -> Result<Role, InvalidValue> {
        Role::FOR_SERVICE_KEYS
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or(InvalidValue::NotOneOf {
                allowed: "verifier, developer, platform_admin",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_only_what_they_may_do_and_never_owner() {
        use Role::*;
        for creator in [PlatformOwner, PlatformAdmin] {
            for granted in Role::FOR_SERVICE_KEYS {
                assert_eq!(creator.may_grant(granted), Ok(()), "{creator} {granted}");
            }
            assert_eq!(
                creator.may_grant(PlatformOwner),
                Err(RoleNotGrantable::Owner)
            );
        }
        // A developer may not verify, so it may not grant verifier, nor admin.
        assert_eq!(
            Developer.may_grant(Verifier),
            Err(RoleNotGrantable::MoreThanCreator)
        );
        assert_eq!(Developer.may_grant(Developer), Ok(()));
        assert_eq!(
            Developer.may_grant(PlatformAdmin),
            Err(RoleNotGrantable::MoreThanCreator)
        );
        assert!(Role::parse_for_service_key("platform_owner").is_err());
        assert_eq!(Role::parse_for_service_key("verifier"), Ok(Verifier));
    }

    #[test]
    fn an_expired_or_revoked_key_does_not_work() {
        let now = Timestamp::now();
        let key = ServiceKey {
            id: ServiceKeyId::new(),
            tenant_id: TenantId::parse("t").expect("valid"),
            name: ServiceKeyName::parse("ci").expect("valid"),
            role: Role::Verifier,
            status: ServiceKeyStatus::Active,
            created_at: now,
            created_by: UserId::parse("u").expect("valid"),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
            secret_hash: SecretHash::parse(
                "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            )
            .expect("PHC"),
        };
        assert!(key.works_at(now));
        let ending = ExpiresAt::ending(now);
        let expired = ServiceKey {
            expires_at: Some(ending),
            ..key.clone()
        };
        assert_eq!(expired.status_at(now), ServiceKeyStatus::Expired);
        let by = Author::person(key.created_by.clone(), Role::PlatformAdmin, now);
        let (revoked, event) = key.revoke(&by).expect("active");
        assert_eq!(event.action, AuditAction::ServiceKeyRevoked);
        assert_eq!(revoked.status_at(now), ServiceKeyStatus::Revoked);
        assert_eq!(
            revoked.revoked_by,
            Some(Actor::User(key.created_by.clone()))
        );
        assert!(!revoked.works_at(now));
        assert_eq!(revoked.revoke(&by), Err(AlreadyRevoked));
        assert!(revoked.revoke_as_leaked("https://x", &by).is_none());
        let (_, leaked) = key.revoke_as_leaked("https://x", &by).expect("it worked");
        assert_eq!(
            leaked.detail.as_deref(),
            Some("found in public code at https://x")
        );
    }
}
