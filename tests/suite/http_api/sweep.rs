//! Expiry through the dev server: a key past `expires_at` reads and counts as
//! expired at once, and the sweep (on its timer, in-process) records it and,
//! after the retention, purges it. A key close to its expiry shows
//! `expires_soon`, and the dev server logs its notice.

use std::time::Duration;

use dev_server::JobOptions;
use domain::{Role, Timestamp};
use serde_json::json;

use super::helpers::{TestApp, captured_logs, on_both_stores};

async fn create_expiring(app: &TestApp, seconds: i64) -> String {
    let expires_at = Timestamp::now()
        .plus(time::Duration::seconds(seconds))
        .to_string();
    let body = json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id, "expires_at": expires_at});
    let created = app.post("/v1/api-keys", Role::Developer, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.json()["api_key"]["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

// The sweep runs at start, then once a minute.
on_both_stores!(a_key_past_its_expiry_reads_as_expired_before_the_sweep);

/// The sweep every 100 ms, ended keys kept one second.
fn fast_sweep() -> JobOptions {
    let mut jobs = JobOptions {
        sweep_every: Duration::from_millis(100),
        ..JobOptions::default()
    };
    jobs.sweep.retention = time::Duration::seconds(1);
    jobs
}

mod fast_sweep {
    use super::*;

    on_both_stores!(
        jobs = super::fast_sweep();
        the_sweep_runs_on_a_timer_in_the_dev_server,
        a_key_near_its_expiry_is_marked_and_its_notice_logged_once,
    );
}

async fn a_key_past_its_expiry_reads_as_expired_before_the_sweep(app: &TestApp) {
    let id = create_expiring(app, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let key = app
        .get(&format!("/v1/api-keys/{id}"), Role::Developer)
        .await
        .json();
    assert_eq!(key["status"], "expired");
    let expired = app
        .get("/v1/api-keys?status=expired", Role::Developer)
        .await
        .json();
    assert_eq!(expired["items"][0]["id"], id.as_str());
    let active = app
        .get("/v1/api-keys?status=active", Role::Developer)
        .await
        .json();
    assert_eq!(active["items"], json!([]));
    // Counted as expired too, though the sweep (next in a minute) has not run.
    assert_eq!(
        active["counts"],
        json!({"total": 1, "active": 0, "deleted": 0, "expired": 1, "disabled": 0})
    );
}

async fn the_sweep_runs_on_a_timer_in_the_dev_server(app: &TestApp) {
    // Three seconds: long enough to still be active when read back on a busy
    // machine (one second was not, under a parallel release build).
    let id = create_expiring(app, 3).await;
    let before = app.get("/v1/api-keys", Role::Developer).await.json();
    assert_eq!(before["counts"]["active"], 1);
    // Only the sweep removes a key: once it has recorded the expiry and the
    // (one-second) retention has passed, the key is purged.
    for _ in 0..200 {
        let counts = app.get("/v1/api-keys", Role::Developer).await.json()["counts"].clone();
        if counts["total"] == 0 {
            assert_eq!(
                counts,
                json!({"total": 0, "active": 0, "deleted": 0, "expired": 0, "disabled": 0})
            );
            let gone = app
                .get(&format!("/v1/api-keys/{id}"), Role::Developer)
                .await;
            assert_eq!(gone.status, 404);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the sweep never expired and purged the key");
}

async fn a_key_near_its_expiry_is_marked_and_its_notice_logged_once(app: &TestApp) {
    let day = 24 * 60 * 60;
    let soon = create_expiring(app, 3 * day).await;
    let later = create_expiring(app, 30 * day).await;
    let expires_soon = |key: &serde_json::Value| (key["id"].clone(), key["expires_soon"].clone());

    let listed = app.get("/v1/api-keys", Role::Developer).await.json();
    let marks: Vec<_> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(expires_soon)
        .collect();
    assert_eq!(
        marks,
        vec![(json!(later), json!(false)), (json!(soon), json!(true))],
        "within the default 7 days, newest first"
    );
    let one = app
        .get(&format!("/v1/api-keys/{soon}"), Role::Developer)
        .await
        .json();
    assert_eq!(one["expires_soon"], true);

    // The notice goes to the log (ids only), once, however often the sweep runs.
    let notice = format!("api_key_id=\"{soon}\"");
    for _ in 0..100 {
        if captured_logs().contains(&notice) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // several more sweeps
    let logs = captured_logs();
    let told: Vec<_> = logs
        .lines()
        .filter(|line| line.contains("API key expires soon"))
        .collect();
    assert_eq!(
        told.iter().filter(|line| line.contains(&notice)).count(),
        1,
        "one notice for the key: {told:?}"
    );
    assert!(
        !told.iter().any(|line| line.contains(&later)),
        "no notice for a key 30 days out"
    );
}
