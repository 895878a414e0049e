use serde::{Deserialize, Serialize};

use crate::limits::WholeNumber;
use crate::text::bounded_text;
use crate::{FeedbackId, InvalidValue, Role, TenantId, Timestamp, UserId};

bounded_text!(FeedbackMessage, max = 4000, multiline = true);
bounded_text!(
    /// The page of the console the feedback was sent from.
    PageRef,
    max = 200,
    multiline = false
);

/// A rating from 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "WholeNumber", into = "u8")]
pub struct Rating(u8);

impl Rating {
    pub fn parse(raw: i64) -> Result<Self, InvalidValue> {
        match u8::try_from(raw) {
            Ok(value @ 1..=5) => Ok(Self(value)),
            _ => Err(InvalidValue::OutOfRange { min: 1, max: 5 }),
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Rating {
    type Error = InvalidValue;
    fn try_from(raw: i64) -> Result<Self, Self::Error> {
        Self::parse(raw)
    }
}

impl TryFrom<WholeNumber> for Rating {
    type Error = InvalidValue;
    fn try_from(raw: WholeNumber) -> Result<Self, Self::Error> {
        Self::parse(i64::try_from(raw.0).unwrap_or(i64::MAX))
    }
}

impl From<Rating> for u8 {
    fn from(rating: Rating) -> u8 {
        rating.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub id: FeedbackId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub role: Role,
    pub page: Option<PageRef>,
    pub message: FeedbackMessage,
    pub rating: Option<Rating>,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five() {
        assert!(Rating::parse(0).is_err());
        assert_eq!(Rating::parse(5).map(Rating::value), Ok(5));
        assert!(Rating::parse(6).is_err());
        assert!(Rating::parse(-1).is_err());
        assert!(serde_json::from_str::<Rating>("9").is_err());
    }

    #[test]
    fn messages_are_one_to_4000_characters_and_may_span_lines() {
        assert!(FeedbackMessage::parse("").is_err());
        assert!(FeedbackMessage::parse("great\nthanks").is_ok());
        assert!(FeedbackMessage::parse(&"x".repeat(4000)).is_ok());
        assert!(FeedbackMessage::parse(&"x".repeat(4001)).is_err());
    }
}
