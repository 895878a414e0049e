//! Verdicts of recent checks, by a keyed fingerprint of the presented key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth::{Fingerprint, Fingerprinter};
use domain::{ApiKeyId, PresentedKey};
use tokio::sync::OnceCell;

use crate::verdict::Checked;

/// Verdicts of recent checks, and the checks in flight.
pub struct VerdictCache {
    fingerprints: Fingerprinter,
    ttl: Duration,
    entries: Mutex<HashMap<Fingerprint, Entry>>,
    pub(crate) in_flight: Mutex<HashMap<Fingerprint, InFlight>>,
    /// When this process last recorded each key's use: kept apart from the
    /// verdicts so that a TTL of zero does not mean a write try per verify.
    uses_recorded: Mutex<HashMap<ApiKeyId, Instant>>,
}

/// A check under way, which later callers for the same key wait on.
type InFlight = Arc<OnceCell<Arc<Checked>>>;

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
    /// Entries kept at most; a full cache drops what is stale, then starts over.
    const CAPACITY: usize = 10_000;

    /// A cache whose verdicts live for `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            fingerprints: Fingerprinter::random(),
            ttl,
            entries: Mutex::default(),
            in_flight: Mutex::default(),
            uses_recorded: Mutex::default(),
        }
    }

    /// Forgets every verdict: a key, application or Arx changed in this
    /// process, and the next verify must see it.
    pub fn clear(&self) {
        lock(&self.entries).clear();
    }

    /// The keyed hash the cache knows a presented key by: without the random
    /// per-process key it cannot be computed, so it says nothing of the key.
    pub(crate) fn fingerprint(&self, presented: &PresentedKey) -> Fingerprint {
        self.fingerprints.of(presented.expose_secret().as_bytes())
    }

    pub(crate) fn cached(&self, fingerprint: &Fingerprint) -> Option<Arc<Checked>> {
        let entries = lock(&self.entries);
        let entry = entries.get(fingerprint)?;
        (entry.at.elapsed() < self.ttl).then(|| Arc::clone(&entry.checked))
    }

    pub(crate) fn remember(&self, fingerprint: Fingerprint, checked: Arc<Checked>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = lock(&self.entries);
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, entry| entry.at.elapsed() < self.ttl);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            fingerprint,
            Entry {
                checked,
                at: Instant::now(),
            },
        );
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

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
