//! Keys disabled because they leaked, and the reports already handled.

use domain::{ApiKey, ApiKeyStatus, AuditEvent};

use crate::keys::leak_report_pk;
use crate::{Conflict, LeakReportRecord, LeakReports, StoreError, StoreResult, leaked_api_key};

use super::{EmbeddedStore, ITEMS, put};

impl LeakReports for EmbeddedStore {
    async fn disable_leaked_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> StoreResult<ApiKey> {
        if current.status != ApiKeyStatus::Active {
            return Err(Conflict::Changed.into());
        }
        let disabled = self
            .change_api_key(current, Some(leaked_api_key(current)), audit)
            .await?;
        disabled.ok_or_else(|| Conflict::Changed.into())
    }

    async fn handled_leak_report(&self, digest: &str) -> StoreResult<Option<LeakReportRecord>> {
        let pk = leak_report_pk(digest);
        self.get_tenant_item(pk.clone(), pk).await
    }

    async fn record_leak_report(&self, record: &LeakReportRecord) -> StoreResult<()> {
        let pk = leak_report_pk(&record.digest);
        let record = record.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            put(&mut items, &pk, &pk, &record)
        })
        .await
    }
}
