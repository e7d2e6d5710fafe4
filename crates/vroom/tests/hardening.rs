//! Faults found by attacking the HTTP surface as an outsider would, each a class:
//! stored JSON that could be written but not read back, valid callers refused by the
//! failed-authentication limit, connections that stall forever, refusals of the HTTP layer
//! without the error body, and a server that answered before start-up was complete.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn nested(levels: usize) -> Value {
    let mut v = json!({});
    for _ in 1..levels {
        v = json!({ "a": v });
    }
    v
}

/// Every free-form JSON field is accepted or refused with 400 at the door; whatever was
/// accepted reads back, alone and inside the events page, at every depth.
#[tokio::test]
async fn free_form_json_is_bounded_at_the_door_and_always_reads_back() {
    let server = TestServer::start().await;
    let api = server.server_api();
    assert_eq!(api.post("/members", json!({"appUserId": "owner"})).await.status, 201);
    for levels in [1, 8, 16, 17, 31, 32, 33, 64, 125, 127] {
        let created = api.post("/video-rooms", json!({"appUserId": "owner", "viewOptions": nested(levels)})).await;
        match created.status {
            201 => {
                let id = created.json()["id"].as_i64().unwrap();
                let read = api.get(&format!("/video-rooms/{id}")).await;
                assert_eq!(read.status, 200, "{levels} levels: {}", read.body);
                assert_eq!(read.json()["viewOptions"], nested(levels));
            }
            400 => {
                let body = created.json();
                assert_eq!(body["errorCode"], "INVALID_HTTP_MESSAGE_BODY", "{levels}: {body}");
                assert!(levels > 16, "{levels} levels refused: {body}");
            }
            other => panic!("{levels} levels: {other} {}", created.body),
        }
        // customData allows strings only; a nested value is refused, never stored.
        let custom = api.post("/members", json!({"appUserId": "c", "customData": {"k": nested(levels)}})).await;
        assert_eq!(custom.status, 400, "{}", custom.body);
        // The events page that would hold each room's event keeps answering.
        let events = api.get("/events?pageSize=100").await;
        assert_eq!(events.status, 200, "{levels} levels: {}", events.body);
    }
    // Size: a large viewOptions is refused with the same code.
    let big = api.post("/video-rooms", json!({"appUserId": "owner", "viewOptions": {"k": "v".repeat(20_000)}})).await;
    assert_eq!((big.status, big.json()["errorCode"].as_str()), (400, Some("INVALID_HTTP_MESSAGE_BODY")));
    // A body nested deeper than the bound is refused whatever field holds it.
    let deep_member = api.post("/members", json!({"appUserId": "d", "unknown": nested(40)})).await;
    assert_eq!(deep_member.status, 400, "{}", deep_member.body);
    server.stop().await;
}

/// A burst of valid requests from one address is never refused by the failure limit,
/// while failures from that address still are.
#[tokio::test]
async fn valid_callers_are_never_charged_as_failures() {
    let server = TestServer::start().await;
    let api = server.server_api();
    let waves = futures_util::future::join_all((0..200).map(|_| api.get(""))).await;
    let statuses: Vec<u16> = waves.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{:?}", statuses.iter().filter(|s| **s != 200).collect::<Vec<_>>());
    let wrong = server.anon().basic(&server.app.key, "wrong");
    let failures = futures_util::future::join_all((0..60).map(|_| wrong.get("/v2/apps/me"))).await;
    let limited = failures.iter().filter(|r| r.status == 429).count();
    assert!(limited > 0, "failures are still limited");
    assert!(failures.iter().all(|r| r.status == 401 || r.status == 429));
    // While the address is over the failure limit, valid requests still pass.
    let during = futures_util::future::join_all((0..200).map(|_| api.get(""))).await;
    assert!(during.iter().all(|r| r.status == 200), "a valid request was refused while failures were limited");
    server.stop().await;
}

async fn read_to_end_within(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut out)).await.ok()?.ok()?;
    Some(out)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// Hundreds of connections that send half a request and stop are closed by the header
/// timeout, and leave no file descriptors behind.
#[tokio::test]
async fn stalled_connections_are_closed_on_time() {
    let server = TestServer::start_with(|mut c| {
        c.http.header_read_timeout = Duration::from_secs(1);
        c.http.body_timeout = Duration::from_secs(1);
        c
    })
    .await;
    let addr = server.running().addr;
    let before = open_fds();
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /v2/apps/me HTTP/1.1\r\nHost: x").await.unwrap();
        stalled.push(s);
    }
    for s in &mut stalled {
        let rest = read_to_end_within(s, Duration::from_secs(10)).await;
        assert!(rest.is_some(), "a stalled connection stayed open");
    }
    assert!(started.elapsed() < Duration::from_secs(10), "closed after {:?}", started.elapsed());
    drop(stalled);
    // The server's side of those connections is gone too (same process: its fds count).
    let mut settled = false;
    for _ in 0..50 {
        if open_fds() <= before + 5 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(settled, "file descriptors: {before} before, {} after", open_fds());
    // A body that stops half way gets 408 with the error body.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", server.app.key, server.app.secret),
    );
    s.write_all(
        format!("POST /v2/apps/me/members HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"app")
            .as_bytes(),
    )
    .await
    .unwrap();
    let answer = String::from_utf8(read_to_end_within(&mut s, Duration::from_secs(10)).await.unwrap()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"errorCode\":\"REQUEST_TIMEOUT\""), "{answer}");
    // An idle keep-alive connection is closed after the same header timeout.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_to_end_within(&mut s, Duration::from_secs(10)).await.expect("idle connection closed");
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    server.stop().await;
}

/// One address may hold a bounded number of connections; past it, 429 with the body.
#[tokio::test]
async fn connections_per_address_are_capped() {
    let server = TestServer::start_with(|mut c| {
        c.http.max_connections_per_ip = 20;
        c
    })
    .await;
    let addr = server.running().addr;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let answer = String::from_utf8(read_to_end_within(&mut extra, Duration::from_secs(5)).await.unwrap()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("\"errorCode\":\"TOO_MANY_CONNECTIONS\""), "{answer}");
    drop(held);
    // Their places are given back.
    let mut ok = false;
    for _ in 0..50 {
        if server.anon().get("/healthz").await.status == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok);
    server.stop().await;
}

async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    String::from_utf8_lossy(&read_to_end_within(&mut s, Duration::from_secs(10)).await.unwrap()).into_owned()
}

/// What the HTTP layer refuses before routing carries `{errorCode, errorMessage}` too.
#[tokio::test]
async fn http_layer_refusals_have_the_error_body() {
    let server = TestServer::start().await;
    let addr = server.running().addr;
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let many_headers: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases = [
        (b"GARBAGE\r\n\r\n".to_vec(), "400", "MALFORMED_HTTP_REQUEST"),
        (b"GET / HTTP/1.1\r\nHost x\r\n\r\n".to_vec(), "400", "MALFORMED_HTTP_REQUEST"),
        (long.into_bytes(), "414", "URI_TOO_LONG"),
        (
            format!("GET / HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
            "431",
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
        ),
    ];
    for (request, status, code) in cases {
        let answer = raw_exchange(addr, &request).await;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{answer}");
        let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["errorCode"], code);
        assert!(body["errorMessage"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A handler's own answers pass through untouched, on a connection kept alive.
    let two = raw_exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(two.starts_with("HTTP/1.1 200"), "{two}");
    assert!(two.contains("HTTP/1.1 404") && two.contains("\"errorCode\":\"NOT_FOUND\""), "{two}");
    server.stop().await;
}

/// `--dev`: the dev app exists before anything answers, `/healthz` included.
#[tokio::test]
async fn nothing_answers_before_start_up_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let config = vroom::ServeConfig { dev: true, ..vroom::ServeConfig::for_data_dir(dir.path()) };
    let server = vroom::start(&config).await.unwrap();
    assert!(server.dev_app.is_some());
    let base = format!("http://{}", server.addr);
    let resp = Api::new(&base).basic("devkey", "devsecret").get("/v2/apps/me").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    server.stop().await.unwrap();
}
