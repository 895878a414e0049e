//! How the API reads a request's body and query (`api::http`), through its
//! public surface: the field at fault named, nothing the client sent echoed,
//! lists refused where an object is taken, and no input that panics.

use bytes::Bytes;
use domain::{Role, TenantId, UserId};

use api::http::{ApiRequest, Identity, MAX_BODY_BYTES, check_content_type};
use api::problem::ApiError;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Sample {
    name: domain::ApplicationName,
    rating: Option<domain::Rating>,
}

fn request(body: &str) -> ApiRequest {
    ApiRequest {
        identity: Identity {
            tenant: TenantId::parse("t").expect("valid"),
            user: UserId::parse("u").expect("valid"),
            role: Role::Developer,
        },
        id: None,
        query: vec![],
        body: Bytes::from(body.to_owned()),
        idempotency_key: None,
        media: Default::default(),
    }
}

fn field_of(body: &str) -> (u16, Option<String>) {
    match request(body).json::<Sample>() {
        Err(ApiError::InvalidField { field, .. }) => (400, Some(field)),
        Err(ApiError::MalformedBody { field, .. }) => (400, field),
        Err(other) => (other.status(), None),
        Ok(_) => (200, None),
    }
}

#[test]
fn names_the_field_at_fault() {
    assert_eq!(field_of(r#"{"name": "ok"}"#), (200, None));
    assert_eq!(field_of(r#"{"name": ""}"#), (400, Some("name".into())));
    assert_eq!(field_of(r#"{"name": 7}"#), (400, Some("name".into())));
    assert_eq!(
        field_of(r#"{"name": "a", "rating": 9}"#),
        (400, Some("rating".into()))
    );
    assert_eq!(
        field_of(r#"{"name": "a", "extra": 1}"#),
        (400, Some("extra".into()))
    );
    assert_eq!(field_of(r#"{"rating": 1}"#), (400, Some("name".into())));
    assert_eq!(field_of(r#"{"name": "a""#), (400, None));
    assert_eq!(field_of(r#"{"name": "a"} trailing"#), (400, None));
    assert_eq!(field_of("[]"), (400, None));
    assert_eq!(field_of(r#"["a", 1]"#), (400, None));
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Nested {
    limits: Option<Parts>,
    cors_origins: Option<Vec<String>>,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Parts {
    rate: Option<u64>,
}

#[test]
fn a_list_is_refused_where_an_object_is_taken() {
    let nested = |body: &str| request(body).json::<Nested>();
    // serde alone reads a struct from a list: refused before it can.
    for (body, field) in [
        (r#"{"limits": []}"#, "limits"),
        (r#"{"limits": [5]}"#, "limits"),
        (r#"{"limits": {"rate": [5]}}"#, "limits.rate"),
    ] {
        match nested(body) {
            Err(ApiError::InvalidField { field: named, .. }) => assert_eq!(named, field),
            other => panic!("{body}: {other:?}"),
        }
    }
    assert!(nested(r#"{"cors_origins": ["https://a.example"]}"#).is_ok());
    assert!(nested(r#"{"limits": {"rate": 5}}"#).is_ok());
}

#[test]
fn never_repeats_the_values_it_refuses() {
    let secret = "akm_0123456789abcdef0123456789abcdef_SecretSecretSecretSecretSecret123456";
    for body in [
        format!(r#"{{"name": "a", "rating": "{secret}"}}"#),
        format!(r#"{{"name": ["{secret}"]}}"#),
        format!(r#"{{"name": "a", "{secret}": 1}}"#),
        format!(r#"{{"{secret}": "a"}}"#),
    ] {
        let error = request(&body).json::<Sample>().expect_err("refused");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("SecretSecret"), "{shown}");
    }
}

#[test]
fn bodies_must_be_sent_as_json() {
    let body = br#"{"name": "a"}"#;
    for fine in ["application/json", "application/JSON; charset=utf-8"] {
        assert!(check_content_type(Some(fine), body).is_ok(), "{fine}");
    }
    for refused in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        let error = check_content_type(refused, body).expect_err("refused");
        assert_eq!(error.status(), 415, "{refused:?}");
    }
    assert!(check_content_type(None, b"  ").is_ok());
}

proptest::proptest! {
    #[test]
    fn query_and_body_parsing_never_panic(
        name in "\\PC{0,20}", value in "\\PC{0,40}", body in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
    ) {
        let mut req = request("");
        req.query = vec![(name.clone(), value), (name, String::new())];
        let _ = req.query_params(&["limit", "cursor"]);
        req.body = Bytes::from(body);
        let _ = req.json::<Sample>();
        let _ = check_content_type(Some("application/json"), &req.body);
    }
}

#[test]
fn refuses_oversized_bodies() {
    let big = format!(r#"{{"name": "{}"}}"#, "a".repeat(MAX_BODY_BYTES));
    assert_eq!(field_of(&big).0, 413);
}

#[test]
fn query_params_refuse_unknown_and_repeated_names() {
    let mut req = request("");
    req.query = vec![("limit".into(), "5".into())];
    assert_eq!(
        req.query_params(&["limit"]).expect("ok").get("limit"),
        Some(&"5")
    );
    req.query.push(("limit".into(), "6".into()));
    assert!(req.query_params(&["limit"]).is_err());
    req.query = vec![("sort".into(), "x".into())];
    assert!(req.query_params(&["limit"]).is_err());
}
