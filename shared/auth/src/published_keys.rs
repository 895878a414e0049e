//! Public keys someone else publishes at a URL, by key id: the token issuer's
//! JWKS, and GitHub's secret scanning keys. Fetched on first use, and again
//! (at most once a minute) when asked for an id we have not seen: that is how
//! a key rotation reaches a warm Lambda, and why made-up ids cannot turn us
//! into a request amplifier.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tokio::sync::RwLock;

/// Fetch again for an unknown id at most this often.
pub const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// After a failed fetch, try again no sooner than this: requests that name
/// keys (anyone can send them) must not each wait on a dead URL.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Reads a keys document into keys by id (keys it cannot use are left out).
pub type ParseKeys<K> = fn(&[u8]) -> Result<HashMap<String, K>, String>;

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

/// Why no key came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUnavailable {
    /// The document, fetched recently, has no key with this id.
    Unknown,
    /// The document could not be fetched or read.
    Unreachable,
}

pub struct PublishedKeys<K> {
    url: String,
    /// What the keys are, for the log ("JWKS", "GitHub secret scanning keys").
    what: &'static str,
    parse: ParseKeys<K>,
    client: HttpsClient,
    state: RwLock<State<K>>,
}

impl<K> std::fmt::Debug for PublishedKeys<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedKeys")
            .field("url", &self.url)
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

struct State<K> {
    keys: HashMap<String, K>,
    fetched_at: Option<Instant>,
    failed_at: Option<Instant>,
}

impl<K: Clone> PublishedKeys<K> {
    pub fn new(url: String, what: &'static str, parse: ParseKeys<K>) -> std::io::Result<Self> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Self {
            url,
            what,
            parse,
            client,
            state: RwLock::new(State {
                keys: HashMap::new(),
                fetched_at: None,
                failed_at: None,
            }),
        })
    }

    /// The key with this id.
    pub async fn key(&self, id: &str) -> Result<K, KeyUnavailable> {
        if let Some(key) = self.state.read().await.keys.get(id) {
            return Ok(key.clone());
        }
        let mut state = self.state.write().await;
        let stale = state
            .fetched_at
            .is_none_or(|at| at.elapsed() >= REFETCH_AFTER);
        let failed_lately = state
            .failed_at
            .is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE);
        if !state.keys.contains_key(id) && stale {
            if failed_lately {
                return Err(KeyUnavailable::Unreachable);
            }
            match self.fetch().await {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched_at = Some(Instant::now());
                    state.failed_at = None;
                }
                Err(reason) => {
                    state.failed_at = Some(Instant::now());
                    tracing::error!(url = %self.url, %reason, "could not fetch the {}", self.what);
                    return Err(KeyUnavailable::Unreachable);
                }
            }
        }
        state.keys.get(id).cloned().ok_or(KeyUnavailable::Unknown)
    }

    async fn fetch(&self) -> Result<HashMap<String, K>, String> {
        let uri: http::Uri = self
            .url
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let mut request = http::Request::get(uri);
        // GitHub's API refuses requests without a User-Agent.
        request = request.header(http::header::USER_AGENT, "api-keys-manager");
        let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(Duration::from_secs(5), self.client.request(request))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        (self.parse)(&body)
    }
}
