//! The plan a charge follows, without a store.

use domain::KeyLimits;

use super::*;

fn balance(credits: u64) -> Balance {
    let limits: KeyLimits =
        serde_json::from_str(&format!(r#"{{"credits":{{"remaining":{credits}}}}}"#))
            .expect("limits");
    Balance::new(&limits, Timestamp::from_unix_seconds(0), 7)
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_unix_seconds(second)
}

#[test]
fn a_key_charged_rarely_is_charged_one_write_at_a_time() {
    let leases = Leases::new(LeaseSettings::DEFAULT);
    leases.lock().entry("k".into()).or_default();
    leases.saw("k", &balance(1_000_000), at(10));
    for second in 10..20 {
        assert!(matches!(
            leases.plan("k", 1, (false, true), at(second)),
            Plan::Charge { stale: None, .. }
        ));
    }
}

#[test]
fn a_hot_key_takes_a_lease_spends_it_and_gives_back_the_rest_when_it_ends() {
    let leases = Leases::new(LeaseSettings::DEFAULT);
    for _ in 0..HOT_CHARGES_PER_SECOND - 1 {
        assert!(matches!(
            leases.plan("k", 1, (false, true), at(10)),
            Plan::Charge { .. }
        ));
        leases.saw("k", &balance(1_000_000), at(10));
    }
    let Plan::Take { units, taking, .. } = leases.plan("k", 1, (false, true), at(10)) else {
        panic!("a hot key takes a lease");
    };
    assert_eq!(units, HOT_CHARGES_PER_SECOND);
    // Another request meanwhile does not take a second one.
    assert!(matches!(
        leases.plan("k", 1, (false, true), at(10)),
        Plan::Charge { .. }
    ));
    let taken = balance(1_000_000 - units);
    let seen = taking.hold(units, 1, taken, at(10));
    assert_eq!(seen.least_left(at(10)), Some(1_000_000 - 1));
    let Plan::Spent(seen, _) = leases.plan("k", 2, (false, true), at(11)) else {
        panic!("spent from the lease");
    };
    assert_eq!(seen.least_left(at(11)), Some(1_000_000 - 3));
    assert!(leases.due(false, at(12)).is_empty(), "not expired yet");
    let due = leases.due(false, at(15));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].1.units, units - 3);
    assert!(leases.due(true, at(16)).is_empty(), "given back once");
}

#[test]
fn near_the_end_of_a_balance_no_lease_is_taken() {
    let leases = Leases::new(LeaseSettings::DEFAULT);
    for _ in 0..100 {
        leases.saw("k", &balance(MIN_LEFT_TO_LEASE - 1), at(10));
        assert!(matches!(
            leases.plan("k", 1, (false, true), at(10)),
            Plan::Charge { .. }
        ));
    }
}

#[test]
fn leases_off_takes_none() {
    let leases = Leases::new(LeaseSettings::OFF);
    for _ in 0..100 {
        leases.saw("k", &balance(1_000_000), at(10));
        assert!(matches!(
            leases.plan("k", 1, (false, true), at(10)),
            Plan::Charge { stale: None, .. }
        ));
    }
}
