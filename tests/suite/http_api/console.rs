//! The console as the dev server serves it over real HTTP: its page and files
//! with their security headers, the browser's routes, and the local sign-in
//! (what it gives, and to whom it refuses).

use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;

use super::helpers::{CONSOLE_PAGE, TestApp, TestResponse};

async fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> TestResponse {
    let mut request = hyper::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(
        request
            .body(Full::new(Bytes::from(body.to_owned())))
            .expect("a request"),
    )
    .await
}

async fn sign_in(app: &TestApp, headers: &[(&str, &str)], body: &str) -> TestResponse {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    request(app, "POST", "/local-sign-in", &all, body).await
}

#[tokio::test]
async fn the_page_is_served_for_every_console_route_with_strict_headers() {
    let app = TestApp::embedded().await;
    for path in [
        "/",
        "/api-keys",
        "/api-keys/new",
        "/applications",
        "/arx?x=1",
    ] {
        let page = request(&app, "GET", path, &[], "").await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.text, CONSOLE_PAGE, "{path}");
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(page.header("cache-control"), Some("no-cache"), "{path}");
        let policy = page.header("content-security-policy").expect("a CSP");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe"), "{policy}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    }
    let script = request(&app, "GET", "/assets/app-0a1b2c.js", &[], "").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let missing = request(&app, "GET", "/assets/app-gone.js", &[], "").await;
    assert_eq!(missing.status, 404);
    // The API keeps its own answers: a problem, not the page.
    let no_route = request(&app, "GET", "/v1/nothing-here", &[], "").await;
    assert_eq!(no_route.status, 404);
    assert_eq!(
        no_route.header("content-type"),
        Some("application/problem+json")
    );
    let put = request(&app, "PUT", "/api-keys", &[], "").await;
    assert_eq!(put.status, 405);
    // A refusal is a console answer too: the same policy, no framing.
    let delete = request(&app, "DELETE", "/", &[], "").await;
    for refused in [&put, &delete] {
        let policy = refused.header("content-security-policy").expect("a CSP");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(refused.header("x-frame-options"), Some("DENY"));
    }
    app.stop().await;
}

/// Started on every interface (`--addr 0.0.0.0:…`), the dev server gives no
/// local sign-in, whatever the `Host` header says: another machine could
/// otherwise claim to be 127.0.0.1 and take an owner token.
#[tokio::test]
async fn local_sign_in_is_only_for_a_server_and_a_browser_on_loopback() {
    let app = TestApp::embedded_listening_on("0.0.0.0:0").await;
    let owner = r#"{"role":"platform_owner"}"#;
    let forged = sign_in(&app, &[("host", "127.0.0.1:3000")], owner).await;
    assert_eq!(forged.status, 400, "{}", forged.text);
    assert_eq!(forged.field().as_deref(), Some("Host"));
    assert!(!forged.text.contains("token"), "{}", forged.text);
    assert_eq!(forged.header("x-frame-options"), Some("DENY"));
    app.stop().await;
}

#[tokio::test]
async fn local_sign_in_gives_a_working_token_for_a_person_role() {
    let app = TestApp::embedded().await;
    let config: Value = request(&app, "GET", "/config.json", &[], "").await.json();
    assert_eq!(config["sign_in"]["kind"], "local");
    assert_eq!(
        config["sign_in"]["roles"],
        serde_json::json!(["platform_owner", "platform_admin", "developer"])
    );
    let origin = app.base.clone();
    let answer = sign_in(&app, &[("origin", &origin)], r#"{"role":"developer"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let session = answer.json();
    assert_eq!(session["role"], "developer");
    let token = session["token"].as_str().expect("a token");
    let keys = app.call("GET", "/v1/api-keys", Some(token), None).await;
    assert_eq!(keys.status, 200, "{}", keys.text);
    // A developer token, not more: the catalog stays closed to it.
    let body = r#"{"name":"Sneaky","technology":"server"}"#;
    let refused = app
        .call("POST", "/v1/applications", Some(token), Some(body))
        .await;
    assert_eq!(refused.status, 403);
    app.stop().await;
}

#[tokio::test]
async fn local_sign_in_refuses_foreign_hosts_pages_and_roles() {
    let app = TestApp::embedded().await;
    let owner = r#"{"role":"platform_owner"}"#;
    // A page whose DNS name was rebound to 127.0.0.1 sends its own name as Host.
    let rebound = sign_in(&app, &[("host", "attacker.example:3000")], owner).await;
    assert_eq!(rebound.status, 400);
    assert_eq!(rebound.field().as_deref(), Some("Host"));
    let cross_site = sign_in(&app, &[("origin", "http://attacker.example")], owner).await;
    assert_eq!(cross_site.status, 400);
    assert_eq!(cross_site.field().as_deref(), Some("Origin"));
    for body in [
        r#"{"role":"verifier"}"#,
        r#"{"role":"root"}"#,
        "{}",
        "not json",
    ] {
        let refused = sign_in(&app, &[], body).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.text);
        assert_eq!(refused.field().as_deref(), Some("role"), "{body}");
    }
    // A cross-site form can only post text/plain or a form encoding.
    let form = request(
        &app,
        "POST",
        "/local-sign-in",
        &[("content-type", "text/plain")],
        owner,
    )
    .await;
    assert_eq!(form.status, 415);
    for refused in [rebound, cross_site, form] {
        assert!(!refused.text.contains("token"), "{}", refused.text);
    }
    app.stop().await;
}
