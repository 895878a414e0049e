//! Roles for keys: a tenant's named sets of permissions (`reader`,
//! `billing-admin`). A key carries permissions of its own and the names of
//! roles; verify grants it both, reading the roles at each uncached check,
//! so a change to a role reaches every key that has it.
//!
//! Not the people's roles ([`crate::Role`]: who may manage keys): these
//! say what a key may do in the team's own API.

use serde::{Deserialize, Serialize};

use crate::{
    AuditAction, AuditEvent, Author, InvalidValue, Permissions, Revision, RoleId, RoleName,
    TenantId, Timestamp,
};

/// The roles a key carries: at most [`KeyRoles::MAX`] names, each once, in
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<RoleName>", into = "Vec<RoleName>")]
pub struct KeyRoles(std::collections::BTreeSet<RoleName>);

impl KeyRoles {
    pub const MAX: usize = 10;

    pub fn new(names: impl IntoIterator<Item = RoleName>) -> Result<Self, InvalidValue> {
        let set: std::collections::BTreeSet<RoleName> = names.into_iter().collect();
        if set.len() > Self::MAX {
            return Err(InvalidValue::Malformed("must hold at most 10 role names"));
        }
        Ok(Self(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &RoleName> {
        self.0.iter()
    }

    /// What `next` adds to these and what it takes away, in order.
    pub fn changes_to<'a>(&'a self, next: &'a KeyRoles) -> (Vec<&'a RoleName>, Vec<&'a RoleName>) {
        (
            next.0.difference(&self.0).collect(),
            self.0.difference(&next.0).collect(),
        )
    }
}

/// As sent: at most [`KeyRoles::MAX`] names however many repeat (the
/// schema's `maxItems`), each then kept once.
impl TryFrom<Vec<RoleName>> for KeyRoles {
    type Error = InvalidValue;
    fn try_from(names: Vec<RoleName>) -> Result<Self, Self::Error> {
        if names.len() > Self::MAX {
            return Err(InvalidValue::Malformed("must hold at most 10 role names"));
        }
        Self::new(names)
    }
}

impl From<KeyRoles> for Vec<RoleName> {
    fn from(roles: KeyRoles) -> Self {
        roles.0.into_iter().collect()
    }
}

/// A named set of permissions of a tenant, for its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRole {
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub name: RoleName,
    pub permissions: Permissions,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub revision: Revision,
}

impl KeyRole {
    /// A new role and its `created` event.
    pub fn create(
        tenant: TenantId,
        name: RoleName,
        permissions: Permissions,
        by: &Author,
    ) -> (Self, AuditEvent) {
        let now = by.at();
        let role = Self {
            id: RoleId::new(),
            tenant_id: tenant,
            name,
            permissions,
            created_at: now,
            updated_at: now,
            revision: Revision::default(),
        };
        let event = by
            .event(&role.tenant_id, AuditAction::RoleCreated, role.id.as_str())
            .with_detail(format!(
                "role {} with permissions: {}",
                role.name,
                list(role.permissions.iter().map(|p| p.as_str()))
            ));
        (role, event)
    }

    /// This role with `permissions`, and the event that says what changed.
    pub fn with_permissions(&self, permissions: Permissions, by: &Author) -> (Self, AuditEvent) {
        let (added, removed) = self.permissions.changes_to(&permissions);
        let mut detail = vec![format!("role {}", self.name)];
        if !added.is_empty() {
            detail.push(format!(
                "permissions added: {}",
                list(added.iter().map(|p| p.as_str()))
            ));
        }
        if !removed.is_empty() {
            detail.push(format!(
                "permissions removed: {}",
                list(removed.iter().map(|p| p.as_str()))
            ));
        }
        let next = Self {
            permissions,
            updated_at: by.at(),
            revision: self.revision.next(),
            ..self.clone()
        };
        let event = by
            .event(&self.tenant_id, AuditAction::RoleUpdated, self.id.as_str())
            .with_detail(detail.join("; "));
        (next, event)
    }

    /// The event of this role's deletion.
    pub fn deleted_event(&self, by: &Author) -> AuditEvent {
        by.event(&self.tenant_id, AuditAction::RoleDeleted, self.id.as_str())
            .with_detail(format!("role {}", self.name))
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_checked_and_key_roles_are_a_bounded_set() {
        for fine in ["reader", "billing-admin", "team:ops.v2"] {
            assert!(RoleName::parse(fine).is_ok(), "{fine}");
        }
        for bad in ["", "-x", "a b", "a#b", "é", &"r".repeat(65)] {
            assert!(RoleName::parse(bad).is_err(), "{bad:?}");
        }
        let names = |n: usize| (0..n).map(|i| RoleName::parse(&format!("r{i}")).expect("name"));
        assert!(KeyRoles::new(names(10)).is_ok());
        assert!(KeyRoles::new(names(11)).is_err());
        let twice: KeyRoles = serde_json::from_str(r#"["b","a","b"]"#).expect("roles");
        let eleven = format!("[{}]", [r#""a""#; 11].join(","));
        assert!(
            serde_json::from_str::<KeyRoles>(&eleven).is_err(),
            "11 as sent"
        );
        assert_eq!(serde_json::to_string(&twice).expect("json"), r#"["a","b"]"#);
    }
}
