//! The permission grammar, queries and wildcard grants.

use super::*;

fn names(list: &[&str]) -> Permissions {
    Permissions::new(list.iter().map(|n| Permission::parse(n).expect("a name"))).expect("few")
}

fn allows(query: &str, held: &[&str]) -> bool {
    PermissionQuery::parse(query)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .allows(&names(held))
}

#[test]
fn names_follow_the_grammar() {
    for fine in [
        "documents.read",
        "billing:write",
        "a",
        "A-1_b.c:d",
        "0day",
        "android",
    ] {
        assert!(Permission::parse(fine).is_ok(), "{fine}");
    }
    for bad in [
        "",
        ".read",
        "-x",
        "has space",
        "é",
        "a/b",
        "AND",
        "or",
        "a*",
        "x\u{200B}",
    ] {
        assert!(Permission::parse(bad).is_err(), "{bad:?}");
    }
    assert!(Permission::parse(&"a".repeat(100)).is_ok());
    assert_eq!(
        Permission::parse(&"a".repeat(101)),
        Err(InvalidValue::TooLong { max: 100 })
    );
}

#[test]
fn a_set_holds_each_name_once_in_order_and_at_most_100() {
    let set = names(&["b", "a", "b"]);
    assert_eq!(
        set.iter().map(Permission::as_str).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let many = (0..101).map(|i| Permission::parse(&format!("p{i}")).expect("a name"));
    assert!(Permissions::new(many).is_err());
    let (before, after) = (names(&["a", "b"]), names(&["b", "c"]));
    let (added, removed) = before.changes_to(&after);
    assert_eq!(
        (added[0].as_str(), removed[0].as_str()),
        ("c", "a"),
        "c added, a removed"
    );
}

#[test]
fn every_operator_and_grouping_answers_as_it_reads() {
    let held = ["read", "write"];
    let cases = [
        ("read", true),
        ("admin", false),
        ("read AND write", true),
        ("read AND admin", false),
        ("read OR admin", true),
        ("admin OR root", false),
        ("read and write", true),
        ("admin OR read AND write", true),
        ("admin OR read AND root", false),
        ("(admin OR read) AND write", true),
        ("(admin OR read) AND root", false),
        ("admin AND read OR write", true),
        ("admin AND (read OR write)", false),
        ("((read))", true),
        ("(read AND (write OR admin)) OR root", true),
        ("read AND write AND admin", false),
        ("root OR admin OR write", true),
    ];
    for (query, expected) in cases {
        assert_eq!(allows(query, &held), expected, "{query}");
    }
    assert!(!allows("read", &[]), "no permissions satisfy no name");
}

#[test]
fn bad_queries_say_what_and_where() {
    let cases = [
        ("", InvalidValue::Empty),
        ("   ", InvalidValue::Empty),
        (
            "read AND",
            at("ends where a permission name was expected", 9),
        ),
        (
            "AND read",
            at("expected a permission name before AND or OR", 1),
        ),
        ("read write", at("expected AND or OR", 6)),
        ("(read", at("misses a closing parenthesis", 6)),
        (
            "read)",
            at("has a closing parenthesis without its opening one", 5),
        ),
        ("()", at("has ( ) with nothing inside, or a stray )", 2)),
        (
            "read OR OR write",
            at("expected a permission name before AND or OR", 9),
        ),
        (
            "ré",
            at(
                "may hold only permission names, AND, OR, parentheses and spaces",
                2,
            ),
        ),
        (
            "read && write",
            at(
                "may hold only permission names, AND, OR, parentheses and spaces",
                6,
            ),
        ),
        (".read", at("names a permission outside the grammar", 1)),
    ];
    for (query, expected) in cases {
        assert_eq!(PermissionQuery::parse(query), Err(expected), "{query:?}");
    }
    let deep = format!("{}read{}", "(".repeat(9), ")".repeat(9));
    assert_eq!(
        PermissionQuery::parse(&deep),
        Err(at("nests parentheses more than 8 deep", 9))
    );
    let eight = format!("{}read{}", "(".repeat(8), ")".repeat(8));
    assert!(PermissionQuery::parse(&eight).is_ok());
    let long = vec!["read"; 201].join(" OR ");
    assert_eq!(
        PermissionQuery::parse(&long),
        Err(InvalidValue::TooLong { max: 1000 })
    );
}

#[test]
fn a_refusal_never_repeats_the_query() {
    let secret = "akm_0123456789abcdef";
    for query in [format!("{secret} {secret}"), format!("read AND ({secret}")] {
        let message = PermissionQuery::parse(&query)
            .expect_err("refused")
            .to_string();
        assert!(!message.contains(secret), "{message}");
    }
}

#[test]
fn serde_keeps_the_grammar() {
    let set: Permissions = serde_json::from_str(r#"["b","a"]"#).expect("names");
    assert_eq!(serde_json::to_string(&set).expect("json"), r#"["a","b"]"#);
    assert!(serde_json::from_str::<Permissions>(r#"["has space"]"#).is_err());
}

proptest::proptest! {
    #[test]
    fn parsing_never_panics(raw in "\\PC{0,200}|[()a-d &|ORAND.:_\\-\\u{e9}]{0,300}") {
        let _ = PermissionQuery::parse(&raw);
    }

    #[test]
    fn a_query_of_held_names_joined_by_and_passes(picked in proptest::collection::vec(0usize..5, 1..10)) {
        let pool = ["a", "b.c", "d:e", "f-g", "h_i"];
        let query = picked.iter().map(|&i| pool[i]).collect::<Vec<_>>().join(" AND ");
        proptest::prop_assert!(allows(&query, &pool));
        let with_one_more = format!("({query}) AND zzz");
        proptest::prop_assert!(!allows(&with_one_more, &pool));
    }
}

#[test]
fn a_wildcard_grants_every_name_under_it_and_nothing_else() {
    let held = names(&["documents.*", "billing.read"]);
    for granted in ["documents.read", "documents.drafts.read", "billing.read"] {
        assert!(
            allows(granted, &["documents.*", "billing.read"]),
            "{granted}"
        );
    }
    for refused in ["documents", "documentsX.read", "billing.write", "billing"] {
        assert!(
            !allows(refused, &["documents.*", "billing.read"]),
            "{refused}"
        );
    }
    assert!(held.contains(&Permission::parse("documents.*").expect("a grant")));
}

#[test]
fn a_wildcard_is_a_grant_never_a_query() {
    for grant in ["documents.*", "a.*", "billing:v2.*"] {
        assert!(Permission::parse(grant).is_ok(), "{grant}");
    }
    for bad in [
        "*",
        ".*",
        "documents*",
        "documents.*.read",
        "AND.*",
        "documents.**",
    ] {
        assert!(Permission::parse(bad).is_err(), "{bad}");
    }
    let refused = PermissionQuery::parse("documents.* AND billing.read").expect_err("a wildcard");
    assert_eq!(
        refused.to_string(),
        "names what the request needs: a wildcard (.*) is for a key's permissions, never a \
         query (at character 11)"
    );
}

proptest::proptest! {
    /// The grant agrees with the obvious rule, written out another way: a
    /// wildcard `p.*` grants exactly the names longer than `p.` that begin
    /// with it.
    #[test]
    fn a_wildcard_grant_answers_the_queries_it_should_and_no_others(
        prefix in "[a-c]{1,2}(\\.[a-c]{1,2})?",
        needed in "[a-c]{1,2}(\\.[a-c]{0,2}){0,3}",
    ) {
        let grant = Permission::parse(&format!("{prefix}.*")).expect("a grant");
        let Ok(needed) = Permission::parse(&needed) else {
            return Ok(());
        };
        let under = format!("{prefix}.");
        let expected = needed.as_str().len() > under.len()
            && needed.as_str().get(..under.len()) == Some(under.as_str());
        proptest::prop_assert_eq!(grant.grants(&needed), expected);
        let held = Permissions::new([grant]).expect("one");
        proptest::prop_assert_eq!(PermissionQuery::Has(needed).allows(&held), expected);
    }
}
