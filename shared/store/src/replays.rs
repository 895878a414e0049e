//! Creates that are safe to retry: the first answer of a create or a
//! rotation sent with an `Idempotency-Key`, kept for a day and written in
//! the same transaction as the key it answers, so a retry finds either no
//! key and no answer, or both. It never holds the secret: a retry is told
//! the key exists (and that the answer is a replay), never shown it again.

use std::future::Future;

use domain::TenantId;
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;

/// How long a first answer is kept (the draft's and Stripe's day).
pub const REPLAY_KEPT_SECONDS: i64 = 86_400;

/// A first answer, kept for its `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    pub tenant_id: TenantId,
    /// Whose key, for which route (`keys::replay_sk` names its item): one
    /// caller's key never answers another's.
    pub slot: String,
    /// The SHA-256 of the request's body: a reuse with another is refused.
    pub request_digest: String,
    /// The first answer's JSON, without the secret.
    pub answer: String,
    /// Until when it is kept (Unix seconds; DynamoDB's TTL after that).
    pub expires: i64,
}

/// What a create with an `Idempotency-Key` reads first.
pub trait ReplayLookup: Send + Sync {
    /// The answer kept in `slot`, if it is still kept at `now` (an older
    /// one is gone, whatever DynamoDB's TTL has done yet).
    fn replay(
        &self,
        tenant: &TenantId,
        slot: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<Replay>>> + Send;
}

/// Keeping a first answer on its own, for a route whose writes are many
/// transactions (an import: each of its keys is one, and imports the same
/// key only once).
pub trait ReplayKeep: Send + Sync {
    /// Keeps `replay` unless an answer is still kept in its slot
    /// ([`Conflict::Replayed`](crate::Conflict::Replayed): nothing written).
    fn keep_replay(&self, replay: &Replay) -> impl Future<Output = StoreResult<()>> + Send;
}
