//! Every storage key string, in one place. Both stores use these: DynamoDB as
//! `PK`/`SK`/`GSI…` attributes, the embedded store as the keys of its tables.
//!
//! Every partition of tenant data starts with `TENANT#<id>`, so a request can only
//! ever name its own tenant's items: isolation is structural, not a filter. Tenant
//! and object ids cannot contain `#` (see `domain::ids`), so no id can forge a key.

use domain::{ApiKeyId, ApiKeyStatus, ApplicationId, ArxId, AuditEventId, FeedbackId, TenantId};

use crate::ApiKeyFilter;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const ENTITY_TYPE: &str = "entity_type";
/// Epoch seconds after which DynamoDB may delete the item (a backstop only:
/// TTL deletion lags, so nothing relies on it for correctness).
pub const TTL: &str = "ttl";

pub const API_KEY_SK_PREFIX: &str = "KEY#";
pub const APPLICATION_SK_PREFIX: &str = "APP#";
pub const ARX_SK_PREFIX: &str = "ARX#";
pub const AUDIT_SK_PREFIX: &str = "AUDIT#";
pub const FEEDBACK_SK_PREFIX: &str = "FEEDBACK#";
pub const API_KEY_COUNTS_SK: &str = "COUNTS#API_KEYS";

pub fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

pub fn api_key_sk(id: &ApiKeyId) -> String {
    format!("{API_KEY_SK_PREFIX}{id}")
}

pub fn application_sk(id: &ApplicationId) -> String {
    format!("{APPLICATION_SK_PREFIX}{id}")
}

pub fn arx_sk(id: &ArxId) -> String {
    format!("{ARX_SK_PREFIX}{id}")
}

pub fn audit_sk(id: &AuditEventId) -> String {
    format!("{AUDIT_SK_PREFIX}{id}")
}

pub fn feedback_sk(id: &FeedbackId) -> String {
    format!("{FEEDBACK_SK_PREFIX}{id}")
}

/// The item verification reads by key id alone (the access key carries no
/// tenant): partition and sort key are the same string.
pub fn api_key_lookup_pk(id: &ApiKeyId) -> String {
    format!("LOOKUP#{id}")
}

/// The indexes over API keys. Each sorts a tenant's keys by id (time-ordered),
/// so every list is newest first whichever index serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyIndex {
    /// The table itself: all of a tenant's keys (`PK = TENANT#t`).
    Table,
    /// `GSI1`: a tenant's keys of one application.
    ByApplication,
    /// `GSI2`: a tenant's keys on one Arx.
    ByArx,
    /// `GSI3`: a tenant's keys in one status.
    ByStatus,
}

impl ApiKeyIndex {
    pub const SECONDARY: [ApiKeyIndex; 3] = [Self::ByApplication, Self::ByArx, Self::ByStatus];

    /// The DynamoDB index name, or `None` for the table.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::Table => None,
            Self::ByApplication => Some("GSI1"),
            Self::ByArx => Some("GSI2"),
            Self::ByStatus => Some("GSI3"),
        }
    }

    /// The partition and sort key attribute names of this index.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Self::Table => (PK, SK),
            Self::ByApplication => ("GSI1PK", "GSI1SK"),
            Self::ByArx => ("GSI2PK", "GSI2SK"),
            Self::ByStatus => ("GSI3PK", "GSI3SK"),
        }
    }

    /// This index's partition for one key (what the key item stores).
    pub fn partition_of(
        self,
        tenant: &TenantId,
        application: &ApplicationId,
        arx: &ArxId,
        status: ApiKeyStatus,
    ) -> String {
        match self {
            Self::Table => tenant_pk(tenant),
            Self::ByApplication => keys_by_application_pk(tenant, application),
            Self::ByArx => keys_by_arx_pk(tenant, arx),
            Self::ByStatus => keys_by_status_pk(tenant, status),
        }
    }
}

/// Which index serves a filtered list, and its partition. The most selective
/// filter picks the index; any other filter is applied to what it returns.
pub fn api_key_list_partition(tenant: &TenantId, filter: &ApiKeyFilter) -> (ApiKeyIndex, String) {
    if let Some(application) = &filter.application_id {
        return (
            ApiKeyIndex::ByApplication,
            keys_by_application_pk(tenant, application),
        );
    }
    if let Some(arx) = &filter.arx_id {
        return (ApiKeyIndex::ByArx, keys_by_arx_pk(tenant, arx));
    }
    if let Some(status) = filter.status {
        return (ApiKeyIndex::ByStatus, keys_by_status_pk(tenant, status));
    }
    (ApiKeyIndex::Table, tenant_pk(tenant))
}

fn keys_by_application_pk(tenant: &TenantId, application: &ApplicationId) -> String {
    format!("TENANT#{tenant}#APP#{application}")
}

fn keys_by_arx_pk(tenant: &TenantId, arx: &ArxId) -> String {
    format!("TENANT#{tenant}#ARX#{arx}")
}

fn keys_by_status_pk(tenant: &TenantId, status: ApiKeyStatus) -> String {
    format!("TENANT#{tenant}#KEYSTATUS#{}", status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_partitions_agree_with_what_key_items_store() {
        let tenant = TenantId::parse("t1").expect("valid");
        let (app, arx) = (ApplicationId::new(), ArxId::new());
        let status = ApiKeyStatus::Active;
        let cases = [
            (ApiKeyFilter::default(), ApiKeyIndex::Table),
            (
                ApiKeyFilter {
                    application_id: Some(app.clone()),
                    ..Default::default()
                },
                ApiKeyIndex::ByApplication,
            ),
            (
                ApiKeyFilter {
                    arx_id: Some(arx.clone()),
                    ..Default::default()
                },
                ApiKeyIndex::ByArx,
            ),
            (
                ApiKeyFilter {
                    status: Some(status),
                    ..Default::default()
                },
                ApiKeyIndex::ByStatus,
            ),
        ];
        for (filter, index) in cases {
            let (chosen, partition) = api_key_list_partition(&tenant, &filter);
            assert_eq!(chosen, index);
            assert_eq!(partition, index.partition_of(&tenant, &app, &arx, status));
        }
    }
}
