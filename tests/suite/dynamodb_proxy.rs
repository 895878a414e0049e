//! A proxy in front of the DynamoDB test server, for the tests that must see
//! or change what a store or a function sends: each request is shown to a
//! hook (its `X-Amz-Target` and body), which may answer it itself (a
//! cancelled transaction, a throttle) or let it through.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// What a hook may answer in DynamoDB's place.
pub(crate) type Answer = hyper::Response<Full<Bytes>>;

/// What the proxy does with a request.
pub(crate) enum Decision {
    /// Sends it on and hands back DynamoDB's answer.
    Pass,
    /// Answers it in DynamoDB's place; DynamoDB never sees it.
    Answer(Answer),
    /// Sends it on (DynamoDB applies it), then answers this instead: an
    /// answer lost on the way back, as a timeout or a 500 loses it.
    PassThenAnswer(Answer),
}

/// Starts the proxy on a free port; its URL is the endpoint to give. The
/// hook answers a request itself (`Some`) or lets it through.
pub(crate) async fn start(
    hook: impl Fn(&str, &Bytes) -> Option<Answer> + Send + Sync + 'static,
) -> String {
    start_deciding(move |target, body| match hook(target, body) {
        Some(answer) => Decision::Answer(answer),
        None => Decision::Pass,
    })
    .await
}

/// The same, with every [`Decision`] open to the hook.
pub(crate) async fn start_deciding(
    hook: impl Fn(&str, &Bytes) -> Decision + Send + Sync + 'static,
) -> String {
    let upstream = std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT: run `bash tests/run.sh`, which starts the DynamoDB test server",
    );
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let hook = Arc::new(hook);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (hook, upstream) = (Arc::clone(&hook), upstream.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (hook, upstream) = (Arc::clone(&hook), upstream.clone());
                    async move { Ok::<_, Infallible>(relay(request, &*hook, &upstream).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

async fn relay(
    request: hyper::Request<hyper::body::Incoming>,
    hook: &(impl Fn(&str, &Bytes) -> Decision + ?Sized),
    upstream: &str,
) -> Answer {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.expect("a body").to_bytes();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let instead = match hook(&target, &body) {
        Decision::Answer(answer) => return answer,
        Decision::Pass => None,
        Decision::PassThenAnswer(answer) => Some(answer),
    };
    let stream = tokio::net::TcpStream::connect(upstream)
        .await
        .expect("the DynamoDB test server");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("a connection");
    tokio::spawn(connection);
    let answer = sender
        .send_request(hyper::Request::from_parts(parts, Full::new(body)))
        .await
        .expect("an answer");
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.expect("a body").to_bytes();
    instead.unwrap_or_else(|| hyper::Response::from_parts(parts, Full::new(body)))
}

/// DynamoDB's 400 answer of `kind` (`TransactionCanceledException`, …) with
/// `body`'s other members.
pub(crate) fn error(kind: &str, body: serde_json::Value) -> Answer {
    error_with_status(400, kind, body)
}

/// The same with another status (500: `InternalServerError`).
pub(crate) fn error_with_status(status: u16, kind: &str, mut body: serde_json::Value) -> Answer {
    body["__type"] = serde_json::json!(format!("com.amazonaws.dynamodb.v20120810#{kind}"));
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response")
}
