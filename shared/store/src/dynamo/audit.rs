//! The audit log and its filter indexes.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{AuditEvent, AuditEventId, Cursor, Page, PageLimit, TenantId};

use super::{DynamoStore, Item, entity_item, from_item, table_key};
use crate::keys::{AUDIT_SK_PREFIX, AuditIndex, PK, SK, audit_sk, audit_sk_range, tenant_pk};
use crate::{AuditLog, AuditQuery, StoreError, StoreResult, into_page};

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
        query: &AuditQuery,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> StoreResult<Page<AuditEvent, AuditEventId>> {
        let (index, (pk_attribute, sk_attribute), partition) =
            match AuditIndex::of_query(tenant, query) {
                Some((index, partition)) => (Some(index.name()), index.key_attributes(), partition),
                None => (None, (PK, SK), tenant_pk(tenant)),
            };
        let (floor, ceiling) = audit_sk_range(query.from, query.to);
        let mut start = cursor.map(|cursor| {
            let sk = audit_sk(cursor.last_seen());
            let mut start = table_key(tenant_pk(tenant), sk.clone());
            start.insert(pk_attribute.into(), AttributeValue::S(partition.clone()));
            start.insert(sk_attribute.into(), AttributeValue::S(sk));
            start
        });
        let wanted = limit.get() + 1;
        let mut found = Vec::with_capacity(wanted);
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :floor AND :ceiling")
                .expression_attribute_names("#pk", pk_attribute)
                .expression_attribute_names("#sk", sk_attribute)
                .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                .expression_attribute_values(":floor", AttributeValue::S(floor.clone()))
                .expression_attribute_values(":ceiling", AttributeValue::S(ceiling.clone()))
                .scan_index_forward(false)
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .consistent_read(index.is_none())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::backend)?;
            for item in output.items.unwrap_or_default() {
                let event: AuditEvent = from_item(item)?;
                if query.matches(&event) {
                    found.push(event);
                    if found.len() == wanted {
                        return Ok(into_page(found, limit, |e: &AuditEvent| &e.id));
                    }
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(into_page(found, limit, |e: &AuditEvent| &e.id)),
            }
        }
    }
}
