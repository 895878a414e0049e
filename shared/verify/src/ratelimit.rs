//! Rate limits for anything (`POST /v1/ratelimit`): is this identifier
//! (an address, an e-mail, a user id) within its limit in this namespace?
//!
//! Exact across processes: each check charges the identifier's counter for
//! the current window with the same conditional writes and leases as a
//! key's limits (`store::leases`), so a cold identifier costs one write and
//! a hot one is charged from this process's lease. A namespace (with its
//! overrides) is read once per [`RateLimiter`]'s TTL: a change reaches
//! another process within it, and this one at once.
//!
//! The identifier never reaches storage (a SHA-256 digest names its
//! counter), a log line or an error.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use domain::limits::RateLimit;
use domain::ratelimit::window_at;
use domain::{
    Balance, Cost, Identifier, KeyLimits, NamespaceName, RateLimitNamespace, TenantId, Timestamp,
};
use serde::Serialize;
use store::{ApiKeyCharge, ChargePart, Charges, Counter, LimitWindow, NamespaceLookup};

use crate::CheckError;

/// The stores a rate-limit check reads and charges.
pub trait RateLimitStore: NamespaceLookup + ApiKeyCharge {}
impl<S> RateLimitStore for S where S: NamespaceLookup + ApiKeyCharge {}

/// One limit to check: `cost` for `identifier` in `namespace`, under the
/// namespace's limit for it unless `limit` or `duration` say otherwise.
#[derive(Debug, Clone)]
pub struct LimitAsk {
    pub namespace: NamespaceName,
    pub identifier: Identifier,
    pub cost: Cost,
    pub limit: Option<domain::limits::RateRequests>,
    pub duration: Option<domain::limits::RateSeconds>,
}

/// What a check answered for one limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitAnswer {
    /// The namespace checked in (for counting; not sent: the caller named it).
    #[serde(skip)]
    pub namespace_id: domain::NamespaceId,
    /// Admitted (and counted): the request may go on.
    pub success: bool,
    /// Requests a window allows this identifier...
    pub limit: u64,
    /// ...in a window of this many seconds.
    pub duration: u64,
    /// Requests of cost 1 left in this window after this one.
    pub remaining: u64,
    /// When the window ends and the count starts afresh.
    pub reset_at: Timestamp,
    /// Whole seconds from now to `reset_at` (at least 1): a `Retry-After`.
    pub reset_after: u64,
    /// What the namespace asks of a client that cannot reach us.
    pub fail_open: bool,
}

/// Why a check could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// The tenant has no namespace of this name (the name is the tenant's
    /// own configuration: safe to repeat).
    #[error("there is no rate-limit namespace named {0}")]
    NoNamespace(NamespaceName),
    #[error(transparent)]
    Check(#[from] CheckError),
}

impl From<store::StoreError> for LimitError {
    fn from(error: store::StoreError) -> Self {
        Self::Check(CheckError::Store(error))
    }
}

/// Each namespace read (or found missing), by tenant and name, and when.
/// Shared, not copied: a check reads a namespace (up to 500 overrides) from
/// here at every call.
type Namespaces = HashMap<(TenantId, NamespaceName), (Option<Arc<RateLimitNamespace>>, Instant)>;

/// Namespaces as this process last read them, for a short time.
#[derive(Debug)]
pub struct RateLimiter {
    ttl: Duration,
    namespaces: Mutex<Namespaces>,
}

/// The most namespaces kept: past it the cache starts again (namespaces are
/// few per tenant; this only bounds a process serving very many tenants).
const MAX_CACHED: usize = 10_000;

impl RateLimiter {
    /// Namespaces kept for `ttl` (zero: read at every check).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            namespaces: Mutex::default(),
        }
    }

    /// Forgets every namespace: one changed in this process.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Namespaces> {
        // Each change under this lock is whole.
        self.namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn namespace<S: RateLimitStore>(
        &self,
        store: &S,
        tenant: &TenantId,
        name: &NamespaceName,
    ) -> Result<Arc<RateLimitNamespace>, LimitError> {
        let key = (tenant.clone(), name.clone());
        let cached = self
            .lock()
            .get(&key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(namespace, _)| namespace.clone());
        let namespace = match cached {
            Some(namespace) => namespace,
            None => {
                let read = store.namespace_named(tenant, name).await?.map(Arc::new);
                if !self.ttl.is_zero() {
                    let mut namespaces = self.lock();
                    if namespaces.len() >= MAX_CACHED {
                        namespaces.clear();
                    }
                    namespaces.insert(key, (read.clone(), Instant::now()));
                }
                read
            }
        };
        namespace.ok_or_else(|| LimitError::NoNamespace(name.clone()))
    }

    /// [`RateLimiter::check`], each answer counted in `usage` (a namespace's
    /// passed and limited per hour and day, and who it limited).
    pub async fn check_counted<S: RateLimitStore>(
        &self,
        store: &S,
        usage: &crate::UsageCounter,
        tenant: &TenantId,
        asks: &[LimitAsk],
    ) -> Result<Vec<LimitAnswer>, LimitError> {
        let answers = self.check(store, tenant, asks).await?;
        let now = Timestamp::now();
        for (ask, answer) in asks.iter().zip(&answers) {
            let result = if answer.success { "passed" } else { "limited" };
            telemetry::metrics::RATE_LIMIT_CHECKS.inc(result);
            usage.count_limit(
                tenant,
                &answer.namespace_id,
                &ask.identifier,
                answer.success,
                now,
            );
        }
        Ok(answers)
    }

    /// Checks every ask for `tenant`, all or none: each admitted and
    /// counted, or none counted (every answer then `success: false`, each
    /// with what its limit has left). The answers are in the asks' order.
    pub async fn check<S: RateLimitStore>(
        &self,
        store: &S,
        tenant: &TenantId,
        asks: &[LimitAsk],
    ) -> Result<Vec<LimitAnswer>, LimitError> {
        let now = Timestamp::now();
        let mut planned = Vec::with_capacity(asks.len());
        for ask in asks {
            let namespace = self.namespace(store, tenant, &ask.namespace).await?;
            let base = namespace.limit_for(&ask.identifier);
            let limit = RateLimit {
                requests: ask.limit.unwrap_or(base.requests),
                per_seconds: ask.duration.unwrap_or(base.per_seconds),
            };
            let (start, end) = window_at(limit, now);
            let window = LimitWindow {
                namespace: namespace.id.clone(),
                identifier_digest: digest(&ask.identifier),
                limit,
                start,
                end,
            };
            planned.push((window, ask.cost, namespace.fail_open));
        }
        let parts: Vec<ChargePart> = planned.iter().map(|p| part(p, p.1)).collect();
        let answer = |planned: &(LimitWindow, Cost, bool), success, left: Option<u64>| {
            let (window, _, fail_open) = planned;
            let limit = window.limit.requests.get();
            LimitAnswer {
                namespace_id: window.namespace.clone(),
                success,
                limit,
                duration: window.limit.per_seconds.get(),
                // No counter yet: nothing spent in this window.
                remaining: left.unwrap_or(limit),
                reset_at: Timestamp::from_unix_seconds(window.end),
                reset_after: u64::try_from(window.end - now.unix_seconds())
                    .unwrap_or(0)
                    .max(1),
                fail_open: *fail_open,
            }
        };
        match store.charge_together(&parts, now).await? {
            Charges::Charged(after) => Ok(planned
                .iter()
                .zip(after)
                .map(|(planned, balance)| answer(planned, true, left(balance.as_ref(), now)))
                .collect()),
            Charges::Refused {
                part: refused,
                balance,
                ..
            } => {
                // Nothing was admitted. What each limit has left: the one
                // that refused as it stood, each other by a peek (cost 0,
                // which spends nothing).
                let mut answers = Vec::with_capacity(planned.len());
                for (index, planned) in planned.iter().enumerate() {
                    let stood = if index == refused {
                        Some(balance)
                    } else {
                        match store
                            .charge_together(&[part(planned, Cost::ZERO)], now)
                            .await?
                        {
                            Charges::Charged(after) => after.into_iter().next().flatten(),
                            Charges::Refused { balance, .. } => Some(balance),
                        }
                    };
                    answers.push(answer(planned, false, left(stood.as_ref(), now)));
                }
                Ok(answers)
            }
        }
    }
}

/// The charge of `cost` to one planned window.
fn part(planned: &(LimitWindow, Cost, bool), cost: Cost) -> ChargePart {
    let (window, _, _) = planned;
    ChargePart {
        counter: Counter::RateLimit(window.clone()),
        expected: KeyLimits {
            rate: Some(window.limit),
            credits: None,
        },
        cost,
    }
}

/// What a window's counters have left now (`None`: no counters yet).
fn left(balance: Option<&Balance>, now: Timestamp) -> Option<u64> {
    balance.and_then(|balance| balance.least_left(now))
}

/// The name of an identifier's counters: its SHA-256, so storage holds
/// neither the identifier nor anything longer than 43 characters.
fn digest(identifier: &Identifier) -> String {
    sha256(identifier.expose().as_bytes())
}

/// The SHA-256 of `bytes`, base64url without padding (43 characters, none
/// of them `#`): how storage names what it must not hold as sent.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.as_ref())
}
