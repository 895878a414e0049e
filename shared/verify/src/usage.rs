//! Counting what keys do (usage analytics) without a write per verify: each
//! verify adds its outcome to this process's counts in memory, and a flush
//! writes them as one `ADD` per key and bucket (its hour, its day) and one
//! per tenant's day, whatever the number of verifies in between.
//!
//! When counts are written: at most every interval
//! ([`UsageCounter::interval`], `USAGE_FLUSH_SECONDS`, 5 s by default).
//! - A long-running process (the dev server) flushes on a timer
//!   ([`UsageCounter::run`]), before every read of the counts (so what it
//!   shows is exact), and when it stops (Ctrl-C or SIGTERM).
//! - A Lambda instance is frozen between invocations, so a timer there would
//!   start a write that the next freeze cuts in half. It flushes instead at
//!   the end of an invocation once the interval has passed
//!   ([`UsageCounter::flush_if_due`], before the answer is returned: one
//!   batched write every interval, never cut by a freeze), and on the
//!   SIGTERM Lambda sends before it retires the instance (`api::lambda`).
//!   An instance that ends without either (killed, out of memory) loses the
//!   counts of its last interval.
//!
//! Each flush sends its counts as one batch stamped with this process's name
//! and the batch's number ([`store::WriteStamp`]). A batch that fails, or is
//! cut short (its future dropped when a time budget ran out), is kept as it
//! was and sent again before anything newer; the store adds a stamped batch
//! to an item at most once, so a write applied whose answer was lost (and
//! the SDK's own retry of it) adds nothing the second time. No count is lost
//! or counted twice while the process lives.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use domain::{OutcomeCounts, Timestamp};
use store::{UsageIncrement, UsageLog, UsageWrites, WriteStamp};

use crate::verdict::VerifiedKey;

/// This process's counts of verify outcomes, per key and bucket.
#[derive(Debug)]
pub struct UsageCounter {
    /// `None`: counting is off (`USAGE_FLUSH_SECONDS=off`).
    interval: Option<Duration>,
    /// What is counted and not sent yet.
    pending: Mutex<UsageWrites>,
    /// A batch sent and not known to be written (it failed, or its answer
    /// never came): sent again, as it was, before anything newer.
    unacknowledged: Mutex<Option<UsageWrites>>,
    /// This process's name on the items it adds to, and its next batch.
    writer: String,
    next_batch: AtomicU64,
    /// When the last flush began.
    last_flush: Mutex<Instant>,
    /// Held for a whole flush: two at once (a timer's and a read's) could
    /// send a later batch before an earlier one is known to be written, and
    /// the earlier one, sent again, would then be refused as old.
    flushing: tokio::sync::Mutex<()>,
}

impl UsageCounter {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

    /// Counts, flushed every `interval`; `None` counts nothing.
    pub fn new(interval: Option<Duration>) -> Self {
        Self {
            interval,
            pending: Mutex::default(),
            unacknowledged: Mutex::default(),
            writer: writer_name(),
            next_batch: AtomicU64::new(1),
            last_flush: Mutex::new(Instant::now()),
            flushing: tokio::sync::Mutex::new(()),
        }
    }

    /// How often the background task writes (`None`: counting is off).
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// Counts one verify of `key` that ended in `outcome` (a verdict code,
    /// or `ADDRESS_REPORTED`) at `now`.
    pub fn count(&self, key: &VerifiedKey, outcome: &str, now: Timestamp) {
        if self.interval.is_none() {
            return;
        }
        let mut counts = OutcomeCounts::default();
        counts.add(outcome, 1);
        let increment = UsageIncrement {
            tenant: key.tenant_id.clone(),
            key_id: key.key_id.clone(),
            application_id: key.application_id.clone(),
            arx_id: key.arx_id.clone(),
            identity_id: key.identity.as_ref().map(|identity| identity.id.clone()),
            hour: now.unix_seconds(),
            counts,
        };
        self.lock().add(&increment);
    }

    /// Counts one rate-limit check in `namespace` of `tenant`: passed or
    /// limited (and then by whom: the tenant's day's top limited).
    pub fn count_limit(
        &self,
        tenant: &domain::TenantId,
        namespace: &domain::NamespaceId,
        identifier: &domain::Identifier,
        passed: bool,
        now: Timestamp,
    ) {
        if self.interval.is_none() {
            return;
        }
        self.lock().add_limit(store::LimitIncrement {
            tenant: tenant.clone(),
            namespace: namespace.clone(),
            at: now.unix_seconds(),
            passed,
            identifier: (!passed).then(|| identifier.expose().to_owned()),
        });
    }

    /// Whether a flush is due: something is pending and the interval has
    /// passed since the last one began.
    pub fn due(&self) -> bool {
        let Some(interval) = self.interval else {
            return false;
        };
        lock(&self.last_flush).elapsed() >= interval
            && (!self.lock().is_empty() || lock(&self.unacknowledged).is_some())
    }

    /// Flushes if [`UsageCounter::due`], within `budget`: past it the
    /// write is left for a later flush (its counts kept).
    pub async fn flush_if_due<S: UsageLog>(&self, store: &S, budget: Duration) {
        if self.due() {
            self.flush_within(store, budget).await;
        }
    }

    /// Flushes whatever is pending, within `budget` (a process about to end).
    pub async fn flush_within<S: UsageLog>(&self, store: &S, budget: Duration) {
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

    /// Writes what is pending, as one stamped batch (see
    /// [`store::WriteStamp`]), after the batch before it if that one is not
    /// known to be written yet: that one goes again first, as it was, so the
    /// store adds what it had not and nothing twice. A batch that fails, or
    /// whose future is dropped before the store answers, is kept the same
    /// way. Returns how many buckets were written to.
    pub async fn flush<S: UsageLog>(&self, store: &S) -> usize {
        let _one_at_a_time = self.flushing.lock().await;
        let since = std::mem::replace(&mut *lock(&self.last_flush), Instant::now());
        telemetry::metrics::USAGE_FLUSH_LAG.observe("", since.elapsed());
        let mut written = 0;
        let earlier = lock(&self.unacknowledged).take();
        if let Some(batch) = earlier {
            match self.send(store, batch).await {
                Some(buckets) => written += buckets,
                None => return written,
            }
        }
        let mut batch = std::mem::take(&mut *self.lock());
        if batch.is_empty() {
            return written;
        }
        batch.stamp = Some(WriteStamp {
            writer: self.writer.clone(),
            batch: self.next_batch.fetch_add(1, Ordering::SeqCst),
        });
        written + self.send(store, batch).await.unwrap_or(0)
    }

    /// Sends one batch: how many buckets it wrote, or `None` when what is
    /// left of it is kept to be sent again.
    async fn send<S: UsageLog>(&self, store: &S, batch: UsageWrites) -> Option<usize> {
        let buckets = batch.buckets();
        let mut unanswered = PutBack {
            counter: self,
            batch: Some(batch.clone()),
        };
        let sent = store.add_usage(batch).await;
        unanswered.batch = None;
        let result = if sent.is_ok() { "written" } else { "failed" };
        telemetry::metrics::USAGE_FLUSHES.inc(result);
        match sent {
            Ok(()) => Some(buckets),
            Err(failed) => {
                tracing::warn!(error = %store::error_chain(&failed.error), left = failed.rest.buckets(), "could not write usage counts; kept for the next flush");
                *lock(&self.unacknowledged) = Some(failed.rest);
                None
            }
        }
    }

    /// Flushes every interval, for as long as the process runs (a task of
    /// its own: `tokio::spawn(counter.run(store))`).
    pub async fn run<S: UsageLog>(&self, store: &S) {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, UsageWrites> {
        lock(&self.pending)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A batch in flight, kept to be sent again (as it was: its stamp makes
/// that safe) if its future is dropped before the store answers (a time
/// budget ran out): never lost, never counted twice.
struct PutBack<'a> {
    counter: &'a UsageCounter,
    batch: Option<UsageWrites>,
}

impl Drop for PutBack<'_> {
    fn drop(&mut self) {
        if let Some(batch) = self.batch.take() {
            *lock(&self.counter.unacknowledged) = Some(batch);
        }
    }
}

/// A name for this process's writes, unlike any other process's: a hash,
/// keyed at random per process, of its id and the time it started.
fn writer_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    hasher.write_u128(started);
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use domain::{ApiKeyId, ApiKeyName, ApplicationId, ArxId, Permissions, TenantId};
    use store::{StoreResult, TenantDay, UsageNotWritten};

    use crate::verdict::VerdictCode;

    use super::*;

    /// A store that records each batch's number as it starts, and holds
    /// the first write until `gate` opens (never, for a hung connection or
    /// a frozen peer).
    #[derive(Default)]
    struct Held {
        started: Mutex<Vec<u64>>,
        gate: tokio::sync::Notify,
    }

    impl UsageLog for Held {
        async fn add_usage(&self, writes: UsageWrites) -> Result<(), UsageNotWritten> {
            let first = {
                let mut started = lock(&self.started);
                started.push(writes.stamp.map_or(0, |stamp| stamp.batch));
                started.len() == 1
            };
            if first {
                self.gate.notified().await;
            }
            Ok(())
        }
        async fn key_usage(
            &self,
            _: &TenantId,
            _: &ApiKeyId,
            _: domain::Granularity,
            _: i64,
            _: i64,
        ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
            Ok(vec![])
        }
        async fn identity_usage(
            &self,
            _: &TenantId,
            _: &domain::IdentityId,
            _: domain::Granularity,
            _: i64,
            _: i64,
        ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
            Ok(vec![])
        }
        async fn namespace_usage(
            &self,
            _: &TenantId,
            _: &domain::NamespaceId,
            _: domain::Granularity,
            _: i64,
            _: i64,
        ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
            Ok(vec![])
        }
        async fn namespace_top_limited(
            &self,
            _: &TenantId,
            _: &domain::NamespaceId,
            _: i64,
            _: usize,
        ) -> StoreResult<Vec<(String, u64)>> {
            Ok(vec![])
        }
        async fn tenant_usage(
            &self,
            _: &TenantId,
            _: i64,
            _: i64,
            _: store::UsageDetail,
        ) -> StoreResult<Vec<TenantDay>> {
            Ok(vec![])
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_flushes_at_once_send_their_batches_in_order() {
        let counter = std::sync::Arc::new(UsageCounter::new(Some(Duration::from_secs(5))));
        let store = std::sync::Arc::new(Held::default());
        counter.count(&key(), VerdictCode::Valid.as_str(), Timestamp::now());
        let first = tokio::spawn({
            let (counter, store) = (counter.clone(), store.clone());
            async move { counter.flush(&*store).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        counter.count(&key(), VerdictCode::Valid.as_str(), Timestamp::now());
        let second = tokio::spawn({
            let (counter, store) = (counter.clone(), store.clone());
            async move { counter.flush(&*store).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(*lock(&store.started), [1], "the second waits for the first");
        store.gate.notify_one();
        first.await.expect("the first flush");
        second.await.expect("the second flush");
        assert_eq!(*lock(&store.started), [1, 2]);
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
            roles: Default::default(),
            external_id: None,
            meta: None,
            identity: None,
        }
    }

    #[tokio::test]
    async fn a_write_cut_short_keeps_its_counts_and_a_flush_waits_for_its_interval() {
        let counter = UsageCounter::new(Some(Duration::from_millis(50)));
        counter.count(&key(), VerdictCode::Valid.as_str(), Timestamp::now());
        assert!(!counter.due(), "not before the interval");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(counter.due());
        counter
            .flush_if_due(&Held::default(), Duration::from_millis(20))
            .await;
        // The write never answered: its batch is kept whole, with its stamp,
        // to be sent again as it was.
        let kept = lock(&counter.unacknowledged)
            .clone()
            .expect("the batch kept");
        assert_eq!(
            kept.buckets(),
            3,
            "the key's hour and day and the tenant's day"
        );
        assert!(kept.stamp.is_some(), "sent again under the same stamp");
        assert!(counter.lock().is_empty(), "not mixed with what came after");
        assert!(
            !counter.due(),
            "a flush just began: the next waits its interval"
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(counter.due(), "a kept batch is due on its own");
        let off = UsageCounter::new(None);
        off.count(&key(), VerdictCode::Valid.as_str(), Timestamp::now());
        assert!(!off.due());
    }
}
