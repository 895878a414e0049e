//! The web console's built files (`console/dist`), held in memory and served
//! with the headers a page that shows access keys needs.
//!
//! The whole folder is read once at start: a request can only ever name a file
//! that was in it, so no path from a client reaches the file system.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::ApiResponse;
use environment::{ConfigError, Env};

/// How the console signs people in and where its API is, served as
/// `/config.json` so one build runs on the dev server and on AWS alike.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleConfig {
    /// `null` when this server offers no way to sign in to the console.
    pub sign_in: Option<SignIn>,
    /// The API's origin when it is not the console's own (on AWS the console
    /// has an HTTP API of its own); `null`: the same origin.
    pub api_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignIn {
    /// The dev server's sign-in: pick a demo role, get a token from
    /// `POST /local-sign-in`. Never offered by an AWS deployment.
    Local { tenant: String, roles: Vec<String> },
    /// Cognito's managed login: OAuth 2.0 authorization code with PKCE, a
    /// public client (no secret in the browser).
    Cognito {
        /// `https://<prefix>.auth.<region>.amazoncognito.com`
        domain: String,
        client_id: String,
        scopes: Vec<String>,
        tenant_claim: String,
        role_claim: String,
    },
}

impl ConsoleConfig {
    /// `COGNITO_DOMAIN` and `COGNITO_CLIENT_ID` (both or neither), `API_URL`
    /// (optional), `TENANT_CLAIM` and `ROLE_CLAIM` (the authorizer's). The
    /// URLs go into the Content-Security-Policy, so each must be a bare
    /// origin: `https://host[:port]` (or `http://` for 127.0.0.1 and localhost).
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let sign_in = match (
            env.optional("COGNITO_DOMAIN"),
            env.optional("COGNITO_CLIENT_ID"),
        ) {
            (None, None) => None,
            (Some(domain), Some(client_id)) => Some(SignIn::Cognito {
                domain: origin("COGNITO_DOMAIN", &domain)?,
                client_id: client_id_of(&client_id)?,
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
                tenant_claim: environment::tenant_claim(env),
                role_claim: environment::role_claim(env),
            }),
            (Some(_), None) => return Err(ConfigError::Missing("COGNITO_CLIENT_ID")),
            (None, Some(_)) => return Err(ConfigError::Missing("COGNITO_DOMAIN")),
        };
        let api_url = env
            .optional("API_URL")
            .map(|url| origin("API_URL", &url))
            .transpose()?;
        Ok(Self { sign_in, api_url })
    }

    /// The origins the page may call besides its own.
    fn connect_origins(&self) -> Vec<&str> {
        let mut origins = Vec::new();
        if let Some(SignIn::Cognito { domain, .. }) = &self.sign_in {
            origins.push(domain.as_str());
        }
        origins.extend(self.api_url.as_deref());
        origins
    }

    /// The strictest policy the console runs under: its own scripts and
    /// styles only (no inline script, no third-party origin), calls only to
    /// its API and its sign-in, and no framing, so the delete dialog cannot
    /// be clickjacked.
    pub fn content_security_policy(&self) -> String {
        let connect = std::iter::once("'self'")
            .chain(self.connect_origins())
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src {connect}; manifest-src 'self'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'"
        )
    }
}

/// `https://host[:port]` with nothing after it (a trailing `/` is dropped).
fn origin(name: &'static str, url: &str) -> Result<String, ConfigError> {
    let url = url.trim().trim_end_matches('/');
    let invalid = |reason: &str| ConfigError::Invalid {
        name,
        reason: reason.into(),
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("an origin such as https://example.com"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    if !host_ok || !port_ok {
        return Err(invalid(
            "an origin (scheme, lower-case host, optional port; no path)",
        ));
    }
    match scheme {
        "https" => Ok(url.to_owned()),
        "http" if host == "127.0.0.1" || host == "localhost" => Ok(url.to_owned()),
        _ => Err(invalid(
            "https:// (http:// only for 127.0.0.1 and localhost)",
        )),
    }
}

fn client_id_of(id: &str) -> Result<String, ConfigError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ConfigError::Invalid {
            name: "COGNITO_CLIENT_ID",
            reason: "letters and digits only".into(),
        });
    }
    Ok(id.to_owned())
}

/// Vite names every file under `assets/` by a hash of its content: a name
/// never changes meaning, so it may be cached for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `index.html` names the current assets: always ask again.
const REVALIDATE: &str = "no-cache";

struct Asset {
    content_type: &'static str,
    body: Vec<u8>,
    cache_control: &'static str,
}

/// The console's files by URL path, and the page every other path gets (the
/// app routes in the browser).
pub struct ConsoleAssets {
    files: HashMap<String, Asset>,
    config: Vec<u8>,
    policy: String,
}

impl std::fmt::Debug for ConsoleAssets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleAssets")
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(
        "the console is not built: {0} has no index.html (run `npm --prefix console ci && npm --prefix console run build`)"
    )]
    NotBuilt(String),
    #[error("could not read the console's files")]
    Read(#[source] std::io::Error),
    #[error("could not write the console's configuration")]
    Config(#[source] serde_json::Error),
}

impl ConsoleAssets {
    /// Reads every file under `dir` (a `vite build` output).
    pub fn load(dir: &Path, config: &ConsoleConfig) -> Result<Self, ConsoleError> {
        if !dir.join("index.html").is_file() {
            return Err(ConsoleError::NotBuilt(dir.display().to_string()));
        }
        let mut files = Vec::new();
        read_dir(dir, "", &mut files).map_err(ConsoleError::Read)?;
        Self::new(files, config)
    }

    /// From files already in memory, by URL path (`/index.html`,
    /// `/assets/index-1a2b3c.js`): what the Lambda embeds at build time.
    pub fn new(
        files: impl IntoIterator<Item = (String, Vec<u8>)>,
        config: &ConsoleConfig,
    ) -> Result<Self, ConsoleError> {
        let files: HashMap<String, Asset> = files
            .into_iter()
            .map(|(url, body)| {
                let cache_control = if url.starts_with("/assets/") {
                    IMMUTABLE
                } else {
                    REVALIDATE
                };
                let asset = Asset {
                    content_type: content_type(&url),
                    body,
                    cache_control,
                };
                (url, asset)
            })
            .collect();
        if !files.contains_key("/index.html") {
            return Err(ConsoleError::NotBuilt("the embedded files".into()));
        }
        let policy = config.content_security_policy();
        let config = serde_json::to_vec(config).map_err(ConsoleError::Config)?;
        Ok(Self {
            files,
            config,
            policy,
        })
    }

    /// The answer to a GET or HEAD of `path` (any path outside `/v1`).
    pub fn answer(&self, path: &str) -> ApiResponse {
        let page = |status, content_type, cache_control, body| {
            page(status, content_type, cache_control, &self.policy, body)
        };
        if path == "/config.json" {
            return page(200, "application/json", REVALIDATE, self.config.clone());
        }
        if let Some(asset) = self.files.get(path) {
            return page(
                200,
                asset.content_type,
                asset.cache_control,
                asset.body.clone(),
            );
        }
        // A missing hashed asset is a stale page asking for an old build: a
        // 404 makes that plain where the page itself would not load.
        let last = path.rsplit('/').next().unwrap_or_default();
        if path.starts_with("/assets/") || last.contains('.') {
            return page(
                404,
                "text/plain; charset=utf-8",
                REVALIDATE,
                b"Not found\n".to_vec(),
            );
        }
        match self.files.get("/index.html") {
            Some(index) => page(200, index.content_type, REVALIDATE, index.body.clone()),
            None => page(404, "text/plain; charset=utf-8", REVALIDATE, Vec::new()),
        }
    }

    /// Any other answer of the console's (a refusal, the sign-in's), with
    /// the headers its pages carry.
    pub fn secured(&self, answer: ApiResponse) -> ApiResponse {
        with_console_headers(answer, &self.policy)
    }

    /// How many files were loaded (for the start-up line).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A console answer with its security headers. `ApiResponse` adds
/// `nosniff` (and `no-store` only where no cache policy is set).
fn page(
    status: u16,
    content_type: &'static str,
    cache_control: &'static str,
    policy: &str,
    body: Vec<u8>,
) -> ApiResponse {
    let answer = ApiResponse {
        status,
        content_type: Some(content_type),
        headers: Vec::new(),
        body,
    }
    .with_header("cache-control", cache_control);
    with_console_headers(answer, policy)
}

/// The policy of a console answer when there is no console to allow
/// anything for (not built): nothing loads, nothing frames it.
pub const NOTHING_ALLOWED: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// `answer` with the headers every console answer carries, whatever its
/// method or status (a refusal too: a framed or scripted error page is as
/// much a way in as a framed page).
pub fn with_console_headers(answer: ApiResponse, policy: &str) -> ApiResponse {
    answer
        .with_header("content-security-policy", policy)
        .with_header("x-frame-options", "DENY")
        .with_header("referrer-policy", "no-referrer")
        .with_header("cross-origin-opener-policy", "same-origin")
}

fn read_dir(dir: &Path, prefix: &str, files: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let url = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            read_dir(&entry.path(), &url, files)?;
        } else {
            files.push((url, std::fs::read(entry.path())?));
        }
    }
    Ok(())
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built() -> (tempfile::TempDir, ConsoleAssets) {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir(dir.path().join("assets")).expect("assets");
        std::fs::write(dir.path().join("index.html"), "<!doctype html><p>console").expect("index");
        std::fs::write(dir.path().join("assets/index-abc123.js"), "export {}").expect("js");
        let config = ConsoleConfig {
            sign_in: Some(SignIn::Local {
                tenant: "demo".into(),
                roles: vec!["developer".into()],
            }),
            api_url: None,
        };
        let assets = ConsoleAssets::load(dir.path(), &config).expect("loads");
        (dir, assets)
    }

    fn header<'a>(response: &'a ApiResponse, name: &str) -> Option<&'a str> {
        response
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn hashed_assets_are_cached_for_a_year_and_the_page_is_revalidated() {
        let (_dir, assets) = built();
        let script = assets.answer("/assets/index-abc123.js");
        assert_eq!(script.status, 200);
        assert_eq!(script.content_type, Some("text/javascript; charset=utf-8"));
        assert_eq!(header(&script, "cache-control"), Some(IMMUTABLE));
        for path in ["/", "/api-keys", "/api-keys/new", "/arx"] {
            let index = assets.answer(path);
            assert_eq!(index.status, 200, "{path}");
            assert_eq!(index.body, b"<!doctype html><p>console", "{path}");
            assert_eq!(header(&index, "cache-control"), Some(REVALIDATE), "{path}");
        }
    }

    #[test]
    fn every_answer_carries_the_security_headers() {
        let (_dir, assets) = built();
        for path in [
            "/",
            "/assets/index-abc123.js",
            "/config.json",
            "/assets/gone.js",
        ] {
            let answer = assets.answer(path);
            let policy = header(&answer, "content-security-policy").expect("a CSP");
            assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
            assert!(policy.contains("script-src 'self';"), "{policy}");
            assert!(policy.contains("connect-src 'self';"), "{policy}");
            assert!(!policy.contains("unsafe"), "{policy}");
            assert_eq!(header(&answer, "x-frame-options"), Some("DENY"), "{path}");
            assert_eq!(
                header(&answer, "referrer-policy"),
                Some("no-referrer"),
                "{path}"
            );
        }
    }

    #[test]
    fn only_loaded_files_are_served_and_missing_assets_are_404() {
        let (dir, assets) = built();
        std::fs::write(dir.path().join("late.js"), "written after load").expect("write");
        for path in [
            "/assets/gone.js",
            "/late.js",
            "/../Cargo.toml",
            "/assets/../../etc/passwd",
            "/%2e%2e/secret.txt",
        ] {
            assert_eq!(assets.answer(path).status, 404, "{path}");
        }
    }

    #[test]
    fn the_config_says_how_to_sign_in() {
        let (_dir, assets) = built();
        let config: serde_json::Value =
            serde_json::from_slice(&assets.answer("/config.json").body).expect("json");
        assert_eq!(config["sign_in"]["kind"], "local");
        assert_eq!(config["sign_in"]["roles"][0], "developer");
    }

    #[test]
    fn an_unbuilt_console_is_named_with_the_command_that_builds_it() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = ConsoleConfig {
            sign_in: None,
            api_url: None,
        };
        let error = ConsoleAssets::load(dir.path(), &config).expect_err("refused");
        assert!(
            error.to_string().contains("npm --prefix console"),
            "{error}"
        );
    }

    use environment::of_pairs as env;

    #[test]
    fn cognito_sign_in_and_the_api_origin_come_from_the_environment() {
        let config = ConsoleConfig::from_env(&env(&[
            (
                "COGNITO_DOMAIN",
                "https://akm-1a2b.auth.ap-southeast-2.amazoncognito.com/",
            ),
            ("COGNITO_CLIENT_ID", "4f2kq0abcdefghij1234567890"),
            (
                "API_URL",
                "https://abc123.execute-api.ap-southeast-2.amazonaws.com",
            ),
        ]))
        .expect("valid");
        let json = serde_json::to_value(&config).expect("json");
        assert_eq!(json["sign_in"]["kind"], "cognito");
        assert_eq!(
            json["sign_in"]["domain"],
            "https://akm-1a2b.auth.ap-southeast-2.amazoncognito.com"
        );
        assert_eq!(json["sign_in"]["role_claim"], "custom:role");
        let policy = config.content_security_policy();
        assert!(
            policy.contains(
                "connect-src 'self' https://akm-1a2b.auth.ap-southeast-2.amazoncognito.com \
                 https://abc123.execute-api.ap-southeast-2.amazonaws.com;"
            ),
            "{policy}"
        );
        let none = ConsoleConfig::from_env(&env(&[])).expect("valid");
        assert!(none.sign_in.is_none() && none.api_url.is_none());
    }

    #[test]
    fn a_url_that_could_widen_the_policy_is_refused() {
        for url in [
            "https://a.example; script-src *",
            "https://a.example/path",
            "https://A.example",
            "http://a.example",
            "javascript:alert(1)",
            "https://",
            "https://a.example:99999999",
            "https://a.example 'unsafe-inline'",
            "*",
        ] {
            let refused = ConsoleConfig::from_env(&env(&[("API_URL", url)]));
            assert!(refused.is_err(), "{url}");
        }
        assert!(ConsoleConfig::from_env(&env(&[("API_URL", "http://127.0.0.1:4010")])).is_ok());
        let half = ConsoleConfig::from_env(&env(&[("COGNITO_DOMAIN", "https://a.example")]));
        assert!(half.is_err());
        let bad_client = ConsoleConfig::from_env(&env(&[
            ("COGNITO_DOMAIN", "https://a.example"),
            ("COGNITO_CLIENT_ID", "x'; connect-src *"),
        ]));
        assert!(bad_client.is_err());
    }
}
