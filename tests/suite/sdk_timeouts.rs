//! Every AWS SDK client a function makes waits a bounded time: one hung
//! request (a connection that never answers) must not stall a function, or
//! the usage counting that waits on it, for good. Neither client set a
//! timeout before.

use std::time::{Duration, Instant};

use environment::aws::{AwsAccess, SdkTimeouts};

fn access() -> AwsAccess {
    AwsAccess::from_env(&environment::of_pairs(&[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ]))
    .expect("the variables Lambda sets")
}

#[test]
fn the_functions_clients_carry_timeouts() {
    let store = store::DynamoStore::on_aws(&access(), "table", None);
    let timeouts = store
        .client()
        .config()
        .timeout_config()
        .expect("DynamoDB's client has timeouts");
    assert_eq!(timeouts.connect_timeout(), Some(SdkTimeouts::AWS.connect));
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(SdkTimeouts::AWS.attempt)
    );
    assert_eq!(
        timeouts.operation_timeout(),
        Some(SdkTimeouts::AWS.operation)
    );
    let sns = notify::sns_client(&access(), &environment::of_pairs(&[]));
    let timeouts = sns
        .config()
        .timeout_config()
        .expect("SNS's client has timeouts");
    assert_eq!(
        timeouts.operation_timeout(),
        Some(SdkTimeouts::AWS.operation)
    );
}

/// A server that accepts connections and never answers: the call gives up
/// within its operation timeout instead of waiting for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_dynamodb_is_given_up_on_within_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let timeouts = SdkTimeouts {
        connect: Duration::from_millis(500),
        attempt: Duration::from_millis(300),
        operation: Duration::from_secs(1),
    };
    let store = store::DynamoStore::local_with(&url, "hung", timeouts);
    let started = Instant::now();
    let answered = tokio::time::timeout(Duration::from_secs(10), store.create_table_if_missing())
        .await
        .expect("the call gave up by itself");
    assert!(answered.is_err(), "nothing answered, so the call failed");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
