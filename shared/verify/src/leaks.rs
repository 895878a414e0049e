//! `POST /v1/leaks/github`: the GitHub secret scanning partner endpoint.
//!
//! GitHub finds strings of our key format in public code and posts them here,
//! signed: `Github-Public-Key-Identifier` names one of the keys GitHub
//! publishes (`SECRET_SCANNING_KEYS_URL`), and `Github-Public-Key-Signature`
//! is its ECDSA P-256 / SHA-256 signature (DER, base64) over the raw body.
//! Nothing else authenticates the request, so nothing is read before the
//! signature verifies: unsigned or wrongly signed is 401 and changes nothing.
//!
//! Each reported token that is one of our keys (its secret checked with
//! argon2, as verify does) is labelled `true_positive`; a live access key is
//! disabled at once with reason `leaked`, a live service key revoked, each
//! audited with where it was found and announced on the notifications topic. Anything else is `false_positive`.
//! A label says no more than a verify of the same token would; the answer
//! names tokens by their SHA-256, never by themselves. A report is handled
//! once: the same body again (a replay) changes nothing.

use std::collections::HashMap;

use auth::{KeyUnavailable, PublishedKeys};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::{Author, ForeignKey, PresentedKey, PresentedServiceKey, ServiceKey, Timestamp};
use environment::{ConfigError, Env};
use notify::{LeakNotice, Notifier, ServiceKeyLeakNotice};
use serde::{Deserialize, Serialize};
use store::{
    ApiKeyLookup, ApiKeyRead, ApiKeyWrite, Conflict, ImportedKeyLookup, KeyLookup,
    LeakReportRecord, LeakReports, ServiceKeyStore, StoreError, until_written,
};

use crate::check::Verifier;
use crate::error::CheckError;

/// Where GitHub publishes the keys it signs reports with.
pub const GITHUB_KEYS_URL: &str = "https://api.github.com/meta/public_keys/secret_scanning";

/// The most tokens one report may carry: each costs an argon2 run.
pub const MAX_TOKENS: usize = 100;

/// The longest location we record; GitHub's are blob URLs, far shorter.
const MAX_URL_CHARS: usize = 2000;

/// The audit actor of what a report does.
pub const ACTOR: &str = "github-secret-scanning";

/// Why a report was refused.
#[derive(Debug, thiserror::Error)]
pub enum LeakError {
    /// The signature is missing or does not verify over the body.
    #[error("the report must carry a GitHub signature that verifies over its body")]
    BadSignature,
    /// GitHub's published keys could not be fetched.
    #[error("the signing keys cannot be fetched now; retry later")]
    KeysUnavailable,
    /// Signed, but not a report we can read (a fixed description, never its text).
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Check(#[from] CheckError),
}

impl From<StoreError> for LeakError {
    fn from(error: StoreError) -> Self {
        Self::Check(error.into())
    }
}

/// What the GitHub secret scanning endpoint (`leak-report`) needs besides
/// the [`ServiceConfig`].
#[derive(Debug, Clone)]
pub struct LeakConfig {
    /// Where GitHub's signing keys are published (`SECRET_SCANNING_KEYS_URL`);
    /// tests point it at a local document.
    pub keys_url: String,
    /// Where leak notices are published; without one they are logged.
    pub notifications_topic_arn: Option<String>,
}

impl LeakConfig {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let keys_url = env
            .optional("SECRET_SCANNING_KEYS_URL")
            .unwrap_or_else(|| GITHUB_KEYS_URL.into());
        let scheme_ok = keys_url.starts_with("https://") || keys_url.starts_with("http://");
        if !scheme_ok || keys_url.parse::<http::Uri>().is_err() {
            return Err(ConfigError::Invalid {
                name: "SECRET_SCANNING_KEYS_URL",
                reason: "must be an http(s) URL".into(),
            });
        }
        Ok(Self {
            keys_url,
            notifications_topic_arn: env.optional("NOTIFICATIONS_TOPIC_ARN"),
        })
    }
}

/// The stores the endpoint reads and writes.
pub trait LeakStore:
    ApiKeyLookup + ApiKeyRead + ApiKeyWrite + ImportedKeyLookup + LeakReports + ServiceKeyStore
{
}
impl<S> LeakStore for S where
    S: ApiKeyLookup + ApiKeyRead + ApiKeyWrite + ImportedKeyLookup + LeakReports + ServiceKeyStore
{
}

/// GitHub's signing keys (SubjectPublicKeyInfo DER by key identifier).
pub struct GithubKeys(PublishedKeys<Vec<u8>>);

impl std::fmt::Debug for GithubKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl GithubKeys {
    pub fn new(url: String) -> std::io::Result<Self> {
        PublishedKeys::new(url, "GitHub secret scanning keys", parse_keys).map(Self)
    }
}

/// `{"public_keys": [{"key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…"}]}`
fn parse_keys(body: &[u8]) -> Result<HashMap<String, Vec<u8>>, String> {
    #[derive(Deserialize)]
    struct Document {
        public_keys: Vec<PublicKey>,
    }
    #[derive(Deserialize)]
    struct PublicKey {
        key_identifier: String,
        key: String,
    }
    let document: Document = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(document
        .public_keys
        .into_iter()
        .filter_map(|key| Some((key.key_identifier, pem_der(&key.key)?)))
        .collect())
}

/// The DER inside a PEM block: the base64 between its BEGIN and END lines.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let base64: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("-----"))
        .collect();
    STANDARD.decode(base64).ok()
}

/// A report as it arrived: the two headers and the raw body.
#[derive(Clone, Copy)]
pub struct SignedReport<'a> {
    pub key_identifier: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

impl<'a> SignedReport<'a> {
    /// The report in an HTTP request's headers and body.
    pub fn of(headers: &'a http::HeaderMap, body: &'a [u8]) -> Self {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        Self {
            key_identifier: header("github-public-key-identifier"),
            signature: header("github-public-key-signature"),
            body,
        }
    }
}

/// The body holds access keys: Debug shows its length only.
impl std::fmt::Debug for SignedReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedReport")
            .field("key_identifier", &self.key_identifier.is_some())
            .field("signature", &self.signature.is_some())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// One match GitHub found.
#[derive(Deserialize)]
struct Found {
    token: String,
    #[serde(rename = "type")]
    token_type: String,
    url: Option<String>,
    source: Option<String>,
}

/// What we tell GitHub about one match.
#[derive(Debug, Serialize, Deserialize)]
pub struct Label {
    /// SHA-256 of the token, hex: the answer never repeats a token.
    token_hash: String,
    token_type: String,
    label: LabelKind,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LabelKind {
    /// One of our keys (its secret checked).
    TruePositive,
    FalsePositive,
}

/// Handles one report: a label per token, or why it was refused.
pub async fn handle<S, N>(
    store: &S,
    verifier: &Verifier,
    keys: &GithubKeys,
    notifier: &N,
    report: SignedReport<'_>,
) -> Result<Vec<Label>, LeakError>
where
    S: LeakStore,
    N: Notifier,
{
    check_signature(keys, report).await?;
    let report_digest = sha256_hex(report.body);
    // A replay (the same signed body again) gets the answer it had, and no
    // token is checked again.
    let handled = store.handled_leak_report(&report_digest).await?;
    if let Some(labels) = handled
        .as_ref()
        .and_then(|record| record.answer.as_deref())
        .and_then(|answer| serde_json::from_str::<Vec<Label>>(answer).ok())
    {
        tracing::info!(
            tokens = labels.len(),
            "leak report replayed: answered as before"
        );
        return Ok(labels);
    }
    // Handled before answers were kept: labelled again, but acts on nothing.
    let replay = handled.is_some();
    let found: Vec<Found> = serde_json::from_slice(report.body).map_err(|_| {
        LeakError::Malformed("the body must be a JSON array of {token, type, url, source}".into())
    })?;
    if found.len() > MAX_TOKENS {
        return Err(LeakError::Malformed(format!(
            "a report may carry at most {MAX_TOKENS} tokens"
        )));
    }
    let now = Timestamp::now();
    let mut labels = Vec::with_capacity(found.len());
    let mut disabled = 0usize;
    for item in &found {
        let access_key =
            if let Ok(presented) = PresentedKey::parse(&item.token, &verifier.key_prefix) {
                Some(matching_key(store, verifier, presented).await?)
            } else if let Some(key) = verifier.maybe_imported(store, &item.token).await? {
                // A key the team imported, where GitHub looks for its old
                // format (docs/import.md says how to register it).
                Some(matching_imported_key(store, verifier, key).await?)
            } else {
                None
            };
        let ours = if let Some(lookup) = access_key {
            if let (Some(lookup), false) = (&lookup, replay)
                && disable(store, verifier, notifier, lookup, item, now).await?
            {
                disabled += 1;
            }
            lookup.is_some()
        } else if let Ok(presented) =
            PresentedServiceKey::parse_service_key(&item.token, &verifier.service_key_prefix)
        {
            let key = matching_service_key(store, verifier, presented).await?;
            if let (Some(key), false) = (&key, replay)
                && revoke(store, verifier, notifier, key, item, now).await?
            {
                disabled += 1;
            }
            key.is_some()
        } else {
            false
        };
        telemetry::metrics::LEAK_REPORTS.inc(if ours {
            "true_positive"
        } else {
            "false_positive"
        });
        labels.push(Label {
            token_hash: sha256_hex(item.token.as_bytes()),
            token_type: bounded(&item.token_type, 100),
            label: if ours {
                LabelKind::TruePositive
            } else {
                LabelKind::FalsePositive
            },
        });
    }
    if !replay {
        let record = LeakReportRecord {
            digest: report_digest,
            handled_at: now,
            answer: serde_json::to_string(&labels).ok(),
        };
        store.record_leak_report(&record).await?;
    }
    tracing::info!(
        tokens = found.len(),
        disabled,
        replay,
        "leak report handled"
    );
    Ok(labels)
}

/// The signature over the raw body, by the key the report names.
async fn check_signature(keys: &GithubKeys, report: SignedReport<'_>) -> Result<(), LeakError> {
    let (Some(identifier), Some(signature)) = (report.key_identifier, report.signature) else {
        return Err(LeakError::BadSignature);
    };
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| LeakError::BadSignature)?;
    let key = keys
        .0
        .key(identifier.trim())
        .await
        .map_err(|unavailable| match unavailable {
            KeyUnavailable::Unknown => LeakError::BadSignature,
            KeyUnavailable::Unreachable => LeakError::KeysUnavailable,
        })?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &key)
        .verify(report.body, &signature)
        .map_err(|_| LeakError::BadSignature)
}

/// The lookup item of the key `presented` names, if its secret is right
/// (argon2 on the hashing gate, as verify checks it).
async fn matching_key<S: LeakStore>(
    store: &S,
    verifier: &Verifier,
    presented: PresentedKey,
) -> Result<Option<KeyLookup>, LeakError> {
    let Some(lookup) = store.lookup_api_key(presented.id()).await? else {
        return Ok(None);
    };
    let matches = verifier
        .hashing
        .verify(presented, lookup.secret_hash.clone())
        .await?;
    Ok(matches.then_some(lookup))
}

/// The lookup item of the imported key `key` is, if its hash matches.
async fn matching_imported_key<S: LeakStore>(
    store: &S,
    verifier: &Verifier,
    key: ForeignKey,
) -> Result<Option<KeyLookup>, LeakError> {
    let Some(lookup) = crate::imported::find_imported(store, &key).await? else {
        return Ok(None);
    };
    let matches = verifier
        .hashing
        .verify(key, lookup.secret_hash.clone())
        .await?;
    Ok(matches.then_some(lookup))
}

/// The service key `presented` names, if its secret is right. A revoked
/// key has no lookup item and so reads as not ours: a report of it (or a
/// replay) changes nothing, as a verify of it would let nothing in.
async fn matching_service_key<S: LeakStore>(
    store: &S,
    verifier: &Verifier,
    presented: PresentedServiceKey,
) -> Result<Option<ServiceKey>, LeakError> {
    let Some(key) = store.lookup_service_key(presented.id()).await? else {
        return Ok(None);
    };
    let matches = verifier
        .hashing
        .verify(presented, key.secret_hash.clone())
        .await?;
    Ok(matches.then_some(key))
}

/// Revokes a service key that leaked (a service key has no disabled state:
/// a credential of our own API that was public is never trusted again),
/// with its audit event and notice; whether it did.
async fn revoke<S: LeakStore, N: Notifier>(
    store: &S,
    verifier: &Verifier,
    notifier: &N,
    found_key: &ServiceKey,
    found: &Found,
    now: Timestamp,
) -> Result<bool, LeakError> {
    let location = location(found);
    let Some(key) = store
        .get_service_key(&found_key.tenant_id, &found_key.id)
        .await?
        .filter(|key| key.works_at(now))
    else {
        return Ok(false);
    };
    let Some((revoked, audit)) = key.revoke_as_leaked(&location, &Author::job(ACTOR, now)) else {
        return Ok(false);
    };
    match store.revoke_service_key(&revoked, &audit).await {
        Ok(()) => {}
        // Revoked meanwhile by someone else: it no longer works either way.
        Err(StoreError::Conflict(Conflict::Changed)) => return Ok(false),
        Err(error) => return Err(error.into()),
    }
    // The next request with it in this process is refused.
    verifier.service_keys.clear();
    tracing::warn!(service_key_id = %key.id, tenant = %key.tenant_id, "leaked service key revoked");
    if let Err(error) = notifier
        .service_key_leak_notice(&ServiceKeyLeakNotice::of(&revoked, &location, now))
        .await
    {
        tracing::error!(error = %store::error_chain(error.as_ref()), service_key_id = %key.id, "could not publish a leak notice");
    }
    Ok(true)
}

/// Disables a live key that leaked, with its audit event and notice; whether
/// it did (a key already disabled, deleted or expired is left as it is).
async fn disable<S: LeakStore, N: Notifier>(
    store: &S,
    verifier: &Verifier,
    notifier: &N,
    lookup: &KeyLookup,
    found: &Found,
    now: Timestamp,
) -> Result<bool, LeakError> {
    let location = location(found);
    let by = Author::job(ACTOR, now);
    // Read, decide and write again if another change lands in between (it
    // wins, and this one is decided on what it left): a key enabled, rotated
    // or given limits at the same moment is still disabled, and keeps those.
    let disabled = until_written(|| async {
        let Some(key) = store.get_api_key(&lookup.tenant_id, &lookup.key_id).await? else {
            return Ok(None);
        };
        // Disabled, deleted or expired: it no longer works either way.
        let Ok(change) = key.mark_leaked(&location, &by) else {
            return Ok(None);
        };
        store.write_api_key_change(&key, &change).await?;
        Ok::<_, StoreError>(Some(change.next))
    })
    .await?;
    let Some(disabled) = disabled else {
        return Ok(false);
    };
    let key = &disabled;
    // The next verify in this process answers DISABLED.
    verifier.verdicts.clear();
    tracing::warn!(key_id = %key.id, tenant = %key.tenant_id, "leaked API key disabled");
    // The key is already off: a notice that fails to go out is logged, not retried.
    if let Err(error) = notifier
        .leak_notice(&LeakNotice::of(&disabled, &location, now))
        .await
    {
        tracing::error!(error = %store::error_chain(error.as_ref()), key_id = %key.id, "could not publish a leak notice");
    }
    Ok(true)
}

/// Where GitHub found the token, as we record it: an https URL of bounded
/// length, written again from what was parsed (printable ASCII only, as a URL
/// is: no bidi override or zero-width character can change what a reader
/// sees; and the host it really names, so `https://github.com@evil.example/x`
/// is recorded as `https://evil.example/x`), else a fixed phrase. The text
/// is the reporter's, and audit events are shown in the console.
fn location(found: &Found) -> String {
    let source = found
        .source
        .as_deref()
        .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|s| bounded(s, 40));
    match (found.url.as_deref().and_then(https_url), source) {
        (Some(url), Some(source)) => format!("{url} ({source})"),
        (Some(url), None) => url,
        (None, Some(source)) => format!("an unnamed place ({source})"),
        (None, None) => "an unnamed place".to_owned(),
    }
}

/// `url` as `https://host[:port]/path?query` if it is an https URL of printable
/// ASCII within [`MAX_URL_CHARS`]; any user part before the host is dropped.
fn https_url(url: &str) -> Option<String> {
    let printable = url.bytes().all(|b| b.is_ascii_graphic());
    if !printable || url.len() > MAX_URL_CHARS {
        return None;
    }
    let uri: http::Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("https") {
        return None;
    }
    let authority = uri.authority()?;
    let host = authority.host();
    if host.is_empty() {
        return None;
    }
    let port = authority
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    Some(format!("https://{host}{port}{path}"))
}

/// At most `max` characters of `text` (cut on characters, never bytes).
fn bounded(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_location_is_an_https_url_or_a_fixed_phrase() {
        let found = |url: Option<&str>, source: Option<&str>| Found {
            token: String::new(),
            token_type: String::new(),
            url: url.map(str::to_owned),
            source: source.map(str::to_owned),
        };
        let url = "https://github.com/o/r/blob/abc/.env";
        assert_eq!(
            location(&found(Some(url), Some("content"))),
            format!("{url} (content)")
        );
        assert_eq!(
            location(&found(Some("javascript:alert(1)"), None)),
            "an unnamed place"
        );
        assert_eq!(
            location(&found(Some("https://a\nb"), Some("x y"))),
            "an unnamed place"
        );
        // Invisible and bidi characters: refused, not recorded as they are.
        for hidden in ["\u{202e}", "\u{200b}", "\u{2066}", "\u{feff}"] {
            let url = format!("https://github.com/o/r/blob/abc/{hidden}.env");
            assert_eq!(location(&found(Some(&url), None)), "an unnamed place");
        }
        // The host it really names, not the one it seems to.
        assert_eq!(
            location(&found(Some("https://github.com@evil.example/x"), None)),
            "https://evil.example/x"
        );
        assert_eq!(
            location(&found(Some("https://user:pw@github.com/o/r"), None)),
            "https://github.com/o/r"
        );
        assert_eq!(
            location(&found(Some("https:///x"), None)),
            "an unnamed place"
        );
    }

    #[test]
    fn a_pem_key_is_read_from_its_base64() {
        let pem = "-----BEGIN PUBLIC KEY-----\nAAEC\nAwQ=\n-----END PUBLIC KEY-----\n";
        assert_eq!(pem_der(pem), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(pem_der("-----BEGIN-----\n!!\n"), None);
    }

    proptest! {
        #[test]
        fn keys_documents_and_locations_never_panic(body in ".{0,300}", url in ".{0,300}") {
            let _ = parse_keys(body.as_bytes());
            let _ = location(&Found {
                token: String::new(),
                token_type: String::new(),
                url: Some(url.clone()),
                source: Some(url),
            });
        }
    }
}
