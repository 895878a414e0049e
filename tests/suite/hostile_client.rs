//! A hostile client against a real dev server process (fresh data folder):
//! input that used to panic, tokens that try to forge log lines, idle and slow
//! connections, claimed oversized bodies, argon2 storms, names that lie,
//! bodies of another type, too many connections and too few file descriptors.
//! After each attack the server must still be alive, serving others, within
//! memory and log bounds.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::dev_server_process::{DevServer, SECRET, read_until_closed};

fn body_field(text: &str) -> Value {
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hostile_client_cannot_take_the_server_down() {
    let mut server = DevServer::start(&["--max-connections", "400"], None);
    let owner = server.var("OWNER_TOKEN").to_owned();
    let developer = server.var("DEVELOPER_TOKEN").to_owned();
    let (app_id, arx_id) = (
        server.var("APP_ID").to_owned(),
        server.var("ARX_ID").to_owned(),
    );
    server.assert_serving().await;

    // 1. Input that used to panic, with `panic = "abort"` ending the process.
    let (status, text) = server
        .request(
            "GET",
            "/v1/api-keys?cursor=c1.a%C3%A9a",
            &developer,
            "application/json",
            "",
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(body_field(&text)["field"], "cursor");
    let create = json!({"application_id": app_id, "arx_id": arx_id,
                        "expires_at": "9999-12-31T23:59:59-23:59"});
    let (status, text) = server
        .request(
            "POST",
            "/v1/api-keys",
            &developer,
            "application/json",
            &create.to_string(),
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(body_field(&text)["field"], "expires_at");
    server.assert_serving().await;

    // 2. Names that lie, and bodies that are not JSON.
    for (path, body) in [
        (
            "/v1/applications",
            json!({"name": "pay\u{202E}stnemyap", "technology": "server"}),
        ),
        (
            "/v1/api-keys",
            json!({"application_id": app_id, "arx_id": arx_id, "name": "admin\u{200B}"}),
        ),
    ] {
        let (status, text) = server
            .request("POST", path, &owner, "application/json", &body.to_string())
            .await;
        assert_eq!(status, 400, "{text}");
        assert_eq!(body_field(&text)["field"], "name");
    }
    let (status, text) = server
        .request(
            "POST",
            "/v1/feedback",
            &owner,
            "text/plain",
            r#"{"message": "hi"}"#,
        )
        .await;
    assert_eq!(status, 415, "{text}");
    let lowered = text.to_ascii_lowercase();
    assert!(
        lowered.contains("x-content-type-options: nosniff"),
        "{text}"
    );
    assert!(lowered.contains("cache-control: no-store"), "{text}");

    // 3. Tokens: a forged log line in the header, a duplicate role claim, a
    //    token valid for a month. Each refused; none reaches the log.
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let forged = "HS256\n2026-01-01T00:00:00Z  INFO FORGED owner signed in \u{1b}[2J";
    let header = b64(&json!({"alg": forged, "typ": "JWT"}).to_string());
    let (status, _) = server
        .request(
            "GET",
            "/v1/arx",
            &format!("{header}.e30.sig"),
            "application/json",
            "",
        )
        .await;
    assert_eq!(status, 401);
    let now = jsonwebtoken::get_current_timestamp();
    let duplicate = format!(
        r#"{{"iss":"api-keys-manager-dev","aud":"api-keys-manager","sub":"mallory","iat":{now},"exp":{},"custom:tenant_id":"demo","custom:role":"developer","custom:role":"platform_owner"}}"#,
        now + 600
    );
    let signed = |claims: &str| {
        let message = format!("{}.{}", b64(r#"{"alg":"HS256","typ":"JWT"}"#), b64(claims));
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                .expect("signed");
        format!("{message}.{signature}")
    };
    let (status, text) = server
        .request(
            "POST",
            "/v1/applications",
            &signed(&duplicate),
            "application/json",
            r#"{"name": "sneaky", "technology": "server"}"#,
        )
        .await;
    assert_eq!(
        status, 401,
        "a duplicate role claim must not read last-wins: {text}"
    );
    let month = json!({"iss": "api-keys-manager-dev", "aud": "api-keys-manager", "sub": "u",
        "iat": now, "exp": now + 30 * 86_400, "custom:tenant_id": "demo", "custom:role": "developer"});
    let (status, _) = server
        .request(
            "GET",
            "/v1/arx",
            &signed(&month.to_string()),
            "application/json",
            "",
        )
        .await;
    assert_eq!(status, 401, "a month-long token is refused");
    let hour = json!({"iss": "api-keys-manager-dev", "aud": "api-keys-manager", "sub": "u",
        "iat": now, "exp": now + 3600, "custom:tenant_id": "demo", "custom:role": "developer"});
    let (status, _) = server
        .request(
            "GET",
            "/v1/arx",
            &signed(&hour.to_string()),
            "application/json",
            "",
        )
        .await;
    assert_eq!(status, 200, "the signing in this test is right");

    // 4. A claimed oversized body: 413 at once, not after the body timeout.
    let started = Instant::now();
    let (status, _) = server
        .send(
            format!(
                "POST /v1/feedback HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {developer}\r\n\
                 content-type: application/json\r\ncontent-length: 100000000\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(status, 413);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "413 took {:?}",
        started.elapsed()
    );

    // 5. Idle and slow clients: 150 silent connections and 150 that dribble
    //    header bytes. The header timeout (2 s here) closes every one, and
    //    others are served meanwhile.
    let rss_before = server.memory_kb("VmRSS");
    let mut idle = Vec::new();
    for i in 0..300 {
        let mut stream = TcpStream::connect(&server.addr).await.expect("connected");
        if i % 2 == 1 {
            stream
                .write_all(
                    format!("GET /v1/arx HTTP/1.1\r\nx-pad: {}", "a".repeat(8000)).as_bytes(),
                )
                .await
                .expect("partial headers");
        }
        idle.push(stream);
    }
    server.assert_serving().await;
    let rss_during = server.memory_kb("VmRSS");
    assert!(
        rss_during.saturating_sub(rss_before) < 64 * 1024,
        "300 slow clients took {} kB",
        rss_during - rss_before
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    for stream in &mut idle {
        let mut buffer = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await;
        // Closed (0 bytes) or answered with a timeout status and then closed.
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => {}
            Ok(Ok(_)) => {
                let mut rest = Vec::new();
                let more =
                    tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut rest));
                assert!(more.await.is_ok(), "a slow connection was left open");
            }
            Err(_) => panic!("an idle connection is still open after the header timeout"),
        }
    }
    drop(idle);
    server.assert_serving().await;

    // 6. More connections than the cap (400 here): 600 idle and 50 sending
    //    their headers a byte at a time. A newcomer is still served, within a
    //    second: the connections idle the longest are closed to make room.
    let mut held = Vec::new();
    for _ in 0..600 {
        held.push(TcpStream::connect(&server.addr).await.expect("connected"));
    }
    for _ in 0..50 {
        let mut slow = TcpStream::connect(&server.addr).await.expect("connected");
        slow.write_all(b"GET /v1/arx HTTP/1.1\r\nx-pad: a")
            .await
            .expect("a partial head");
        held.push(slow);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served = tokio::time::timeout(
        Duration::from_secs(1),
        server.send(b"GET /v1/arx HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"),
    )
    .await
    .expect("a newcomer is served within a second");
    assert_eq!(
        served.0, 401,
        "served (and refused only for its missing token)"
    );
    drop(held);
    //    Only when every connection is in a request (here 400 requests whose
    //    bodies never come) is a newcomer turned away: 503, retry after 1 s.
    let mut busy = Vec::new();
    for _ in 0..400 {
        let mut stream = TcpStream::connect(&server.addr).await.expect("connected");
        let head = format!(
            "POST /v1/feedback HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {developer}\r\n\
             content-type: application/json\r\ncontent-length: 100\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("a head");
        busy.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, text) = server
        .send(b"GET /v1/arx HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    assert_eq!(status, 503, "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after: 1"));
    drop(busy);
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.assert_serving().await;

    let peak_before = server.memory_kb("VmHWM");
    // 7. A storm of creates: 120 at once. Hashes are cheap (64 KiB, ~40 µs),
    //    so the hashing gate serves them all (a 503 would mean it shed load
    //    the machine could carry) and peak memory stays flat.
    let storm: Vec<_> = (0..120)
        .map(|i| {
            let server_addr = server.addr.clone();
            let body = json!({"application_id": app_id, "arx_id": arx_id, "name": format!("storm {i}")});
            let token = developer.clone();
            tokio::spawn(async move {
                let raw = format!(
                    "POST /v1/api-keys HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
                     content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.to_string().len()
                );
                let mut stream = TcpStream::connect(&server_addr).await.expect("connected");
                stream.write_all(raw.as_bytes()).await.expect("sent");
                let answer = read_until_closed(&mut stream).await;
                String::from_utf8_lossy(&answer).into_owned()
            })
        })
        .collect();
    let mut created = 0;
    for task in storm {
        let answer = task.await.expect("joined");
        match answer.split_whitespace().nth(1) {
            Some("201") => created += 1,
            _ => panic!("a create in the storm answered {answer}"),
        }
    }
    assert_eq!(created, 120);
    let peak = server.memory_kb("VmHWM");
    eprintln!(
        "create storm: {created} of 120 created; peak RSS {peak_before} kB before, {peak} kB after"
    );
    assert!(
        peak < 300 * 1024,
        "a create storm took the server to {peak} kB"
    );
    server.assert_serving().await;

    // The log: bounded, and none of the attacker's text in it.
    let log = server.log();
    assert!(
        log.len() < 512 * 1024,
        "the log grew to {} bytes",
        log.len()
    );
    assert!(!log.contains("FORGED"), "a token's text reached the log");
    assert!(!log.contains('\u{1b}'), "a terminal escape reached the log");
    assert!(!log.contains("panicked"), "a request panicked:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_server_backs_off_and_recovers() {
    // A cap above the descriptors, so that accept itself fails.
    let mut server = DevServer::start(&["--max-connections", "1000"], Some(64));
    server.assert_serving().await;
    let cpu_before = server.cpu_ticks();
    let started = Instant::now();
    // Far more connections than descriptors: accept fails with EMFILE.
    let mut held = Vec::new();
    for _ in 0..120 {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(&server.addr)).await
        {
            held.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let wall_ticks = started.elapsed().as_secs_f64() * 100.0; // USER_HZ is 100 on Linux
    let used = (server.cpu_ticks() - cpu_before) as f64;
    assert!(
        used < wall_ticks * 0.25,
        "accept failures spun the CPU: {used} ticks in {wall_ticks:.0}"
    );
    let log = server.log();
    let lines = log.matches("accepting connections fails").count();
    assert!(
        (1..=3).contains(&lines),
        "{lines} log lines about failed accepts:\n{log}"
    );
    drop(held);
    // The header timeout (2 s) closes what was accepted; then it serves again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.assert_serving().await;
}

/// systemd, Docker and Kubernetes stop a process with SIGTERM: the dev server
/// writes what it holds (the usage counts of the last verifies) before it
/// ends, as it does on Ctrl-C, and a restart on the same data shows them.
/// (SIGTERM used to end it at once, losing the verifies of its last 5 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_still_counts_the_last_verifies() {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT: run `bash tests/run.sh`, which starts the DynamoDB test server",
    );
    for store in [vec![], vec!["--dynamodb-endpoint", endpoint.as_str()]] {
        sigterm_counts_the_last_verifies(&store).await;
    }
}

/// The SIGTERM test on one store (`store`: the dev server's arguments for it).
async fn sigterm_counts_the_last_verifies(store: &[&str]) {
    let server = DevServer::start(store, None);
    let developer = server.var("DEVELOPER_TOKEN").to_owned();
    let body = json!({"application_id": server.var("APP_ID"), "arx_id": server.var("ARX_ID")});
    let (status, created) = server
        .request(
            "POST",
            "/v1/api-keys",
            &developer,
            "application/json",
            &body.to_string(),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let created = body_field(&created);
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let verifier = server.var("VERIFIER_TOKEN").to_owned();
    for _ in 0..3 {
        let ask = json!({"key": key}).to_string();
        let (status, text) = server
            .request("POST", "/v1/verify", &verifier, "application/json", &ask)
            .await;
        assert_eq!(status, 200, "{text}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, dir) = server.terminate();
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    let server = DevServer::start_in(dir, store, None);
    let (status, usage) = server
        .request(
            "GET",
            &format!("/v1/api-keys/{id}/usage"),
            &developer,
            "application/json",
            "",
        )
        .await;
    assert_eq!(status, 200, "{usage}");
    assert_eq!(
        body_field(&usage)["totals"]["VALID"],
        3,
        "the verifies before the SIGTERM are counted: {usage}"
    );
}
