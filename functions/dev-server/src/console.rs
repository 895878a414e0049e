//! The web console on the dev server: its built files, and a local sign-in
//! that hands a browser a demo role's token (the stand-in for Cognito's
//! managed login, which only an AWS deployment has).

use std::time::Duration;

use api::http::{BodyMedia, check_content_type};
use api::{ApiError, ApiResponse, Identity};
use auth::{AuthConfig, issue_hs256_token};
use domain::{Role, TenantId};
use runtime::console::{ConsoleAssets, ConsoleConfig, SignIn};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// A console session lasts an hour, as a Cognito ID token does by default.
const SESSION: Duration = Duration::from_secs(60 * 60);

/// What the dev server answers outside `/v1`.
pub(crate) struct Console {
    /// `None` when `console/dist` was not built: `/` then says how to build it.
    assets: Option<ConsoleAssets>,
    sign_in: Option<LocalSignIn>,
}

/// Issues tokens for the demo tenant's people. Only with the dev server's own
/// HS256 secret: with `JWKS_URL` set, tokens come from a real issuer.
#[derive(Clone)]
pub(crate) struct LocalSignIn {
    pub(crate) auth: AuthConfig,
    pub(crate) secret: SecretString,
    pub(crate) tenant: TenantId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInRequest {
    role: String,
}

#[derive(Serialize)]
struct Session {
    token: String,
    expires_in: u64,
    tenant: String,
    user: String,
    role: &'static str,
}

impl Console {
    /// `config` as the environment gave it; the local sign-in, when there is
    /// one, is offered in its place.
    pub(crate) fn new(
        dir: &std::path::Path,
        mut config: ConsoleConfig,
        sign_in: Option<LocalSignIn>,
    ) -> Self {
        if let Some(local) = &sign_in {
            config.sign_in = Some(SignIn::Local {
                tenant: local.tenant.to_string(),
                roles: Role::PEOPLE.iter().map(|r| r.as_str().to_owned()).collect(),
            });
        }
        let assets = match ConsoleAssets::load(dir, &config) {
            Ok(assets) => {
                tracing::info!(files = assets.len(), dir = %dir.display(), "serving the console");
                Some(assets)
            }
            Err(error) => {
                tracing::warn!(error = %api::problem::chain(&error), "the console is not served");
                None
            }
        };
        Self { assets, sign_in }
    }

    pub(crate) fn is_built(&self) -> bool {
        self.assets.is_some()
    }

    /// A GET or HEAD outside `/v1`.
    pub(crate) fn page(&self, path: &str) -> ApiResponse {
        match &self.assets {
            Some(assets) => assets.answer(path),
            None => self.secured(ApiResponse {
                status: 404,
                content_type: Some("text/plain; charset=utf-8"),
                headers: Vec::new(),
                body: NOT_BUILT.as_bytes().to_vec(),
            }),
        }
    }

    /// Any other answer outside `/v1` (a refusal, the sign-in's), with the
    /// console's security headers.
    pub(crate) fn secured(&self, answer: ApiResponse) -> ApiResponse {
        match &self.assets {
            Some(assets) => assets.secured(answer),
            None => {
                runtime::console::with_console_headers(answer, runtime::console::NOTHING_ALLOWED)
            }
        }
    }

    /// `POST /local-sign-in` with `{"role": "developer"}`: a token for that
    /// demo user. Only to a browser on this machine (`from_this_machine`:
    /// the server listens on a loopback address and the peer is one; the
    /// `Host` header is the client's to write), for a page served from a
    /// loopback address, so neither another machine nor a web page that
    /// rebinds its DNS name to 127.0.0.1 can take a token.
    pub(crate) fn sign_in(
        &self,
        from_this_machine: bool,
        host: Option<&str>,
        origin: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<ApiResponse, ApiError> {
        let Some(local) = &self.sign_in else {
            return Err(ApiError::NoRoute);
        };
        if !from_this_machine {
            return Err(refused(
                "Host",
                "local sign-in answers only a browser on this machine, and only when the server \
                 listens on a loopback address (--addr 127.0.0.1:…)",
            ));
        }
        let host = host.filter(|host| is_loopback_host(host)).ok_or_else(|| {
            refused(
                "Host",
                "local sign-in answers only at 127.0.0.1, localhost or [::1]",
            )
        })?;
        if let Some(origin) = origin
            && origin != format!("http://{host}")
        {
            return Err(refused(
                "Origin",
                "local sign-in answers only the console's own page",
            ));
        }
        if check_content_type(content_type, body)? != BodyMedia::Json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let request: SignInRequest = serde_json::from_slice(body).map_err(|_| {
            refused(
                "role",
                "send {\"role\": \"platform_owner\" | \"platform_admin\" | \"developer\"}",
            )
        })?;
        let role = Role::PEOPLE
            .into_iter()
            .find(|role| role.as_str() == request.role)
            .ok_or_else(|| refused("role", "one of platform_owner, platform_admin, developer"))?;
        let identity = Identity {
            tenant: local.tenant.clone(),
            user: crate::seed::demo_user(role).map_err(ApiError::internal)?,
            role,
        };
        let token = issue_hs256_token(&local.auth, &local.secret, &identity, SESSION)
            .map_err(ApiError::internal)?;
        let session = Session {
            token,
            expires_in: SESSION.as_secs(),
            tenant: identity.tenant.to_string(),
            user: identity.user.to_string(),
            role: role.as_str(),
        };
        Ok(ApiResponse::json(200, &session))
    }
}

const NOT_BUILT: &str = "The console is not built. From the repository root run\n\n    \
    bash run.sh\n\nwhich builds it and starts this server, or build it alone with\n\n    \
    npm --prefix console ci && npm --prefix console run build\n\nThe API is at /v1.\n";

fn refused(field: &str, reason: &str) -> ApiError {
    ApiError::InvalidField {
        field: field.into(),
        reason: reason.into(),
    }
}

/// `127.0.0.1:3000`, `localhost:3000`, `[::1]:3000` (any port).
fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console() -> Console {
        let auth = AuthConfig::from_env(&|name: &str| match name {
            "JWT_ISSUER" => Some("dev".into()),
            "JWT_AUDIENCE" => Some("console".into()),
            "JWT_HS256_SECRET" => Some("a-test-secret-of-some-length-000".into()),
            _ => None,
        })
        .expect("config");
        let secret = match &auth.keys {
            auth::SigningKeys::Hs256 { secret } => secret.clone(),
            auth::SigningKeys::Jwks { .. } => unreachable!("HS256 configured"),
        };
        Console {
            assets: None,
            sign_in: Some(LocalSignIn {
                auth,
                secret,
                tenant: TenantId::parse("demo").expect("tenant"),
            }),
        }
    }

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn a_loopback_page_gets_a_token_for_a_person_role() {
        let console = console();
        for host in [
            "127.0.0.1:3000",
            "localhost:3900",
            "[::1]:3000",
            "localhost",
        ] {
            let answer = console
                .sign_in(true, Some(host), None, JSON, br#"{"role":"developer"}"#)
                .unwrap_or_else(|e| panic!("{host}: {e}"));
            let session: serde_json::Value = serde_json::from_slice(&answer.body).expect("json");
            assert_eq!(session["role"], "developer");
            assert_eq!(session["user"], "demo-developer");
            assert!(
                session["token"]
                    .as_str()
                    .is_some_and(|t| t.split('.').count() == 3)
            );
        }
    }

    #[test]
    fn other_hosts_origins_and_roles_are_refused() {
        let console = console();
        let body = br#"{"role":"platform_owner"}"#;
        for host in [
            None,
            Some("evil.example:3000"),
            Some("127.0.0.1.evil.example"),
            Some("localhost.evil.example:80"),
            Some("192.168.1.5:3000"),
        ] {
            let error = console
                .sign_in(true, host, None, JSON, body)
                .expect_err("refused");
            assert_eq!(error.into_response().status, 400, "{host:?}");
        }
        let error = console
            .sign_in(
                true,
                Some("127.0.0.1:3000"),
                Some("http://evil.example"),
                JSON,
                body,
            )
            .expect_err("a foreign page is refused");
        assert!(error.to_string().starts_with("Origin"), "{error}");
        for role in [
            r#"{"role":"verifier"}"#,
            r#"{"role":"root"}"#,
            "{}",
            "[]",
            "\u{0}",
        ] {
            let error = console
                .sign_in(true, Some("127.0.0.1:3000"), None, JSON, role.as_bytes())
                .expect_err("refused");
            assert_eq!(error.into_response().status, 400, "{role}");
        }
        let error = console
            .sign_in(true, Some("127.0.0.1:3000"), None, Some("text/plain"), body)
            .expect_err("a form post is refused");
        assert_eq!(error.into_response().status, 415);
        // From another machine (or a server not on loopback), whatever the
        // `Host` header says: refused.
        let error = console
            .sign_in(false, Some("127.0.0.1:3000"), None, JSON, body)
            .expect_err("not from this machine");
        assert_eq!(error.into_response().status, 400);
    }
}
