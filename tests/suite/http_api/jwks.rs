//! RS256 through a JWKS, as with Cognito: keys fetched once and cached,
//! refetched for an unknown `kid` (at most once a minute), and no algorithm
//! confusion.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use api::config::SigningKeys;
use api::{Denied, Verifier};
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::helpers::{auth_config, claims, token_with, unsigned_token};

const PRIVATE_KEY: &[u8] = include_bytes!("../../fixtures/rs256-test-key.der");
const JWKS: &str = include_str!("../../fixtures/rs256-test-jwks.json");

/// Serves the fixture JWKS on a free port and counts the fetches.
async fn jwks_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().expect("an address")
    );
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |_request| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from(JWKS),
                        )))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, fetches)
}

fn rs256_token(kid: &str, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(PRIVATE_KEY)).expect("a token")
}

#[tokio::test]
async fn rs256_tokens_verify_against_the_issuers_keys() {
    let (url, fetches) = jwks_server().await;
    let mut config = auth_config();
    config.keys = SigningKeys::Jwks { url };
    let verifier = Verifier::new(config).expect("a verifier");
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

    // Algorithm confusion: an HS256 token "signed" with the public key is refused.
    let confused = bearer(token_with(claims("demo", "platform_owner"), JWKS));
    assert!(matches!(
        verifier.identity(Some(&confused)).await,
        Err(Denied::InvalidToken(_))
    ));
    let unsigned = bearer(unsigned_token(&claims("demo", "platform_owner")));
    assert!(matches!(
        verifier.identity(Some(&unsigned)).await,
        Err(Denied::InvalidToken(_))
    ));
    let mut wrong_audience = claims("demo", "developer");
    wrong_audience["aud"] = serde_json::json!("another-app");
    let wrong_audience = bearer(rs256_token("test-key-1", &wrong_audience));
    assert!(matches!(
        verifier.identity(Some(&wrong_audience)).await,
        Err(Denied::InvalidToken(_))
    ));
}
