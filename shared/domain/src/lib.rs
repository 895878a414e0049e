//! The API Keys manager's domain: its values and their rules, and what may
//! become of a key ([`lifecycle`]: each change, its next revision and audit).
//!
//! Every value with rules is a newtype built by `parse`/`TryFrom`, so a value
//! that exists is valid ("parse, don't validate"). Nothing here knows about
//! AWS, HTTP or storage.

pub mod access_key;
pub mod allowlist;
pub mod api_key;
pub mod application;
pub mod arx;
pub mod audit;
pub mod feedback;
pub mod identity;
pub mod ids;
pub mod import;
pub mod invalid;
pub mod key_role;
pub mod lifecycle;
pub mod limits;
pub mod owner;
pub mod page;
pub mod permissions;
pub mod ratelimit;
pub mod role;
pub mod secret_hash;
pub mod service_key;
pub mod text;
pub mod timestamp;
pub mod usage;

pub use access_key::{AccessKey, KeyPrefix, MalformedKey, PresentedKey, PresentedServiceKey};
pub use allowlist::{AddressCheck, AllowedNet, AllowlistMode, IpAllowlist};
pub use api_key::{
    ApiKey, ApiKeyCounts, ApiKeyName, ApiKeyStatus, CountsDelta, DisabledReason, ExpiresAt,
    NoticePeriod, balance_key,
};
pub use application::{
    Application, ApplicationName, ApplicationRefused, ApplicationStatus, CorsOrigin, Technology,
};
pub use arx::{Arx, ArxName, ArxRefused, ArxStatus, Label, Purpose};
pub use audit::{Actor, AuditAction, AuditEvent};
pub use feedback::{Feedback, FeedbackMessage, PageRef, Rating};
pub use identity::{Identity, IdentityCounter, IdentityEdit, IdentityLimits, NamedRateLimit};
pub use ids::{
    ApiKeyId, ApplicationId, ArxId, AuditEventId, FeedbackId, IdentityId, LimitName, NamespaceId,
    NamespaceName, PrefixedId, RoleId, RoleName, ServiceKeyId, TenantId, UserId,
};
pub use import::{ForeignKey, HashRefused, ImportPrefix, ImportScheme, ImportedHash, KeyLocator};
pub use invalid::InvalidValue;
pub use key_role::{KeyRole, KeyRoles};
pub use lifecycle::{
    Author, Counters, GracePeriod, Issue, KeyChange, KeyEdit, KeySettings, Refusal, Revision,
    RotateWith, Rotation,
};
pub use limits::{Balance, Cost, KeyLimits, LimitHit, Standing, WholeNumber};
pub use owner::{ExternalId, KeyMeta};
pub use page::{Cursor, Page, PageLimit};
pub use permissions::{Permission, PermissionQuery, Permissions};
pub use ratelimit::{
    Identifier, IdentifierPattern, LimitOverride, NamespaceEdit, RateLimitNamespace,
    TooManyOverrides,
};
pub use role::{Operation, Role};
pub use secret_hash::{
    HASH_PARAMS, HashError, HashParams, KeyHasher, PASSWORD_GRADE_PARAMS, SecretHash,
};
pub use service_key::{
    AlreadyRevoked, RoleNotGrantable, ServiceKey, ServiceKeyName, ServiceKeyStatus,
};
pub use timestamp::Timestamp;
pub use usage::{Granularity, OutcomeCounts};
