//! Who is asking, for both planes: the management API's authorizer and the
//! dev server check bearer tokens here ([`Authenticator`]), the leak endpoint
//! fetches GitHub's signing keys with [`PublishedKeys`], and the in-process
//! caches of secrets (verdicts, verified tokens) key their entries by a
//! [`Fingerprinter`]'s keyed hash. It depends on the domain and on reading
//! the environment, never on either plane.

pub mod config;
pub mod fingerprint;
mod identity;
pub mod published_keys;
pub mod tokens;

pub use config::{AuthConfig, SigningKeys, hs256_secret};
pub use fingerprint::{Fingerprint, Fingerprinter};
pub use identity::{Identity, SERVICE_KEY_USER_PREFIX};
pub use published_keys::{KeyUnavailable, PublishedKeys};
pub use tokens::{Authenticator, Denied, TokenProblem, bearer_token, issue_hs256_token};
