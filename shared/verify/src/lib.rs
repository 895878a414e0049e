//! Checking keys: the data plane. Everything a check of an access key does,
//! on every request of a customer's API, is here: parsing the presented key
//! ([`domain::PresentedKey`]), the verdict cache ([`cache`]), the lookup and
//! argon2id ([`hashing`], [`check`]), limits charged at verify time, who
//! calls the management API (a JWT or a service key, [`callers`]), the
//! key-authorizer's decision ([`key_authorizer`]) and the response to a key
//! found leaked ([`leaks`]). It depends on the domain, the store and `auth`
//! (fingerprints, published keys), never on the management API, which calls
//! it for `POST /v1/verify` and hashes new keys with its [`HashingGate`].

pub mod cache;
pub mod callers;
pub mod check;
mod error;
mod foreign;
pub mod hashing;
mod imported;
pub mod key_authorizer;
pub mod leaks;
pub mod ratelimit;
pub mod usage;
pub mod verdict;

pub use cache::VerdictCache;
pub use cache::{LAST_USED_INTERVAL, ServiceKeyCache};
pub use callers::{CallerRefused, permit};
pub use check::{Ask, RateLimitCost, Verifier, VerifyStore};
pub use error::CheckError;
pub use foreign::plaintext_locator;
pub use hashing::HashingGate;
pub use imported::ImportsSeen;
pub use ratelimit::{LimitAnswer, LimitAsk, LimitError, RateLimitStore, RateLimiter, sha256};
pub use usage::UsageCounter;
pub use verdict::{
    LimitKind, LimitLeft, LimitOwner, Verdict, VerdictCode, VerifiedIdentity, VerifiedKey,
};
