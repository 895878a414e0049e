//! Every error the API answers with, and its one mapping to HTTP: RFC 9457
//! `application/problem+json` with a stable `code`. Server errors get a generic
//! body; their detail goes to the log with its source chain.

use domain::InvalidValue;
use store::{Conflict, StoreError};
use verify::CheckError;
use verify::leaks::LeakError;

use crate::http::ApiResponse;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not the JSON this route takes.
    #[error("{detail}")]
    MalformedBody {
        detail: String,
        field: Option<String>,
    },
    /// One field (of the body, query or path) has a value we refuse.
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: String },
    /// A field names an object (an application, an Arx) that does not exist.
    #[error("{field}: no {what} with this id")]
    UnknownReference {
        field: &'static str,
        what: &'static str,
    },
    #[error("the request body is larger than {max_bytes} bytes")]
    BodyTooLarge { max_bytes: usize },
    #[error("the request body must be sent as application/json")]
    UnsupportedMediaType,
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    /// Too many requests are waiting for the key hasher: try again shortly.
    #[error("the server is busy; retry after {retry_after_seconds} second(s)")]
    Busy { retry_after_seconds: u32 },
    #[error("a valid bearer token or service key is required")]
    Unauthenticated,
    /// A GitHub secret scanning report whose signature is missing or wrong.
    #[error("the report must carry a GitHub signature that verifies over its body")]
    BadSignature,
    /// The published keys a signature is checked against could not be fetched.
    #[error("the signing keys cannot be fetched now; retry later")]
    KeysUnavailable,
    #[error("your role may not do this")]
    Forbidden,
    /// A service key on the service keys' own routes: whatever its role, a
    /// service key never makes, lists or ends service keys.
    #[error("a service key cannot manage service keys; sign in as an owner or admin")]
    ServiceKeyForbidden,
    #[error("no {what} with this id")]
    NotFound { what: &'static str },
    /// Something named in the body that is not there (an override).
    #[error("no {what}")]
    Missing { what: &'static str },
    /// A field names, by name, an object that does not exist.
    #[error("{field}: no {what} with this name")]
    UnknownName {
        field: &'static str,
        what: &'static str,
    },
    #[error("no such route")]
    NoRoute,
    #[error("this path does not take this method")]
    MethodNotAllowed { allowed: Vec<&'static str> },
    #[error("the confirmation must be the exact id of the key being deleted or revoked")]
    ConfirmationMismatch,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// A request under this `Idempotency-Key` was answered meanwhile (it
    /// won the race to write): its answer is kept, to be read.
    #[error(
        "a request with this Idempotency-Key was answered meanwhile; send it again to read that answer"
    )]
    Replayed,
    /// An `Idempotency-Key` sent before with another request.
    #[error(
        "this Idempotency-Key was sent before with another request: use a new key for a new request"
    )]
    IdempotencyKeyReused,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, reason: InvalidValue) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }

    /// The answer to a request whose handler panicked (the panic hook has
    /// logged where; the message is never repeated).
    pub fn panicked() -> Self {
        Self::Internal("the request's handler panicked".into())
    }

    /// `(status, code, title)`.
    fn kind(&self) -> (u16, &'static str, &'static str) {
        match self {
            Self::MalformedBody { .. } => (400, "malformed_body", "Malformed request body"),
            Self::InvalidField { .. } => (400, "invalid_field", "Invalid field"),
            Self::UnknownReference { .. } => (422, "unknown_reference", "Unknown reference"),
            Self::BodyTooLarge { .. } => (413, "body_too_large", "Request body too large"),
            Self::UnsupportedMediaType => (415, "unsupported_media_type", "Unsupported media type"),
            Self::BodyTimeout => (408, "body_timeout", "Request timeout"),
            Self::Busy { .. } => (503, "busy", "Service busy"),
            Self::Unauthenticated => (401, "unauthenticated", "Unauthenticated"),
            Self::BadSignature => (401, "invalid_signature", "Invalid signature"),
            Self::KeysUnavailable => (503, "keys_unavailable", "Signing keys unavailable"),
            Self::Forbidden => (403, "forbidden", "Forbidden"),
            Self::ServiceKeyForbidden => (403, "service_key_forbidden", "Forbidden"),
            Self::NotFound { .. } | Self::Missing { .. } => (404, "not_found", "Not found"),
            Self::UnknownName { .. } => (422, "unknown_reference", "Unknown reference"),
            Self::NoRoute => (404, "no_route", "Not found"),
            Self::MethodNotAllowed { .. } => (405, "method_not_allowed", "Method not allowed"),
            Self::ConfirmationMismatch => {
                (422, "confirmation_mismatch", "Confirmation does not match")
            }
            Self::Conflict { code, .. } => (409, code, "Conflict"),
            Self::IdempotencyKeyReused => (422, "idempotency_key_reused", "Idempotency key reused"),
            Self::Replayed => (409, "idempotency_key_in_use", "Conflict"),
            Self::Internal(_) => (500, "internal", "Internal server error"),
        }
    }

    pub fn status(&self) -> u16 {
        self.kind().0
    }

    /// Whether the object changed between the read a change was decided on
    /// and its write (the change is then decided again).
    pub fn code(&self) -> &'static str {
        self.kind().1
    }

    pub(crate) fn field(&self) -> Option<&str> {
        match self {
            Self::MalformedBody { field, .. } => field.as_deref(),
            Self::InvalidField { field, .. } => Some(field),
            Self::UnknownReference { field, .. } | Self::UnknownName { field, .. } => Some(field),
            Self::ConfirmationMismatch => Some("confirm"),
            _ => None,
        }
    }

    pub fn into_response(self) -> ApiResponse {
        let (status, code, title) = self.kind();
        if let Self::Internal(source) = &self {
            tracing::error!(error = %chain(source.as_ref()), "request failed");
        }
        let mut response = runtime::problem(&runtime::Problem {
            title,
            status,
            detail: self.to_string(),
            code,
            field: self.field(),
        });
        if let Self::MethodNotAllowed { allowed, .. } = &self {
            response.headers.push(("allow", allowed.join(", ")));
        }
        if let Self::Unauthenticated = &self {
            response.headers.push(("www-authenticate", "Bearer".into()));
        }
        if let Self::Busy {
            retry_after_seconds,
        } = &self
        {
            response
                .headers
                .push(("retry-after", retry_after_seconds.to_string()));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(Conflict::ApplicationNotAcceptingKeys) => Self::conflict(
                "application_not_active",
                "the application is archived and gets no new keys",
            ),
            StoreError::Conflict(Conflict::ArxNotAcceptingKeys) => Self::conflict(
                "arx_not_active",
                "the Arx is not active and gets no new keys",
            ),
            StoreError::Conflict(Conflict::AlreadyExists) => {
                Self::conflict("already_exists", "an object with this id already exists")
            }
            StoreError::Conflict(Conflict::Replayed) => Self::Replayed,
            StoreError::Conflict(Conflict::AlreadyImported) => Self::conflict(
                "already_imported",
                "a key found the same way (the same key, or the same lookup prefix) is already imported",
            ),
            StoreError::Conflict(Conflict::Changed) => Self::conflict(
                CHANGED,
                "the object changed while this request ran; read it again and retry",
            ),
            // Contention, not a fault: the client may retry at once.
            StoreError::Contended => Self::Busy {
                retry_after_seconds: 1,
            },
            other => Self::internal(other),
        }
    }
}

impl From<CheckError> for ApiError {
    fn from(error: CheckError) -> Self {
        match error {
            CheckError::Busy {
                retry_after_seconds,
            } => Self::Busy {
                retry_after_seconds,
            },
            CheckError::Store(error) => error.into(),
            CheckError::Panicked => Self::panicked(),
            other => Self::internal(other),
        }
    }
}

impl From<LeakError> for ApiError {
    fn from(error: LeakError) -> Self {
        match error {
            LeakError::BadSignature => Self::BadSignature,
            LeakError::KeysUnavailable => Self::KeysUnavailable,
            LeakError::Malformed(detail) => Self::MalformedBody {
                detail,
                field: None,
            },
            LeakError::Check(error) => error.into(),
        }
    }
}

impl From<domain::Refusal> for ApiError {
    /// The domain's refusal of a key's change: a typed id that is not the
    /// key's is the confirmation's 422; the rest are 409s with its words.
    fn from(refusal: domain::Refusal) -> Self {
        match refusal {
            domain::Refusal::ConfirmationMismatch => Self::ConfirmationMismatch,
            other => Self::conflict(other.code(), other.to_string()),
        }
    }
}

impl From<domain::ArxRefused> for ApiError {
    fn from(refusal: domain::ArxRefused) -> Self {
        Self::conflict(refusal.code(), refusal.to_string())
    }
}

impl From<domain::ApplicationRefused> for ApiError {
    fn from(refusal: domain::ApplicationRefused) -> Self {
        Self::conflict(refusal.code(), refusal.to_string())
    }
}

impl store::ChangedMeanwhile for ApiError {
    fn changed_meanwhile(&self) -> bool {
        matches!(self, Self::Conflict { code: CHANGED, .. })
    }
}

/// The code of a change refused because its object changed since it was read.
const CHANGED: &str = "changed";

pub use store::error_chain as chain;
