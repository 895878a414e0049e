//! The audit log and its filter indexes.

use domain::{AuditEvent, AuditEventId, Cursor, Page, PageLimit, TenantId};
use redb::WriteTransaction;

use crate::keys::{AUDIT_SK_PREFIX, AuditIndex, audit_sk, audit_sk_range, tenant_pk};
use crate::{AuditLog, AuditQuery, StoreError, StoreResult, into_page};

use super::{AUDIT_INDEX, EmbeddedStore, ITEMS, get, put};

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
        query: &AuditQuery,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> StoreResult<Page<AuditEvent, AuditEventId>> {
        let pk = tenant_pk(tenant);
        let partition = AuditIndex::of_query(tenant, query).map(|(_, partition)| partition);
        let (floor, ceiling) = audit_sk_range(query.from, query.to);
        // An exclusive bound: just past the ceiling, or the cursor's event
        // (already shown) if that is lower.
        let past_ceiling = format!("{ceiling}~");
        let upper = cursor.map_or(past_ceiling.clone(), |cursor| {
            audit_sk(cursor.last_seen()).min(past_ceiling)
        });
        let query = query.clone();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let wanted = limit.get() + 1;
            let mut found = Vec::with_capacity(wanted);
            let mut keep = |event: AuditEvent| {
                if query.matches(&event) {
                    found.push(event);
                }
                found.len() == wanted
            };
            match &partition {
                Some(partition) => {
                    let index = txn.open_table(AUDIT_INDEX).map_err(StoreError::backend)?;
                    let range =
                        (partition.as_str(), floor.as_str())..(partition.as_str(), upper.as_str());
                    for entry in index.range(range).map_err(StoreError::backend)?.rev() {
                        let (entry_key, _) = entry.map_err(StoreError::backend)?;
                        let (_, sk) = entry_key.value();
                        if let Some(event) = get::<AuditEvent>(&items, &pk, sk)?
                            && keep(event)
                        {
                            break;
                        }
                    }
                }
                None => {
                    let range = (pk.as_str(), floor.as_str())..(pk.as_str(), upper.as_str());
                    for entry in items.range(range).map_err(StoreError::backend)?.rev() {
                        let (_, bytes) = entry.map_err(StoreError::backend)?;
                        let event: AuditEvent =
                            serde_json::from_slice(bytes.value()).map_err(StoreError::corrupt)?;
                        if keep(event) {
                            break;
                        }
                    }
                }
            }
            Ok(into_page(found, limit, |e: &AuditEvent| &e.id))
        })
        .await
    }
}
