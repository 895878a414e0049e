//! Usage analytics: how many verifies of each outcome each key had, per hour
//! and per day, and a tenant's days by key, application and Arx. Written as
//! increments a process has added up (never one write per verify at
//! volume), kept for [`Granularity::retention_days`] (DynamoDB's TTL).

use std::collections::BTreeMap;
use std::future::Future;

use domain::{
    ApiKeyId, ApplicationId, ArxId, Granularity, IdentityId, NamespaceId, OutcomeCounts, TenantId,
};

use crate::error::{StoreError, StoreResult};

/// One key's verifies in one hour, as a process counted them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageIncrement {
    pub tenant: TenantId,
    pub key_id: ApiKeyId,
    pub application_id: ApplicationId,
    pub arx_id: ArxId,
    /// The identity the key belongs to, if the tenant recorded one: its
    /// hours and days are counted too, from the same increments.
    pub identity_id: Option<IdentityId>,
    /// The hour's start, epoch seconds.
    pub hour: i64,
    pub counts: OutcomeCounts,
}

/// One rate-limit check, as a process counts it: passed or limited, and
/// for a limited one the identifier (the tenant's own data, shown back to
/// it as its day's top limited identifiers; never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitIncrement {
    pub tenant: TenantId,
    pub namespace: NamespaceId,
    /// When, epoch seconds.
    pub at: i64,
    pub passed: bool,
    pub identifier: Option<String>,
}

/// A tenant's namespace's day (its start, epoch seconds).
pub type NamespaceDay = (TenantId, NamespaceId, i64);

/// What a namespace's checks are counted as.
pub const PASSED: &str = "PASSED";
pub const LIMITED: &str = "LIMITED";

/// The most identifiers a process tracks per namespace and day between two
/// writes (beyond them a new one is counted in the buckets only) ...
pub const LIMITED_TRACKED: usize = 1_000;
/// ... and the most it writes of them per write, the most refused first.
pub const LIMITED_WRITTEN: usize = 20;

/// One day of a tenant's verifies, by key, application, Arx and identity (ids).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantDay {
    /// The day's start, epoch seconds.
    pub day: i64,
    pub by_key: BTreeMap<String, OutcomeCounts>,
    /// Read with the keys ([`UsageDetail::WithKeys`]): they grow alike.
    pub by_identity: BTreeMap<String, OutcomeCounts>,
    pub by_application: BTreeMap<String, OutcomeCounts>,
    pub by_arx: BTreeMap<String, OutcomeCounts>,
}

/// A batch of counts not (all) written: why, and what is left to write
/// (the writer adds it to its next batch, so a failed write loses nothing).
#[derive(Debug)]
pub struct UsageNotWritten {
    pub error: StoreError,
    pub rest: UsageWrites,
}

pub trait UsageLog: Send + Sync {
    /// Adds `writes` to the stored counts (each key's hour and day, and its
    /// tenant's day), each bucket an addition of its own (concurrent ones
    /// from many processes all count). On failure, what was not written.
    fn add_usage(
        &self,
        writes: UsageWrites,
    ) -> impl Future<Output = Result<(), UsageNotWritten>> + Send;

    /// The key's buckets from the one starting at `from` to the one starting
    /// at `to` (epoch seconds), oldest first; buckets without a verify are absent.
    fn key_usage(
        &self,
        tenant: &TenantId,
        key: &ApiKeyId,
        granularity: Granularity,
        from: i64,
        to: i64,
    ) -> impl Future<Output = StoreResult<Vec<(i64, OutcomeCounts)>>> + Send;

    /// The identity's buckets, as [`UsageLog::key_usage`] a key's.
    fn identity_usage(
        &self,
        tenant: &TenantId,
        identity: &IdentityId,
        granularity: Granularity,
        from: i64,
        to: i64,
    ) -> impl Future<Output = StoreResult<Vec<(i64, OutcomeCounts)>>> + Send;

    /// The namespace's buckets (`PASSED`, `LIMITED`), as [`UsageLog::key_usage`] a key's.
    fn namespace_usage(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceId,
        granularity: Granularity,
        from: i64,
        to: i64,
    ) -> impl Future<Output = StoreResult<Vec<(i64, OutcomeCounts)>>> + Send;

    /// The identifiers the namespace refused on the day starting at `day`,
    /// with how often, the most refused first, at most `most`.
    fn namespace_top_limited(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceId,
        day: i64,
        most: usize,
    ) -> impl Future<Output = StoreResult<Vec<(String, u64)>>> + Send;

    /// The tenant's days from `from` to `to` (day starts), oldest first:
    /// by application and Arx, and by key too when `detail` says so (the
    /// per-key counts are most of what a busy day holds: read only when asked).
    fn tenant_usage(
        &self,
        tenant: &TenantId,
        from: i64,
        to: i64,
        detail: UsageDetail,
    ) -> impl Future<Output = StoreResult<Vec<TenantDay>>> + Send;
}

/// What a read of a tenant's days brings back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageDetail {
    /// By application and Arx (and so by outcome): small, whatever the keys.
    Summary,
    /// By key and by identity too.
    WithKeys,
}

/// What counts add to each stored bucket: every key's hour and day, and
/// every tenant's day, added up in process. Both stores write exactly this.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UsageWrites {
    pub key_buckets: BTreeMap<(TenantId, ApiKeyId, Granularity, i64), OutcomeCounts>,
    pub identity_buckets: BTreeMap<(TenantId, IdentityId, Granularity, i64), OutcomeCounts>,
    /// Rate-limit namespaces' hours and days (`PASSED`, `LIMITED`).
    pub namespace_buckets: BTreeMap<(TenantId, NamespaceId, Granularity, i64), OutcomeCounts>,
    /// The identifiers each namespace refused each day, by how often
    /// (at most [`LIMITED_TRACKED`] each; the top [`LIMITED_WRITTEN`] written).
    pub namespace_limited: BTreeMap<NamespaceDay, BTreeMap<String, u64>>,
    pub tenant_days: BTreeMap<(TenantId, i64), TenantDay>,
    /// Which batch of which writer these are, so that a store adds each
    /// batch to an item at most once however often it is sent (see
    /// [`WriteStamp`]); `None` for writes no one will send twice.
    pub stamp: Option<WriteStamp>,
}

/// A writer (one process's counter) and the number of one of its batches,
/// rising with every batch. DynamoDB keeps on each item the last batch of
/// each writer it added, and adds a batch only if it is later: a write sent
/// again (the SDK's retry after a timeout, or a later flush's after a
/// failure) whose first sending was applied adds nothing the second time.
/// A writer sends a batch again before any later one, so none is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteStamp {
    pub writer: String,
    pub batch: u64,
}

impl UsageWrites {
    pub fn of(increments: &[UsageIncrement]) -> Self {
        let mut writes = Self::default();
        for increment in increments {
            writes.add(increment);
        }
        writes
    }

    pub fn is_empty(&self) -> bool {
        self.key_buckets.is_empty()
            && self.identity_buckets.is_empty()
            && self.tenant_days.is_empty()
            && self.namespace_buckets.is_empty()
            && self.namespace_limited.is_empty()
    }

    /// How many stored buckets these writes touch (one write each).
    pub fn buckets(&self) -> usize {
        self.key_buckets.len()
            + self.identity_buckets.len()
            + self.tenant_days.len()
            + self.namespace_buckets.len()
            + self.namespace_limited.len()
    }

    /// These writes and `other`'s, added up.
    pub fn merge(&mut self, other: UsageWrites) {
        for (bucket, counts) in other.key_buckets {
            self.key_buckets.entry(bucket).or_default().merge(&counts);
        }
        for (bucket, counts) in other.identity_buckets {
            self.identity_buckets
                .entry(bucket)
                .or_default()
                .merge(&counts);
        }
        for (bucket, counts) in other.namespace_buckets {
            self.namespace_buckets
                .entry(bucket)
                .or_default()
                .merge(&counts);
        }
        for (day, limited) in other.namespace_limited {
            let mine = self.namespace_limited.entry(day).or_default();
            for (identifier, n) in limited {
                count_limited(mine, identifier, n);
            }
        }
        for (bucket, day) in other.tenant_days {
            self.tenant_days
                .entry(bucket)
                .or_insert_with(|| TenantDay {
                    day: day.day,
                    ..TenantDay::default()
                })
                .merge(&day);
        }
    }

    pub fn add(&mut self, increment: &UsageIncrement) {
        let writes = self;
        let day = Granularity::Day.start_of(increment.hour);
        let tenant = &increment.tenant;
        for (granularity, start) in [
            (
                Granularity::Hour,
                Granularity::Hour.start_of(increment.hour),
            ),
            (Granularity::Day, day),
        ] {
            writes
                .key_buckets
                .entry((tenant.clone(), increment.key_id.clone(), granularity, start))
                .or_default()
                .merge(&increment.counts);
            if let Some(identity) = &increment.identity_id {
                writes
                    .identity_buckets
                    .entry((tenant.clone(), identity.clone(), granularity, start))
                    .or_default()
                    .merge(&increment.counts);
            }
        }
        let rollup = writes
            .tenant_days
            .entry((tenant.clone(), day))
            .or_insert_with(|| TenantDay {
                day,
                ..TenantDay::default()
            });
        let ids = [
            (&mut rollup.by_key, increment.key_id.as_str()),
            (
                &mut rollup.by_application,
                increment.application_id.as_str(),
            ),
            (&mut rollup.by_arx, increment.arx_id.as_str()),
        ];
        for (map, id) in ids {
            map.entry(id.to_owned())
                .or_default()
                .merge(&increment.counts);
        }
        if let Some(identity) = &increment.identity_id {
            rollup
                .by_identity
                .entry(identity.to_string())
                .or_default()
                .merge(&increment.counts);
        }
    }
}

impl UsageWrites {
    /// Counts one rate-limit check.
    pub fn add_limit(&mut self, increment: LimitIncrement) {
        let day = Granularity::Day.start_of(increment.at);
        let outcome = if increment.passed { PASSED } else { LIMITED };
        for granularity in [Granularity::Hour, Granularity::Day] {
            let start = granularity.start_of(increment.at);
            let bucket = (
                increment.tenant.clone(),
                increment.namespace.clone(),
                granularity,
                start,
            );
            self.namespace_buckets
                .entry(bucket)
                .or_default()
                .add(outcome, 1);
        }
        if let Some(identifier) = increment.identifier.filter(|_| !increment.passed) {
            let limited = self
                .namespace_limited
                .entry((increment.tenant, increment.namespace, day))
                .or_default();
            count_limited(limited, identifier, 1);
        }
    }

    /// The top [`LIMITED_WRITTEN`] of each namespace's day: what a store
    /// writes of `namespace_limited`.
    pub fn top_limited(&self) -> impl Iterator<Item = (&NamespaceDay, Vec<(&str, u64)>)> {
        self.namespace_limited.iter().map(|(day, limited)| {
            let mut top: Vec<(&str, u64)> = limited
                .iter()
                .map(|(identifier, n)| (identifier.as_str(), *n))
                .collect();
            top.sort_by(most_then_name);
            top.truncate(LIMITED_WRITTEN);
            (day, top)
        })
    }
}

/// `counts` with the highest first (ties by identifier), at most `most`.
pub(crate) fn most_first(mut counts: Vec<(String, u64)>, most: usize) -> Vec<(String, u64)> {
    counts.sort_by(|a, b| most_then_name(&(a.0.as_str(), a.1), &(b.0.as_str(), b.1)));
    counts.truncate(most);
    counts
}

/// The higher count first, then the name: the one order of top lists.
fn most_then_name(a: &(&str, u64), b: &(&str, u64)) -> std::cmp::Ordering {
    b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0))
}

/// Adds `n` refusals of `identifier`, tracking at most [`LIMITED_TRACKED`].
fn count_limited(limited: &mut BTreeMap<String, u64>, identifier: String, n: u64) {
    if let Some(count) = limited.get_mut(&identifier) {
        *count = count.saturating_add(n);
    } else if limited.len() < LIMITED_TRACKED {
        limited.insert(identifier, n);
    }
}

impl TenantDay {
    /// Adds `other`'s counts to this day's.
    pub fn merge(&mut self, other: &TenantDay) {
        for (mine, theirs) in [
            (&mut self.by_key, &other.by_key),
            (&mut self.by_application, &other.by_application),
            (&mut self.by_arx, &other.by_arx),
            (&mut self.by_identity, &other.by_identity),
        ] {
            for (id, counts) in theirs {
                mine.entry(id.clone()).or_default().merge(counts);
            }
        }
    }
}
