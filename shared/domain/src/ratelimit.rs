//! Rate limits for anything: a tenant's namespaces (`login`, `sms.send`),
//! each with a default limit and overrides for some identifiers, checked
//! for any identifier a service names (an address, an e-mail, a user id).
//!
//! An identifier is the caller's data, not ours: it is bounded, never
//! printed (its `Debug` says only its length) and never put in an error;
//! storage sees only its digest (`verify::ratelimit`).
//!
//! Counting is by fixed windows aligned to the Unix epoch (a limit of 100
//! per 60 s counts from each whole minute): exact, one counter per
//! identifier and window, which ends with its window. A limit that changes
//! (an override set, a default changed) counts afresh under the new limit
//! from the next check, as a key's new limits do.

use serde::{Deserialize, Serialize};

use crate::limits::{RateLimit, RateRequests, RateSeconds};
use crate::{
    AuditAction, AuditEvent, Author, InvalidValue, NamespaceId, NamespaceName, Revision, TenantId,
    Timestamp,
};

/// The most characters an identifier or an override's pattern may have.
pub const MAX_IDENTIFIER_CHARS: usize = 256;

/// Checks what identifiers and patterns share: 1 to 256 characters, none of
/// them a control character.
fn check_identifier(raw: &str) -> Result<(), InvalidValue> {
    if raw.is_empty() {
        return Err(InvalidValue::Empty);
    }
    if raw.chars().count() > MAX_IDENTIFIER_CHARS {
        return Err(InvalidValue::TooLong {
            max: MAX_IDENTIFIER_CHARS,
        });
    }
    if raw.chars().any(char::is_control) {
        return Err(InvalidValue::ControlCharacter);
    }
    Ok(())
}

/// What is limited: any text the caller chooses, 1 to 256 characters.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Identifier(String);

impl Identifier {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        check_identifier(raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// The text, for a digest or for the tenant's own analytics; never for a
    /// log line or an error.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Identifier {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        check_identifier(&raw)?;
        Ok(Self(raw))
    }
}

/// Never the text: an identifier may be an e-mail or an address.
impl std::fmt::Debug for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identifier({} chars)", self.0.chars().count())
    }
}

/// What an override applies to: an identifier, or a pattern where each `*`
/// stands for any run of characters (`*@example.com`, `10.0.*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdentifierPattern(String);

impl IdentifierPattern {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        check_identifier(raw)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this names one identifier (no `*`).
    pub fn is_exact(&self) -> bool {
        !self.0.contains('*')
    }

    /// Whether `identifier` is this one, or fits this pattern.
    pub fn matches(&self, identifier: &Identifier) -> bool {
        if self.is_exact() {
            return self.0 == identifier.0;
        }
        let pattern: Vec<char> = self.0.chars().collect();
        let text: Vec<char> = identifier.0.chars().collect();
        glob(&pattern, &text)
    }
}

impl TryFrom<String> for IdentifierPattern {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        check_identifier(&raw)?;
        Ok(Self(raw))
    }
}

impl From<IdentifierPattern> for String {
    fn from(pattern: IdentifierPattern) -> String {
        pattern.0
    }
}

/// Whether `text` fits `pattern`, where `*` is any run of characters: the
/// greedy match that returns to the last `*` on a mismatch, linear in
/// practice and at worst the product of the two lengths (256 × 256).
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// An identifier or pattern with its own limit in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitOverride {
    pub identifier: IdentifierPattern,
    pub limit: RateLimit,
    pub updated_at: Timestamp,
}

/// A tenant's namespace of rate limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitNamespace {
    pub id: NamespaceId,
    pub tenant_id: TenantId,
    pub name: NamespaceName,
    /// What an identifier with no override may do.
    pub limit: RateLimit,
    /// What a client does when it cannot reach us: let the request through
    /// (`true`) or refuse it.
    pub fail_open: bool,
    /// At most [`RateLimitNamespace::MAX_OVERRIDES`], one per pattern, in
    /// the pattern's order.
    #[serde(default)]
    pub overrides: Vec<LimitOverride>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub revision: Revision,
}

/// What an owner or admin may change of a namespace (its name is fixed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NamespaceEdit {
    pub limit: Option<RateLimit>,
    pub fail_open: Option<bool>,
}

/// Why an override cannot be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a namespace holds at most {max} overrides", max = RateLimitNamespace::MAX_OVERRIDES)]
pub struct TooManyOverrides;

impl RateLimitNamespace {
    /// Enough for a tenant's special cases (its largest customers, its
    /// offices' ranges); a limit per customer belongs on an identity.
    pub const MAX_OVERRIDES: usize = 500;

    /// A new namespace and its `created` event.
    pub fn create(
        tenant: TenantId,
        name: NamespaceName,
        limit: RateLimit,
        fail_open: bool,
        by: &Author,
    ) -> (Self, AuditEvent) {
        let now = by.at();
        let namespace = Self {
            id: NamespaceId::new(),
            tenant_id: tenant,
            name,
            limit,
            fail_open,
            overrides: Vec::new(),
            created_at: now,
            updated_at: now,
            revision: Revision::default(),
        };
        let detail = format!(
            "namespace {}: {}, {}",
            namespace.name,
            words(limit),
            failing(fail_open)
        );
        let event = namespace.event(AuditAction::RateLimitNamespaceCreated, detail, by);
        (namespace, event)
    }

    /// This namespace changed by `edit`, and the event that says from what
    /// to what; `None` when it changes nothing.
    pub fn edit(&self, edit: NamespaceEdit, by: &Author) -> Option<(Self, AuditEvent)> {
        let limit = edit.limit.unwrap_or(self.limit);
        let fail_open = edit.fail_open.unwrap_or(self.fail_open);
        let mut changes = Vec::new();
        if limit != self.limit {
            let (before, after) = (words(self.limit), words(limit));
            changes.push(format!("limit from {before} to {after}"));
        }
        if fail_open != self.fail_open {
            changes.push(format!(
                "from {} to {}",
                failing(self.fail_open),
                failing(fail_open)
            ));
        }
        if changes.is_empty() {
            return None;
        }
        let next = Self {
            limit,
            fail_open,
            ..self.next_revision(by)
        };
        let detail = format!("namespace {}: {}", self.name, changes.join("; "));
        let event = self.event(AuditAction::RateLimitNamespaceUpdated, detail, by);
        Some((next, event))
    }

    /// This namespace with `identifier` limited to `limit` (set or changed).
    pub fn set_override(
        &self,
        identifier: IdentifierPattern,
        limit: RateLimit,
        by: &Author,
    ) -> Result<(Self, AuditEvent), TooManyOverrides> {
        let mut next = self.next_revision(by);
        let at = next
            .overrides
            .binary_search_by(|o| o.identifier.cmp(&identifier));
        let detail = match at {
            Ok(index) => {
                let before = words(next.overrides[index].limit);
                next.overrides[index].limit = limit;
                next.overrides[index].updated_at = by.at();
                format!("from {before} to {}", words(limit))
            }
            Err(index) => {
                if next.overrides.len() >= Self::MAX_OVERRIDES {
                    return Err(TooManyOverrides);
                }
                let updated_at = by.at();
                let detail = words(limit);
                let kept = LimitOverride {
                    identifier: identifier.clone(),
                    limit,
                    updated_at,
                };
                next.overrides.insert(index, kept);
                detail
            }
        };
        let detail = format!(
            "namespace {}: override for {}: {detail}",
            self.name,
            identifier.as_str()
        );
        let event = self.event(AuditAction::RateLimitOverrideSet, detail, by);
        Ok((next, event))
    }

    /// This namespace without the override for `identifier`; `None` when it
    /// has none.
    pub fn remove_override(
        &self,
        identifier: &IdentifierPattern,
        by: &Author,
    ) -> Option<(Self, AuditEvent)> {
        let index = self
            .overrides
            .binary_search_by(|o| o.identifier.cmp(identifier))
            .ok()?;
        let mut next = self.next_revision(by);
        let removed = next.overrides.remove(index);
        let detail = format!(
            "namespace {}: override for {} removed (was {})",
            self.name,
            identifier.as_str(),
            words(removed.limit)
        );
        let event = self.event(AuditAction::RateLimitOverrideRemoved, detail, by);
        Some((next, event))
    }

    /// The event of this namespace's deletion.
    pub fn deleted_event(&self, by: &Author) -> AuditEvent {
        let detail = format!("namespace {}", self.name);
        self.event(AuditAction::RateLimitNamespaceDeleted, detail, by)
    }

    /// What `identifier` may do: its exact override, else the longest
    /// pattern that fits it (the first in order among equals), else the
    /// namespace's limit.
    pub fn limit_for(&self, identifier: &Identifier) -> RateLimit {
        let exact = self
            .overrides
            .iter()
            .find(|o| o.identifier.is_exact() && o.identifier.as_str() == identifier.expose());
        let best = exact.or_else(|| {
            self.overrides
                .iter()
                .filter(|o| !o.identifier.is_exact() && o.identifier.matches(identifier))
                .fold(None, |best: Option<&LimitOverride>, o| match best {
                    Some(b) if b.identifier.as_str().len() >= o.identifier.as_str().len() => {
                        Some(b)
                    }
                    _ => Some(o),
                })
        });
        best.map_or(self.limit, |o| o.limit)
    }

    fn next_revision(&self, by: &Author) -> Self {
        Self {
            updated_at: by.at(),
            revision: self.revision.next(),
            ..self.clone()
        }
    }

    fn event(&self, action: AuditAction, detail: String, by: &Author) -> AuditEvent {
        by.event(&self.tenant_id, action, self.id.as_str())
            .with_detail(detail)
    }
}

/// `100 requests per 60 s`.
fn words(limit: RateLimit) -> String {
    format!(
        "{} requests per {} s",
        limit.requests.get(),
        limit.per_seconds.get()
    )
}

fn failing(fail_open: bool) -> &'static str {
    if fail_open {
        "fails open"
    } else {
        "fails closed"
    }
}

/// The window of `limit` that holds `now`: its first second and the second
/// it ends (exclusive), aligned to the epoch.
pub fn window_at(limit: RateLimit, now: Timestamp) -> (i64, i64) {
    let seconds = i64::try_from(limit.per_seconds.get()).unwrap_or(i64::MAX);
    let now = now.unix_seconds();
    let start = now - now.rem_euclid(seconds);
    (start, start.saturating_add(seconds))
}

/// A limit as the API takes it: `limit` requests per `duration` seconds.
pub fn rate_limit(requests: RateRequests, duration: RateSeconds) -> RateLimit {
    RateLimit {
        requests,
        per_seconds: duration,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Role, UserId};

    fn limit(requests: u64, seconds: u64) -> RateLimit {
        rate_limit(
            RateRequests::try_from(requests).expect("requests"),
            RateSeconds::try_from(seconds).expect("seconds"),
        )
    }

    fn by() -> Author {
        let user = UserId::parse("u1").expect("user");
        Author::person(user, Role::PlatformAdmin, Timestamp::now())
    }

    fn namespace() -> RateLimitNamespace {
        let tenant = TenantId::parse("t1").expect("tenant");
        let name = NamespaceName::parse("login").expect("name");
        RateLimitNamespace::create(tenant, name, limit(100, 60), false, &by()).0
    }

    fn id(raw: &str) -> Identifier {
        Identifier::parse(raw).expect("identifier")
    }

    fn pattern(raw: &str) -> IdentifierPattern {
        IdentifierPattern::parse(raw).expect("pattern")
    }

    #[test]
    fn exact_beats_the_longest_pattern_beats_the_default() {
        let ns = namespace();
        let (ns, _) = ns
            .set_override(pattern("*@example.com"), limit(5, 60), &by())
            .expect("set");
        let (ns, _) = ns
            .set_override(pattern("*.com"), limit(7, 60), &by())
            .expect("set");
        let (ns, _) = ns
            .set_override(pattern("ceo@example.com"), limit(1000, 60), &by())
            .expect("set");
        assert_eq!(ns.limit_for(&id("ceo@example.com")), limit(1000, 60));
        assert_eq!(ns.limit_for(&id("ann@example.com")), limit(5, 60));
        assert_eq!(ns.limit_for(&id("bob@other.com")), limit(7, 60));
        assert_eq!(ns.limit_for(&id("bob@other.org")), limit(100, 60));
        assert_eq!(
            ns.limit_for(&id("*.com")),
            limit(7, 60),
            "a pattern fits its own text"
        );
        let (ns, event) = ns
            .remove_override(&pattern("*.com"), &by())
            .expect("removed");
        assert!(
            event
                .detail
                .expect("detail")
                .contains("was 7 requests per 60 s")
        );
        assert_eq!(ns.limit_for(&id("bob@other.com")), limit(100, 60));
        assert!(ns.remove_override(&pattern("*.com"), &by()).is_none());
    }

    #[test]
    fn setting_an_override_again_changes_it_and_the_count_is_bounded() {
        let mut ns = namespace();
        for n in 0..RateLimitNamespace::MAX_OVERRIDES {
            ns = ns
                .set_override(pattern(&format!("user-{n}")), limit(1, 1), &by())
                .expect("set")
                .0;
        }
        assert_eq!(
            ns.set_override(pattern("one-more"), limit(1, 1), &by()),
            Err(TooManyOverrides)
        );
        let (again, event) = ns
            .set_override(pattern("user-7"), limit(9, 1), &by())
            .expect("a change");
        assert_eq!(again.overrides.len(), RateLimitNamespace::MAX_OVERRIDES);
        assert_eq!(again.limit_for(&id("user-7")), limit(9, 1));
        assert!(
            event
                .detail
                .expect("detail")
                .contains("from 1 requests per 1 s to 9")
        );
    }

    #[test]
    fn an_edit_that_changes_nothing_is_none() {
        let ns = namespace();
        assert!(ns.edit(NamespaceEdit::default(), &by()).is_none());
        let same = NamespaceEdit {
            limit: Some(ns.limit),
            fail_open: Some(false),
        };
        assert!(ns.edit(same, &by()).is_none());
        let (next, event) = ns
            .edit(
                NamespaceEdit {
                    limit: None,
                    fail_open: Some(true),
                },
                &by(),
            )
            .expect("a change");
        assert!(next.fail_open);
        assert_eq!(next.revision, ns.revision.next());
        assert_eq!(
            event.detail.as_deref(),
            Some("namespace login: from fails closed to fails open")
        );
    }

    #[test]
    fn identifiers_are_bounded_and_never_printed() {
        assert!(Identifier::parse("").is_err());
        assert!(Identifier::parse(&"é".repeat(256)).is_ok());
        assert!(Identifier::parse(&"é".repeat(257)).is_err());
        assert!(Identifier::parse("a\nb").is_err());
        let secret = id("someone@example.com");
        assert_eq!(format!("{secret:?}"), "Identifier(19 chars)");
    }

    #[test]
    fn windows_are_aligned_to_the_epoch() {
        let at = Timestamp::from_unix_seconds(125);
        assert_eq!(window_at(limit(1, 60), at), (120, 180));
        assert_eq!(window_at(limit(1, 1), at), (125, 126));
        assert_eq!(window_at(limit(1, 86_400), at), (0, 86_400));
    }

    #[test]
    fn globs() {
        let fits = |p: &str, t: &str| pattern(p).matches(&id(t));
        assert!(fits("*", "anything"));
        assert!(fits("a*c", "abbbc"));
        assert!(fits("a*b*c", "aXbYbZc"));
        assert!(fits("10.0.*", "10.0.3.4"));
        assert!(!fits("10.0.*", "10.1.3.4"));
        assert!(!fits("a*c", "abcd"));
        assert!(fits("**", "x"));
        assert!(fits("é*", "éa"));
    }

    proptest! {
        #[test]
        fn matching_never_panics_and_a_star_pattern_fits_itself(
            p in "[a-c*é]{1,12}",
            t in "[a-cé*]{1,12}",
        ) {
            let (p, t) = (pattern(&p), id(&t));
            let _ = p.matches(&t);
            prop_assert!(p.matches(&id(p.as_str())));
            prop_assert!(pattern("*").matches(&t));
        }

        #[test]
        fn identifier_parsing_never_panics(raw in "\\PC{0,300}") {
            let _ = Identifier::parse(&raw);
            let _ = IdentifierPattern::parse(&raw);
        }
    }
}
