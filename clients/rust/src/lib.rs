//! Check API keys of a self-hosted API Keys manager from a Rust service.
//!
//! - [`Client`] (`client`): `POST /v1/verify` ([`Client::verify`], or
//!   [`Client::check`] with the permissions and cost a request needs,
//!   together) and the key lifecycle, authenticated with a service key. Each call times out (5 s by default) and is retried on
//!   503 only (the server did nothing: busy), waiting what `Retry-After` says
//!   or a growing backoff; never on a 4xx, and never after a timeout (a
//!   limited key's verify may have been charged). A refusal is
//!   [`Error::Api`] with the problem's `code`.
//! - [`Verdict`] and its [`Code`] (`wire`: what the API sends and takes).
//! - [`VerifyLayer`] (`layer`): a tower layer that reads the key from `x-api-key` or
//!   `Authorization: Bearer`, verifies it, answers 401, 403 or 429 itself,
//!   and puts the [`Verdict`] in the request's extensions (with axum:
//!   `Extension<Verdict>`).
//! - [`Client::limit`] and [`RateLimitLayer`] (`rate_limit_layer`): rate
//!   limits for anything (an address, an e-mail, a user id) in a namespace;
//!   the layer answers 429 with `Retry-After` and the IETF draft's
//!   `RateLimit-Policy` and `RateLimit` headers.
//! - An opt-in verdict cache (`cache`; [`ClientBuilder::cache_for`], at most 30 s),
//!   keyed by a keyed BLAKE2b of the presented key, never the key.
//!
//! No key, the service key or a presented one, is ever in an error, a log
//! line or a `Debug` output.

mod cache;
mod client;
mod error;
mod layer;
mod rate_limit_layer;
mod wire;

pub use client::{Check, Client, ClientBuilder, Limit, MAX_CACHE};
pub use error::Error;
pub use layer::{
    PeerAddress, UNAVAILABLE_RETRY_AFTER, Verify, VerifyLayer, presented_key, refused_with,
};
pub use rate_limit_layer::{Identify, RateLimitLayer, RateLimited};
pub use wire::{
    ApiKey, Code, CreatedKey, KeyPage, LimitLeft, RateLimitAnswer, RateLimitAnswers, Verdict,
    VerifiedIdentity,
};
