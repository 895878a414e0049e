use serde::{Deserialize, Serialize};

use crate::text::bounded_text;
use crate::{
    Actor, ApiKeyId, ApplicationId, ApplicationName, ArxId, ArxName, InvalidValue, Purpose,
    SecretHash, TenantId, Timestamp, UserId,
};

bounded_text!(ApiKeyName, max = 100, multiline = false);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyStatus {
    Active,
    Disabled,
    Deleted,
}

impl ApiKeyStatus {
    pub const ALL: [ApiKeyStatus; 3] = [Self::Active, Self::Disabled, Self::Deleted];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or(InvalidValue::NotOneOf {
                allowed: "active, disabled, deleted",
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
        }
    }
}

/// When a key stops working: strictly in the future when the key is made, and
/// at most ten years ahead (a typo like 20260 should not mint an eternal key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExpiresAt(Timestamp);

impl ExpiresAt {
    pub const MAX_YEARS_AHEAD: i64 = 10;

    pub fn parse(raw: &str, now: Timestamp) -> Result<Self, InvalidValue> {
        let at = Timestamp::parse(raw)?;
        if at <= now {
            return Err(InvalidValue::Malformed("must be in the future"));
        }
        if at > now.plus(time::Duration::days(366 * Self::MAX_YEARS_AHEAD)) {
            return Err(InvalidValue::Malformed("must be at most 10 years ahead"));
        }
        Ok(Self(at))
    }

    pub fn at(self) -> Timestamp {
        self.0
    }
}

/// The stored record of an API key. The secret itself is never here: only its
/// argon2id hash, which the HTTP layer never returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: ApiKeyName,
    pub application_id: ApplicationId,
    pub application_name: ApplicationName,
    pub arx_id: ArxId,
    pub arx_name: ArxName,
    pub arx_purpose: Purpose,
    pub status: ApiKeyStatus,
    pub created_at: Timestamp,
    pub created_by: UserId,
    pub expires_at: Option<ExpiresAt>,
    pub deleted_at: Option<Timestamp>,
    pub deleted_by: Option<Actor>,
    pub last_used_at: Option<Timestamp>,
    pub secret_hash: SecretHash,
}

/// The tenant's key counts, kept beside the keys so the dashboard reads them in O(1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyCounts {
    /// Every key not yet purged, whatever its status.
    pub total: u64,
    pub active: u64,
    pub deleted: u64,
}

impl ApiKeyCounts {
    /// The counts after a key moves from `from` (None: it is new) to `to`.
    pub fn delta(from: Option<ApiKeyStatus>, to: ApiKeyStatus) -> CountsDelta {
        let weight =
            |status: Option<ApiKeyStatus>, wanted: ApiKeyStatus| i64::from(status == Some(wanted));
        CountsDelta {
            total: i64::from(from.is_none()),
            active: weight(Some(to), ApiKeyStatus::Active) - weight(from, ApiKeyStatus::Active),
            deleted: weight(Some(to), ApiKeyStatus::Deleted) - weight(from, ApiKeyStatus::Deleted),
        }
    }

    pub fn apply(self, delta: CountsDelta) -> Self {
        let add = |value: u64, by: i64| value.saturating_add_signed(by);
        Self {
            total: add(self.total, delta.total),
            active: add(self.active, delta.active),
            deleted: add(self.deleted, delta.deleted),
        }
    }
}

/// A change to [`ApiKeyCounts`], applied atomically with the change it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountsDelta {
    pub total: i64,
    pub active: i64,
    pub deleted: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_must_be_ahead_but_not_absurdly() {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").expect("valid");
        assert!(ExpiresAt::parse("2026-06-01T00:00:00Z", now).is_ok());
        assert!(ExpiresAt::parse("2025-06-01T00:00:00Z", now).is_err());
        assert!(ExpiresAt::parse("2026-01-01T00:00:00Z", now).is_err());
        assert!(ExpiresAt::parse("2046-01-01T00:00:00Z", now).is_err());
        assert!(ExpiresAt::parse("tomorrow", now).is_err());
    }

    #[test]
    fn count_deltas_follow_status_moves() {
        let new = ApiKeyCounts::delta(None, ApiKeyStatus::Active);
        assert_eq!((new.total, new.active, new.deleted), (1, 1, 0));
        let deleted = ApiKeyCounts::delta(Some(ApiKeyStatus::Active), ApiKeyStatus::Deleted);
        assert_eq!((deleted.total, deleted.active, deleted.deleted), (0, -1, 1));
        let from_disabled =
            ApiKeyCounts::delta(Some(ApiKeyStatus::Disabled), ApiKeyStatus::Deleted);
        assert_eq!((from_disabled.active, from_disabled.deleted), (0, 1));
        let counts = ApiKeyCounts::default().apply(new).apply(deleted);
        assert_eq!(
            counts,
            ApiKeyCounts {
                total: 1,
                active: 0,
                deleted: 1
            }
        );
    }

    #[test]
    fn statuses_parse_by_name() {
        for status in ApiKeyStatus::ALL {
            assert_eq!(ApiKeyStatus::parse(status.as_str()), Ok(status));
        }
        assert!(ApiKeyStatus::parse("gone").is_err());
    }
}
