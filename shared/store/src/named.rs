//! What roles and rate-limit namespaces share: a record under the tenant
//! (listed, shown, changed, deleted) and a copy by name (what checks read:
//! a key names its roles, a check its namespace), written together with
//! their audit event, the copy made only if no record of the tenant has the
//! name. Each store writes them once for both ([`Named`]).

use domain::{KeyRole, RateLimitNamespace, Revision, TenantId};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys;

/// A tenant's record with a copy by its (fixed) name.
pub(crate) trait Named:
    Serialize + DeserializeOwned + Clone + Send + Sync + 'static
{
    /// The record's `entity_type` on DynamoDB (the copy's adds `_name`).
    const ENTITY: &'static str;
    fn tenant(&self) -> &TenantId;
    fn record_sk(&self) -> String;
    fn name_sk(&self) -> String;
    fn revision(&self) -> Revision;
}

impl Named for KeyRole {
    const ENTITY: &'static str = "role";
    fn tenant(&self) -> &TenantId {
        &self.tenant_id
    }
    fn record_sk(&self) -> String {
        keys::role_sk(&self.id)
    }
    fn name_sk(&self) -> String {
        keys::role_name_sk(&self.name)
    }
    fn revision(&self) -> Revision {
        self.revision
    }
}

impl Named for RateLimitNamespace {
    const ENTITY: &'static str = "ratelimit_namespace";
    fn tenant(&self) -> &TenantId {
        &self.tenant_id
    }
    fn record_sk(&self) -> String {
        keys::namespace_sk(&self.id)
    }
    fn name_sk(&self) -> String {
        keys::namespace_name_sk(&self.name)
    }
    fn revision(&self) -> Revision {
        self.revision
    }
}
