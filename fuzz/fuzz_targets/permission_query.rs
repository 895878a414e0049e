//! Any string as a verify's permission query, asked of a fixed set of
//! permissions: parsing never panics, a refusal never repeats the text, and
//! an accepted query answers the same as its parts do (AND is all of them,
//! OR any), so evaluation is as total as parsing.
#![no_main]

use domain::{Permission, PermissionQuery, Permissions};
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
        Err(refusal) => {
            let message = refusal.to_string();
            // Our messages are short and fixed; the text may be long and anything.
            assert!(message.len() < 200);
            if text.chars().count() > 12 {
                assert!(!message.contains(text));
            }
        }
    }
});
