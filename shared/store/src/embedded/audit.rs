//! The audit log and its filter indexes.

use domain::{AuditEvent, AuditEventId, Cursor, Page, PageLimit, TenantId};
use redb::WriteTransaction;

use crate::keys::{AUDIT_SK_PREFIX, AuditIndex, audit_sk, tenant_pk};
use crate::{AuditFilter, AuditLog, StoreError, StoreResult, into_page};

use super::{AUDIT_INDEX, EmbeddedStore, ITEMS, get, put, upper_bound};

/// An audit event, and its entry in each filter's index.
pub(super) fn put_audit(
    txn: &WriteTransaction,
    items: &mut redb::Table<(&'static str, &'static str), &'static [u8]>,
    audit: &AuditEvent,
) -> StoreResult<()> {
    put(
        items,
        &tenant_pk(&audit.tenant_id),
        &audit_sk(&audit.id),
        audit,
    )?;
    let mut index = txn.open_table(AUDIT_INDEX).map_err(StoreError::backend)?;
    for by in AuditIndex::ALL {
        let (partition, sk) = by.entry_of(audit);
        index
            .insert((partition.as_str(), sk.as_str()), ())
            .map_err(StoreError::backend)?;
    }
    Ok(())
}

impl AuditLog for EmbeddedStore {
    async fn list_audit_events(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> StoreResult<Page<AuditEvent, AuditEventId>> {
        self.list_tenant_items(tenant, AUDIT_SK_PREFIX, limit, cursor, |e: &AuditEvent| {
            &e.id
        })
        .await
    }

    async fn list_audit_events_by(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> StoreResult<Page<AuditEvent, AuditEventId>> {
        let (_, partition) = AuditIndex::of(tenant, filter);
        let pk = tenant_pk(tenant);
        let cursor = cursor.cloned();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let index = txn.open_table(AUDIT_INDEX).map_err(StoreError::backend)?;
            let upper = upper_bound(AUDIT_SK_PREFIX, cursor.as_ref());
            let range = (partition.as_str(), AUDIT_SK_PREFIX)..(partition.as_str(), upper.as_str());
            let mut found = Vec::with_capacity(limit.get() + 1);
            for entry in index.range(range).map_err(StoreError::backend)?.rev() {
                let (entry_key, _) = entry.map_err(StoreError::backend)?;
                let (_, sk) = entry_key.value();
                if let Some(event) = get::<AuditEvent>(&items, &pk, sk)? {
                    found.push(event);
                    if found.len() > limit.get() {
                        break;
                    }
                }
            }
            Ok(into_page(found, limit, |e: &AuditEvent| &e.id))
        })
        .await
    }
}
