//! What a process remembers of recent checks, by a keyed fingerprint of
//! what was presented (never the key): access keys' verdicts, and who a
//! service key is; and how often a key's last use is written.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth::{Fingerprint, Fingerprinter, Identity};
use domain::{ApiKeyId, ServiceKey, ServiceKeyId, Timestamp};
use quick_cache::sync::Cache;
use tokio::sync::OnceCell;

use crate::verdict::Checked;

/// `last_used_at` is written at most this often per key.
pub const LAST_USED_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Verdicts of recent checks, and the checks in flight.
///
/// Keys found and keys not found are kept apart, each bounded and evicting
/// one entry at a time (S3-FIFO: an entry read only once leaves first): a
/// flood of made-up keys churns only the second and never displaces a key
/// that exists. A revocation in this process ([`VerdictCache::clear`]) moves
/// the generation on, and a check that began before it neither stores its
/// verdict nor is joined by a check that begins after it.
pub struct VerdictCache {
    fingerprints: Fingerprinter,
    ttl: Duration,
    found: Cache<Fingerprint, Entry>,
    not_found: Cache<Fingerprint, Instant>,
    generation: AtomicU64,
    in_flight: Mutex<HashMap<Fingerprint, InFlight>>,
    /// When this process last recorded each key's use: kept apart from the
    /// verdicts so that a TTL of zero does not mean a write try per verify.
    uses_recorded: Mutex<HashMap<ApiKeyId, Instant>>,
}

/// A check under way, which later callers for the same key (of the same
/// generation) wait on.
pub(crate) struct InFlight {
    generation: u64,
    cell: Arc<OnceCell<Arc<Checked>>>,
}

#[derive(Clone)]
struct Entry {
    checked: Arc<Checked>,
    at: Instant,
}

impl std::fmt::Debug for VerdictCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerdictCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl VerdictCache {
    /// Verdicts of keys that exist, kept at most.
    const CAPACITY: usize = 10_000;
    /// Verdicts of keys that do not (a repeated wrong key costs one check per
    /// TTL), kept at most.
    const NOT_FOUND_CAPACITY: usize = 10_000;

    /// A cache whose verdicts live for `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            fingerprints: Fingerprinter::random(),
            ttl,
            found: Cache::new(Self::CAPACITY),
            not_found: Cache::new(Self::NOT_FOUND_CAPACITY),
            generation: AtomicU64::new(0),
            in_flight: Mutex::default(),
            uses_recorded: Mutex::default(),
        }
    }

    /// Forgets every verdict: a key, application or Arx changed in this
    /// process, and the next verify must see it, whatever checks are in flight.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.found.clear();
        self.not_found.clear();
    }

    /// The generation a check begins in (see [`VerdictCache::remember`]).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The keyed hash the cache knows a presented key by: without the random
    /// per-process key it cannot be computed, so it says nothing of the key.
    pub(crate) fn fingerprint(&self, presented: &impl crate::hashing::KeyText) -> Fingerprint {
        self.fingerprints.of(presented.key_text().as_bytes())
    }

    pub(crate) fn cached(&self, fingerprint: &Fingerprint) -> Option<Arc<Checked>> {
        if let Some(entry) = self.found.get(fingerprint)
            && entry.at.elapsed() < self.ttl
        {
            return Some(entry.checked);
        }
        self.not_found
            .get(fingerprint)
            .filter(|at| at.elapsed() < self.ttl)
            .map(|_| Arc::new(Checked::NotFound))
    }

    /// The check of `fingerprint` under way in `generation`, which the
    /// caller joins, or a new one it starts.
    pub(crate) fn join(
        &self,
        fingerprint: Fingerprint,
        generation: u64,
    ) -> Arc<OnceCell<Arc<Checked>>> {
        let mut in_flight = lock(&self.in_flight);
        let current = in_flight
            .get(&fingerprint)
            .filter(|check| check.generation == generation);
        if let Some(check) = current {
            return Arc::clone(&check.cell);
        }
        let cell = Arc::new(OnceCell::new());
        in_flight.insert(
            fingerprint,
            InFlight {
                generation,
                cell: Arc::clone(&cell),
            },
        );
        cell
    }

    /// The check `cell` is over: later callers start their own.
    pub(crate) fn leave(&self, fingerprint: &Fingerprint, cell: &Arc<OnceCell<Arc<Checked>>>) {
        let mut in_flight = lock(&self.in_flight);
        if in_flight
            .get(fingerprint)
            .is_some_and(|check| Arc::ptr_eq(&check.cell, cell))
        {
            in_flight.remove(fingerprint);
        }
    }

    /// Keeps the verdict of a check that began in `generation`, unless a
    /// revocation came since (its verdict may predate it).
    pub(crate) fn remember(
        &self,
        fingerprint: Fingerprint,
        checked: Arc<Checked>,
        generation: u64,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let at = Instant::now();
        if matches!(checked.as_ref(), Checked::Found(_)) {
            keep_unless_revoked(
                &self.generation,
                generation,
                || self.found.insert(fingerprint, Entry { checked, at }),
                || self.found.remove(&fingerprint),
            );
        } else {
            keep_unless_revoked(
                &self.generation,
                generation,
                || self.not_found.insert(fingerprint, at),
                || self.not_found.remove(&fingerprint),
            );
        }
    }

    /// Whether this process should record a use of `key` now: at most once
    /// per `interval` per key (the store's condition holds across processes).
    pub(crate) fn due_for_use_record(&self, key: &ApiKeyId, interval: Duration) -> bool {
        let mut recorded = lock(&self.uses_recorded);
        if recorded.get(key).is_some_and(|at| at.elapsed() < interval) {
            return false;
        }
        if recorded.len() >= Self::CAPACITY {
            recorded.retain(|_, at| at.elapsed() < interval);
            if recorded.len() >= Self::CAPACITY {
                recorded.clear();
            }
        }
        recorded.insert(key.clone(), Instant::now());
        true
    }
}

/// Keeps what a check that began in generation `began` found (`insert`),
/// unless a revocation moved `generation` on since: judged before the insert,
/// and again after it (`take_back`), since a revocation's `clear` may run
/// between the two and would then miss the entry. Both caches of answers
/// (verdicts, service keys) keep through this one rule.
pub(crate) fn keep_unless_revoked<I, T>(
    generation: &AtomicU64,
    began: u64,
    insert: impl FnOnce() -> I,
    take_back: impl FnOnce() -> T,
) {
    if generation.load(Ordering::SeqCst) != began {
        return;
    }
    insert();
    if generation.load(Ordering::SeqCst) != began {
        take_back();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Recent answers for presented service keys, by fingerprint.
pub struct ServiceKeyCache {
    fingerprints: Fingerprinter,
    ttl: Duration,
    /// `Some`: a key of ours with the right secret (still to be checked for
    /// its expiry); `None`: no such key.
    answers: Cache<Fingerprint, (Option<Found>, Instant)>,
    /// Moves on with every [`ServiceKeyCache::clear`]: a check that began
    /// before a revocation does not store what it read.
    pub(crate) generation: AtomicU64,
    uses_recorded: Mutex<HashMap<ServiceKeyId, Instant>>,
}

#[derive(Clone)]
pub(crate) struct Found {
    pub(crate) identity: Identity,
    pub(crate) expires_at: Option<Timestamp>,
}

impl Found {
    pub(crate) fn of(key: &ServiceKey) -> Option<Self> {
        Some(Self {
            identity: Identity::of_service_key(key.tenant_id.clone(), &key.id, key.role)?,
            expires_at: key.expires_at.map(domain::ExpiresAt::at),
        })
    }
}

impl std::fmt::Debug for ServiceKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceKeyCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl ServiceKeyCache {
    /// Answers kept at most: a tenant has a handful of service keys, and a
    /// flood of made-up ones only churns this.
    const CAPACITY: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        Self {
            fingerprints: Fingerprinter::random(),
            ttl,
            answers: Cache::new(Self::CAPACITY),
            generation: AtomicU64::new(0),
            uses_recorded: Mutex::default(),
        }
    }

    /// What a presented service key is remembered by.
    pub(crate) fn fingerprint(&self, presented: &[u8]) -> Fingerprint {
        self.fingerprints.of(presented)
    }

    /// The revocations seen so far: a check notes it before it reads, and
    /// keeps what it read only if none came since ([`Self::remember`]).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Forgets every answer: a service key was revoked in this process.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.answers.clear();
    }

    /// Keeps the answer of a check that began in `generation`, unless a
    /// revocation came since, even one racing the insert itself.
    pub(crate) fn remember(&self, fingerprint: Fingerprint, found: Option<Found>, generation: u64) {
        keep_unless_revoked(
            &self.generation,
            generation,
            || self.answers.insert(fingerprint, (found, Instant::now())),
            || self.answers.remove(&fingerprint),
        );
    }

    pub(crate) fn cached(&self, fingerprint: &Fingerprint) -> Option<Option<Found>> {
        self.answers
            .get(fingerprint)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(found, _)| found)
    }

    /// Whether this process should record the key's use now (at most once
    /// per [`LAST_USED_INTERVAL`]).
    pub(crate) fn due_for_use_record(&self, id: &ServiceKeyId) -> bool {
        let mut recorded = self
            .uses_recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = recorded
            .get(id)
            .is_none_or(|at| at.elapsed() >= LAST_USED_INTERVAL);
        if due {
            if recorded.len() >= Self::CAPACITY {
                recorded.clear();
            }
            recorded.insert(id.clone(), Instant::now());
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_taken_back_when_a_revocation_lands_during_its_insert() {
        let generation = AtomicU64::new(7);
        let kept = Mutex::new(Vec::new());
        // The revocation's `clear` runs after the first look at the
        // generation and before the insert lands: the insert must not stay.
        keep_unless_revoked(
            &generation,
            7,
            || {
                generation.fetch_add(1, Ordering::SeqCst);
                lock(&kept).clear();
                lock(&kept).push("a stale answer");
            },
            || lock(&kept).clear(),
        );
        assert!(lock(&kept).is_empty());
        // A check that began before a revocation keeps nothing at all.
        keep_unless_revoked(&generation, 7, || lock(&kept).push("x"), || ());
        assert!(lock(&kept).is_empty());
        // And one that no revocation raced keeps its answer.
        keep_unless_revoked(&generation, 8, || lock(&kept).push("fresh"), || ());
        assert_eq!(*lock(&kept), ["fresh"]);
    }

    #[test]
    fn a_service_key_answer_read_before_a_revocation_is_not_kept() {
        let cache = ServiceKeyCache::new(Duration::from_secs(30));
        let fingerprint = cache.fingerprint(b"a presented service key");
        let began = cache.generation();
        cache.clear();
        cache.remember(fingerprint, None, began);
        assert!(cache.cached(&fingerprint).is_none());
        let now = cache.generation();
        cache.remember(fingerprint, None, now);
        assert!(matches!(cache.cached(&fingerprint), Some(None)));
    }
}
