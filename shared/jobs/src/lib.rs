//! The cleanup jobs. Both are idempotent: running one twice changes nothing
//! the second time.
//!
//! - [`cascade`]: when an application is archived or an Arx deleted, delete
//!   every key bound to it (fed by the table's stream in AWS, and directly by
//!   the dev server).
//! - [`sweep`]: record the expiry of keys past `expires_at`, purge deleted
//!   and expired keys after the retention period, and send one notice per key
//!   about to expire (hourly in AWS, on a timer in the dev server).

// The sweep's future nests the SDK's deeply; the default limit (128) is too low
// to compute its layout (in `lambda::serve_on_aws`).
#![recursion_limit = "256"]

mod cascade;
mod deadline;
pub mod stream;
mod sweep;

pub use cascade::{CascadeOutcome, cascade};
pub use deadline::Deadline;
pub use store::CascadeTarget;
pub use sweep::{CASCADE_GRACE, SweepError, SweepPolicy, SweepReport, sweep};

/// Who the audit log names for the jobs' changes (`system:cascade`, `system:sweep`).
pub const CASCADE_ACTOR: &str = "cascade";
pub const SWEEP_ACTOR: &str = "sweep";

pub mod lambda;
