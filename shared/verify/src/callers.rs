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

use auth::{Authenticator, Denied, Identity};
use domain::{Operation, PresentedServiceKey, Timestamp};
use store::ServiceKeyLookup;

use crate::cache::Found;
use crate::check::Verifier;
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
        let fingerprint = cache.fingerprint(presented.expose_secret().as_bytes());
        if let Some(found) = cache.cached(&fingerprint) {
            return Ok(found);
        }
        let generation = cache.generation();
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
