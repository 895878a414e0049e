//! The notifications topic through the real SNS client: a local stand-in for
//! SNS records what the SDK sends (the Query protocol's form body) and answers
//! as SNS does, so the test sees the exact Publish request a topic would get.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use aws_sdk_sns::config::{BehaviorVersion, Credentials, Region};
use bytes::Bytes;
use domain::Timestamp;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jobs::{Deadline, SweepError};
use notify::{ExpiryNotice, Notifier, SnsNotifier};
use serde_json::{Value, json};

use crate::cleanup::{create_key_ending, notice_policy};
use crate::store_contract::fixtures::catalog;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:api-keys-notifications";

pub(crate) type Requests = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// Serves SNS's Publish answer (or, `refusing`, its permission error) on a
/// free port, recording each request's form fields.
pub(crate) async fn sns_stand_in(refusing: bool) -> (String, Requests) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let requests = Requests::default();
    let recorded = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let recorded = Arc::clone(&recorded);
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let recorded = Arc::clone(&recorded);
                    async move {
                        let body = request.into_body().collect().await.expect("a body");
                        let fields = form_urlencoded::parse(&body.to_bytes())
                            .into_owned()
                            .collect();
                        recorded.lock().expect("not poisoned").push(fields);
                        Ok::<_, Infallible>(answer(refusing))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, requests)
}

fn answer(refusing: bool) -> hyper::Response<Full<Bytes>> {
    let (status, body) = if refusing {
        (
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>\
             <Message>not authorized to perform SNS:Publish</Message></Error>\
             <RequestId>r-1</RequestId></ErrorResponse>",
        )
    } else {
        (
            200,
            "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult>\
             <MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1\
             </RequestId></ResponseMetadata></PublishResponse>",
        )
    };
    hyper::Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .expect("a response")
}

fn notifier(url: &str) -> SnsNotifier {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
        .build();
    SnsNotifier::new(aws_sdk_sns::Client::from_conf(config), TOPIC.to_owned())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The message attributes of a Publish request, by name.
fn attributes(fields: &[(String, String)]) -> Vec<(String, String)> {
    (1..)
        .map_while(|n| {
            let entry = format!("MessageAttributes.entry.{n}");
            let name = field(fields, &format!("{entry}.Name"))?;
            let value = field(fields, &format!("{entry}.Value.StringValue"))?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_publishes_an_expiry_notice_to_the_topic() {
    let (url, requests) = sns_stand_in(false).await;
    let (store, _dir) = crate::store_contract::backends::embedded();
    let c = catalog(&store).await;
    let now = Timestamp::now();
    let key = create_key_ending(&store, &c, now, 2).await;

    let report = jobs::sweep(
        &store,
        &notifier(&url),
        now,
        notice_policy(),
        Deadline::NONE,
    )
    .await
    .expect("swept");
    assert_eq!(report.noticed, 1);

    let requests = requests.lock().expect("not poisoned").clone();
    assert_eq!(requests.len(), 1, "one Publish");
    let publish = &requests[0];
    assert_eq!(field(publish, "Action"), Some("Publish"));
    assert_eq!(field(publish, "TopicArn"), Some(TOPIC));
    assert_eq!(field(publish, "Subject"), Some("API key expires soon"));
    let message: Value =
        serde_json::from_str(field(publish, "Message").expect("a message")).expect("JSON");
    assert_eq!(
        message,
        json!({
            "event": ExpiryNotice::EVENT,
            "tenant_id": c.tenant.as_str(),
            "api_key_id": key.id.as_str(),
            "api_key_name": key.name.as_str(),
            "application_id": c.application.id.as_str(),
            "application_name": c.application.name.as_str(),
            "arx_id": c.arx.id.as_str(),
            "arx_name": c.arx.name.as_str(),
            "expires_at": key.expires_at.expect("set").at().to_string(),
        })
    );
    let mut attributes = attributes(publish);
    attributes.sort();
    assert_eq!(
        attributes,
        vec![
            ("event".to_owned(), ExpiryNotice::EVENT.to_owned()),
            ("tenant_id".to_owned(), c.tenant.to_string()),
        ],
        "a subscription can filter by tenant"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_that_refuses_the_publish_fails_the_sweep_and_keeps_the_notice_owed() {
    let (url, _requests) = sns_stand_in(true).await;
    let (store, _dir) = crate::store_contract::backends::embedded();
    let c = catalog(&store).await;
    let now = Timestamp::now();
    let key = create_key_ending(&store, &c, now, 2).await;
    let notice = ExpiryNotice::of(&key).expect("an expiry");
    assert!(
        notifier(&url).expiry_notice(&notice).await.is_err(),
        "a 403 from SNS is an error"
    );

    let refused = jobs::sweep(
        &store,
        &notifier(&url),
        now,
        notice_policy(),
        Deadline::NONE,
    )
    .await;
    assert!(matches!(refused, Err(SweepError::Notice(_))), "{refused:?}");
    let stored = store::ApiKeyRead::get_api_key(&store, &c.tenant, &key.id)
        .await
        .expect("read")
        .expect("present");
    assert!(stored.awaits_expiry_notice(), "the next sweep tries again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_notice_is_published_with_its_event_and_tenant() {
    use notify::{LeakNotice, Notifier};
    let (url, requests) = sns_stand_in(false).await;
    let (store, _dir) = crate::store_contract::backends::embedded();
    let c = catalog(&store).await;
    let now = Timestamp::now();
    let key = create_key_ending(&store, &c, now, 30).await;
    let found_at = "https://github.com/octo/demo/blob/0a1b2c/.env (content)";
    notifier(&url)
        .leak_notice(&LeakNotice::of(&key, found_at, now))
        .await
        .expect("published");

    let requests = requests.lock().expect("not poisoned").clone();
    assert_eq!(requests.len(), 1, "one Publish");
    let publish = &requests[0];
    assert_eq!(field(publish, "TopicArn"), Some(TOPIC));
    assert_eq!(
        field(publish, "Subject"),
        Some("API key leaked and disabled")
    );
    let message: Value =
        serde_json::from_str(field(publish, "Message").expect("a message")).expect("JSON");
    assert_eq!(message["event"], "api_key.leaked");
    assert_eq!(message["api_key_id"], key.id.as_str());
    assert_eq!(message["found_at"], found_at);
    // The SDK sends the attributes in no fixed order.
    let mut attributes = attributes(publish);
    attributes.sort();
    assert_eq!(
        attributes,
        [
            ("event".to_owned(), "api_key.leaked".to_owned()),
            ("tenant_id".to_owned(), key.tenant_id.to_string()),
        ]
    );
}
