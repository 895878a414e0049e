//! Counting what keys do (usage analytics) without a write per verify: each
//! verify adds its outcome to this process's counts in memory, and a flush
//! writes them as one `ADD` per key and bucket (its hour, its day) and one
//! per tenant's day, whatever the number of verifies in between.
//!
//! When counts are written: at most every interval
//! ([`TrafficCounter::interval`], `USAGE_FLUSH_SECONDS`, 5 s by default).
//! - A long-running process (the dev server) flushes on a timer
//!   ([`TrafficCounter::run`]), before every read of the counts (so what it
//!   shows is exact), and when it stops (Ctrl-C or SIGTERM).
//! - A Lambda instance is frozen between invocations, so a timer there would
//!   start a write that the next freeze cuts in half. It flushes instead at
//!   the end of an invocation once the interval has passed
//!   ([`TrafficCounter::flush_if_due`], before the answer is returned: one
//!   batched write every interval, never cut by a freeze), and on the
//!   SIGTERM Lambda sends before it retires the instance (`api::lambda`).
//!   An instance that ends without either (killed, out of memory) loses the
//!   counts of its last interval.
//!
//! A failed write keeps its counts for the next flush, and so does a write
//! cut short (its future dropped when a time budget ran out). Either may
//! have been applied all the same, so a lost answer may count a bucket twice;
//! an unanswered write never loses a count.

use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    /// When the last flush began.
    last_flush: Mutex<Instant>,
}

impl TrafficCounter {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

    /// Counts, flushed every `interval`; `None` counts nothing.
    pub fn new(interval: Option<Duration>) -> Self {
        Self {
            interval,
            pending: Mutex::default(),
            last_flush: Mutex::new(Instant::now()),
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

    /// Whether a flush is due: something is pending and the interval has
    /// passed since the last one began.
    pub fn due(&self) -> bool {
        let Some(interval) = self.interval else {
            return false;
        };
        lock(&self.last_flush).elapsed() >= interval && !self.lock().is_empty()
    }

    /// Flushes if [`TrafficCounter::due`], within `budget`: past it the
    /// write is left for a later flush (its counts kept).
    pub async fn flush_if_due<S: TrafficLog>(&self, store: &S, budget: Duration) {
        if self.due() {
            self.flush_within(store, budget).await;
        }
    }

    /// Flushes whatever is pending, within `budget` (a process about to end).
    pub async fn flush_within<S: TrafficLog>(&self, store: &S, budget: Duration) {
        if tokio::time::timeout(budget, self.flush(store))
            .await
            .is_err()
        {
            tracing::warn!(
                budget_ms = budget.as_millis() as u64,
                "usage counts not written in time; kept for the next flush"
            );
        }
    }

    /// Writes what is pending; what could not be written stays pending
    /// (with what was counted meanwhile) for the next flush, as does all of
    /// it when this future is dropped before the store answers. Returns how
    /// many buckets were written to.
    pub async fn flush<S: TrafficLog>(&self, store: &S) -> usize {
        *lock(&self.last_flush) = Instant::now();
        let writes = std::mem::take(&mut *self.lock());
        if writes.is_empty() {
            return 0;
        }
        let buckets = writes.buckets();
        let mut unanswered = PutBack {
            counter: self,
            writes: Some(writes.clone()),
        };
        let written = store.add_traffic(writes).await;
        unanswered.writes = None;
        match written {
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
        lock(&self.pending)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The counts of a write in flight, put back if its future is dropped
/// before the store answers (a time budget ran out): kept, never lost.
struct PutBack<'a> {
    counter: &'a TrafficCounter,
    writes: Option<TrafficWrites>,
}

impl Drop for PutBack<'_> {
    fn drop(&mut self) {
        if let Some(writes) = self.writes.take() {
            self.counter.lock().merge(writes);
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::{ApiKeyId, ApiKeyName, ApplicationId, ArxId, Permissions, TenantId};
    use store::{StoreResult, TenantDay, TrafficNotWritten};

    use super::*;

    /// A store whose writes never answer (a hung connection, a frozen peer).
    struct Hung;

    impl TrafficLog for Hung {
        async fn add_traffic(&self, _: TrafficWrites) -> Result<(), TrafficNotWritten> {
            std::future::pending().await
        }
        async fn key_traffic(
            &self,
            _: &TenantId,
            _: &ApiKeyId,
            _: domain::Granularity,
            _: i64,
            _: i64,
        ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
            Ok(vec![])
        }
        async fn tenant_traffic(
            &self,
            _: &TenantId,
            _: i64,
            _: i64,
            _: store::TrafficDetail,
        ) -> StoreResult<Vec<TenantDay>> {
            Ok(vec![])
        }
    }

    fn key() -> VerifiedKey {
        VerifiedKey {
            key_id: ApiKeyId::new(),
            tenant_id: TenantId::parse("demo").expect("a tenant"),
            application_id: ApplicationId::new(),
            arx_id: ArxId::new(),
            arx_url: "https://arx.test".into(),
            name: ApiKeyName::parse("a key").expect("a name"),
            expires_at: None,
            permissions: Permissions::default(),
            external_id: None,
            meta: None,
        }
    }

    #[tokio::test]
    async fn a_write_cut_short_keeps_its_counts_and_a_flush_waits_for_its_interval() {
        let counter = TrafficCounter::new(Some(Duration::from_millis(50)));
        counter.count(&key(), VerdictCode::Valid, Timestamp::now());
        assert!(!counter.due(), "not before the interval");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(counter.due());
        counter.flush_if_due(&Hung, Duration::from_millis(20)).await;
        // The write never answered: its counts are pending again, whole.
        let pending = std::mem::take(&mut *counter.lock());
        assert_eq!(
            pending.buckets(),
            3,
            "the key's hour and day and the tenant's day"
        );
        assert!(
            !counter.due(),
            "a flush just began: the next waits its interval"
        );
        let off = TrafficCounter::new(None);
        off.count(&key(), VerdictCode::Valid, Timestamp::now());
        assert!(!off.due());
    }
}
