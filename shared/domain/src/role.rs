//! The roles and the permission table of product.md §2: three for people,
//! and `verifier`, the machine role a team's backend checks keys with.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformOwner,
    PlatformAdmin,
    Developer,
    /// A service that checks access keys: the verify route and nothing else.
    Verifier,
}

/// What a request wants to do; each route maps to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateApiKey,
    ReadApiKeys,
    DeleteApiKey,
    /// Replace a key by a new one, the old one working for a grace period:
    /// whoever may delete a key may rotate it.
    RotateApiKey,
    /// Disable (suspend) a key and enable it again: owners and admins.
    SuspendApiKeys,
    /// Change a key's limits, permissions, owner or meta (`PATCH
    /// /v1/api-keys/{id}`): owners and admins, since limits are what a tenant
    /// pays or throttles by, and permissions what a key may do.
    ChangeApiKeys,
    /// List or read applications and Arx (everyone needs them to pick when creating a key).
    ReadCatalog,
    ManageApplications,
    ManageArx,
    SubmitFeedback,
    ReadAuditEvents,
    /// Check an access key (`POST /v1/verify`).
    VerifyKey,
    /// Create, list and revoke the tenant's service keys: owners and admins
    /// (and never with a service key, which the functions refuse apart).
    ManageServiceKeys,
}

impl Operation {
    pub const ALL: [Operation; 13] = [
        Operation::CreateApiKey,
        Operation::ReadApiKeys,
        Operation::DeleteApiKey,
        Operation::RotateApiKey,
        Operation::SuspendApiKeys,
        Operation::ChangeApiKeys,
        Operation::ReadCatalog,
        Operation::ManageApplications,
        Operation::ManageArx,
        Operation::SubmitFeedback,
        Operation::ReadAuditEvents,
        Operation::VerifyKey,
        Operation::ManageServiceKeys,
    ];
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::PlatformOwner,
        Role::PlatformAdmin,
        Role::Developer,
        Role::Verifier,
    ];
    /// The roles of people, who use the console and manage keys.
    pub const PEOPLE: [Role; 3] = [Role::PlatformOwner, Role::PlatformAdmin, Role::Developer];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "platform_owner" => Ok(Self::PlatformOwner),
            "platform_admin" => Ok(Self::PlatformAdmin),
            "developer" => Ok(Self::Developer),
            "verifier" => Ok(Self::Verifier),
            _ => Err(InvalidValue::NotOneOf {
                allowed: "platform_owner, platform_admin, developer, verifier",
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformOwner => "platform_owner",
            Self::PlatformAdmin => "platform_admin",
            Self::Developer => "developer",
            Self::Verifier => "verifier",
        }
    }

    /// The permission table. Written as a match so adding an operation or a role
    /// does not compile until someone decides who may use it.
    pub fn may(self, operation: Operation) -> bool {
        use Operation::*;
        match (self, operation) {
            (Self::PlatformOwner | Self::PlatformAdmin, _) => true,
            (
                Self::Developer,
                CreateApiKey | ReadApiKeys | DeleteApiKey | RotateApiKey | ReadCatalog
                | SubmitFeedback,
            ) => true,
            (
                Self::Developer,
                SuspendApiKeys | ChangeApiKeys | ManageApplications | ManageArx | ReadAuditEvents
                | VerifyKey | ManageServiceKeys,
            ) => false,
            (Self::Verifier, VerifyKey) => true,
            (
                Self::Verifier,
                CreateApiKey | ReadApiKeys | DeleteApiKey | RotateApiKey | SuspendApiKeys
                | ChangeApiKeys | ReadCatalog | ManageApplications | ManageArx | SubmitFeedback
                | ReadAuditEvents | ManageServiceKeys,
            ) => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn developers_use_keys_but_do_not_manage_the_catalog() {
        use Operation::*;
        for op in [
            CreateApiKey,
            ReadApiKeys,
            DeleteApiKey,
            RotateApiKey,
            ReadCatalog,
            SubmitFeedback,
        ] {
            assert!(Role::Developer.may(op), "{op:?}");
        }
        for op in [
            SuspendApiKeys,
            ManageApplications,
            ManageArx,
            ReadAuditEvents,
            VerifyKey,
            ManageServiceKeys,
        ] {
            assert!(!Role::Developer.may(op), "{op:?}");
            assert!(Role::PlatformOwner.may(op));
            assert!(Role::PlatformAdmin.may(op));
        }
    }

    #[test]
    fn verifiers_verify_and_do_nothing_else() {
        use Operation::*;
        assert!(Role::Verifier.may(VerifyKey));
        for op in [
            CreateApiKey,
            ReadApiKeys,
            DeleteApiKey,
            RotateApiKey,
            SuspendApiKeys,
            ReadCatalog,
            ManageApplications,
            ManageArx,
            SubmitFeedback,
            ReadAuditEvents,
        ] {
            assert!(!Role::Verifier.may(op), "{op:?}");
        }
    }

    #[test]
    fn parses_only_the_four_role_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("admin").is_err());
        assert!(Role::parse("Developer").is_err());
        assert!(Role::parse("").is_err());
    }
}
