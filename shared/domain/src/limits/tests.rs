#[test]
fn a_whole_number_may_be_written_with_a_point_zero() {
    let credits: Credits =
        serde_json::from_str(r#"{"remaining": 115.0, "refill": {"amount": 1e2, "every": "day"}}"#)
            .expect("whole numbers");
    assert_eq!(credits.remaining.get(), 115);
    assert_eq!(credits.refill.map(|r| r.amount.get()), Some(100));
    for bad in ["115.5", "-1", "1e300", "-0.5", "\"5\""] {
        let refused = serde_json::from_str::<CreditBalance>(bad);
        assert!(refused.is_err(), "{bad}: {refused:?}");
    }
    assert_eq!(
        serde_json::from_str::<Cost>("0.0").map(Cost::get).ok(),
        Some(0)
    );
}

#[test]
fn a_limits_change_says_from_what_to_what() {
    let limits: KeyLimits = serde_json::from_str(
        r#"{"rate": {"requests": 10, "per_seconds": 60}, "credits": {"remaining": 500, "refill": {"amount": 100, "every": "day"}}}"#,
    )
    .expect("limits");
    let credits: KeyLimits =
        serde_json::from_str(r#"{"credits": {"remaining": 5}}"#).expect("limits");
    assert_eq!(
        limits.to_string(),
        "10 requests per 60 s, 500 credits (refilled to 100 each day)"
    );
    assert_eq!(
        KeyLimits::change_detail(None, Some(credits)),
        "limits set to 5 credits; counters started"
    );
    assert_eq!(
        KeyLimits::change_detail(Some(credits), Some(limits)),
        "limits changed from 5 credits to 10 requests per 60 s, 500 credits (refilled to 100 \
         each day); counters restarted"
    );
    assert_eq!(
        KeyLimits::change_detail(Some(credits), Some(credits)),
        "limits set again to 5 credits; counters restarted"
    );
    assert_eq!(
        KeyLimits::change_detail(Some(credits), None),
        "limits removed (were 5 credits)"
    );
}
use super::*;

fn at(raw: &str) -> Timestamp {
    Timestamp::parse(raw).expect("valid")
}

fn limits(json: &str) -> KeyLimits {
    serde_json::from_str(json).expect("valid limits")
}

fn cost(n: u64) -> Cost {
    Cost::try_from(n).expect("in range")
}

use proptest::prop_assert_eq;

proptest::proptest! {
    /// Any limits text parses or is refused; any counters, cost and
    /// clock charge or refuse: never a panic, never an overspend.
    #[test]
    fn limits_and_charges_never_panic(
        text in ".{0,200}",
        left in proptest::prelude::any::<u64>(),
        resets_at in proptest::prelude::any::<i64>(),
        refill_at in proptest::prelude::any::<i64>(),
        price in 0u64..=1000,
        now in -100_000_000_000i64..=300_000_000_000,
    ) {
        let _ = serde_json::from_str::<KeyLimits>(&text);
        let limits = limits(r#"{"rate":{"requests":5,"per_seconds":86400},"credits":{"remaining":1,"refill":{"amount":7,"every":"month"}}}"#);
        let balance = Balance {
            rev: 0,
            series: 0,
            rate: Some(RateWindow { limit: limits.rate.expect("a rate"), left, resets_at }),
            credits: Some(CreditsLeft { left, refill: limits.credits.and_then(|c| c.refill), refill_at: Some(refill_at) }),
        };
        let now = Timestamp::from_unix_seconds(now);
        let before = balance.at(now);
        if let Ok(after) = balance.charge(cost(price), now) {
            let spent = |u: &Balance| u.credits.map(|c| c.left);
            prop_assert_eq!(spent(&after).zip(spent(&before)).map(|(a, b)| b - a), Some(price));
        }
        let _ = balance.standing(now, Some(LimitHit::Rate));
    }
}

#[test]
fn bounds_are_enforced_when_parsed() {
    assert!(
        serde_json::from_str::<KeyLimits>(r#"{"rate":{"requests":0,"per_seconds":1}}"#).is_err()
    );
    assert!(
        serde_json::from_str::<KeyLimits>(r#"{"rate":{"requests":1,"per_seconds":86401}}"#)
            .is_err()
    );
    assert!(serde_json::from_str::<KeyLimits>(r#"{"credits":{"remaining":-1}}"#).is_err());
    assert!(
        serde_json::from_str::<KeyLimits>(
            r#"{"credits":{"remaining":5,"refill":{"amount":5,"every":"week"}}}"#
        )
        .is_err()
    );
    assert!(serde_json::from_str::<KeyLimits>(r#"{"credits":{"remaining":5},"extra":1}"#).is_err());
    assert_eq!(limits("{}").or_none(), None);
    assert!(Cost::try_from(1001).is_err());
}

#[test]
fn credits_are_spent_and_then_refused() {
    let now = at("2026-11-29T10:00:00Z");
    let mut balance = Balance::new(&limits(r#"{"credits":{"remaining":3}}"#), now, 0);
    for _ in 0..3 {
        balance = balance.charge(cost(1), now).expect("credits left");
    }
    assert_eq!(balance.charge(cost(1), now), Err(LimitHit::Credits));
    assert_eq!(
        balance.charge(cost(0), now),
        Err(LimitHit::Credits),
        "a peek at nothing left"
    );
    let standing = balance.standing(now, Some(LimitHit::Credits));
    assert_eq!((standing.remaining, standing.reset_at), (0, None));
}

#[test]
fn a_peek_spends_nothing() {
    let now = at("2026-11-29T10:00:00Z");
    let balance = Balance::new(&limits(r#"{"credits":{"remaining":2}}"#), now, 0);
    let peeked = balance.charge(cost(0), now).expect("passes");
    assert_eq!(peeked.credits.map(|c| c.left), Some(2));
}

#[test]
fn a_rate_window_starts_at_first_use_and_resets_after() {
    let now = at("2026-11-29T10:00:00Z");
    let balance = Balance::new(
        &limits(r#"{"rate":{"requests":2,"per_seconds":10}}"#),
        now,
        0,
    );
    let first = balance.charge(cost(1), now).expect("first");
    assert_eq!(
        first.rate.map(|r| r.resets_at),
        Some(now.unix_seconds() + 10)
    );
    let second = first.charge(cost(1), now).expect("second");
    assert_eq!(second.charge(cost(1), now), Err(LimitHit::Rate));
    let standing = second.standing(now, Some(LimitHit::Rate));
    assert_eq!(
        standing.reset_at,
        Some(now.plus(time::Duration::seconds(10)))
    );
    let later = now.plus(time::Duration::seconds(10));
    assert!(second.rolls_over(later));
    assert!(second.charge(cost(2), later).is_ok());
    assert_eq!(second.charge(cost(3), later), Err(LimitHit::Rate));
}

#[test]
fn credits_refill_once_per_period_to_the_amount() {
    let created = at("2026-11-29T10:00:00Z");
    let balance = Balance::new(
        &limits(r#"{"credits":{"remaining":1,"refill":{"amount":5,"every":"day"}}}"#),
        created,
        0,
    );
    let spent = balance.charge(cost(1), created).expect("one credit");
    assert_eq!(spent.charge(cost(1), created), Err(LimitHit::Credits));
    let standing = spent.standing(created, Some(LimitHit::Credits));
    assert_eq!(standing.reset_at, Some(at("2026-11-30T00:00:00Z")));
    // Two days later: one refill, not two.
    let later = at("2026-12-01T08:00:00Z");
    let refilled = spent.charge(cost(1), later).expect("refilled");
    assert_eq!(refilled.credits.map(|c| c.left), Some(4));
    assert_eq!(
        refilled.credits.and_then(|c| c.refill_at),
        Some(at("2026-12-02T00:00:00Z").unix_seconds())
    );
    assert!(!refilled.rolls_over(later));
}

#[test]
fn a_monthly_refill_comes_on_the_first() {
    assert_eq!(
        RefillEvery::Month.next_after(at("2026-12-15T10:00:00Z")),
        at("2027-01-01T00:00:00Z")
    );
    assert_eq!(
        RefillEvery::Month.next_after(at("2026-11-01T00:00:00Z")),
        at("2026-12-01T00:00:00Z")
    );
}

#[test]
fn both_limits_must_pass_and_the_tighter_one_is_reported() {
    let now = at("2026-11-29T10:00:00Z");
    let balance = Balance::new(
        &limits(r#"{"rate":{"requests":10,"per_seconds":60},"credits":{"remaining":3}}"#),
        now,
        0,
    );
    let charged = balance.charge(cost(2), now).expect("passes");
    let standing = charged.standing(now, None);
    assert_eq!((standing.remaining, standing.reset_at), (1, None));
    assert_eq!(charged.charge(cost(2), now), Err(LimitHit::Credits));
    assert_eq!(charged.credits.map(|c| c.left), Some(1), "nothing spent");
}
