//! The web console's built files (`console/dist`), held in memory and served
//! with the headers a page that shows access keys needs.
//!
//! The whole folder is read once at start: a request can only ever name a file
//! that was in it, so no path from a client reaches the file system.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::ApiResponse;

/// How the console signs people in, served as `/config.json` so one build runs
/// on the dev server and on AWS alike.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleConfig {
    /// `null` when this server offers no way to sign in to the console.
    pub sign_in: Option<SignIn>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignIn {
    /// The dev server's sign-in: pick a demo role, get a token from
    /// `POST /local-sign-in`. Never offered by an AWS deployment.
    Local { tenant: String, roles: Vec<String> },
}

/// The strictest policy the console runs under: its own scripts and styles
/// only (no inline script, no third-party origin), and no framing, so the
/// delete dialog cannot be clickjacked.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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
        let mut files = HashMap::new();
        read_dir(dir, "", &mut files).map_err(ConsoleError::Read)?;
        let config = serde_json::to_vec(config).map_err(ConsoleError::Config)?;
        Ok(Self { files, config })
    }

    /// The answer to a GET or HEAD of `path` (any path outside `/v1`).
    pub fn answer(&self, path: &str) -> ApiResponse {
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
    body: Vec<u8>,
) -> ApiResponse {
    ApiResponse {
        status,
        content_type: Some(content_type),
        headers: Vec::new(),
        body,
    }
    .with_header("cache-control", cache_control)
    .with_header("content-security-policy", CONTENT_SECURITY_POLICY)
    .with_header("x-frame-options", "DENY")
    .with_header("referrer-policy", "no-referrer")
    .with_header("cross-origin-opener-policy", "same-origin")
}

fn read_dir(dir: &Path, prefix: &str, files: &mut HashMap<String, Asset>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let url = format!("{prefix}/{name}");
        if entry.file_type()?.is_dir() {
            read_dir(&entry.path(), &url, files)?;
            continue;
        }
        let cache_control = if url.starts_with("/assets/") {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        files.insert(
            url,
            Asset {
                content_type: content_type(&name),
                body: std::fs::read(entry.path())?,
                cache_control,
            },
        );
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
            assert_eq!(
                header(&answer, "content-security-policy"),
                Some(CONTENT_SECURITY_POLICY),
                "{path}"
            );
            assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
            assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
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
        let config = ConsoleConfig { sign_in: None };
        let error = ConsoleAssets::load(dir.path(), &config).expect_err("refused");
        assert!(
            error.to_string().contains("npm --prefix console"),
            "{error}"
        );
    }
}
