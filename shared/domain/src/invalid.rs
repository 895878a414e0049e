/// Why a value was refused. It never carries the refused value itself: a user may
/// paste an access key into the wrong field, and this message reaches responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must not contain invisible or text-direction characters")]
    InvisibleCharacter,
    #[error("must be one of: {allowed}")]
    NotOneOf { allowed: &'static str },
    #[error("must be between {min} and {max}")]
    OutOfRange { min: i64, max: i64 },
    #[error("{0}")]
    Malformed(&'static str),
    /// What is wrong, and where: a position in characters, counted from 1.
    #[error("{reason} (at character {position})")]
    At {
        reason: &'static str,
        position: usize,
    },
}
