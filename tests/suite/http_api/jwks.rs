//! RS256 through a JWKS, as with Cognito: keys fetched once and cached,
//! refetched for an unknown `kid` (at most once a minute), and no algorithm
//! confusion.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use auth::{Authenticator, Denied, SigningKeys, TokenProblem};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::helpers::{auth_config, claims, document_server, unsigned_token};

const PRIVATE_KEY: &[u8] = include_bytes!("../../fixtures/rs256-test-key.der");
const JWKS: &str = include_str!("../../fixtures/rs256-test-jwks.json");

/// Serves the fixture JWKS on a free port and counts the fetches.
async fn jwks_server() -> (String, Arc<AtomicUsize>) {
    let (url, fetches, _served) = switchable_jwks_server().await;
    (url, fetches)
}

/// The same, with the document served replaceable (an issuer rotating keys).
pub(crate) async fn switchable_jwks_server() -> (String, Arc<AtomicUsize>, Arc<RwLock<String>>) {
    document_server(JWKS.to_owned()).await
}

pub(crate) fn rs256_token(kid: &str, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(PRIVATE_KEY)).expect("a token")
}

#[tokio::test]
async fn rs256_tokens_verify_against_the_issuers_keys() {
    let (url, fetches) = jwks_server().await;
    let mut config = auth_config();
    config.keys = SigningKeys::Jwks { url };
    let verifier = Authenticator::new(config).expect("an authenticator");
    let bearer = |token: String| format!("Bearer {token}");

    let good = bearer(rs256_token("test-key-1", &claims("demo", "platform_admin")));
    let identity = verifier.identity(Some(&good)).await.expect("a valid token");
    assert_eq!(
        (identity.tenant.as_str(), identity.role.as_str()),
        ("demo", "platform_admin")
    );
    verifier.identity(Some(&good)).await.expect("still valid");
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the JWKS is fetched once and cached"
    );

    let unknown_kid = bearer(rs256_token("rotated-key", &claims("demo", "developer")));
    assert!(matches!(
        verifier.identity(Some(&unknown_kid)).await,
        Err(Denied::InvalidToken(_))
    ));
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "no refetch storm for made-up key ids within a minute"
    );

    // Algorithm confusion, with the issuer's real `kid`, so the key is found
    // and only the algorithm can refuse it: an HS256 token "signed" with the
    // public key (as text, then as its DER bytes), and an unsigned one.
    let owner = claims("demo", "platform_owner");
    let hs256_with_kid = |secret: &[u8]| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("test-key-1".to_owned());
        jsonwebtoken::encode(&header, &owner, &EncodingKey::from_secret(secret)).expect("a token")
    };
    for confused in [hs256_with_kid(JWKS.as_bytes()), hs256_with_kid(PRIVATE_KEY)] {
        assert_eq!(
            verifier.identity(Some(&bearer(confused))).await,
            Err(Denied::InvalidToken(TokenProblem::WrongAlgorithm)),
            "refused for its algorithm, with the right kid"
        );
    }
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    for alg in ["none", "None", "NONE"] {
        let header = serde_json::json!({"alg": alg, "kid": "test-key-1", "typ": "JWT"});
        let unsigned = format!("{}.{}.", b64(&header.to_string()), b64(&owner.to_string()));
        let refused = verifier.identity(Some(&bearer(unsigned))).await;
        assert!(
            matches!(
                refused,
                Err(Denied::InvalidToken(
                    TokenProblem::WrongAlgorithm | TokenProblem::Malformed
                ))
            ),
            "alg {alg}: {refused:?}"
        );
    }
    let unsigned = bearer(unsigned_token(&owner));
    assert!(matches!(
        verifier.identity(Some(&unsigned)).await,
        Err(Denied::InvalidToken(_))
    ));
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the right kid needs no refetch"
    );
    let mut wrong_audience = claims("demo", "developer");
    wrong_audience["aud"] = serde_json::json!("another-app");
    let wrong_audience = bearer(rs256_token("test-key-1", &wrong_audience));
    assert!(matches!(
        verifier.identity(Some(&wrong_audience)).await,
        Err(Denied::InvalidToken(_))
    ));
}

/// The issuer rotates its keys: a token with the new `kid` is refused while
/// the last fetch is under a minute old (no refetch storm), and accepted once
/// the minute has passed, after exactly one more fetch. This test waits the
/// real minute: the cache's clock is the process's, as in a Lambda.
#[tokio::test]
async fn a_rotated_issuer_key_is_fetched_once_the_minute_has_passed() {
    let (url, fetches, served) = switchable_jwks_server().await;
    let mut config = auth_config();
    config.keys = SigningKeys::Jwks { url };
    let verifier = Authenticator::new(config).expect("an authenticator");
    let bearer = |kid: &str| format!("Bearer {}", rs256_token(kid, &claims("demo", "developer")));

    verifier
        .identity(Some(&bearer("test-key-1")))
        .await
        .expect("the first key");
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // The issuer now signs with a new key id (the same key pair serves here).
    let rotated = JWKS.replace("test-key-1", "test-key-2");
    *served.write().expect("not poisoned") = rotated;
    assert_eq!(
        verifier.identity(Some(&bearer("test-key-2"))).await,
        Err(Denied::InvalidToken(TokenProblem::UnknownKey)),
        "within the minute the keys are not fetched again"
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    let identity = verifier
        .identity(Some(&bearer("test-key-2")))
        .await
        .expect("the rotated key, after a refetch");
    assert_eq!(identity.role.as_str(), "developer");
    assert_eq!(fetches.load(Ordering::SeqCst), 2, "one refetch");
    assert_eq!(
        verifier.identity(Some(&bearer("test-key-1"))).await,
        Err(Denied::InvalidToken(TokenProblem::UnknownKey)),
        "the retired key id is gone with the old document"
    );
}
