//! The leak reports already handled.

use crate::keys::leak_report_pk;
use crate::{LeakReportRecord, LeakReports, StoreError, StoreResult};

use super::{EmbeddedStore, ITEMS, put};

impl LeakReports for EmbeddedStore {
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
