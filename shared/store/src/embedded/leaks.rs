//! Keys disabled because they leaked, and the reports already handled.

use domain::{ApiKey, ApiKeyStatus, AuditEvent, Timestamp};

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

    async fn leak_report_handled(&self, digest: &str) -> StoreResult<bool> {
        let pk = leak_report_pk(digest);
        let record: Option<LeakReportRecord> = self.get_tenant_item(pk.clone(), pk).await?;
        Ok(record.is_some())
    }

    async fn record_leak_report(&self, digest: &str, at: Timestamp) -> StoreResult<()> {
        let pk = leak_report_pk(digest);
        let record = LeakReportRecord {
            digest: digest.to_owned(),
            handled_at: at,
        };
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            put(&mut items, &pk, &pk, &record)
        })
        .await
    }
}
