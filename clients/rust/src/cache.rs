//! The opt-in verdict cache: verdicts reused in process for a short TTL,
//! never past the key's own `expires_at`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use blake2::Blake2bMac;
use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};

use crate::Verdict;

/// Verdicts of recent checks, keyed by a keyed BLAKE2b of the presented key
/// and the permission query asked (the key of this process is random and
/// never leaves memory): a verdict for one query never answers another.
pub(crate) struct VerdictCache {
    key: [u8; 32],
    ttl: Duration,
    /// By fingerprint: until when the verdict is good, and the verdict.
    entries: Mutex<HashMap<[u8; 32], (Instant, Verdict)>>,
}

impl VerdictCache {
    const CAPACITY: usize = 10_000;

    pub(crate) fn new(ttl: Duration) -> Self {
        use rand::{RngCore, TryRngCore, rngs::OsRng};
        let mut key = [0u8; 32];
        OsRng.unwrap_err().fill_bytes(&mut key);
        Self {
            key,
            ttl,
            entries: Mutex::default(),
        }
    }

    fn fingerprint(&self, presented: &str, permissions: Option<&str>) -> [u8; 32] {
        let mut mac = <Blake2bMac<U32> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| <Blake2bMac<U32> as KeyInit>::new(&Default::default()));
        mac.update(presented.as_bytes());
        // A separator neither a key nor a query holds, then the query (none: nothing).
        if let Some(query) = permissions {
            mac.update(b"\0");
            mac.update(query.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    pub(crate) fn get(&self, presented: &str, permissions: Option<&str>) -> Option<Verdict> {
        let fingerprint = self.fingerprint(presented, permissions);
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(&fingerprint)
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, verdict)| verdict.clone())
    }

    pub(crate) fn put(&self, presented: &str, permissions: Option<&str>, verdict: &Verdict) {
        if verdict.remaining.is_some() || verdict.code.passes_with_time() {
            return;
        }
        // Never past the key's own expiry (an expiry that cannot be read:
        // not kept at all).
        let ttl = match verdict.expires_at.as_deref().map(time_until) {
            None => self.ttl,
            Some(Some(left)) => self.ttl.min(left),
            Some(None) => return,
        };
        let fingerprint = self.fingerprint(presented, permissions);
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(fingerprint, (Instant::now() + ttl, verdict.clone()));
    }
}

/// How long from now until an RFC 3339 time; `None` once it is past or
/// when it cannot be read.
fn time_until(timestamp: &str) -> Option<Duration> {
    let at = time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
        .ok()?;
    let left = at - time::OffsetDateTime::now_utc();
    Duration::try_from(left).ok().filter(|left| !left.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(expires_at: Option<String>) -> Verdict {
        serde_json::from_value(serde_json::json!({
            "valid": true, "code": "VALID", "expires_at": expires_at,
        }))
        .expect("a verdict")
    }

    #[test]
    fn a_verdict_is_never_kept_past_the_keys_expiry() {
        let cache = VerdictCache::new(Duration::from_secs(30));
        let rfc3339 = &time::format_description::well_known::Rfc3339;
        let past = (time::OffsetDateTime::now_utc() - time::Duration::seconds(1))
            .format(rfc3339)
            .ok();
        cache.put("expired", None, &verdict(past));
        assert!(cache.get("expired", None).is_none());
        cache.put("unreadable", None, &verdict(Some("next tuesday".into())));
        assert!(cache.get("unreadable", None).is_none());
        let soon = (time::OffsetDateTime::now_utc() + time::Duration::milliseconds(300))
            .format(rfc3339)
            .ok();
        cache.put("soon", None, &verdict(soon));
        assert!(cache.get("soon", None).is_some());
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            cache.get("soon", None).is_none(),
            "kept past the key's expiry"
        );
        cache.put("forever", None, &verdict(None));
        assert!(cache.get("forever", None).is_some());
    }
}
