//! Who is asking.

use domain::{Role, TenantId, UserId};

/// Who is asking: only ever taken from a verified credential (a token the
/// authorizer checked, or its context), never from the request itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub tenant: TenantId,
    pub user: UserId,
    pub role: Role,
}
