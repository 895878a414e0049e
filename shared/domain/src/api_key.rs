use serde::{Deserialize, Serialize};

use crate::text::bounded_text;
use crate::{
    Actor, ApiKeyId, Application, ApplicationId, ApplicationName, Arx, ArxId, ArxName, ExternalId,
    InvalidValue, KeyLimits, KeyMeta, Permissions, Purpose, Revision, SecretHash, TenantId,
    Timestamp, UserId,
};

bounded_text!(ApiKeyName, max = 100, multiline = false);

impl ApiKeyName {
    /// The name of a key not given one: "Payments · Prod Sydney", cut to
    /// the longest a name may be. Two names joined are a valid name (both
    /// are single-line text without control or invisible characters), so
    /// this is built, not parsed: only the cut's trailing space is trimmed.
    pub fn after(application: &Application, arx: &Arx) -> Self {
        let full = format!("{} · {}", application.name, arx.name);
        let cut: String = full.chars().take(Self::MAX_CHARS).collect();
        Self(cut.trim_end().to_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyStatus {
    Active,
    Disabled,
    Deleted,
    /// Past its `expires_at`: it no longer works.
    Expired,
}

impl ApiKeyStatus {
    pub const ALL: [ApiKeyStatus; 4] = [Self::Active, Self::Disabled, Self::Deleted, Self::Expired];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or(InvalidValue::NotOneOf {
                allowed: "active, disabled, deleted, expired",
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
            Self::Expired => "expired",
        }
    }
}

/// Why a key was disabled, when it was not simply an owner's or admin's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabledReason {
    /// GitHub secret scanning found it in public code (`POST /v1/leaks/github`).
    Leaked,
}

impl DisabledReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leaked => "leaked",
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

    /// An end the system sets, not one a user typed: the end of a rotation's
    /// grace period, which may be now (a grace of zero).
    pub fn ending(at: Timestamp) -> Self {
        Self(at)
    }

    /// The same lifetime as a key created at `created` that ends at `self`,
    /// for a key made at `now` (a rotation keeps the expiry policy), capped
    /// at the ten years a user may ask for.
    pub fn same_lifetime(self, created: Timestamp, now: Timestamp) -> Self {
        let lifetime = self.0.unix_seconds().saturating_sub(created.unix_seconds());
        let max = 366 * Self::MAX_YEARS_AHEAD * 24 * 60 * 60;
        Self(now.plus(time::Duration::seconds(lifetime.clamp(1, max))))
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
    /// The key this one replaced (`POST /v1/api-keys/{id}/rotate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_from: Option<ApiKeyId>,
    /// The key that replaced this one; this key then works until the end of
    /// the rotation's grace period (its `expires_at`). Absent, not null, in
    /// the table: a rotation's condition is that it is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_to: Option<ApiKeyId>,
    /// When the sweep sent this key's one expiry notice. Absent, not null, in
    /// the table: claiming the notice is conditional on its absence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_notice_sent_at: Option<Timestamp>,
    /// The limits as last set (at create, rotation or `PATCH`); the counters
    /// they are charged against are the usage item of [`ApiKey::balance_key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<KeyLimits>,
    /// The key whose counters this one is charged against, when it is not
    /// itself: every key of a rotation chain (A rotated to B, B to C) shares
    /// the chain's first key's counters, so the chain has one balance
    /// however many of its keys still work. Set by rotation; absent on keys
    /// never rotated, and on keys rotated before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<ApiKeyId>,
    /// Why the key is disabled, if something other than a person disabled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<DisabledReason>,
    /// What the key may do: a verify's permission query is asked of these.
    #[serde(default, skip_serializing_if = "Permissions::is_empty")]
    pub permissions: Permissions,
    /// The tenant's roles the key has: their permissions are granted
    /// beside its own, as the roles stand at each check.
    #[serde(default, skip_serializing_if = "crate::KeyRoles::is_empty")]
    pub roles: crate::KeyRoles,
    /// The addresses the key may be used from (none: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowlist: Option<crate::IpAllowlist>,
    /// Who owns the key in the customer's own system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<ExternalId>,
    /// The customer's own data about the key (never a secret: it is
    /// returned by every read and every `VALID` verdict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<KeyMeta>,
    pub secret_hash: SecretHash,
    /// How verify finds a key a team imported (it has no key id of ours
    /// inside it); `None` for every key made here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locator: Option<crate::KeyLocator>,
    /// One more with every write of the record: a change is written only
    /// over the revision it was computed from, so two changes made at once
    /// can never undo each other (the loser reads again and retries). Keys
    /// stored before revisions read as 0.
    #[serde(default)]
    pub revision: Revision,
}

impl ApiKey {
    /// The status as of `now`: an active key past its expiry is expired even
    /// before the sweep has recorded it (the sweep runs hourly; keys must not
    /// work an hour too long).
    pub fn status_at(&self, now: Timestamp) -> ApiKeyStatus {
        match (self.status, self.expires_at) {
            (ApiKeyStatus::Active, Some(expiry)) if expiry.at() <= now => ApiKeyStatus::Expired,
            (status, _) => status,
        }
    }

    /// Whether the sweep still owes this key an expiry notice: it is active,
    /// has an expiry, was not told yet, and was not rotated (whoever rotated it
    /// chose when it ends).
    pub fn awaits_expiry_notice(&self) -> bool {
        self.status == ApiKeyStatus::Active
            && self.expires_at.is_some()
            && self.expiry_notice_sent_at.is_none()
            && self.rotated_to.is_none()
    }

    /// Whose counters a verify of this key charges (see [`ApiKey::balance`]).
    pub fn balance_key(&self) -> &ApiKeyId {
        balance_key(&self.id, self.balance.as_ref(), self.rotated_to.as_ref())
    }

    /// Whether this key shares its counters with others (it was rotated, or
    /// is the replacement of a rotated key).
    pub fn in_rotation_chain(&self) -> bool {
        self.balance.is_some() || self.rotated_to.is_some()
    }

    /// When the key stopped working for good (deleted, or expired), if it has.
    pub fn ended_at(&self) -> Option<Timestamp> {
        match self.status {
            ApiKeyStatus::Deleted => self.deleted_at,
            ApiKeyStatus::Expired => self.expires_at.map(ExpiresAt::at),
            ApiKeyStatus::Active | ApiKeyStatus::Disabled => None,
        }
    }
}

/// Whose counters a key charges: its chain's (`balance`), else, for a key
/// rotated before chains shared one balance, its replacement's (as it did
/// then), else its own.
pub fn balance_key<'a>(
    id: &'a ApiKeyId,
    balance: Option<&'a ApiKeyId>,
    rotated_to: Option<&'a ApiKeyId>,
) -> &'a ApiKeyId {
    balance.or(rotated_to).unwrap_or(id)
}

/// How long before its expiry a key is "expiring soon" (`EXPIRY_NOTICE_DAYS`):
/// lists mark it `expires_soon`, and the sweep sends its one notice then.
/// Zero turns both off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticePeriod(time::Duration);

impl NoticePeriod {
    pub const DEFAULT_DAYS: u16 = 7;
    pub const MAX_DAYS: u16 = 90;

    pub fn days(days: u16) -> Result<Self, InvalidValue> {
        if days > Self::MAX_DAYS {
            return Err(InvalidValue::OutOfRange {
                min: 0,
                max: Self::MAX_DAYS.into(),
            });
        }
        Ok(Self(time::Duration::days(days.into())))
    }

    pub fn is_off(self) -> bool {
        self.0.is_zero()
    }

    /// The latest expiry that is "soon" at `now`.
    pub fn horizon(self, now: Timestamp) -> Timestamp {
        now.plus(self.0)
    }

    /// Whether `key` still works at `now` and stops within this period.
    pub fn covers(self, key: &ApiKey, now: Timestamp) -> bool {
        !self.is_off()
            && key.status_at(now) == ApiKeyStatus::Active
            && key
                .expires_at
                .is_some_and(|expiry| expiry.at() <= self.horizon(now))
    }
}

impl Default for NoticePeriod {
    fn default() -> Self {
        Self(time::Duration::days(Self::DEFAULT_DAYS.into()))
    }
}

/// The tenant's key counts, kept beside the keys so the dashboard reads them in O(1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyCounts {
    /// Every key not yet purged, whatever its status.
    pub total: u64,
    pub active: u64,
    pub deleted: u64,
    /// Keys past their expiry: as soon as they read expired, before the sweep
    /// records it (see [`ApiKeyCounts::with_unrecorded_expiries`]).
    #[serde(default)]
    pub expired: u64,
    /// Keys suspended by an owner or admin (they verify as `DISABLED`).
    #[serde(default)]
    pub disabled: u64,
}

impl ApiKeyCounts {
    /// The change to the counts when a key moves from `from` to `to` (`None`:
    /// it does not exist, before its creation or after its purge).
    pub fn delta(from: Option<ApiKeyStatus>, to: Option<ApiKeyStatus>) -> CountsDelta {
        let weight = |status: Option<ApiKeyStatus>, wanted: Option<ApiKeyStatus>| match wanted {
            Some(wanted) => i64::from(status == Some(wanted)),
            None => i64::from(status.is_some()),
        };
        CountsDelta {
            total: weight(to, None) - weight(from, None),
            active: weight(to, Some(ApiKeyStatus::Active))
                - weight(from, Some(ApiKeyStatus::Active)),
            deleted: weight(to, Some(ApiKeyStatus::Deleted))
                - weight(from, Some(ApiKeyStatus::Deleted)),
            expired: weight(to, Some(ApiKeyStatus::Expired))
                - weight(from, Some(ApiKeyStatus::Expired)),
            disabled: weight(to, Some(ApiKeyStatus::Disabled))
                - weight(from, Some(ApiKeyStatus::Disabled)),
        }
    }

    /// The counts as a reader should see them when `n` keys recorded active
    /// are already past their expiry (the sweep has not recorded it yet).
    pub fn with_unrecorded_expiries(self, n: u64) -> Self {
        let n = n.min(self.active);
        Self {
            active: self.active - n,
            expired: self.expired + n,
            ..self
        }
    }

    pub fn apply(self, delta: CountsDelta) -> Self {
        let add = |value: u64, by: i64| value.saturating_add_signed(by);
        Self {
            total: add(self.total, delta.total),
            active: add(self.active, delta.active),
            deleted: add(self.deleted, delta.deleted),
            expired: add(self.expired, delta.expired),
            disabled: add(self.disabled, delta.disabled),
        }
    }
}

/// A change to [`ApiKeyCounts`], applied atomically with the change it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountsDelta {
    pub total: i64,
    pub active: i64,
    pub deleted: i64,
    pub expired: i64,
    pub disabled: i64,
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
        use ApiKeyStatus::*;
        let new = ApiKeyCounts::delta(None, Some(Active));
        assert_eq!((new.total, new.active, new.deleted), (1, 1, 0));
        let deleted = ApiKeyCounts::delta(Some(Active), Some(Deleted));
        assert_eq!((deleted.total, deleted.active, deleted.deleted), (0, -1, 1));
        let from_disabled = ApiKeyCounts::delta(Some(Disabled), Some(Deleted));
        assert_eq!(
            (
                from_disabled.active,
                from_disabled.deleted,
                from_disabled.disabled
            ),
            (0, 1, -1)
        );
        let suspended = ApiKeyCounts::delta(Some(Active), Some(Disabled));
        assert_eq!(
            (suspended.total, suspended.active, suspended.disabled),
            (0, -1, 1)
        );
        let expired = ApiKeyCounts::delta(Some(Active), Some(Expired));
        assert_eq!(
            (
                expired.total,
                expired.active,
                expired.deleted,
                expired.expired
            ),
            (0, -1, 0, 1)
        );
        let purged = ApiKeyCounts::delta(Some(Deleted), None);
        assert_eq!((purged.total, purged.active, purged.deleted), (-1, 0, -1));
        let counts = ApiKeyCounts::default().apply(new).apply(deleted);
        assert_eq!(
            counts,
            ApiKeyCounts {
                total: 1,
                active: 0,
                deleted: 1,
                expired: 0,
                disabled: 0,
            }
        );
        let unrecorded = ApiKeyCounts::default()
            .apply(new)
            .with_unrecorded_expiries(1);
        assert_eq!((unrecorded.active, unrecorded.expired), (0, 1));
        assert_eq!(counts.apply(purged), ApiKeyCounts::default());
    }

    #[test]
    fn an_active_key_past_its_expiry_is_expired_at_once() {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").expect("valid");
        let later = now.plus(time::Duration::hours(1));
        let expiry = ExpiresAt::parse("2026-01-01T00:30:00Z", now).expect("valid");
        let status_at = |status, at| {
            let mut key = sample_key();
            key.status = status;
            key.expires_at = Some(expiry);
            key.status_at(at)
        };
        assert_eq!(status_at(ApiKeyStatus::Active, now), ApiKeyStatus::Active);
        assert_eq!(
            status_at(ApiKeyStatus::Active, later),
            ApiKeyStatus::Expired
        );
        assert_eq!(
            status_at(ApiKeyStatus::Deleted, later),
            ApiKeyStatus::Deleted
        );
    }

    fn sample_key() -> ApiKey {
        let (id, key) = crate::AccessKey::generate(&crate::KeyPrefix::default());
        let hash = crate::KeyHasher::new(64, 1, 1)
            .and_then(|h| h.hash(&key))
            .expect("hashed");
        ApiKey {
            id,
            tenant_id: TenantId::parse("t").expect("valid"),
            name: ApiKeyName::parse("k").expect("valid"),
            application_id: ApplicationId::new(),
            application_name: ApplicationName::parse("a").expect("valid"),
            arx_id: ArxId::new(),
            arx_name: ArxName::parse("x").expect("valid"),
            arx_purpose: Purpose::Testing,
            status: ApiKeyStatus::Active,
            created_at: Timestamp::now(),
            created_by: UserId::parse("u").expect("valid"),
            expires_at: None,
            deleted_at: None,
            deleted_by: None,
            last_used_at: None,
            rotated_from: None,
            rotated_to: None,
            expiry_notice_sent_at: None,
            limits: None,
            disabled_reason: None,
            permissions: Default::default(),
            roles: Default::default(),
            allowlist: None,
            external_id: None,
            meta: None,
            secret_hash: hash,
            locator: None,
            balance: None,
            revision: Revision::default(),
        }
    }

    #[test]
    fn a_key_expires_soon_within_the_notice_period_only_while_it_works() {
        let now = Timestamp::now();
        let period = NoticePeriod::days(7).expect("in range");
        let ending = |days: i64| {
            let mut key = sample_key();
            key.expires_at = Some(ExpiresAt::ending(now.plus(time::Duration::days(days))));
            key
        };
        assert!(period.covers(&ending(3), now));
        assert!(period.covers(&ending(7), now));
        assert!(!period.covers(&ending(8), now));
        assert!(!period.covers(&sample_key(), now), "no expiry");
        assert!(!period.covers(&ending(-1), now), "already expired");
        let mut disabled = ending(3);
        disabled.status = ApiKeyStatus::Disabled;
        assert!(!period.covers(&disabled, now));
        let off = NoticePeriod::days(0).expect("in range");
        assert!(off.is_off() && !off.covers(&ending(3), now));
        assert!(NoticePeriod::days(NoticePeriod::MAX_DAYS + 1).is_err());
    }

    #[test]
    fn only_an_unrotated_active_key_with_an_expiry_awaits_its_notice() {
        let mut key = sample_key();
        assert!(!key.awaits_expiry_notice(), "no expiry");
        key.expires_at = Some(ExpiresAt::ending(Timestamp::now()));
        assert!(key.awaits_expiry_notice());
        let mut sent = key.clone();
        sent.expiry_notice_sent_at = Some(Timestamp::now());
        assert!(!sent.awaits_expiry_notice());
        let mut rotated = key.clone();
        rotated.rotated_to = Some(crate::AccessKey::generate(&crate::KeyPrefix::default()).0);
        assert!(!rotated.awaits_expiry_notice());
        key.status = ApiKeyStatus::Disabled;
        assert!(!key.awaits_expiry_notice());
    }

    #[test]
    fn statuses_parse_by_name() {
        for status in ApiKeyStatus::ALL {
            assert_eq!(ApiKeyStatus::parse(status.as_str()), Ok(status));
        }
        assert!(ApiKeyStatus::parse("gone").is_err());
    }
}
