//! Keys a team imported (see `domain::import`), at verify time: a presented
//! string that is not of our format, looked up by its digests and prefix
//! once any key was imported here, and an imported key's old hash replaced
//! by ours at its first match.

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, SHA512, digest};
use domain::{AccessKey, Author, ForeignKey, KeyLocator, KeyPrefix, PresentedKey, Timestamp};
use store::{
    ApiKeyLookup, ApiKeyRead, ApiKeyWrite, ImportedKeyLookup, KeyLookup, StoreError, until_written,
};
use telemetry::metrics;

use crate::error::CheckError;
use crate::hashing::{HashingGate, KeyText};

/// A presented key: one of ours (its id inside), or maybe one a team imported.
pub(crate) enum Presented {
    Ours(PresentedKey),
    Imported(ForeignKey),
}

impl KeyText for Presented {
    fn key_text(&self) -> &str {
        match self {
            Self::Ours(presented) => presented.expose_secret(),
            Self::Imported(key) => key.expose_secret(),
        }
    }
}

impl ImportsSeen {
    /// `raw` as a key a team may have imported: `None` (refused unread, as
    /// malformed) when it claims one of `ours` (this deployment's prefixes),
    /// could not be any imported key, or no key was ever imported here.
    pub(crate) async fn presented<S: ImportedKeyLookup>(
        &self,
        store: &S,
        raw: &str,
        ours: [&KeyPrefix; 2],
    ) -> Result<Option<ForeignKey>, StoreError> {
        let claims_ours = ours.iter().any(|prefix| {
            raw.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('_'))
        });
        if claims_ours {
            return Ok(None);
        }
        let Some(key) = ForeignKey::parse(raw) else {
            return Ok(None);
        };
        Ok(self.exist(store).await?.then_some(key))
    }
}

/// Replaces an imported key's old hash by ours (made by `hashing`), now
/// that `key` matched it. A failure is logged, never refuses the key: the
/// next verify tries again.
pub(crate) async fn rehash<S: ApiKeyRead + ApiKeyWrite>(
    hashing: &HashingGate,
    store: &S,
    lookup: &KeyLookup,
    key: AccessKey,
) {
    let rehashed = async {
        let (_, ours) = hashing.hash(key).await?;
        let by = Author::job("verify", Timestamp::now());
        until_written(|| async {
            let Some(current) = store.get_api_key(&lookup.tenant_id, &lookup.key_id).await? else {
                return Ok(());
            };
            match current.rehash(ours.clone(), &by) {
                Some(change) => store.write_api_key_change(&current, &change).await,
                None => Ok(()),
            }
        })
        .await
        .map_err(CheckError::from)
    };
    match rehashed.await {
        Ok(()) => {
            metrics::KEYS_REHASHED.inc("");
            tracing::info!(key_id = %lookup.key_id, "imported key rehashed with argon2id");
        }
        Err(error) => {
            tracing::warn!(key_id = %lookup.key_id, error = %error, "could not rehash an imported key");
        }
    }
}

/// The lookup item of the imported key `key` names by its digests or its
/// prefix (all read at once), if any.
pub(crate) async fn find_imported<S: ImportedKeyLookup + ApiKeyLookup>(
    store: &S,
    key: &ForeignKey,
) -> Result<Option<KeyLookup>, StoreError> {
    let text = key.expose_secret().as_bytes();
    let candidates = KeyLocator::candidates(
        key,
        crate::foreign::hex(digest(&SHA256, text).as_ref()),
        crate::foreign::hex(digest(&SHA512, text).as_ref()),
    );
    let found = futures_util::future::try_join_all(
        candidates.iter().map(|locator| store.imported_key(locator)),
    )
    .await?;
    match found.into_iter().flatten().next() {
        Some(id) => store.lookup_api_key(&id).await,
        None => Ok(None),
    }
}

/// Whether keys were ever imported here, as this process last learnt:
/// once yes, always yes; a no is asked again after the verdict TTL (at least
/// [`ImportsSeen::LEAST_KEPT`]), and learnt at once from an import in this
/// process ([`ImportsSeen::record`]).
#[derive(Debug)]
pub struct ImportsSeen {
    known: std::sync::atomic::AtomicBool,
    asked_at: std::sync::Mutex<Option<std::time::Instant>>,
    ttl: Duration,
}

impl ImportsSeen {
    /// The shortest time a "no imports" answer is kept.
    pub const LEAST_KEPT: Duration = Duration::from_secs(5);

    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            known: std::sync::atomic::AtomicBool::new(false),
            asked_at: std::sync::Mutex::new(None),
            ttl,
        }
    }

    /// This process imported keys.
    pub fn record(&self) {
        self.known.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    async fn exist<S: ImportedKeyLookup>(&self, store: &S) -> Result<bool, StoreError> {
        use std::sync::atomic::Ordering;
        if self.known.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let fresh =
            |asked: &Option<std::time::Instant>| asked.is_some_and(|at| at.elapsed() < self.ttl);
        if self.asked_at.lock().is_ok_and(|asked| fresh(&asked)) {
            return Ok(false);
        }
        let exist = store.imported_keys_exist().await?;
        if exist {
            self.record();
        } else if let Ok(mut asked) = self.asked_at.lock() {
            *asked = Some(std::time::Instant::now());
        }
        Ok(exist)
    }
}
