//! The authorization matrix: every route × every role × every kind of bad token,
//! and another tenant's objects answered 404.

use api::Route;
use domain::{ApiKeyId, ApplicationId, ArxId, Role, ServiceKeyId};
use serde_json::json;

use super::helpers::{SECRET, TestApp, claims, on_both_stores, token_with, unsigned_token};

on_both_stores!(
    every_route_checks_the_token_and_the_role,
    another_tenants_objects_are_not_found_and_unchanged,
    githubs_endpoint_takes_no_role_only_a_signature,
    a_sub_as_identity_providers_issue_it_signs_in,
);

/// Auth0 (and providers federated through it) issue `sub` as
/// `provider|id`: such a user signs in, and is named by it in what they do.
async fn a_sub_as_identity_providers_issue_it_signs_in(app: &TestApp) {
    for sub in [
        "auth0|65f0c1d2e3a4b5c6d7e8f901",
        "google-oauth2|110169484474386276334",
    ] {
        let mut claims = claims("demo", "developer");
        claims["sub"] = json!(sub);
        let token = token_with(claims, SECRET);
        let body = json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id});
        let created = app
            .call(
                "POST",
                "/v1/api-keys",
                Some(&token),
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(created.status, 201, "{sub}: {}", created.text);
        assert_eq!(created.json()["api_key"]["created_by"], sub);
    }
}

/// product.md §2, written out by hand and independent of the code's own
/// permission table: for each route, whether the owner, the admin, the
/// developer and the verifier may use it.
const WHO_MAY: &[(&str, [bool; 4])] = &[
    //                                       owner  admin  dev    verifier
    (
        "POST /v1/api-keys",
        /*              */ [true, true, true, false],
    ),
    (
        "GET /v1/api-keys",
        /*               */ [true, true, true, false],
    ),
    // Issue "Bring your keys": owners and admins import.
    (
        "POST /v1/api-keys/import",
        /*        */ [true, true, false, false],
    ),
    (
        "GET /v1/api-keys/{id}",
        /*          */ [true, true, true, false],
    ),
    // Issue "Usage analytics": roles as for reading keys.
    (
        "GET /v1/api-keys/{id}/usage",
        /*    */ [true, true, true, false],
    ),
    (
        "GET /v1/usage",
        /*                  */ [true, true, true, false],
    ),
    (
        "DELETE /v1/api-keys/{id}",
        /*       */ [true, true, true, false],
    ),
    // Whoever may delete a key may rotate it (issue "Key lifecycle").
    (
        "POST /v1/api-keys/{id}/rotate",
        /*  */ [true, true, true, false],
    ),
    // product.md section 2: "API keys: disable/enable" is owner and admin only.
    (
        "POST /v1/api-keys/{id}/disable",
        /* */ [true, true, false, false],
    ),
    (
        "POST /v1/api-keys/{id}/enable",
        /*  */ [true, true, false, false],
    ),
    // Issue "Usage limits": owner and admin may change a key's limits.
    (
        "PATCH /v1/api-keys/{id}",
        /*       */ [true, true, false, false],
    ),
    (
        "POST /v1/feedback",
        /*              */ [true, true, true, false],
    ),
    (
        "GET /v1/applications",
        /*           */ [true, true, true, false],
    ),
    (
        "GET /v1/applications/{id}",
        /*      */ [true, true, true, false],
    ),
    (
        "POST /v1/applications",
        /*          */ [true, true, false, false],
    ),
    (
        "PATCH /v1/applications/{id}",
        /*    */ [true, true, false, false],
    ),
    (
        "POST /v1/applications/{id}/archive",
        [true, true, false, false],
    ),
    (
        "GET /v1/arx",
        /*                    */ [true, true, true, false],
    ),
    (
        "GET /v1/arx/{id}",
        /*               */ [true, true, true, false],
    ),
    (
        "POST /v1/arx",
        /*                   */ [true, true, false, false],
    ),
    (
        "PATCH /v1/arx/{id}",
        /*             */ [true, true, false, false],
    ),
    (
        "POST /v1/arx/{id}/disable",
        /*      */ [true, true, false, false],
    ),
    (
        "POST /v1/arx/{id}/enable",
        /*       */ [true, true, false, false],
    ),
    (
        "DELETE /v1/arx/{id}",
        /*            */ [true, true, false, false],
    ),
    // product.md section 2: the audit log is for owners and admins.
    (
        "GET /v1/audit-events",
        /*           */ [true, true, false, false],
    ),
    (
        "POST /v1/verify",
        /*                */ [true, true, false, true],
    ),
    // Issue "Service keys": owners and admins make, list and revoke them
    // (and no service key does, whatever its role: checked apart below).
    (
        "POST /v1/service-keys",
        /*           */ [true, true, false, false],
    ),
    (
        "GET /v1/service-keys",
        /*            */ [true, true, false, false],
    ),
    (
        "DELETE /v1/service-keys/{id}",
        /*    */ [true, true, false, false],
    ),
    // Issue "Identities and roles": read as keys are, changed as keys' limits are.
    (
        "POST /v1/identities",
        /*            */ [true, true, false, false],
    ),
    (
        "GET /v1/identities",
        /*             */ [true, true, true, false],
    ),
    (
        "GET /v1/identities/{id}",
        /*        */ [true, true, true, false],
    ),
    (
        "PATCH /v1/identities/{id}",
        /*      */ [true, true, false, false],
    ),
    (
        "DELETE /v1/identities/{id}",
        /*     */ [true, true, false, false],
    ),
    (
        "GET /v1/identities/{id}/usage",
        /*  */ [true, true, true, false],
    ),
    (
        "POST /v1/roles",
        /*                 */ [true, true, false, false],
    ),
    (
        "GET /v1/roles",
        /*                  */ [true, true, true, false],
    ),
    (
        "GET /v1/roles/{id}",
        /*             */ [true, true, true, false],
    ),
    (
        "PATCH /v1/roles/{id}",
        /*           */ [true, true, false, false],
    ),
    (
        "DELETE /v1/roles/{id}",
        /*          */ [true, true, false, false],
    ),
    // Issue "Rate limits for anything": namespaces read as keys are and
    // changed as keys' limits are; a check is the verifier's, as verify is.
    ("POST /v1/ratelimit-namespaces", [true, true, false, false]),
    ("GET /v1/ratelimit-namespaces", [true, true, true, false]),
    (
        "GET /v1/ratelimit-namespaces/{id}",
        [true, true, true, false],
    ),
    (
        "PATCH /v1/ratelimit-namespaces/{id}",
        [true, true, false, false],
    ),
    (
        "DELETE /v1/ratelimit-namespaces/{id}",
        [true, true, false, false],
    ),
    (
        "GET /v1/ratelimit-namespaces/{id}/overrides",
        [true, true, true, false],
    ),
    (
        "PUT /v1/ratelimit-namespaces/{id}/overrides",
        [true, true, false, false],
    ),
    (
        "DELETE /v1/ratelimit-namespaces/{id}/overrides",
        [true, true, false, false],
    ),
    (
        "GET /v1/ratelimit-namespaces/{id}/usage",
        [true, true, true, false],
    ),
    ("POST /v1/ratelimit", [true, true, false, true]),
    ("POST /v1/ratelimit/many", [true, true, false, true]),
];

fn may(role: Role, route: Route) -> bool {
    let column = match role {
        Role::PlatformOwner => 0,
        Role::PlatformAdmin => 1,
        Role::Developer => 2,
        Role::Verifier => 3,
    };
    WHO_MAY
        .iter()
        .find(|(key, _)| *key == route.route_key())
        .map(|(_, allowed)| allowed[column])
        .unwrap_or_else(|| panic!("{} is missing from WHO_MAY", route.route_key()))
}

#[test]
fn the_hand_written_matrix_covers_every_route_once() {
    assert_eq!(WHO_MAY.len(), Route::ALL.len());
    for route in Route::ALL {
        let _ = may(Role::Developer, route);
    }
}

/// The route's path, with a well-formed id that names nothing.
fn path_of(route: Route) -> String {
    let id = if route.template().starts_with("/v1/api-keys") {
        ApiKeyId::new().to_string()
    } else if route.template().starts_with("/v1/applications") {
        ApplicationId::new().to_string()
    } else if route.template().starts_with("/v1/service-keys") {
        ServiceKeyId::new().to_string()
    } else if route.template().starts_with("/v1/identities") {
        domain::IdentityId::new().to_string()
    } else if route.template().starts_with("/v1/roles") {
        domain::RoleId::new().to_string()
    } else if route.template().starts_with("/v1/ratelimit-namespaces") {
        domain::NamespaceId::new().to_string()
    } else {
        ArxId::new().to_string()
    };
    route.template().replace("{id}", &id)
}

async fn every_route_checks_the_token_and_the_role(app: &TestApp) {
    let tenant = app.demo.tenant.as_str();
    let mut expired = claims(tenant, "platform_owner");
    expired["exp"] = json!(jsonwebtoken::get_current_timestamp() - 600);
    let mut not_yet = claims(tenant, "platform_owner");
    not_yet["nbf"] = json!(jsonwebtoken::get_current_timestamp() + 600);
    let mut wrong_audience = claims(tenant, "platform_owner");
    wrong_audience["aud"] = json!("someone-else");
    let mut wrong_issuer = claims(tenant, "platform_owner");
    wrong_issuer["iss"] = json!("https://evil.example");
    let mut no_tenant = claims(tenant, "platform_owner");
    no_tenant
        .as_object_mut()
        .map(|c| c.remove("custom:tenant_id"));
    let unauthenticated = [
        ("no token", None),
        (
            "bad signature",
            Some(token_with(
                claims(tenant, "platform_owner"),
                "another-secret-of-at-least-32-bytes!",
            )),
        ),
        ("expired", Some(token_with(expired, SECRET))),
        ("not yet valid", Some(token_with(not_yet, SECRET))),
        (
            "alg none",
            Some(unsigned_token(&claims(tenant, "platform_owner"))),
        ),
        ("wrong audience", Some(token_with(wrong_audience, SECRET))),
        ("wrong issuer", Some(token_with(wrong_issuer, SECRET))),
        ("garbage", Some("not.a.jwt".to_owned())),
    ];
    let unknown_role = token_with(claims(tenant, "superuser"), SECRET);
    let missing_tenant = token_with(no_tenant, SECRET);
    // A service key of each role it may have: it may what its role may,
    // except the service keys' own routes.
    let mut service_keys = Vec::new();
    for role in Role::FOR_SERVICE_KEYS {
        let created = app
            .post(
                "/v1/service-keys",
                Role::PlatformOwner,
                &json!({"name": "matrix", "role": role.as_str()}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let secret = created.json()["secret"]
            .as_str()
            .expect("a secret")
            .to_owned();
        service_keys.push((role, secret));
    }

    for route in Route::ALL {
        let (method, path) = (route.method(), path_of(route));
        for (case, token) in &unauthenticated {
            let response = app.call(method, &path, token.as_deref(), Some("{}")).await;
            assert_eq!(
                response.status, 401,
                "{method} {path} with {case}: {}",
                response.text
            );
            assert_eq!(response.header("www-authenticate"), Some("Bearer"));
        }
        for (case, token) in [
            ("unknown role", &unknown_role),
            ("no tenant claim", &missing_tenant),
        ] {
            let response = app.call(method, &path, Some(token), Some("{}")).await;
            assert_eq!(
                response.status, 403,
                "{method} {path} with {case}: {}",
                response.text
            );
        }
        for role in Role::ALL {
            let response = app
                .call(method, &path, Some(&app.token(role)), Some("{}"))
                .await;
            if may(role, route) {
                assert!(
                    ![401, 403].contains(&response.status),
                    "{role} may use {method} {path}: {} {}",
                    response.status,
                    response.text
                );
            } else {
                assert_eq!(
                    response.status, 403,
                    "{role} may not use {method} {path}: {}",
                    response.text
                );
                assert_eq!(response.json()["code"], "forbidden");
            }
        }
        for (role, secret) in &service_keys {
            let response = app.call(method, &path, Some(secret), Some("{}")).await;
            let own_kind = route.operation() == domain::Operation::ManageServiceKeys;
            if may(*role, route) && !own_kind {
                assert!(
                    ![401, 403].contains(&response.status),
                    "a {role} service key may use {method} {path}: {} {}",
                    response.status,
                    response.text
                );
            } else {
                assert_eq!(
                    response.status, 403,
                    "a {role} service key may not use {method} {path}: {}",
                    response.text
                );
                let code = if own_kind {
                    "service_key_forbidden"
                } else {
                    "forbidden"
                };
                assert_eq!(response.json()["code"], code);
            }
        }
    }
}

/// The one route outside the matrix: `POST /v1/leaks/github` answers to
/// GitHub's signature alone. No role's token opens it, nor does no token;
/// with a signature that verifies, no token is needed (`leak_reports`).
async fn githubs_endpoint_takes_no_role_only_a_signature(app: &TestApp) {
    let path = api::leak_reports::PATH;
    let body = r#"[{"token":"akm_x","type":"t","url":null,"source":null}]"#;
    let mut tokens: Vec<Option<String>> = Role::ALL
        .into_iter()
        .map(|role| Some(app.token(role)))
        .collect();
    tokens.push(None);
    for token in tokens {
        let refused = app.call("POST", path, token.as_deref(), Some(body)).await;
        assert_eq!(refused.status, 401, "{}", refused.text);
        assert_eq!(refused.json()["code"], "invalid_signature");
    }
}

async fn another_tenants_objects_are_not_found_and_unchanged(app: &TestApp) {
    let key = app.create_key(Role::Developer).await;
    let key_id = key["api_key"]["id"].as_str().expect("an id").to_owned();
    let (application_id, arx_id) = (
        app.demo.application_id.to_string(),
        app.demo.arx_id.to_string(),
    );
    let stranger = token_with(claims("other-tenant", "platform_owner"), SECRET);

    let attempts = [
        ("GET", format!("/v1/api-keys/{key_id}"), json!(null)),
        (
            "DELETE",
            format!("/v1/api-keys/{key_id}"),
            json!({"confirm": key_id}),
        ),
        (
            "GET",
            format!("/v1/applications/{application_id}"),
            json!(null),
        ),
        (
            "PATCH",
            format!("/v1/applications/{application_id}"),
            json!({"name": "Mine now"}),
        ),
        (
            "POST",
            format!("/v1/applications/{application_id}/archive"),
            json!(null),
        ),
        ("GET", format!("/v1/arx/{arx_id}"), json!(null)),
        (
            "PATCH",
            format!("/v1/arx/{arx_id}"),
            json!({"name": "Mine now"}),
        ),
        ("POST", format!("/v1/arx/{arx_id}/disable"), json!(null)),
        ("DELETE", format!("/v1/arx/{arx_id}"), json!(null)),
    ];
    for (method, path, body) in &attempts {
        let response = app
            .call(method, path, Some(&stranger), Some(&body.to_string()))
            .await;
        assert_eq!(response.status, 404, "{method} {path}: {}", response.text);
    }
    // Creating a key on another tenant's application and Arx names nothing either.
    let choice = json!({"application_id": application_id, "arx_id": arx_id});
    let response = app
        .call(
            "POST",
            "/v1/api-keys",
            Some(&stranger),
            Some(&choice.to_string()),
        )
        .await;
    assert_eq!(response.status, 422, "{}", response.text);
    let listed = app
        .call("GET", "/v1/api-keys", Some(&stranger), None)
        .await
        .json();
    assert_eq!(listed["items"], json!([]));
    assert_eq!(listed["counts"]["total"], 0);

    let dev = Role::Developer;
    assert_eq!(
        app.get(&format!("/v1/api-keys/{key_id}"), dev).await.json()["status"],
        "active"
    );
    let application = app
        .get(&format!("/v1/applications/{application_id}"), dev)
        .await
        .json();
    assert_eq!(
        (application["status"].as_str(), application["name"].as_str()),
        (Some("active"), Some("Payments API"))
    );
    let arx = app.get(&format!("/v1/arx/{arx_id}"), dev).await.json();
    assert_eq!(
        (arx["status"].as_str(), arx["name"].as_str()),
        (Some("active"), Some("Production Sydney"))
    );
}
