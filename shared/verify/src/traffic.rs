//! Counting what keys do (usage analytics) without a write per verify: each
//! verify adds its outcome to this process's counts in memory, and a flush
//! writes them as one `ADD` per key and bucket (its hour, its day) and one
//! per tenant's day, whatever the number of verifies in between.
//!
//! When counts are written. A background task flushes every interval
//! ([`TrafficCounter::interval`], `USAGE_FLUSH_SECONDS`, 5 s by default) while
//! the process runs. A Lambda instance runs only during invocations: counts
//! made in its last interval before it goes idle are written when its next
//! invocation thaws it (the overdue timer fires first), so an instance that is
//! reaped without warning loses at most the counts of its last interval of
//! activity (at most 5 s of that instance's verifies). A failed write keeps its
//! counts for the next flush; a write whose answer is lost (a timeout after
//! DynamoDB applied it) may count its bucket twice. The dev server flushes
//! before every read of the counts, so what it shows is exact.

use std::sync::Mutex;
use std::time::Duration;

use domain::{OutcomeCounts, Timestamp};
use store::{TrafficIncrement, TrafficLog, TrafficWrites};

use crate::verdict::{VerdictCode, VerifiedKey};

/// This process's counts of verify outcomes, per key and bucket.
#[derive(Debug)]
pub struct TrafficCounter {
    /// `None`: counting is off (`USAGE_FLUSH_SECONDS=off`).
    interval: Option<Duration>,
    /// What is counted and not written yet.
    pending: Mutex<TrafficWrites>,
}

impl TrafficCounter {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

    /// Counts, flushed every `interval`; `None` counts nothing.
    pub fn new(interval: Option<Duration>) -> Self {
        Self {
            interval,
            pending: Mutex::default(),
        }
    }

    /// How often the background task writes (`None`: counting is off).
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// Counts one verify of `key` that ended in `code` at `now`.
    pub fn count(&self, key: &VerifiedKey, code: VerdictCode, now: Timestamp) {
        if self.interval.is_none() {
            return;
        }
        let mut counts = OutcomeCounts::default();
        counts.add(code.as_str(), 1);
        let increment = TrafficIncrement {
            tenant: key.tenant_id.clone(),
            key_id: key.key_id.clone(),
            application_id: key.application_id.clone(),
            arx_id: key.arx_id.clone(),
            hour: now.unix_seconds(),
            counts,
        };
        self.lock().add(&increment);
    }

    /// Writes what is pending; what could not be written stays pending
    /// (with what was counted meanwhile) for the next flush. Returns how
    /// many buckets were written to.
    pub async fn flush<S: TrafficLog>(&self, store: &S) -> usize {
        let writes = std::mem::take(&mut *self.lock());
        if writes.is_empty() {
            return 0;
        }
        let buckets = writes.buckets();
        match store.add_traffic(writes).await {
            Ok(()) => buckets,
            Err(failed) => {
                tracing::warn!(error = %store::error_chain(&failed.error), left = failed.rest.buckets(), "could not write usage counts; kept for the next flush");
                let written = buckets - failed.rest.buckets();
                self.lock().merge(failed.rest);
                written
            }
        }
    }

    /// Flushes every interval, for as long as the process runs (a task of
    /// its own: `tokio::spawn(counter.run(store))`).
    pub async fn run<S: TrafficLog>(&self, store: &S) {
        let Some(interval) = self.interval else {
            return;
        };
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.flush(store).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrafficWrites> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
