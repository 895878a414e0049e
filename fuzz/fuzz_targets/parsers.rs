//! Every parser a request's text reaches, on any string: cursors, timestamps
//! and expiries, ids, names, roles and statuses, query parameters, the content
//! type check and the route table. None may panic; what parses prints back.
#![no_main]

use api::http::check_content_type;
use api::routes::resolve;
use api::{ApiRequest, Identity};
use domain::{
    ApiKeyId, ApiKeyName, ApiKeyStatus, ApplicationId, ApplicationName, ArxId, ArxName,
    CorsOrigin, Cursor, ExpiresAt, FeedbackMessage, PageRef, PrefixedId, Role, TenantId,
    Timestamp, UserId,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = Cursor::<ApiKeyId>::decode(text);
    let _ = Cursor::<ApplicationId>::decode(text);
    let _ = Cursor::<ArxId>::decode(text);
    if let Ok(at) = Timestamp::parse(text) {
        assert_eq!(Timestamp::parse(&at.to_string()), Ok(at));
        let _ = at.plus(time_days(3660));
    }
    let _ = ExpiresAt::parse(text, Timestamp::now());
    let _ = <ApiKeyId as PrefixedId>::parse(text);
    let _ = ApplicationId::from_hex(text);
    let _ = (TenantId::parse(text), UserId::parse(text));
    let _ = (ApiKeyName::parse(text), ApplicationName::parse(text), ArxName::parse(text));
    let _ = (FeedbackMessage::parse(text), PageRef::parse(text), CorsOrigin::parse(text));
    let _ = (Role::parse(text), ApiKeyStatus::parse(text));
    let _ = check_content_type(Some(text), b"{}");
    for method in ["GET", "POST", "PATCH", "DELETE", text] {
        let _ = resolve(method, text);
    }
    let request = ApiRequest {
        identity: Identity {
            tenant: TenantId::parse("fuzz").expect("valid"),
            user: UserId::parse("fuzzer").expect("valid"),
            role: Role::Developer,
        },
        id: Some(text.to_owned()),
        query: form_urlencoded::parse(text.as_bytes()).into_owned().collect(),
        body: bytes::Bytes::new(),
    };
    let _ = request.query_params(&["application_id", "arx_id", "status", "limit", "cursor"]);
    let _ = request.path_id::<ApiKeyId>();
});

fn time_days(days: i64) -> time::Duration {
    time::Duration::days(days)
}
