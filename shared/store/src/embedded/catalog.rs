//! Applications, Arx and feedback, each written with its audit event.

use domain::{
    Application, ApplicationId, ApplicationStatus, Arx, ArxId, ArxStatus, AuditEvent, Cursor,
    Feedback, Page, PageLimit, TenantId,
};

use crate::keys::{
    self, APPLICATION_SK_PREFIX, ARX_SK_PREFIX, application_sk, arx_sk, feedback_sk, tenant_pk,
};
use serde::Serialize;

use crate::{
    ApplicationStore, ArxStore, Conflict, FeedbackStore, PendingCascade, StoreError, StoreResult,
};

use super::audit::put_audit;
use super::{EmbeddedStore, ITEMS, get, put};

impl ApplicationStore for EmbeddedStore {
    async fn create_application(
        &self,
        application: &Application,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let key = (
            tenant_pk(&application.tenant_id),
            application_sk(&application.id),
        );
        self.write_audited(key, application.clone(), None, audit, None)
            .await
    }

    async fn get_application(
        &self,
        tenant: &TenantId,
        id: &ApplicationId,
    ) -> StoreResult<Option<Application>> {
        self.get_tenant_item(tenant_pk(tenant), application_sk(id))
            .await
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
        let key = (tenant_pk(&updated.tenant_id), application_sk(&updated.id));
        let owed = PendingCascade::owed_by_application(updated, expected, audit);
        self.write_audited(key, updated.clone(), Some(expected.as_str()), audit, owed)
            .await
    }
}

impl ArxStore for EmbeddedStore {
    async fn create_arx(&self, arx: &Arx, audit: &AuditEvent) -> StoreResult<()> {
        let key = (tenant_pk(&arx.tenant_id), keys::arx_sk(&arx.id));
        self.write_audited(key, arx.clone(), None, audit, None)
            .await
    }

    async fn get_arx(&self, tenant: &TenantId, id: &ArxId) -> StoreResult<Option<Arx>> {
        self.get_tenant_item(tenant_pk(tenant), arx_sk(id)).await
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
        let key = (tenant_pk(&updated.tenant_id), arx_sk(&updated.id));
        let owed = PendingCascade::owed_by_arx(updated, expected, audit);
        self.write_audited(key, updated.clone(), Some(expected.as_str()), audit, owed)
            .await
    }
}

impl FeedbackStore for EmbeddedStore {
    async fn put_feedback(&self, feedback: &Feedback) -> StoreResult<()> {
        let feedback = feedback.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            put(
                &mut items,
                &tenant_pk(&feedback.tenant_id),
                &feedback_sk(&feedback.id),
                &feedback,
            )
        })
        .await
    }
}

impl EmbeddedStore {
    /// Writes `value` at `(pk, sk)` with `audit`: as new, or replacing an item
    /// still in `expected` status.
    async fn write_audited<T: Serialize + Send + Sync + 'static>(
        &self,
        (pk, sk): (String, String),
        value: T,
        expected: Option<&'static str>,
        audit: &AuditEvent,
        owed: Option<PendingCascade>,
    ) -> StoreResult<()> {
        #[derive(serde::Deserialize)]
        struct Status {
            status: String,
        }
        let audit = audit.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let stored: Option<Status> = get(&items, &pk, &sk)?;
            match (expected, stored) {
                (None, Some(_)) => return Err(Conflict::AlreadyExists.into()),
                (Some(wanted), stored) if stored.as_ref().is_none_or(|s| s.status != wanted) => {
                    return Err(Conflict::Changed.into());
                }
                _ => {}
            }
            put(&mut items, &pk, &sk, &value)?;
            if let Some(owed) = &owed {
                let sk = keys::pending_cascade_sk(&owed.target);
                put(&mut items, keys::PENDING_CASCADES_PK, &sk, owed)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }
}
