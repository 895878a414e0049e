//! Bearer tokens (JWTs): their verification and the decision for an
//! operation. The logic of the Lambda authorizer, which the dev server runs
//! in front of every route too.
//!
//! A token is accepted only if its signature verifies with the configured
//! algorithm (RS256 from the issuer's JWKS, or HS256 with a shared secret; the
//! token's own `alg` never chooses: `none` and algorithm confusion fail), and its
//! `iss`, `aud`, `exp` and `nbf` hold. Tenant and role come from the configured
//! claims. Nothing here ever logs or returns the token, nor any text taken
//! from it: a refusal carries a fixed [`TokenProblem`] code.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use domain::{Operation, Role, TenantId, UserId};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::config::{AuthConfig, SigningKeys};
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::identity::Identity;
use crate::published_keys::{KeyUnavailable, PublishedKeys};

/// Why a request was turned away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("no bearer token")]
    MissingToken,
    #[error("the token is not valid: {0}")]
    InvalidToken(TokenProblem),
    /// The configured tenant claim (our configuration's text, not the token's).
    #[error("the token has no usable {0} claim")]
    MissingClaim(String),
    #[error("the token's role is not one of ours")]
    UnknownRole,
    #[error("the role may not use this route")]
    RoleForbidden,
    /// A service key of ours that is unknown, revoked or expired.
    #[error("the service key is not valid")]
    InvalidServiceKey,
    /// A service key, on a route no service key may use (its own kind's).
    #[error("a service key may not use this route")]
    ServiceKeyForbidden,
}

impl Denied {
    /// 401 when we do not know who is asking, 403 when we do and the answer is no.
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingToken | Self::InvalidToken(_) | Self::InvalidServiceKey => 401,
            Self::MissingClaim(_)
            | Self::UnknownRole
            | Self::RoleForbidden
            | Self::ServiceKeyForbidden => 403,
        }
    }
}

/// What was wrong with a token, as a fixed code. The token's header and claims
/// are the sender's to write (newlines, terminal escapes, a pasted access key),
/// so no refusal ever repeats them, not even through the JWT library's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not three base64url parts of JSON of the expected shape.
    Malformed,
    /// A claim (top level) appears twice: which one counts is ambiguous.
    DuplicateClaim,
    WrongAlgorithm,
    NoKeyId,
    UnknownKey,
    KeysUnavailable,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MissingClaim,
    UnusableSubject,
    /// Valid for longer than the configured maximum lifetime.
    TooLongLived,
    /// Issued (`iat`) later than now: a clock that far off, or a token made
    /// to outlive its checks.
    IssuedInTheFuture,
}

impl TokenProblem {
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::DuplicateClaim => "duplicate_claim",
            Self::WrongAlgorithm => "wrong_algorithm",
            Self::NoKeyId => "no_key_id",
            Self::UnknownKey => "unknown_key",
            Self::KeysUnavailable => "keys_unavailable",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingClaim => "missing_claim",
            Self::UnusableSubject => "unusable_subject",
            Self::TooLongLived => "too_long_lived",
            Self::IssuedInTheFuture => "issued_in_the_future",
        }
    }

    fn of(error: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidSubject => Self::UnusableSubject,
            ErrorKind::MissingRequiredClaim(_) => Self::MissingClaim,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::MissingAlgorithm => Self::WrongAlgorithm,
            ErrorKind::Json(json) if json.to_string().starts_with(DUPLICATE_CLAIM) => {
                Self::DuplicateClaim
            }
            _ => Self::Malformed,
        }
    }
}

impl fmt::Display for TokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

const DUPLICATE_CLAIM: &str = "a claim appears twice";

/// A token's claims, refusing a name given twice. serde_json would keep the
/// last, so `{"custom:role": "developer", "custom:role": "platform_owner"}`
/// would read as owner while another reader of the same token sees developer.
struct Claims(HashMap<String, Value>);

impl<'de> serde::Deserialize<'de> for Claims {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Claims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Claims, A::Error> {
                let mut claims = HashMap::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if claims.insert(name, value).is_some() {
                        return Err(serde::de::Error::custom(DUPLICATE_CLAIM));
                    }
                }
                Ok(Claims(claims))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Checks bearer tokens against the issuer's keys (or the shared secret).
pub struct Authenticator {
    config: AuthConfig,
    validation: Validation,
    keys: Keys,
    verified: VerifiedTokens,
}

/// Tokens this process verified lately, by their fingerprint, each until its
/// `exp`: a client's next request with the same token skips the signature
/// check and the claims. A JWT cannot be revoked before its `exp`, so the
/// cached identity is what a fresh check would find (and a signing key the
/// issuer withdraws stops being trusted no sooner without the cache: the
/// published keys are refetched only for an id never seen).
struct VerifiedTokens {
    fingerprints: Fingerprinter,
    identities: quick_cache::sync::Cache<Fingerprint, (Identity, u64)>,
}

impl VerifiedTokens {
    /// Tokens kept at most: a few per person or service signed in at once.
    const CAPACITY: usize = 10_000;
}

enum Keys {
    Secret(DecodingKey),
    Jwks(Box<JwksCache>),
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.config.issuer)
            .field("audience", &self.config.audience)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(config: AuthConfig) -> std::io::Result<Self> {
        let (algorithm, keys) = match &config.keys {
            SigningKeys::Hs256 { secret } => (
                Algorithm::HS256,
                Keys::Secret(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
            ),
            SigningKeys::Jwks { url } => {
                (Algorithm::RS256, Keys::Jwks(Box::new(jwks(url.clone())?)))
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self {
            config,
            validation,
            keys,
            verified: VerifiedTokens {
                fingerprints: Fingerprinter::random(),
                identities: quick_cache::sync::Cache::new(VerifiedTokens::CAPACITY),
            },
        })
    }

    /// Who the `Authorization` header's bearer token says is asking.
    pub async fn identity(&self, authorization: Option<&str>) -> Result<Identity, Denied> {
        self.token_identity(bearer_token(authorization)?).await
    }

    /// Who a bearer token (a JWT) says is asking.
    pub async fn token_identity(&self, token: &str) -> Result<Identity, Denied> {
        let fingerprint = self.verified.fingerprints.of(token.as_bytes());
        if let Some((identity, exp)) = self.verified.identities.get(&fingerprint)
            && jsonwebtoken::get_current_timestamp() < exp
        {
            return Ok(identity);
        }
        let (identity, exp) = self.check(token).await?;
        self.verified
            .identities
            .insert(fingerprint, (identity.clone(), exp));
        Ok(identity)
    }

    /// The full check of a token: its identity and its `exp`.
    async fn check(&self, token: &str) -> Result<(Identity, u64), Denied> {
        let invalid =
            |error: jsonwebtoken::errors::Error| Denied::InvalidToken(TokenProblem::of(&error));
        let header = decode_header(token).map_err(invalid)?;
        let key = match &self.keys {
            Keys::Secret(key) => key.clone(),
            Keys::Jwks(cache) => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or(Denied::InvalidToken(TokenProblem::NoKeyId))?;
                cache.key(kid).await.map_err(|unavailable| {
                    Denied::InvalidToken(match unavailable {
                        KeyUnavailable::Unknown => TokenProblem::UnknownKey,
                        KeyUnavailable::Unreachable => TokenProblem::KeysUnavailable,
                    })
                })?
            }
        };
        let Claims(claims) = decode::<Claims>(token, &key, &self.validation)
            .map_err(invalid)?
            .claims;
        let exp = self.check_lifetime(&claims)?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        // `service-key:` subjects are ours, for service keys alone.
        let user = text("sub")
            .filter(|sub| !sub.starts_with(crate::identity::SERVICE_KEY_USER_PREFIX))
            .and_then(|sub| UserId::parse(sub).ok())
            .ok_or(Denied::InvalidToken(TokenProblem::UnusableSubject))?;
        let tenant = text(&self.config.tenant_claim)
            .and_then(|tenant| TenantId::parse(tenant).ok())
            .ok_or_else(|| Denied::MissingClaim(self.config.tenant_claim.clone()))?;
        let role = text(&self.config.role_claim)
            .and_then(|role| Role::parse(role).ok())
            .ok_or(Denied::UnknownRole)?;
        Ok((Identity { tenant, user, role }, exp))
    }

    /// Refuses a token valid for longer than the configured maximum: counted
    /// from its `iat` when it has one, and from now in any case. Its `exp`.
    fn check_lifetime(&self, claims: &HashMap<String, Value>) -> Result<u64, Denied> {
        let too_long = Denied::InvalidToken(TokenProblem::TooLongLived);
        let max = self.config.max_token_lifetime.as_secs();
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(too_long.clone())?;
        let now = jsonwebtoken::get_current_timestamp();
        let issued = claims.get("iat").and_then(Value::as_u64).unwrap_or(now);
        // The same leeway as `nbf` and `exp` get, for clocks a little apart.
        if issued > now.saturating_add(self.validation.leeway) {
            return Err(Denied::InvalidToken(TokenProblem::IssuedInTheFuture));
        }
        if exp.saturating_sub(issued) > max || exp.saturating_sub(now) > max {
            return Err(too_long);
        }
        Ok(exp)
    }

    /// The authorizer's decision for one operation (a route's).
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        operation: Operation,
    ) -> Result<Identity, Denied> {
        let identity = self.identity(authorization).await?;
        if identity.role.may(operation) {
            Ok(identity)
        } else {
            Err(Denied::RoleForbidden)
        }
    }
}

/// The credential of an `Authorization: Bearer <credential>` header.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, Denied> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(Denied::MissingToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(Denied::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Denied::MissingToken);
    }
    Ok(token.trim())
}

/// The issuer's signing keys by `kid` (see [`PublishedKeys`]).
type JwksCache = PublishedKeys<DecodingKey>;

fn jwks(url: String) -> std::io::Result<JwksCache> {
    PublishedKeys::new(url, "JWKS", parse_jwks)
}

fn parse_jwks(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    let set: JwkSet = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(set
        .keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
        })
        .collect())
}

/// Signs an HS256 token for `identity`: the dev server's ready tokens and tests.
pub fn issue_hs256_token(
    config: &AuthConfig,
    secret: &SecretString,
    identity: &Identity,
    valid_for: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = serde_json::json!({
        "iss": config.issuer,
        "aud": config.audience,
        "sub": identity.user.as_str(),
        "iat": now,
        "nbf": now,
        "exp": now + valid_for.as_secs(),
        config.tenant_claim.clone(): identity.tenant.as_str(),
        config.role_claim.clone(): identity.role.as_str(),
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use proptest::prelude::*;

    use super::*;

    fn verifier() -> Authenticator {
        Authenticator::new(AuthConfig {
            issuer: "i".into(),
            audience: "a".into(),
            keys: SigningKeys::Hs256 {
                secret: "a-secret-of-at-least-thirty-two-bytes".to_owned().into(),
            },
            tenant_claim: "custom:tenant_id".into(),
            role_claim: "custom:role".into(),
            max_token_lifetime: AuthConfig::DEFAULT_MAX_TOKEN_LIFETIME,
        })
        .expect("a verifier")
    }

    fn refused(verifier: &Authenticator, header: &str) -> bool {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(verifier.identity(Some(header))).is_err()
    }

    fn token(verifier: &Authenticator, user: &str, role: Role) -> String {
        let SigningKeys::Hs256 { secret } = &verifier.config.keys else {
            panic!("an HS256 verifier");
        };
        let identity = Identity {
            tenant: TenantId::parse("t").expect("valid"),
            user: UserId::parse(user).expect("valid"),
            role,
        };
        issue_hs256_token(
            &verifier.config,
            secret,
            &identity,
            Duration::from_secs(600),
        )
        .expect("signed")
    }

    #[tokio::test]
    async fn a_cached_token_answers_for_itself_only() {
        let verifier = verifier();
        let owner = token(&verifier, "u-owner", Role::PlatformOwner);
        let developer = token(&verifier, "u-dev", Role::Developer);
        for _ in 0..2 {
            let who = verifier
                .identity(Some(&format!("Bearer {owner}")))
                .await
                .expect("valid");
            assert_eq!(
                (who.user.as_str(), who.role),
                ("u-owner", Role::PlatformOwner)
            );
            let who = verifier
                .identity(Some(&format!("Bearer {developer}")))
                .await
                .expect("valid");
            assert_eq!((who.user.as_str(), who.role), ("u-dev", Role::Developer));
        }
        assert_eq!(verifier.verified.identities.len(), 2);
        // The owner's token with one signature character changed: not the
        // cached token, so checked afresh, and refused.
        let mut forged = owner.clone();
        let last = forged
            .pop()
            .map_or('A', |c| if c == 'A' { 'B' } else { 'A' });
        forged.push(last);
        let refused = verifier.identity(Some(&format!("Bearer {forged}"))).await;
        assert!(
            matches!(refused, Err(Denied::InvalidToken(_))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn no_token_passes_for_a_service_key() {
        let verifier = verifier();
        let sub = format!("service-key:{}", domain::ServiceKeyId::new());
        let posing = token(&verifier, &sub, Role::PlatformAdmin);
        assert_eq!(
            verifier.identity(Some(&format!("Bearer {posing}"))).await,
            Err(Denied::InvalidToken(TokenProblem::UnusableSubject))
        );
    }

    #[tokio::test]
    async fn a_token_issued_in_the_future_is_refused() {
        let verifier = verifier();
        let SigningKeys::Hs256 { secret } = &verifier.config.keys else {
            panic!("an HS256 verifier");
        };
        let now = jsonwebtoken::get_current_timestamp();
        let signed = |iat: u64| {
            let claims = serde_json::json!({
                "iss": "i", "aud": "a", "sub": "u", "iat": iat, "exp": now + 600,
                "custom:tenant_id": "t", "custom:role": "developer",
            });
            let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
            let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
                .expect("signed");
            format!("Bearer {token}")
        };
        assert!(verifier.identity(Some(&signed(now))).await.is_ok());
        assert!(
            verifier.identity(Some(&signed(now + 20))).await.is_ok(),
            "within the leeway"
        );
        assert_eq!(
            verifier.identity(Some(&signed(now + 3600))).await,
            Err(Denied::InvalidToken(TokenProblem::IssuedInTheFuture))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any header, and any three parts of base64 JSON-ish text: refused,
        /// never a panic (a fuzzer cannot forge the signature).
        #[test]
        fn tokens_of_any_parts_never_panic(
            raw in "\\PC{0,200}",
            header in "\\PC{0,80}",
            claims in "\\PC{0,120}",
            signature in "[A-Za-z0-9_-]{0,64}",
        ) {
            let verifier = verifier();
            prop_assert!(refused(&verifier, &raw));
            let bearer = format!("Bearer {}", raw);
            prop_assert!(refused(&verifier, &bearer));
            let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
            let token = format!("Bearer {}.{}.{}", b64(&header), b64(&claims), signature);
            prop_assert!(refused(&verifier, &token));
            let json = format!(
                "Bearer {}.{}.{}",
                b64(&format!(r#"{{"alg":"HS256","kid":{:?}}}"#, header)),
                b64(&format!(r#"{{"sub":{:?},"exp":99999999999,"exp":1}}"#, claims)),
                signature,
            );
            prop_assert!(refused(&verifier, &json));
        }
    }
}
