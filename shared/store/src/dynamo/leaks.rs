//! The leak reports already handled.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{DynamoStore, entity_item};
use crate::keys::{self, leak_report_pk};
use crate::{LeakReportRecord, LeakReports, StoreResult};

impl LeakReports for DynamoStore {
    async fn handled_leak_report(&self, digest: &str) -> StoreResult<Option<LeakReportRecord>> {
        let pk = leak_report_pk(digest);
        self.get_item(pk.clone(), pk).await
    }

    async fn record_leak_report(&self, record: &LeakReportRecord) -> StoreResult<()> {
        let pk = leak_report_pk(&record.digest);
        let mut item = entity_item(record, "leak_report", pk.clone(), pk)?;
        let forget_at = record
            .handled_at
            .plus(time::Duration::days(crate::LEAK_REPORT_KEPT_DAYS));
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(forget_at.unix_seconds().to_string()),
        );
        self.put(item).await
    }
}
