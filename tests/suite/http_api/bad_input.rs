//! Every class of bad input gets a 4xx problem naming the field, and changes nothing.

use domain::{ApiKeyId, ApplicationId, Role};
use serde_json::json;

use super::helpers::{TestApp, on_both_stores};

on_both_stores!(bad_input_is_refused_with_the_field_named_and_changes_nothing,);

async fn bad_input_is_refused_with_the_field_named_and_changes_nothing(app: &TestApp) {
    let owner = app.token(Role::PlatformOwner);
    let (application_id, arx_id) = (
        app.demo.application_id.to_string(),
        app.demo.arx_id.to_string(),
    );
    let key = app.create_key(Role::Developer).await;
    let key_id = key["api_key"]["id"].as_str().expect("an id").to_owned();
    let before = app.get("/v1/api-keys", Role::Developer).await.text;
    let long = "x".repeat(101);

    // (method, path, body, status, field)
    let key_body = |extra: serde_json::Value| {
        let mut body = json!({"application_id": application_id, "arx_id": arx_id});
        body.as_object_mut()
            .expect("an object")
            .extend(extra.as_object().cloned().unwrap_or_default());
        body.to_string()
    };
    let cases: Vec<(&str, String, String, u16, Option<&str>)> = vec![
        ("POST", "/v1/api-keys".into(), "{".into(), 400, None),
        ("POST", "/v1/api-keys".into(), "[]".into(), 400, None),
        ("POST", "/v1/api-keys".into(), "".into(), 400, None),
        ("POST", "/v1/api-keys".into(), key_body(json!({"colour": "red"})), 400, Some("colour")),
        ("POST", "/v1/api-keys".into(), json!({"application_id": 5, "arx_id": arx_id}).to_string(), 400, Some("application_id")),
        ("POST", "/v1/api-keys".into(), json!({"arx_id": arx_id}).to_string(), 400, Some("application_id")),
        ("POST", "/v1/api-keys".into(), json!({"application_id": "nope", "arx_id": arx_id}).to_string(), 400, Some("application_id")),
        ("POST", "/v1/api-keys".into(), json!({"application_id": ApplicationId::new(), "arx_id": arx_id}).to_string(), 422, Some("application_id")),
        ("POST", "/v1/api-keys".into(), key_body(json!({"arx_id": "arx--0"})), 400, Some("arx_id")),
        ("POST", "/v1/api-keys".into(), key_body(json!({"name": ""})), 400, Some("name")),
        ("POST", "/v1/api-keys".into(), key_body(json!({"name": "   "})), 400, Some("name")),
        ("POST", "/v1/api-keys".into(), key_body(json!({"name": long})), 400, Some("name")),
        ("POST", "/v1/api-keys".into(), key_body(json!({"name": "a\u{0007}b"})), 400, Some("name")),
        ("POST", "/v1/api-keys".into(), key_body(json!({"expires_at": "2001-01-01T00:00:00Z"})), 400, Some("expires_at")),
        ("POST", "/v1/api-keys".into(), key_body(json!({"expires_at": "tomorrow"})), 400, Some("expires_at")),
        ("POST", "/v1/api-keys".into(), key_body(json!({"expires_at": 1700000000})), 400, Some("expires_at")),
        ("POST", "/v1/api-keys?dry_run=yes".into(), key_body(json!({})), 400, Some("dry_run")),
        // A list where an object goes: serde would read it as limits of no parts.
        ("POST", "/v1/api-keys".into(), key_body(json!({"limits": []})), 400, Some("limits")),
        ("PATCH", format!("/v1/api-keys/{key_id}"), json!({"limits": []}).to_string(), 400, Some("limits")),
        ("PATCH", format!("/v1/api-keys/{key_id}"), json!({"limits": {"credits": [5]}}).to_string(), 400, Some("limits.credits")),
        ("POST", "/v1/api-keys".into(), format!(r#"{{"name": "{}"}}"#, "a".repeat(600 * 1024)), 413, None),
        ("GET", "/v1/api-keys?limit=0".into(), String::new(), 400, Some("limit")),
        ("GET", "/v1/api-keys?limit=101".into(), String::new(), 400, Some("limit")),
        ("GET", "/v1/api-keys?limit=ten".into(), String::new(), 400, Some("limit")),
        ("GET", "/v1/api-keys?cursor=garbage".into(), String::new(), 400, Some("cursor")),
        ("GET", "/v1/api-keys?cursor=c1.00".into(), String::new(), 400, Some("cursor")),
        ("GET", "/v1/api-keys?status=gone".into(), String::new(), 400, Some("status")),
        ("GET", "/v1/api-keys?application_id=x".into(), String::new(), 400, Some("application_id")),
        ("GET", "/v1/api-keys?sort=name".into(), String::new(), 400, Some("sort")),
        ("GET", "/v1/api-keys?limit=1&limit=2".into(), String::new(), 400, Some("limit")),
        ("GET", "/v1/api-keys/not-an-id".into(), String::new(), 400, Some("id")),
        ("GET", format!("/v1/api-keys/{}", ApiKeyId::new()), String::new(), 404, None),
        ("DELETE", format!("/v1/api-keys/{key_id}"), json!({"confirm": key_id, "force": true}).to_string(), 400, Some("force")),
        ("DELETE", format!("/v1/api-keys/{key_id}"), json!({"confirm": 7}).to_string(), 400, Some("confirm")),
        ("DELETE", format!("/v1/api-keys/{key_id}"), "{oops".into(), 400, None),
        ("POST", "/v1/feedback".into(), json!({"message": ""}).to_string(), 400, Some("message")),
        ("POST", "/v1/feedback".into(), json!({"message": "x".repeat(4001)}).to_string(), 400, Some("message")),
        ("POST", "/v1/feedback".into(), json!({"message": "hi", "rating": 6}).to_string(), 400, Some("rating")),
        ("POST", "/v1/feedback".into(), json!({"message": "hi", "rating": "5"}).to_string(), 400, Some("rating")),
        ("POST", "/v1/feedback".into(), json!({"message": "hi", "rating": 4.5}).to_string(), 400, Some("rating")),
        ("POST", "/v1/feedback".into(), json!({"rating": 4}).to_string(), 400, Some("message")),
        ("POST", "/v1/applications".into(), json!({"name": "A", "technology": "desktop"}).to_string(), 400, Some("technology")),
        ("POST", "/v1/applications".into(), json!({"name": "A", "technology": "server", "cors_origins": ["https://a.example"]}).to_string(), 400, Some("cors_origins")),
        ("POST", "/v1/applications".into(), json!({"name": "A", "technology": "client", "cors_origins": ["https://a.example/path"]}).to_string(), 400, Some("cors_origins[0]")),
        ("POST", "/v1/applications".into(), json!({"name": long, "technology": "server"}).to_string(), 400, Some("name")),
        ("PATCH", format!("/v1/applications/{application_id}"), "{}".into(), 400, None),
        // Nothing of an application can be removed: null is refused, naming the field.
        ("PATCH", format!("/v1/applications/{application_id}"), json!({"name": null}).to_string(), 400, Some("name")),
        ("PATCH", format!("/v1/applications/{application_id}"), json!({"name": "A", "cors_origins": null}).to_string(), 400, Some("cors_origins")),
        ("PATCH", format!("/v1/applications/{application_id}"), json!({"status": "archived"}).to_string(), 400, Some("status")),
        ("POST", "/v1/arx".into(), json!({"name": "X", "purpose": "prod", "provider": "aws", "region": "r", "encryption_method": "e", "rotation_cycle": "c", "plan": "p"}).to_string(), 400, Some("purpose")),
        ("POST", "/v1/arx".into(), json!({"name": "X", "purpose": "testing", "region": "r", "encryption_method": "e", "rotation_cycle": "c", "plan": "p"}).to_string(), 400, Some("provider")),
        ("POST", "/v1/arx".into(), json!({"name": "X", "purpose": "testing", "provider": "", "region": "r", "encryption_method": "e", "rotation_cycle": "c", "plan": "p"}).to_string(), 400, Some("provider")),
        ("GET", "/v1/nowhere".into(), String::new(), 404, None),
        ("PUT", "/v1/api-keys".into(), String::new(), 405, None),
    ];
    for (method, path, body, status, field) in &cases {
        let response = app.call(method, path, Some(&owner), Some(body)).await;
        assert_eq!(
            response.status,
            *status,
            "{method} {path} {}: {}",
            &body[..body.len().min(80)],
            response.text
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json"),
            "{method} {path}"
        );
        if *status == 413 {
            // Answered before the body was read: the connection closes, and
            // the client is told so rather than finding out on its next request.
            assert_eq!(
                response.header("connection"),
                Some("close"),
                "{method} {path}"
            );
        }
        let problem = response.json();
        assert_eq!(problem["status"], *status);
        assert!(
            problem["code"].is_string()
                && problem["detail"].is_string()
                && problem["type"].is_string()
        );
        assert_eq!(
            response.field().as_deref(),
            *field,
            "{method} {path} {}: {}",
            &body[..body.len().min(80)],
            response.text
        );
    }

    assert_eq!(
        app.get("/v1/api-keys", Role::Developer).await.text,
        before,
        "no bad input changed anything"
    );
    let application = app
        .get(
            &format!("/v1/applications/{application_id}"),
            Role::Developer,
        )
        .await
        .json();
    assert_eq!(application["name"], "Payments API");
}
