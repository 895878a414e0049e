//! Who is asking.

use domain::{Author, Role, ServiceKeyId, TenantId, Timestamp, UserId};

/// Who is asking: only ever taken from a verified credential (a token the
/// authorizer checked, a service key it found, or its context), never from
/// the request itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub tenant: TenantId,
    pub user: UserId,
    pub role: Role,
}

/// How a service key's identity names its user, and so the actor of what it
/// does: `service-key:<id>`. A token whose subject starts so is refused
/// (`Authenticator`), so no person can pass for a service key, nor the reverse.
pub const SERVICE_KEY_USER_PREFIX: &str = "service-key:";

impl Identity {
    /// The identity a service key of `tenant` and `role` acts as (`None`
    /// only if its id could not name a user, which a service key id always
    /// can: no panic on a request's path even so).
    pub fn of_service_key(tenant: TenantId, id: &ServiceKeyId, role: Role) -> Option<Self> {
        let user = UserId::parse(&format!("{SERVICE_KEY_USER_PREFIX}{id}")).ok()?;
        Some(Self { tenant, user, role })
    }

    /// This identity as the author of a change made at `at`.
    pub fn author(&self, at: Timestamp) -> Author {
        Author::person(self.user.clone(), self.role, at)
    }

    /// The service key this identity is, if it is one.
    pub fn service_key(&self) -> Option<ServiceKeyId> {
        use domain::PrefixedId;
        let id = self.user.as_str().strip_prefix(SERVICE_KEY_USER_PREFIX)?;
        ServiceKeyId::parse(id).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_key_identity_names_its_key() {
        let id = ServiceKeyId::new();
        let tenant = TenantId::parse("t").expect("valid");
        let identity = Identity::of_service_key(tenant, &id, Role::Verifier).expect("an identity");
        assert_eq!(identity.user.as_str(), format!("service-key:{id}"));
        assert_eq!(identity.service_key(), Some(id));
        let person = Identity {
            user: UserId::parse("u-1").expect("valid"),
            ..identity
        };
        assert_eq!(person.service_key(), None);
    }
}
