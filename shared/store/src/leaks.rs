//! What the GitHub secret scanning endpoint writes.

use std::future::Future;

use domain::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;

/// What the GitHub secret scanning endpoint writes.
pub trait LeakReports: Send + Sync {
    /// The record of the report with this digest (of its signed body), if
    /// it was handled.
    fn handled_leak_report(
        &self,
        digest: &str,
    ) -> impl Future<Output = StoreResult<Option<LeakReportRecord>>> + Send;

    /// Records that a report was handled, and its answer; DynamoDB lets the
    /// record go after [`LEAK_REPORT_KEPT_DAYS`].
    fn record_leak_report(
        &self,
        record: &LeakReportRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// How long a handled report is remembered, so that replaying it does nothing.
pub const LEAK_REPORT_KEPT_DAYS: i64 = 90;

/// A handled leak report, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakReportRecord {
    pub digest: String,
    pub handled_at: Timestamp,
    /// The answer given (its labels, as JSON), given again to a replay
    /// without checking a token twice. Absent on records of before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}
