//! Identifiers. Our own objects get a prefixed, time-ordered id (`apikey--` and a
//! UUIDv7 in hex), so ids sort by creation and say what they name. Tenant and user
//! ids come from the identity provider and are only checked to be safe to embed in
//! storage keys (no `#`, the key separator).

use std::fmt;

use crate::InvalidValue;

/// An id of our own: a fixed prefix and 32 lowercase hex digits of a UUIDv7.
pub trait PrefixedId: Sized {
    const PREFIX: &'static str;
    /// A new id, later than every id this process made before.
    fn generate() -> Self;
    fn parse(raw: &str) -> Result<Self, InvalidValue>;
    fn as_str(&self) -> &str;

    /// The 32 hex digits after the prefix (what a key of ours embeds).
    fn hex_digits(&self) -> &str {
        self.as_str().get(Self::PREFIX.len()..).unwrap_or_default()
    }

    /// The id whose hex digits are `hex`.
    fn with_hex(hex: &str) -> Result<Self, InvalidValue> {
        Self::parse(&format!("{}{hex}", Self::PREFIX))
    }
}

macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A new id, later than every id this process made before.
            #[allow(clippy::new_without_default)] // a default id would be a new random one; say so
            pub fn new() -> Self {
                Self(format!("{}{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The 32 hex digits after the prefix.
            pub fn hex(&self) -> &str {
                &self.0[$prefix.len()..]
            }

            pub fn from_hex(hex: &str) -> Result<Self, InvalidValue> {
                <Self as PrefixedId>::parse(&format!("{}{}", $prefix, hex))
            }
        }

        impl PrefixedId for $name {
            const PREFIX: &'static str = $prefix;

            fn generate() -> Self {
                Self::new()
            }

            fn parse(raw: &str) -> Result<Self, InvalidValue> {
                let hex = raw
                    .strip_prefix($prefix)
                    .ok_or(InvalidValue::Malformed(concat!("must start with \"", $prefix, "\"")))?;
                let well_formed = hex.len() == 32
                    && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if !well_formed {
                    return Err(InvalidValue::Malformed(concat!(
                        "must be \"", $prefix, "\" followed by 32 lowercase hex digits"
                    )));
                }
                Ok(Self(raw.to_owned()))
            }

            fn as_str(&self) -> &str {
                $name::as_str(self)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                <Self as PrefixedId>::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// The public, copyable id of an API key; also embedded in its access key.
    ApiKeyId,
    "apikey--"
);
prefixed_id!(ApplicationId, "app--");
prefixed_id!(
    /// The public id of an identity (a customer of a tenant: `domain::identity`).
    IdentityId,
    "identity--"
);
prefixed_id!(ArxId, "arx--");
prefixed_id!(FeedbackId, "feedback--");
prefixed_id!(AuditEventId, "audit--");
prefixed_id!(
    /// The public id of a role for keys (a named set of permissions: `domain::key_role`).
    RoleId,
    "role--"
);
prefixed_id!(
    /// The public id of a rate-limit namespace (`domain::ratelimit`): its
    /// counters are named by it, so a namespace made again counts afresh.
    NamespaceId,
    "rlns--"
);
prefixed_id!(
    /// The public id of a service key (our own API's credential for a
    /// machine); also embedded in the service key.
    ServiceKeyId,
    "svckey--"
);

/// A name of ASCII letters, digits and a few marks (`$marks`), 1 to `$max`
/// bytes, that storage keys may hold: never the `#` that separates their
/// parts. `$first_alnum`: it must start with a letter or digit.
macro_rules! checked_name {
    ($(#[$meta:meta])* $name:ident, $max:literal, $marks:literal, $first_alnum:literal, $rule:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                if raw.is_empty() {
                    return Err(InvalidValue::Empty);
                }
                if raw.len() > Self::MAX_CHARS {
                    return Err(InvalidValue::TooLong { max: Self::MAX_CHARS });
                }
                let starts_well = !$first_alnum
                    || raw.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
                let allowed = |b: u8| b.is_ascii_alphanumeric() || $marks.contains(&b);
                if !starts_well || !raw.bytes().all(allowed) {
                    return Err(InvalidValue::Malformed($rule));
                }
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Ids from the identity provider: 1 to 128 of `A-Z a-z 0-9 . _ : @ + - |`,
/// enough for Cognito subs, Auth0's (`auth0|123`, `google-oauth2|123`),
/// e-mails and slugs.
macro_rules! external_id {
    ($(#[$meta:meta])* $name:ident) => {
        checked_name!($(#[$meta])* $name, 128, b".-_:@+|", false,
            "may contain only letters, digits and . _ : @ + - |");
    };
}

/// A name the tenant gives (a role, a rate limit) that keys and verifies
/// refer to: 1 to 64 of `A-Z a-z 0-9 . _ : -`, starting with a letter or digit.
macro_rules! tenant_name {
    ($(#[$meta:meta])* $name:ident) => {
        checked_name!($(#[$meta])* $name, 64, b"._:-", true,
            "must be letters, digits and . _ : -, starting with a letter or digit");
    };
}

tenant_name!(
    /// The name of one of an identity's rate limits (`requests`, `tokens`),
    /// as verifies name it.
    LimitName
);
tenant_name!(
    /// A rate-limit namespace's name (`login`, `sms.send`), as checks name
    /// it; fixed for the namespace's life.
    NamespaceName
);
tenant_name!(
    /// A role's name, as keys carry it; fixed for the role's life.
    RoleName
);

external_id!(
    /// The organisation a request acts for, from the verified token.
    TenantId
);
external_id!(
    /// The user a request acts for: the token's `sub`.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_parse_back_and_sort_by_creation() {
        let first = ApiKeyId::new();
        let second = ApiKeyId::new();
        assert_eq!(
            <ApiKeyId as PrefixedId>::parse(first.as_str()),
            Ok(first.clone())
        );
        assert!(first < second);
        assert_eq!(ApiKeyId::from_hex(first.hex()), Ok(first));
    }

    #[test]
    fn refuses_wrong_prefix_length_or_case() {
        let id = ApiKeyId::new();
        assert!(<ApplicationId as PrefixedId>::parse(id.as_str()).is_err());
        assert!(<ApiKeyId as PrefixedId>::parse(&id.as_str()[..20]).is_err());
        assert!(<ApiKeyId as PrefixedId>::parse(&id.as_str().to_uppercase()).is_err());
        assert!(<ApiKeyId as PrefixedId>::parse("apikey--").is_err());
    }

    #[test]
    fn external_ids_refuse_key_separators() {
        assert!(TenantId::parse("demo").is_ok());
        assert!(UserId::parse("3f1c-aa@example.com").is_ok());
        // What identity providers issue as `sub`: Auth0's provider|id.
        assert!(UserId::parse("auth0|65f0c1d2e3").is_ok());
        assert!(UserId::parse("google-oauth2|110169484474386276334").is_ok());
        assert!(TenantId::parse("a#b").is_err());
        assert!(TenantId::parse("").is_err());
        assert!(TenantId::parse(&"x".repeat(129)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(raw in "\\PC{0,80}", hex in "apikey--[0-9a-fé]{30,34}") {
            let _ = <ApiKeyId as PrefixedId>::parse(&raw);
            if let Ok(id) = <ApiKeyId as PrefixedId>::parse(&hex) {
                proptest::prop_assert_eq!(id.hex().len(), 32);
            }
            let _ = ApplicationId::from_hex(&raw);
            let _ = TenantId::parse(&raw);
            let _ = UserId::parse(&raw);
        }
    }
}
