//! Keys disabled because they leaked, and the reports already handled.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{ApiKey, ApiKeyStatus, AuditEvent, Timestamp};

use super::{DynamoStore, entity_item};
use crate::keys::{self, leak_report_pk};
use crate::{Conflict, LeakReportRecord, LeakReports, StoreError, StoreResult, leaked_api_key};

impl LeakReports for DynamoStore {
    async fn disable_leaked_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> StoreResult<ApiKey> {
        if current.status != ApiKeyStatus::Active {
            return Err(Conflict::Changed.into());
        }
        self.replace_api_key(current, &leaked_api_key(current), audit)
            .await
    }

    async fn leak_report_handled(&self, digest: &str) -> StoreResult<bool> {
        let pk = leak_report_pk(digest);
        let record: Option<LeakReportRecord> = self.get_item(pk.clone(), pk).await?;
        Ok(record.is_some())
    }

    async fn record_leak_report(&self, digest: &str, at: Timestamp) -> StoreResult<()> {
        let pk = leak_report_pk(digest);
        let record = LeakReportRecord {
            digest: digest.to_owned(),
            handled_at: at,
        };
        let mut item = entity_item(&record, "leak_report", pk.clone(), pk)?;
        let forget_at = at.plus(time::Duration::days(crate::LEAK_REPORT_KEPT_DAYS));
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(forget_at.unix_seconds().to_string()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
