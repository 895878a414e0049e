//! Storage for the API Keys manager: one small trait per capability (so each
//! handler, and each Lambda's IAM policy, asks only for what it uses), and two
//! implementations that pass the same contract suite:
//!
//! - [`DynamoStore`]: one DynamoDB table (see `docs/data-model.md`);
//! - `EmbeddedStore`: a redb file, for the dev server and fast tests (the
//!   `embedded` feature: the Lambdas never build it).
//!
//! The capabilities are declared by entity (`api_keys`, `catalog`, `audit`,
//! `leaks`, `service_keys`, `sweep`), and each implementation has a file of the same name:
//! `dynamo/api_keys.rs` and `embedded/api_keys.rs` implement `api_keys.rs`.

mod api_keys;
mod audit;
mod catalog;
pub mod data_version;
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
mod error;
mod identities;
pub mod keys;
mod leaks;
mod leases;
mod named;
mod page;
mod rate_limits;
mod replays;
mod retry;
mod roles;
mod service_keys;
mod sweep;
mod usage;

pub use api_keys::{
    ApiKeyCharge, ApiKeyCreate, ApiKeyFilter, ApiKeyLastUse, ApiKeyLookup, ApiKeyQuery, ApiKeyRead,
    ApiKeyRotate, ApiKeyWrite, Charge, ChargePart, Charges, Counter, ImportedKeyLookup,
    ImportedPointer, KeyLookup, counters_removed_at_purge, fresh_balance,
};
pub use audit::{AuditFilter, AuditLog, AuditQuery};
pub use catalog::{ApplicationStore, ArxStore, FeedbackStore};
pub use data_version::{
    DATA_VERSION, DataVersionStore, OpenRefused, StoredVersion, open_data, refuse_newer,
};
pub use dynamo::{DynamoStore, TableLack};
#[cfg(feature = "embedded")]
pub use embedded::EmbeddedStore;
pub use error::{Conflict, StoreError, StoreResult, error_chain};
pub use identities::{IdentityLookup, IdentityStore, counter_changes, fresh_identity_balances};
pub use leaks::{LEAK_REPORT_KEPT_DAYS, LeakReportRecord, LeakReports};
pub use leases::{LeaseSettings, MIN_LEFT_TO_LEASE};
pub(crate) use page::into_page;
pub use rate_limits::{LimitWindow, NamespaceLookup, NamespaceStore};
pub use replays::{REPLAY_KEPT_SECONDS, Replay, ReplayKeep, ReplayLookup};
pub use retry::{CHANGE_ATTEMPTS, ChangedMeanwhile, until_written};
pub use roles::{RoleLookup, RoleStore};
pub use service_keys::{ServiceKeyLookup, ServiceKeyStore};
pub use sweep::{
    ApiKeySweep, CascadeTarget, DueWork, PendingCascade, PendingCascades, SweepProgress,
};
pub use usage::{
    LIMITED, LimitIncrement, PASSED, TenantDay, UsageDetail, UsageIncrement, UsageLog,
    UsageNotWritten, UsageWrites, WriteStamp,
};
