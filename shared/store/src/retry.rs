//! One way to retry a change that lost a race: read, decide (the domain) and
//! write again. A store writes a key only over the revision its change was
//! decided on, so a change made meanwhile wins and this one is decided again
//! on what it left (a key enabled while a leak disables it stays disabled,
//! and keeps what the other change gave it).

use std::future::Future;

use crate::{Conflict, StoreError};

/// How many times a change is read, decided and written before its caller
/// is told it kept losing (each loss means another change was written).
pub const CHANGE_ATTEMPTS: usize = 5;

/// An error that may say "the object changed since it was read".
pub trait ChangedMeanwhile {
    fn changed_meanwhile(&self) -> bool;
}

impl ChangedMeanwhile for StoreError {
    fn changed_meanwhile(&self) -> bool {
        matches!(self, StoreError::Conflict(Conflict::Changed))
    }
}

/// Runs `change` (a read, a decision and a write) again while its write
/// finds the object changed since its read, at most [`CHANGE_ATTEMPTS`]
/// times; any other outcome, and the last loss, is returned as it is.
pub async fn until_written<T, E, F, Fut>(mut change: F) -> Result<T, E>
where
    E: ChangedMeanwhile,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match change().await {
            Err(error) if error.changed_meanwhile() && attempt < CHANGE_ATTEMPTS => {
                telemetry::metrics::STORE_RETRIES.inc("changed");
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}
