//! Who is calling the management API: a person's (or a Cognito machine
//! user's) bearer JWT, checked by [`auth::Authenticator`], or one of our own
//! service keys, checked here like an access key: its shape and checksum
//! first (garbage costs nothing), then one strongly consistent read of its
//! lookup item and the hash. The Lambda authorizer and the dev server both
//! call [`Verifier::authorize_caller`], so they cannot disagree.
//!
//! A service key's answer is cached in process for the verify cache's TTL,
//! by a keyed fingerprint (never the key). A revocation clears this
//! process's cache at once ([`ServiceKeyCache::clear`]); another process (the
//! Lambda authorizer, when a management function revoked) sees it within
//! the TTL, and API Gateway's own cache of the authorizer's decision adds
//! its `AuthorizerCacheSeconds` (docs/security.md).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth::{Authenticator, Denied, Fingerprint, Fingerprinter, Identity};
use domain::{Operation, PresentedServiceKey, ServiceKey, ServiceKeyId, Timestamp};
use quick_cache::sync::Cache;
use store::ServiceKeyLookup;

use crate::cache::keep_unless_revoked;
use crate::check::{LAST_USED_INTERVAL, Verifier};
use crate::error::CheckError;

/// Why a caller was not let in, or could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum CallerRefused {
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The store or the hashing could not answer: nothing was decided.
    #[error("the caller could not be checked")]
    Unavailable(#[from] CheckError),
}

impl From<store::StoreError> for CallerRefused {
    fn from(error: store::StoreError) -> Self {
        Self::Unavailable(error.into())
    }
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
    generation: AtomicU64,
    uses_recorded: Mutex<HashMap<ServiceKeyId, Instant>>,
}

#[derive(Clone)]
struct Found {
    identity: Identity,
    expires_at: Option<Timestamp>,
}

impl Found {
    fn of(key: &ServiceKey) -> Option<Self> {
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

    /// Forgets every answer: a service key was revoked in this process.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.answers.clear();
    }

    /// Keeps the answer of a check that began in `generation`, unless a
    /// revocation came since, even one racing the insert itself.
    fn remember(&self, fingerprint: Fingerprint, found: Option<Found>, generation: u64) {
        keep_unless_revoked(
            &self.generation,
            generation,
            || self.answers.insert(fingerprint, (found, Instant::now())),
            || self.answers.remove(&fingerprint),
        );
    }

    fn cached(&self, fingerprint: &Fingerprint) -> Option<Option<Found>> {
        self.answers
            .get(fingerprint)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(found, _)| found)
    }

    /// Whether this process should record the key's use now (at most once
    /// per [`LAST_USED_INTERVAL`]).
    fn due_for_use_record(&self, id: &ServiceKeyId) -> bool {
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

impl Verifier {
    /// Who the `Authorization` header says is asking, and whether they may
    /// perform `operation`: the authorizer's decision.
    pub async fn authorize_caller<S: ServiceKeyLookup>(
        &self,
        store: &S,
        tokens: &Authenticator,
        authorization: Option<&str>,
        operation: Operation,
    ) -> Result<Identity, CallerRefused> {
        let identity = self.caller(store, tokens, authorization).await?;
        permit(&identity, operation)?;
        Ok(identity)
    }

    /// Who the `Authorization` header's bearer credential says is asking.
    pub async fn caller<S: ServiceKeyLookup>(
        &self,
        store: &S,
        tokens: &Authenticator,
        authorization: Option<&str>,
    ) -> Result<Identity, CallerRefused> {
        let credential = auth::bearer_token(authorization)?;
        let prefix = &self.service_key_prefix;
        let looks_like_ours = credential
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.starts_with('_'));
        if !looks_like_ours {
            return Ok(tokens.token_identity(credential).await?);
        }
        let presented = PresentedServiceKey::parse_service_key(credential, prefix)
            .map_err(|_| Denied::InvalidServiceKey)?;
        let found = self.service_key(store, presented).await?;
        let now = Timestamp::now();
        let Some(found) = found.filter(|found| found.expires_at.is_none_or(|end| end > now)) else {
            return Err(Denied::InvalidServiceKey.into());
        };
        let identity = found.identity;
        if let Some(id) = identity.service_key()
            && self.service_keys.due_for_use_record(&id)
            && let Err(error) = store
                .record_service_key_use(&identity.tenant, &id, now)
                .await
        {
            // A failed write must not refuse a good key: say so in the log.
            tracing::warn!(error = %store::error_chain(&error), service_key = %id, "could not record a service key's use");
        }
        Ok(identity)
    }

    /// The answer for a well-formed service key: cached, or one lookup and
    /// one hash (an id that does not exist costs the same, against a decoy).
    async fn service_key<S: ServiceKeyLookup>(
        &self,
        store: &S,
        presented: PresentedServiceKey,
    ) -> Result<Option<Found>, CallerRefused> {
        let cache = &self.service_keys;
        let fingerprint = cache.fingerprints.of(presented.expose_secret().as_bytes());
        if let Some(found) = cache.cached(&fingerprint) {
            return Ok(found);
        }
        let generation = cache.generation.load(Ordering::SeqCst);
        let found = match store.lookup_service_key(presented.id()).await? {
            None => {
                self.hashing.verify_decoy(presented).await?;
                None
            }
            Some(key) => {
                let matches = self
                    .hashing
                    .verify(presented, key.secret_hash.clone())
                    .await?;
                (matches && key.works_at(Timestamp::now()))
                    .then(|| Found::of(&key))
                    .flatten()
            }
        };
        cache.remember(fingerprint, found.clone(), generation);
        Ok(found)
    }
}

/// The permission table, and the one rule it cannot say: no service key
/// may create, list or revoke service keys, whatever its role (a leaked key
/// must not be able to mint its own successors).
pub fn permit(identity: &Identity, operation: Operation) -> Result<(), Denied> {
    if identity.service_key().is_some() && operation == Operation::ManageServiceKeys {
        return Err(Denied::ServiceKeyForbidden);
    }
    if identity.role.may(operation) {
        Ok(())
    } else {
        Err(Denied::RoleForbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_key_answer_read_before_a_revocation_is_not_kept() {
        let cache = ServiceKeyCache::new(Duration::from_secs(30));
        let fingerprint = cache.fingerprints.of(b"a presented service key");
        let began = cache.generation.load(Ordering::SeqCst);
        cache.clear();
        cache.remember(fingerprint, None, began);
        assert!(cache.cached(&fingerprint).is_none());
        let now = cache.generation.load(Ordering::SeqCst);
        cache.remember(fingerprint, None, now);
        assert!(matches!(cache.cached(&fingerprint), Some(None)));
    }
}
