//! The metrics, each a `static`: counters and histograms with at most one
//! label. A series is added the first time its label value is seen (a
//! write lock, once); after that a count is a read lock and an atomic add.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

/// Whether anything is counted (on unless [`switch_off`]: the load script
/// measures what counting costs by running with it off).
static ON: AtomicBool = AtomicBool::new(true);

/// Counts nothing from now on (`TELEMETRY=off` on the dev server).
pub fn switch_off() {
    ON.store(false, Ordering::Relaxed);
}

fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Set when this process writes EMF lines though it is no Lambda (tests).
static KEEP_SAMPLES: AtomicBool = AtomicBool::new(false);

/// Keeps each histogram's recent observations for EMF lines, as a Lambda
/// does on its own.
pub fn keep_emf_samples() {
    KEEP_SAMPLES.store(true, Ordering::Relaxed);
}

/// Whether this process writes EMF lines: a Lambda function (its runtime
/// API is set), or one told to.
fn in_lambda() -> bool {
    static IN_LAMBDA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    KEEP_SAMPLES.load(Ordering::Relaxed)
        || *IN_LAMBDA.get_or_init(|| std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some())
}

/// A metric of either kind, as the writers see it.
#[derive(Debug, Clone, Copy)]
pub enum Metric {
    Counter(&'static Counter),
    Histogram(&'static Histogram),
}

/// Every metric, in the order the outputs list them.
pub static ALL: [Metric; 19] = [
    Metric::Counter(&REQUESTS),
    Metric::Counter(&RESPONSES),
    Metric::Counter(&AUTHORIZATIONS),
    Metric::Counter(&JOB_RUNS),
    Metric::Counter(&VERIFIES),
    Metric::Histogram(&VERIFY_DURATION),
    Metric::Counter(&VERDICT_CACHE),
    Metric::Counter(&LIMIT_CHARGES),
    Metric::Counter(&LEASES),
    Metric::Counter(&GROUP_COMMITS),
    Metric::Counter(&GROUP_COMMITTED_WRITES),
    Metric::Counter(&RATE_LIMIT_CHECKS),
    Metric::Counter(&STORE_RETRIES),
    Metric::Counter(&USAGE_FLUSHES),
    Metric::Histogram(&USAGE_FLUSH_LAG),
    Metric::Counter(&EXPIRY_NOTICES),
    Metric::Counter(&LEAK_REPORTS),
    Metric::Counter(&KEYS_IMPORTED),
    Metric::Counter(&KEYS_REHASHED),
];

pub static REQUESTS: Counter = Counter::new(
    "requests",
    "Requests",
    "Requests served, by route (its name in the route table).",
    Some(("route", "Route")),
);
pub static RESPONSES: Counter = Counter::new(
    "responses",
    "Responses",
    "Answers sent, by status class (2xx, 4xx, 5xx).",
    Some(("status", "Status")),
);
pub static AUTHORIZATIONS: Counter = Counter::new(
    "authorizations",
    "Authorizations",
    "The API's authorizer's decisions, by result (allowed, denied, failed).",
    Some(("result", "Result")),
);
pub static JOB_RUNS: Counter = Counter::new(
    "job_runs",
    "JobRuns",
    "Runs of the cleanup function, by what started it (schedule, stream).",
    Some(("job", "Job")),
);
pub static VERIFIES: Counter = Counter::new(
    "verifies",
    "Verifies",
    "Keys checked (verify and the key-authorizer), by the verdict's code.",
    Some(("outcome", "Outcome")),
);
pub static VERIFY_DURATION: Histogram = Histogram::new(
    "verify_duration_seconds",
    "VerifyLatency",
    "How long a check took in process, by whether its verdict was cached (warm) or not (cold).",
    Some(("cache", "Cache")),
    &[
        0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    ],
);
pub static VERDICT_CACHE: Counter = Counter::new(
    "verdict_cache_lookups",
    "VerdictCacheLookups",
    "Verdict cache lookups by result (hit, miss).",
    Some(("result", "Result")),
);
pub static LIMIT_CHARGES: Counter = Counter::new(
    "limit_charges",
    "LimitCharges",
    "Charges of a limited key's or an identity's counters, by result (charged, refused).",
    Some(("result", "Result")),
);
pub static LEASES: Counter = Counter::new(
    "leases",
    "Leases",
    "Leases of hot counters, by event (taken, spent_from: a charge paid from one with no write, returned).",
    Some(("event", "Event")),
);
pub static GROUP_COMMITS: Counter = Counter::new(
    "group_commits",
    "GroupCommits",
    "Commits of the embedded store's writer (the dev server): one per batch of writes that queued.",
    None,
);
pub static GROUP_COMMITTED_WRITES: Counter = Counter::new(
    "group_committed_writes",
    "GroupCommittedWrites",
    "Writes those commits carried: divided by the commits, the mean batch.",
    None,
);
pub static RATE_LIMIT_CHECKS: Counter = Counter::new(
    "rate_limit_checks",
    "RateLimitChecks",
    "Rate limit checks (POST /v1/ratelimit), by result (passed, limited).",
    Some(("result", "Result")),
);
pub static STORE_RETRIES: Counter = Counter::new(
    "store_retries",
    "StoreRetries",
    "Writes tried again, by why (changed: read and decided again; conflict: a DynamoDB transaction conflict).",
    Some(("reason", "Reason")),
);
pub static USAGE_FLUSHES: Counter = Counter::new(
    "usage_flushes",
    "UsageFlushes",
    "Writes of the usage counted in process, by result (written, failed).",
    Some(("result", "Result")),
);
pub static USAGE_FLUSH_LAG: Histogram = Histogram::new(
    "usage_flush_lag_seconds",
    "UsageFlushLag",
    "How old the oldest count of a usage flush was when it was written.",
    None,
    &[1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0],
);
pub static EXPIRY_NOTICES: Counter = Counter::new(
    "expiry_notices",
    "ExpiryNotices",
    "Expiry notices the sweep sent.",
    None,
);
pub static LEAK_REPORTS: Counter = Counter::new(
    "leak_report_tokens",
    "LeakReportTokens",
    "Tokens GitHub secret scanning reported, by label (true_positive, false_positive).",
    Some(("label", "Label")),
);
pub static KEYS_IMPORTED: Counter = Counter::new(
    "keys_imported",
    "KeysImported",
    "Keys imported (POST /v1/api-keys/import).",
    None,
);
pub static KEYS_REHASHED: Counter = Counter::new(
    "keys_rehashed",
    "KeysRehashed",
    "Imported keys whose old hash was replaced by ours at their first match.",
    None,
);

/// `2xx`, `3xx`, `4xx`, `5xx`: a status as a label of four values.
pub fn status_class(status: u16) -> &'static str {
    match status {
        ..300 => "2xx",
        300..400 => "3xx",
        400..500 => "4xx",
        _ => "5xx",
    }
}

/// A label: its Prometheus name and its EMF dimension name.
pub type Label = Option<(&'static str, &'static str)>;

/// A count that only goes up.
#[derive(Debug)]
pub struct Counter {
    pub name: &'static str,
    pub emf_name: &'static str,
    pub help: &'static str,
    pub label: Label,
    series: RwLock<Vec<CounterSeries>>,
}

#[derive(Debug)]
pub(crate) struct CounterSeries {
    pub(crate) value: &'static str,
    pub(crate) total: AtomicU64,
    /// What the last EMF line had written of `total`.
    pub(crate) written: AtomicU64,
}

impl Counter {
    pub const fn new(
        name: &'static str,
        emf_name: &'static str,
        help: &'static str,
        label: Label,
    ) -> Self {
        Self {
            name,
            emf_name,
            help,
            label,
            series: RwLock::new(Vec::new()),
        }
    }

    /// One more (of a metric without a label: `value` is `""`).
    pub fn inc(&self, value: &'static str) {
        self.add(value, 1);
    }

    pub fn add(&self, value: &'static str, n: u64) {
        if !on() {
            return;
        }
        with_series(&self.series, value, CounterSeries::new, |series| {
            series.total.fetch_add(n, Ordering::Relaxed);
        });
    }

    /// Each series: its label value and total.
    pub fn totals(&self) -> Vec<(&'static str, u64)> {
        read(&self.series)
            .iter()
            .map(|series| (series.value, series.total.load(Ordering::Relaxed)))
            .collect()
    }

    /// Each series' count since the last call (for an EMF line).
    pub(crate) fn take_deltas(&self) -> Vec<(&'static str, u64)> {
        read(&self.series)
            .iter()
            .filter_map(|series| {
                let total = series.total.load(Ordering::Relaxed);
                let before = series.written.swap(total, Ordering::Relaxed);
                let delta = total.saturating_sub(before);
                (delta > 0).then_some((series.value, delta))
            })
            .collect()
    }
}

impl CounterSeries {
    fn new(value: &'static str) -> Self {
        Self {
            value,
            total: AtomicU64::new(0),
            written: AtomicU64::new(0),
        }
    }
}

/// Observations in buckets (Prometheus' cumulative `le`), and the last ones
/// as they were, for an EMF line (at most [`Histogram::KEPT`] between two).
#[derive(Debug)]
pub struct Histogram {
    pub name: &'static str,
    pub emf_name: &'static str,
    pub help: &'static str,
    pub label: Label,
    /// Upper bounds in seconds, ascending.
    pub bounds: &'static [f64],
    series: RwLock<Vec<HistogramSeries>>,
}

#[derive(Debug)]
pub(crate) struct HistogramSeries {
    pub(crate) value: &'static str,
    /// One per bound, and one past the last (`+Inf`).
    pub(crate) buckets: Vec<AtomicU64>,
    pub(crate) sum_nanos: AtomicU64,
    pub(crate) count: AtomicU64,
    pub(crate) recent: Mutex<Vec<f64>>,
}

impl Histogram {
    /// Observations kept between two EMF lines (EMF takes 100 values a metric).
    pub const KEPT: usize = 100;

    pub const fn new(
        name: &'static str,
        emf_name: &'static str,
        help: &'static str,
        label: Label,
        bounds: &'static [f64],
    ) -> Self {
        Self {
            name,
            emf_name,
            help,
            label,
            bounds,
            series: RwLock::new(Vec::new()),
        }
    }

    pub fn observe(&self, value: &'static str, took: Duration) {
        if !on() {
            return;
        }
        let seconds = took.as_secs_f64();
        let bucket = self
            .bounds
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(self.bounds.len());
        let buckets = self.bounds.len() + 1;
        with_series(
            &self.series,
            value,
            |value| HistogramSeries::new(value, buckets),
            |series| {
                if let Some(counter) = series.buckets.get(bucket) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
                series.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
                series.count.fetch_add(1, Ordering::Relaxed);
                // Kept only for EMF lines, which only a Lambda writes: the
                // dev server under load never takes this lock.
                if in_lambda()
                    && let Ok(mut recent) = series.recent.lock()
                    && recent.len() < Self::KEPT
                {
                    recent.push(seconds);
                }
            },
        );
    }

    /// Each series: its label value, cumulative bucket counts, sum (s), count.
    pub fn snapshot(&self) -> Vec<(&'static str, Vec<u64>, f64, u64)> {
        read(&self.series)
            .iter()
            .map(|series| {
                let mut running = 0;
                let cumulative = series
                    .buckets
                    .iter()
                    .map(|bucket| {
                        running += bucket.load(Ordering::Relaxed);
                        running
                    })
                    .collect();
                let sum = series.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
                (
                    series.value,
                    cumulative,
                    sum,
                    series.count.load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    /// Each series' observations since the last call (for an EMF line), in seconds.
    pub(crate) fn take_recent(&self) -> Vec<(&'static str, Vec<f64>)> {
        read(&self.series)
            .iter()
            .filter_map(|series| {
                let taken = series
                    .recent
                    .lock()
                    .map(|mut recent| std::mem::take(&mut *recent))
                    .unwrap_or_default();
                (!taken.is_empty()).then_some((series.value, taken))
            })
            .collect()
    }
}

impl HistogramSeries {
    fn new(value: &'static str, buckets: usize) -> Self {
        Self {
            value,
            buckets: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
            recent: Mutex::new(Vec::new()),
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `update` on the series of `value`, adding it first if it is new.
fn with_series<S>(
    lock: &RwLock<Vec<S>>,
    value: &'static str,
    make: impl FnOnce(&'static str) -> S,
    update: impl Fn(&S),
) where
    S: SeriesOf,
{
    if let Some(series) = read(lock).iter().find(|s| s.value() == value) {
        update(series);
        return;
    }
    let mut all = lock
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !all.iter().any(|s| s.value() == value) {
        all.push(make(value));
    }
    if let Some(series) = all.iter().find(|s| s.value() == value) {
        update(series);
    }
}

trait SeriesOf {
    fn value(&self) -> &'static str;
}

impl SeriesOf for CounterSeries {
    fn value(&self) -> &'static str {
        self.value
    }
}

impl SeriesOf for HistogramSeries {
    fn value(&self) -> &'static str {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_keep_a_series_per_label_and_deltas_between_lines() {
        static C: Counter = Counter::new("c", "C", "test", Some(("outcome", "Outcome")));
        C.inc("VALID");
        C.add("VALID", 2);
        C.inc("NOT_FOUND");
        assert_eq!(C.totals(), vec![("VALID", 3), ("NOT_FOUND", 1)]);
        assert_eq!(C.take_deltas(), vec![("VALID", 3), ("NOT_FOUND", 1)]);
        assert_eq!(C.take_deltas(), vec![]);
        C.inc("VALID");
        assert_eq!(C.take_deltas(), vec![("VALID", 1)]);
    }

    #[test]
    fn histograms_count_into_cumulative_buckets() {
        static H: Histogram = Histogram::new("h", "H", "test", None, &[0.001, 0.01]);
        keep_emf_samples();
        H.observe("", Duration::from_micros(500));
        H.observe("", Duration::from_millis(5));
        H.observe("", Duration::from_secs(1));
        let snapshot = H.snapshot();
        assert_eq!(snapshot[0].1, vec![1, 2, 3]);
        assert_eq!(snapshot[0].3, 3);
        assert!((snapshot[0].2 - 1.0055).abs() < 1e-9);
        assert_eq!(H.take_recent()[0].1.len(), 3);
        assert!(H.take_recent().is_empty());
    }
}
