//! Applications, Arx and feedback: plain items under the tenant.

use domain::{
    Application, ApplicationId, ApplicationStatus, Arx, ArxId, ArxStatus, AuditEvent, Cursor,
    Feedback, Page, PageLimit, PrefixedId, TenantId,
};
use serde::de::DeserializeOwned;

use super::audit::audit_item;
use super::sweep::pending_cascade_item;
use super::transaction::Transaction;
use super::{DynamoStore, Item, PartitionQuery, entity_item, table_key};
use crate::keys::{
    APPLICATION_SK_PREFIX, ARX_SK_PREFIX, application_sk, arx_sk, feedback_sk, tenant_pk,
};
use crate::{
    ApplicationStore, ArxStore, Conflict, FeedbackStore, PendingCascade, StoreResult, into_page,
};

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
    pub(super) async fn list_tenant_items<T: DeserializeOwned, Id: PrefixedId + Clone>(
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
            .query_in_order(partition, start, limit.get(), |_| true)
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
        self.put(entity_item(feedback, "feedback", pk, sk)?).await
    }
}
