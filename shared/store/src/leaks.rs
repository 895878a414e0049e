//! What the GitHub secret scanning endpoint writes.

use std::future::Future;

use domain::{ApiKey, AuditEvent, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;

/// What the GitHub secret scanning endpoint writes.
pub trait LeakReports: Send + Sync {
    /// Disables an active `current` because it leaked ([`leaked_api_key`](crate::leaked_api_key)),
    /// with its lookup item, counts and `audit`, in one transaction, only if
    /// it is still active ([`Conflict::Changed`](crate::Conflict::Changed) otherwise).
    fn disable_leaked_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<ApiKey>> + Send;

    /// Whether a report with this digest (of its signed body) was handled.
    fn leak_report_handled(&self, digest: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Records that the report with this digest was handled; DynamoDB lets
    /// the record go after [`LEAK_REPORT_KEPT_DAYS`].
    fn record_leak_report(
        &self,
        digest: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// How long a handled report is remembered, so that replaying it does nothing.
pub const LEAK_REPORT_KEPT_DAYS: i64 = 90;

/// A handled leak report, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakReportRecord {
    pub digest: String,
    pub handled_at: Timestamp,
}
