//! Why a call failed.

use std::time::Duration;

/// Why a call failed. None of these ever holds a key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API refused: its status, its problem `code` and `detail`.
    #[error("{status} {code}: {detail}")]
    Api {
        status: u16,
        code: String,
        detail: String,
    },
    #[error("the API did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the API could not be reached")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the API's answer could not be read")]
    Decode(#[source] serde_json::Error),
    #[error("the base URL is not a URL")]
    BadUrl,
    /// A create sent again under its `Idempotency-Key`: the key (`key_id`)
    /// exists since the first request, whose answer held its secret; this
    /// one does not. Rotate the key for a secret if the first was lost.
    #[error(
        "the key {key_id} was made by an earlier request under the same Idempotency-Key; its \
         secret is not shown again: rotate the key for a new one"
    )]
    Replayed { key_id: String },
    /// The service key holds a space, a control or a non-ASCII character
    /// inside it (the message never repeats it).
    #[error(
        "the service key holds a space, a control or a non-ASCII character inside it: it is not \
         a service key (it is not repeated here)"
    )]
    BadServiceKey,
}
