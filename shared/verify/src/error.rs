//! Why a check could not be answered.

use store::StoreError;

/// Why a check could not be answered (a verdict, even a refusal, is not an
/// error). The management API maps these to its problem answers.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Hashing would wait too long for a thread: try again after this.
    #[error("the server is busy; retry after {retry_after_seconds} second(s)")]
    Busy { retry_after_seconds: u32 },
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("a new key could not be hashed")]
    Hash(#[source] domain::HashError),
    /// A hashing job panicked (its message is never repeated).
    #[error("a hashing job panicked")]
    Panicked,
    #[error("no hashing thread runs")]
    NoHashingThread,
}
