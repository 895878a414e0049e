//! Any string as a verify's permission query, asked of a fixed set of
//! permissions: parsing never panics, a refusal is one of our fixed reasons
//! with a position inside the text (it holds nothing of the text: its reason
//! is a `&'static str`), and an accepted query answers the same as its parts
//! do (AND is all of them, OR any), so evaluation is as total as parsing.
#![no_main]

use domain::{InvalidValue, Permission, PermissionQuery, Permissions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let held = Permissions::new(
        ["a", "b.c", "d:e"]
            .into_iter()
            .map(|name| Permission::parse(name).expect("a name")),
    )
    .expect("few names");
    match PermissionQuery::parse(text) {
        Ok(query) => {
            let answer = query.allows(&held);
            let parts = match &query {
                PermissionQuery::Has(name) => held.contains(name),
                PermissionQuery::All(parts) => parts.iter().all(|part| part.allows(&held)),
                PermissionQuery::Any(parts) => parts.iter().any(|part| part.allows(&held)),
            };
            assert_eq!(answer, parts);
        }
        Err(InvalidValue::At { position, .. }) => {
            assert!(position >= 1 && position <= text.chars().count() + 1);
        }
        Err(InvalidValue::Empty) => assert!(text.trim().is_empty()),
        Err(InvalidValue::TooLong { max }) => assert!(text.chars().count() > max),
        Err(other) => panic!("an unexpected refusal: {other:?}"),
    }
});
