//! What a store call can fail with.

pub use environment::error_chain;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition of the change no longer held; nothing was written.
    #[error("the change was refused: {0}")]
    Conflict(#[from] Conflict),
    /// Other changes to the same items kept cancelling this one (DynamoDB's
    /// `TransactionConflict`) through every retry; nothing was written and
    /// trying again shortly is safe.
    #[error("the items were busy with other changes; nothing was written")]
    Contended,
    /// The database could not be reached or answered with an error.
    #[error("the data store failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An item could not be turned back into a domain value.
    #[error("a stored item could not be read")]
    Corrupt(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub(crate) fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }

    pub(crate) fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt(Box::new(error))
    }
}

/// Which condition of a change failed, so the API can say why it refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("the application is missing or archived")]
    ApplicationNotAcceptingKeys,
    #[error("the Arx is missing or not active")]
    ArxNotAcceptingKeys,
    #[error("an item with this id already exists")]
    AlreadyExists,
    /// The object changed since it was read (or is gone): read it again.
    #[error("the object changed since it was read")]
    Changed,
    /// An answer is kept for this `Idempotency-Key`: the request was made
    /// before (or is being made now); nothing was written.
    #[error("an answer is kept for this idempotency key")]
    Replayed,
    /// An imported key with the same locator (the same key, or a salted
    /// key with the same lookup prefix) is already here.
    #[error("a key found the same way is already imported")]
    AlreadyImported,
}
