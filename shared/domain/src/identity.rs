//! Identities: a tenant's record of one of its customers, who may hold
//! several keys. A key belongs to the identity whose `external_id` it
//! carries, found at verify time: a key made before its identity joins it
//! when the identity is made, and a key whose owner changes moves with it.
//!
//! An identity has its own limits, shared by every key it holds: credits
//! (with a refill) and named rate limits. Verify charges them beside the
//! key's own, both or neither (see `store`'s charges).

use serde::{Deserialize, Serialize};

use crate::limits::{Credits, KeyLimits, RateLimit, RateRequests, RateSeconds};
use crate::{
    AuditAction, AuditEvent, Author, Balance, ExternalId, IdentityId, KeyMeta, LimitName, Revision,
    TenantId, Timestamp,
};

/// One named rate limit of an identity: `requests` per `per_seconds`,
/// shared by all its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedRateLimit {
    pub name: LimitName,
    pub requests: RateRequests,
    pub per_seconds: RateSeconds,
}

impl NamedRateLimit {
    pub fn rate(&self) -> RateLimit {
        RateLimit {
            requests: self.requests,
            per_seconds: self.per_seconds,
        }
    }
}

/// An identity's limits: credits, and up to [`IdentityLimits::MAX_RATE_LIMITS`]
/// rate limits with distinct names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "LimitsAsSent")]
pub struct IdentityLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<NamedRateLimit>,
}

/// [`IdentityLimits`] before its rules are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsAsSent {
    #[serde(default)]
    credits: Option<Credits>,
    #[serde(default)]
    rate_limits: Vec<NamedRateLimit>,
}

impl TryFrom<LimitsAsSent> for IdentityLimits {
    type Error = String;

    fn try_from(sent: LimitsAsSent) -> Result<Self, Self::Error> {
        if sent.rate_limits.len() > Self::MAX_RATE_LIMITS {
            return Err(format!(
                "rate_limits: at most {} rate limits per identity",
                Self::MAX_RATE_LIMITS
            ));
        }
        for (index, limit) in sent.rate_limits.iter().enumerate() {
            if sent.rate_limits[..index]
                .iter()
                .any(|other| other.name == limit.name)
            {
                return Err(format!(
                    "rate_limits: the name \"{}\" is used twice; each rate limit needs its own",
                    limit.name
                ));
            }
        }
        Ok(Self {
            credits: sent.credits,
            rate_limits: sent.rate_limits,
        })
    }
}

impl IdentityLimits {
    pub const MAX_RATE_LIMITS: usize = 10;

    pub fn is_empty(&self) -> bool {
        self.credits.is_none() && self.rate_limits.is_empty()
    }

    pub fn rate_limit(&self, name: &LimitName) -> Option<&NamedRateLimit> {
        self.rate_limits.iter().find(|limit| &limit.name == name)
    }

    /// Each counter these limits charge, with its limits in the shape a
    /// [`Balance`] keeps: the credits alone, and each rate limit alone.
    pub fn counters(&self) -> Vec<(IdentityCounter, KeyLimits)> {
        let credits = self.credits.map(|credits| {
            (
                IdentityCounter::Credits,
                KeyLimits {
                    rate: None,
                    credits: Some(credits),
                },
            )
        });
        let rates = self.rate_limits.iter().map(|limit| {
            (
                IdentityCounter::Rate(limit.name.clone()),
                KeyLimits {
                    rate: Some(limit.rate()),
                    credits: None,
                },
            )
        });
        credits.into_iter().chain(rates).collect()
    }

    /// Fresh counters for these limits at `now`, each with a revision of
    /// `revs` (which should be random, as a key's).
    pub fn fresh_balances(
        &self,
        now: Timestamp,
        mut revs: impl FnMut() -> u64,
    ) -> Vec<(IdentityCounter, Balance)> {
        self.counters()
            .into_iter()
            .map(|(counter, limits)| (counter, Balance::new(&limits, now, revs())))
            .collect()
    }
}

/// In words: `500 credits (refilled to 100 each day), requests: 10 per 60 s`.
impl std::fmt::Display for IdentityLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(credits) = self.credits {
            parts.push(
                KeyLimits {
                    rate: None,
                    credits: Some(credits),
                }
                .to_string(),
            );
        }
        for limit in &self.rate_limits {
            parts.push(format!(
                "{}: {} requests per {} s",
                limit.name,
                limit.requests.get(),
                limit.per_seconds.get()
            ));
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// One of an identity's counters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdentityCounter {
    Credits,
    Rate(LimitName),
}

/// A customer of a tenant, the keys that carry its `external_id`, and
/// the limits they share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub id: IdentityId,
    pub tenant_id: TenantId,
    /// Fixed for the identity's life: its keys find it by this.
    pub external_id: ExternalId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<KeyMeta>,
    #[serde(default, skip_serializing_if = "IdentityLimits::is_empty")]
    pub limits: IdentityLimits,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub revision: Revision,
}

/// A change to an identity: each part given is set (`Some(None)` removes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityEdit {
    pub meta: Option<Option<KeyMeta>>,
    /// New limits start every counter afresh, as a key's do.
    pub limits: Option<IdentityLimits>,
}

impl Identity {
    /// A new identity and its `created` event.
    pub fn create(
        tenant: TenantId,
        external_id: ExternalId,
        meta: Option<KeyMeta>,
        limits: IdentityLimits,
        by: &Author,
    ) -> (Self, AuditEvent) {
        let now = by.at();
        let identity = Self {
            id: IdentityId::new(),
            tenant_id: tenant,
            external_id,
            meta,
            limits,
            created_at: now,
            updated_at: now,
            revision: Revision::default(),
        };
        let event = by
            .event(
                &identity.tenant_id,
                AuditAction::IdentityCreated,
                identity.id.as_str(),
            )
            .with_detail(format!(
                "external id {}; limits: {}",
                identity.external_id, identity.limits
            ));
        (identity, event)
    }

    /// This identity after `edit`, and the event that says what changed.
    pub fn edit(&self, edit: IdentityEdit, by: &Author) -> (Self, AuditEvent) {
        let mut changed = Vec::new();
        let mut next = self.clone();
        if let Some(meta) = edit.meta {
            changed.push(if meta.is_some() {
                "meta set".to_owned()
            } else {
                "meta removed".to_owned()
            });
            next.meta = meta;
        }
        if let Some(limits) = edit.limits {
            changed.push(format!(
                "limits changed from {} to {limits}; counters restarted",
                self.limits
            ));
            next.limits = limits;
        }
        next.updated_at = by.at();
        next.revision = self.revision.next();
        let event = by
            .event(
                &self.tenant_id,
                AuditAction::IdentityUpdated,
                self.id.as_str(),
            )
            .with_detail(changed.join("; "));
        (next, event)
    }

    /// The event of this identity's deletion.
    pub fn deleted_event(&self, by: &Author) -> AuditEvent {
        by.event(
            &self.tenant_id,
            AuditAction::IdentityDeleted,
            self.id.as_str(),
        )
        .with_detail(format!("external id {}", self.external_id))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::RoleName;

    proptest! {
        /// Names and limits as any client may send them: an answer, never a panic.
        #[test]
        fn names_and_limits_never_panic(raw in "\\PC{0,80}", json in "[\\[\\]{}:,\"a-z0-9 _.-]{0,200}") {
            let _ = LimitName::parse(&raw);
            let _ = RoleName::parse(&raw);
            let _ = serde_json::from_str::<IdentityLimits>(&json);
            let _ = serde_json::from_str::<crate::KeyRoles>(&json);
        }
    }

    fn limits(json: &str) -> Result<IdentityLimits, String> {
        serde_json::from_str(json).map_err(|error| error.to_string())
    }

    #[test]
    fn limits_refuse_a_name_twice_and_too_many() {
        let twice = limits(
            r#"{"rate_limits":[{"name":"a","requests":1,"per_seconds":1},
                {"name":"a","requests":2,"per_seconds":1}]}"#,
        );
        assert!(twice.is_err_and(|e| e.contains("used twice")));
        let many: Vec<String> = (0..11)
            .map(|n| format!(r#"{{"name":"r{n}","requests":1,"per_seconds":1}}"#))
            .collect();
        let many = limits(&format!(r#"{{"rate_limits":[{}]}}"#, many.join(",")));
        assert!(many.is_err_and(|e| e.contains("at most 10")));
        assert!(
            limits(r#"{"rate_limits":[{"name":"a b","requests":1,"per_seconds":1}]}"#).is_err()
        );
    }

    #[test]
    fn each_limit_is_a_counter_of_its_own() {
        let limits = limits(
            r#"{"credits":{"remaining":100},"rate_limits":[
                {"name":"requests","requests":10,"per_seconds":60},
                {"name":"tokens","requests":1000,"per_seconds":60}]}"#,
        )
        .expect("limits");
        let counters = limits.counters();
        assert_eq!(counters.len(), 3);
        assert_eq!(counters[0].0, IdentityCounter::Credits);
        assert!(counters[0].1.rate.is_none());
        assert_eq!(
            counters[2].0,
            IdentityCounter::Rate(LimitName::parse("tokens").expect("name"))
        );
        assert!(counters[2].1.credits.is_none());
        assert_eq!(
            limits.to_string(),
            "100 credits, requests: 10 requests per 60 s, tokens: 1000 requests per 60 s"
        );
    }

    #[test]
    fn limit_names_fit_a_storage_key() {
        for fine in ["requests", "tokens.gpt-4", "a:b_c"] {
            assert!(LimitName::parse(fine).is_ok(), "{fine}");
        }
        for bad in ["", "-a", "a#b", "a b", "é", &"x".repeat(65)] {
            assert!(LimitName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
