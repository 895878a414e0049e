//! The audit log and its filter indexes.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{AuditEvent, AuditEventId, Cursor, Page, PageLimit, TenantId};

use super::{DynamoStore, Item, PartitionQuery, entity_item, table_key};
use crate::keys::{AUDIT_SK_PREFIX, AuditIndex, audit_sk, tenant_pk};
use crate::{AuditFilter, AuditLog, StoreResult, into_page};

pub(super) fn audit_item(audit: &AuditEvent) -> StoreResult<Item> {
    let mut item = entity_item(
        audit,
        "audit_event",
        tenant_pk(&audit.tenant_id),
        audit_sk(&audit.id),
    )?;
    // Its place in each filter's index.
    for index in AuditIndex::ALL {
        let (pk_attribute, sk_attribute) = index.key_attributes();
        let (partition, sk) = index.entry_of(audit);
        item.insert(pk_attribute.into(), AttributeValue::S(partition));
        item.insert(sk_attribute.into(), AttributeValue::S(sk));
    }
    Ok(item)
}

impl AuditLog for DynamoStore {
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
        let (index, partition) = AuditIndex::of(tenant, filter);
        let (index_pk, index_sk) = index.key_attributes();
        let start = cursor.map(|cursor| {
            let sk = audit_sk(cursor.last_seen());
            let mut start = table_key(tenant_pk(tenant), sk.clone());
            start.insert(index_pk.into(), AttributeValue::S(partition.clone()));
            start.insert(index_sk.into(), AttributeValue::S(sk));
            start
        });
        let query = PartitionQuery {
            index: Some(index.name()),
            key_attributes: (index_pk, index_sk),
            partition,
            sk_prefix: AUDIT_SK_PREFIX,
        };
        let events = self
            .query_newest_first(query, start, limit.get(), |_: &AuditEvent| true)
            .await?;
        Ok(into_page(events, limit, |e: &AuditEvent| &e.id))
    }
}
