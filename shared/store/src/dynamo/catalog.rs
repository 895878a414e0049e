//! Applications, Arx, feedback and the audit log: plain items under the tenant.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{
    Application, ApplicationId, ApplicationStatus, Arx, ArxId, ArxStatus, AuditEvent, AuditEventId,
    Cursor, Feedback, Page, PageLimit, PrefixedId, TenantId,
};
use serde::de::DeserializeOwned;

use super::transaction::Transaction;
use super::{DynamoStore, Item, PartitionQuery, entity_item, table_key};
use crate::keys::{
    APPLICATION_SK_PREFIX, ARX_SK_PREFIX, AUDIT_SK_PREFIX, AuditIndex, PENDING_CASCADES_PK,
    application_sk, arx_sk, audit_sk, feedback_sk, pending_cascade_sk, tenant_pk,
};
use crate::{
    ApplicationStore, ArxStore, AuditFilter, AuditLog, CascadeTarget, Conflict, FeedbackStore,
    PendingCascade, PendingCascades, StoreError, StoreResult, into_page,
};

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

fn application_item(application: &Application) -> StoreResult<Item> {
    let (pk, sk) = (
        tenant_pk(&application.tenant_id),
        application_sk(&application.id),
    );
    entity_item(application, "application", pk, sk)
}

fn arx_item(arx: &Arx) -> StoreResult<Item> {
    entity_item(arx, "arx", tenant_pk(&arx.tenant_id), arx_sk(&arx.id))
}

impl DynamoStore {
    /// A page of one kind of tenant item, newest first (ids are time-ordered).
    async fn list_tenant_items<T: DeserializeOwned, Id: PrefixedId + Clone>(
        &self,
        tenant: &TenantId,
        sk_prefix: &str,
        limit: PageLimit,
        cursor: Option<&Cursor<Id>>,
        id_of: impl Fn(&T) -> &Id,
    ) -> StoreResult<Page<T, Id>> {
        let start = cursor.map(|cursor| {
            let sk = format!("{sk_prefix}{}", cursor.last_seen().as_str());
            table_key(tenant_pk(tenant), sk)
        });
        let partition = PartitionQuery::table(tenant_pk(tenant), sk_prefix);
        let items = self
            .query_newest_first(partition, start, limit.get(), |_| true)
            .await?;
        Ok(into_page(items, limit, id_of))
    }

    /// Writes `item` with `audit`, as new or replacing one still in `expected` status.
    async fn write_audited(
        &self,
        item: Item,
        expected: Option<&str>,
        audit: &AuditEvent,
        owed: Option<PendingCascade>,
    ) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        match expected {
            None => transaction.put_new(self, item, Conflict::AlreadyExists)?,
            Some(status) => transaction.put_if_status(self, item, status)?,
        }
        transaction.put(self, audit_item(audit)?)?;
        if let Some(owed) = owed {
            transaction.put(self, pending_cascade_item(&owed)?)?;
        }
        transaction.commit(self).await
    }
}

impl ApplicationStore for DynamoStore {
    async fn create_application(
        &self,
        application: &Application,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_audited(application_item(application)?, None, audit, None)
            .await
    }

    async fn get_application(
        &self,
        tenant: &TenantId,
        id: &ApplicationId,
    ) -> StoreResult<Option<Application>> {
        self.get_item(tenant_pk(tenant), application_sk(id)).await
    }

    async fn list_applications(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ApplicationId>>,
    ) -> StoreResult<Page<Application, ApplicationId>> {
        self.list_tenant_items(
            tenant,
            APPLICATION_SK_PREFIX,
            limit,
            cursor,
            |a: &Application| &a.id,
        )
        .await
    }

    async fn replace_application(
        &self,
        updated: &Application,
        expected: ApplicationStatus,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let owed = PendingCascade::owed_by_application(updated, expected, audit);
        self.write_audited(
            application_item(updated)?,
            Some(expected.as_str()),
            audit,
            owed,
        )
        .await
    }
}

impl ArxStore for DynamoStore {
    async fn create_arx(&self, arx: &Arx, audit: &AuditEvent) -> StoreResult<()> {
        self.write_audited(arx_item(arx)?, None, audit, None).await
    }

    async fn get_arx(&self, tenant: &TenantId, id: &ArxId) -> StoreResult<Option<Arx>> {
        self.get_item(tenant_pk(tenant), arx_sk(id)).await
    }

    async fn list_arx(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ArxId>>,
    ) -> StoreResult<Page<Arx, ArxId>> {
        self.list_tenant_items(tenant, ARX_SK_PREFIX, limit, cursor, |a: &Arx| &a.id)
            .await
    }

    async fn replace_arx(
        &self,
        updated: &Arx,
        expected: ArxStatus,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let owed = PendingCascade::owed_by_arx(updated, expected, audit);
        self.write_audited(arx_item(updated)?, Some(expected.as_str()), audit, owed)
            .await
    }
}

impl FeedbackStore for DynamoStore {
    async fn put_feedback(&self, feedback: &Feedback) -> StoreResult<()> {
        let (pk, sk) = (tenant_pk(&feedback.tenant_id), feedback_sk(&feedback.id));
        let item = entity_item(feedback, "feedback", pk, sk)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(crate::StoreError::backend)?;
        Ok(())
    }
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

fn pending_cascade_item(pending: &PendingCascade) -> StoreResult<Item> {
    entity_item(
        pending,
        "pending_cascade",
        PENDING_CASCADES_PK.into(),
        pending_cascade_sk(&pending.target),
    )
}

impl PendingCascades for DynamoStore {
    async fn pending_cascades(&self) -> StoreResult<Vec<PendingCascade>> {
        let mut pending = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", crate::keys::PK)
                .expression_attribute_values(":pk", AttributeValue::S(PENDING_CASCADES_PK.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::backend)?;
            for item in output.items.unwrap_or_default() {
                pending.push(super::from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(pending),
            }
        }
    }

    async fn finish_cascade(&self, target: &CascadeTarget) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(table_key(
                PENDING_CASCADES_PK.into(),
                pending_cascade_sk(target),
            )))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
