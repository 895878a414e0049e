use std::net::IpAddr;

use proptest::prelude::*;

use super::*;

fn list(json: &str) -> Result<IpAllowlist, String> {
    serde_json::from_str(json).map_err(|error| error.to_string())
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().expect("an address"))
}

#[test]
fn entries_are_normalised_and_each_kept_once() {
    let parsed =
        list(r#"{"entries": ["10.1.2.3/8", "203.0.113.7", "10.0.0.0/8", " 2001:DB8::1/32 "]}"#)
            .expect("a list");
    let shown: Vec<String> = parsed.entries.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32"]);
    assert_eq!(parsed.mode, AllowlistMode::Enforce);
    for bad in [
        r#"{"entries": []}"#,
        r#"{"entries": ["10.0.0.0/33"]}"#,
        r#"{"entries": ["example.com"]}"#,
        r#"{"entries": ["10.0.0.1"], "mode": "warn"}"#,
    ] {
        assert!(list(bad).is_err(), "{bad}");
    }
    let many: Vec<String> = (0..101).map(|n| format!(r#""10.0.{n}.0/24""#)).collect();
    assert!(list(&format!(r#"{{"entries": [{}]}}"#, many.join(","))).is_err());
}

#[test]
fn membership_at_the_edges_v4_v6_and_mapped() {
    let all_v4 = list(r#"{"entries": ["0.0.0.0/0"]}"#).expect("a list");
    assert!(all_v4.allows(ip("255.255.255.255")));
    assert!(
        !all_v4.allows(ip("2001:db8::1")),
        "/0 of v4 is no v6 address"
    );
    let one = list(r#"{"entries": ["203.0.113.7/32", "2001:db8::1/128"]}"#).expect("a list");
    assert!(one.allows(ip("203.0.113.7")));
    assert!(!one.allows(ip("203.0.113.8")));
    assert!(one.allows(ip("2001:db8::1")));
    assert!(!one.allows(ip("2001:db8::2")));
    assert!(
        one.allows(ip("::ffff:203.0.113.7")),
        "a mapped address is its v4 self"
    );
    assert!(!one.allows(None), "no address is on no list");
    let range = list(r#"{"entries": ["198.51.100.0/24"], "mode": "report"}"#).expect("a list");
    assert!(range.allows(ip("198.51.100.255")));
    assert!(!range.allows(ip("198.51.101.0")));
    assert_eq!(
        IpAllowlist::check(Some(&range), ip("1.1.1.1")),
        AddressCheck::Reported
    );
    assert_eq!(IpAllowlist::check(Some(&one), None), AddressCheck::Refused);
    assert_eq!(IpAllowlist::check(None, None), AddressCheck::Allowed);
}

proptest! {
    /// Whatever is sent as an entry: an answer, never a panic.
    #[test]
    fn an_entry_never_panics(raw in "\\PC{0,60}") {
        let _ = AllowedNet::parse(&raw);
    }

    /// Membership is the library's: a v4 range holds an address exactly
    /// when their first `prefix` bits agree.
    #[test]
    fn membership_agrees_with_the_bits(net in any::<u32>(), prefix in 0u8..=32, address in any::<u32>()) {
        let entry = AllowedNet::parse(&format!("{}/{prefix}", std::net::Ipv4Addr::from(net))).expect("an entry");
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let inside = (net & mask) == (address & mask);
        prop_assert_eq!(entry.contains(IpAddr::V4(address.into())), inside);
    }
}
