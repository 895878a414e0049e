//! Two changes of one key at once, over HTTP, on both stores: rotation,
//! suspension (disable, enable), a leak report's disable and a change of
//! limits, each pair raced many times. Each change is written only over the
//! revision it was decided on, so of two at once neither undoes the other:
//! the one that lands second is decided again on what the first left.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, on_both_stores};
use super::leak_reports::{report, signed};
use super::verify::{code, verify};

on_both_stores!(
    rotation_and_suspension_never_undo_each_other,
    a_change_of_limits_is_never_lost_beside_a_rotation,
    a_change_of_limits_is_never_lost_beside_a_suspension,
    a_leak_report_and_a_rotation_or_limits_both_hold,
);

/// How many times each pair is raced per store.
const TRIALS: usize = 12;

async fn a_key(app: &TestApp) -> (String, String) {
    let created = app.create_key(Role::Developer).await;
    (
        created["api_key"]["id"].as_str().expect("an id").to_owned(),
        created["access_key"].as_str().expect("a key").to_owned(),
    )
}

async fn stored(app: &TestApp, id: &str) -> Value {
    let key = app
        .get(&format!("/v1/api-keys/{id}"), Role::PlatformOwner)
        .await;
    assert_eq!(key.status, 200, "{}", key.text);
    key.json()
}

async fn rotate(app: &TestApp, id: &str) -> super::helpers::TestResponse {
    app.post(
        &format!("/v1/api-keys/{id}/rotate"),
        Role::Developer,
        &json!({"grace_seconds": 600}),
    )
    .await
}

async fn set_limits(app: &TestApp, id: &str, credits: u64) -> super::helpers::TestResponse {
    let body = json!({"limits": {"credits": {"remaining": credits}}}).to_string();
    app.call(
        "PATCH",
        &format!("/v1/api-keys/{id}"),
        Some(&app.token(Role::PlatformOwner)),
        Some(&body),
    )
    .await
}

/// Verifies `key` `n` times, one after another: how many were `VALID`.
async fn valid_of(app: &TestApp, key: &str, n: usize) -> usize {
    let token = app.token(Role::Verifier);
    let mut valid = 0;
    for _ in 0..n {
        if code(&verify(app, &token, key).await) == "VALID" {
            valid += 1;
        }
    }
    valid
}

/// A rotation beside a disable (and, on a disabled key, an enable): both
/// land. The old key keeps `rotated_to` and its grace period's end (so it
/// stops at the end), and has the status the suspension gave it.
async fn rotation_and_suspension_never_undo_each_other(app: &TestApp) {
    for trial in 0..TRIALS {
        let (id, key) = a_key(app).await;
        let suspended = trial % 2 == 1;
        if suspended {
            let disabled = app.key_action(&id, "disable", Role::PlatformAdmin).await;
            assert_eq!(disabled.status, 200, "{}", disabled.text);
        }
        let action = if suspended { "enable" } else { "disable" };
        let (rotated, changed) = tokio::join!(
            rotate(app, &id),
            app.key_action(&id, action, Role::PlatformAdmin)
        );
        assert_eq!(rotated.status, 201, "trial {trial}: {}", rotated.text);
        assert_eq!(changed.status, 200, "trial {trial}: {}", changed.text);
        let old = stored(app, &id).await;
        assert_eq!(
            old["rotated_to"],
            rotated.json()["api_key"]["id"],
            "trial {trial}: the rotation stays: {old}"
        );
        assert!(old["expires_at"].is_string(), "trial {trial}: {old}");
        let status = if suspended { "active" } else { "disabled" };
        assert_eq!(old["status"], status, "trial {trial}: the {action} stays");
        let token = app.token(Role::Verifier);
        let verdict = code(&verify(app, &token, &key).await).to_owned();
        let expected = if suspended { "VALID" } else { "DISABLED" };
        assert_eq!(verdict, expected, "trial {trial}");
    }
}

/// A change of limits beside a rotation: either it landed first (and the
/// rotation, decided again, carried it to the new key) or it found the key
/// rotated and was refused, saying so. A 200 is never lost: the chain is
/// then limited to exactly the credits it set.
async fn a_change_of_limits_is_never_lost_beside_a_rotation(app: &TestApp) {
    let (mut applied, mut refused) = (0, 0);
    for trial in 0..TRIALS {
        let (id, old_key) = a_key(app).await;
        let (changed, rotated) = tokio::join!(set_limits(app, &id, 3), rotate(app, &id));
        assert_eq!(rotated.status, 201, "trial {trial}: {}", rotated.text);
        let rotated = rotated.json();
        let new_key = rotated["access_key"].as_str().expect("a key");
        match changed.status {
            200 => {
                applied += 1;
                assert_eq!(
                    rotated["api_key"]["limits"],
                    json!({"credits": {"remaining": 3}}),
                    "trial {trial}: the rotation carried the limits"
                );
                let valid = valid_of(app, &old_key, 2).await + valid_of(app, new_key, 3).await;
                assert_eq!(valid, 3, "trial {trial}: one balance of 3 for the chain");
            }
            409 => {
                refused += 1;
                assert_eq!(changed.json()["code"], "already_rotated", "trial {trial}");
                assert_eq!(valid_of(app, new_key, 4).await, 4, "trial {trial}");
            }
            other => panic!("trial {trial}: {other} {}", changed.text),
        }
    }
    eprintln!("limits beside a rotation: {applied} applied first, {refused} found it rotated");
}

/// A change of limits beside a disable or an enable: both land, and the key
/// is charged the new limits once it works again.
async fn a_change_of_limits_is_never_lost_beside_a_suspension(app: &TestApp) {
    for trial in 0..TRIALS {
        let (id, key) = a_key(app).await;
        let suspended = trial % 2 == 1;
        if suspended {
            let disabled = app.key_action(&id, "disable", Role::PlatformAdmin).await;
            assert_eq!(disabled.status, 200, "{}", disabled.text);
        }
        let action = if suspended { "enable" } else { "disable" };
        let (changed, suspension) = tokio::join!(
            set_limits(app, &id, 2),
            app.key_action(&id, action, Role::PlatformAdmin)
        );
        assert_eq!(changed.status, 200, "trial {trial}: {}", changed.text);
        assert_eq!(suspension.status, 200, "trial {trial}: {}", suspension.text);
        let stored = stored(app, &id).await;
        assert_eq!(
            stored["limits"],
            json!({"credits": {"remaining": 2}}),
            "trial {trial}: the limits stay: {stored}"
        );
        if !suspended {
            let enabled = app.key_action(&id, "enable", Role::PlatformAdmin).await;
            assert_eq!(enabled.status, 200, "{}", enabled.text);
        }
        assert_eq!(valid_of(app, &key, 4).await, 2, "trial {trial}: charged");
    }
}

/// A signed leak report beside a rotation, or beside a change of limits:
/// the key ends disabled as leaked, and keeps the other change too.
async fn a_leak_report_and_a_rotation_or_limits_both_hold(app: &TestApp) {
    for trial in 0..TRIALS {
        let (id, key) = a_key(app).await;
        let body = report(&[&key]);
        let (leaked, other) = if trial % 2 == 0 {
            tokio::join!(signed(app, &body), rotate(app, &id))
        } else {
            tokio::join!(signed(app, &body), set_limits(app, &id, 2))
        };
        assert_eq!(leaked.status, 200, "trial {trial}: {}", leaked.text);
        assert_eq!(leaked.json()[0]["label"], "true_positive", "trial {trial}");
        assert!(
            matches!(other.status, 200 | 201),
            "trial {trial}: {}",
            other.text
        );
        let stored = stored(app, &id).await;
        assert_eq!(stored["status"], "disabled", "trial {trial}: {stored}");
        assert_eq!(
            stored["disabled_reason"], "leaked",
            "trial {trial}: {stored}"
        );
        if trial % 2 == 0 {
            assert_eq!(
                stored["rotated_to"],
                other.json()["api_key"]["id"],
                "trial {trial}: the rotation stays"
            );
        } else {
            assert_eq!(
                stored["limits"],
                json!({"credits": {"remaining": 2}}),
                "trial {trial}: the limits stay"
            );
        }
        let token = app.token(Role::Verifier);
        assert_eq!(code(&verify(app, &token, &key).await), "DISABLED");
    }
}
