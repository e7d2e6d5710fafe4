//! Webhooks end to end: a real HTTP receiver on loopback records what vroom POSTs.
//! Registration, envelope and signature, retries (5xx, receiver down), no retry on 4xx,
//! redelivery, the event log, and durability across SIGKILL of the vroom process.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::TestServer;
use serde_json::{Value, json};
use vroom::ServeConfig;

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("event body is JSON")
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer, in order; 200 once exhausted.
    script: Mutex<Vec<u16>>,
    /// How long to hold each request before answering.
    delay: Mutex<Duration>,
}

/// A webhook receiver on 127.0.0.1.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

/// A receiver's address before the receiver runs: the port is bound but not listening, so
/// connections to it are refused and nothing else can take it in the meantime.
struct ReservedPort {
    socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl ReservedPort {
    fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = socket.local_addr().unwrap();
        Self { socket, addr }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }
}

impl Receiver {
    async fn start(script: Vec<u16>) -> Self {
        Self::start_on(ReservedPort::new(), script).await
    }

    async fn start_on(port: ReservedPort, script: Vec<u16>) -> Self {
        let state =
            Arc::new(ReceiverState { received: Mutex::default(), script: Mutex::new(script), delay: Mutex::default() });
        let app = Router::new().route("/hook", post(receive)).with_state(state.clone());
        let listener = port.socket.listen(1024).expect("receiver listens");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for what was received (at most 15 s).
    async fn wait_for(&self, what: &str, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = self.received();
            if pred(&got) {
                return got;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; received: {got:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop(self) {
        self.task.abort();
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    state.received.lock().unwrap().push(Received { headers, body: String::from_utf8_lossy(&body).into_owned() });
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let mut script = state.script.lock().unwrap();
    let status = if script.is_empty() { 200 } else { script.remove(0) };
    StatusCode::from_u16(status).unwrap()
}

/// Polls the delivery log (the server's own record, written after the receiver answered)
/// until `pred` holds for its entries (at most 15 s); returns them.
async fn deliveries_until(api: &common::Api, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let log = api.get("/webhook-deliveries?pageSize=100").await.expect(200);
        let entries = log["content"].as_array().unwrap().clone();
        if pred(&entries) {
            return entries;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; delivery log: {log:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The app's logged events of one type (the event log is written with the change itself).
async fn logged(api: &common::Api, ty: &str) -> Vec<Value> {
    let page = api.get(&format!("/events?type={ty}&pageSize=100")).await.expect(200);
    page["content"].as_array().unwrap().clone()
}

fn of_type<'a>(got: &'a [Received], ty: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.json()["type"] == ty).collect()
}

/// A server whose retries are 100× faster than production (10 ms, 50 ms, 300 ms, …).
async fn fast_retry_server() -> TestServer {
    TestServer::start_with(|c| ServeConfig { webhook_retry_scale: 0.01, ..c }).await
}

#[tokio::test]
async fn registration_envelope_signature_and_basic_auth() {
    let server = fast_retry_server().await;
    let receiver = Receiver::start(vec![]).await;
    let api = server.server_api();

    api.get("/callback-api").await.expect_error(404, "CALLBACK_API_NOT_FOUND");
    let reg = api
        .put("/callback-api", json!({"url": receiver.url(), "accessId": "hook-user", "accessPassword": "hook-pass"}))
        .await
        .expect(200);
    assert_eq!(reg["url"], receiver.url());
    assert_eq!(reg["accessId"], "hook-user");
    assert_eq!(reg["hasAccessPassword"], true);
    let secret = reg["signingSecret"].as_str().expect("signing secret on PUT").to_owned();
    let got = api.get("/callback-api").await.expect(200);
    assert!(got.get("signingSecret").is_none(), "GET never shows the secret: {got}");
    // Through the alias too, and a second PUT keeps the secret.
    let again = server
        .server_api_at(common::VICOLLO_PREFIX)
        .put("/callback-api", json!({"url": receiver.url(), "accessId": "hook-user", "accessPassword": "hook-pass"}))
        .await
        .expect(200);
    assert_eq!(again["signingSecret"], secret.as_str());

    let member = api.post("/members", json!({"appUserId": "alice", "appUserName": "Alice"})).await.expect(201);
    let got = receiver.wait_for("MEMBER_CREATED", |r| !of_type(r, "MEMBER_CREATED").is_empty()).await;
    let created = of_type(&got, "MEMBER_CREATED")[0];
    let ev = created.json();
    assert_eq!(
        ev["app"],
        json!({"id": server.app.id, "state": "ACTIVE", "name": "test-app", "defaultRtmpOutputMode": "CMAF"})
    );
    assert_eq!(ev["data"]["member"], member, "data.member is the Member DTO");
    assert!(ev["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created.header("x-vroom-event-id"), ev["id"].as_str().unwrap());
    assert!(created.header("content-type").starts_with("application/json"));
    let now = vroom_platform::time::now().timestamp();
    assert!(vroom_webhooks::verify_signature(&secret, created.header("x-vroom-signature"), &created.body, now, 300));
    assert!(!vroom_webhooks::verify_signature("wrong", created.header("x-vroom-signature"), &created.body, now, 300));
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("hook-user:hook-pass");
    assert_eq!(created.header("authorization"), format!("Basic {basic}"));

    // Update → MEMBER_UPDATED; an upsert that changes nothing emits nothing.
    api.patch("/members/alice", json!({"email": "a@example.com"})).await.expect(200);
    api.post("/members", json!({"appUserId": "alice", "email": "a@example.com"})).await.expect(200);
    let got = receiver.wait_for("MEMBER_UPDATED", |r| !of_type(r, "MEMBER_UPDATED").is_empty()).await;
    assert_eq!(of_type(&got, "MEMBER_UPDATED")[0].json()["data"]["member"]["email"], "a@example.com");

    // Room creation → VIDEO_ROOM_SCHEDULED with the room and seq 1.
    let room = api.post("/video-rooms", json!({"title": "Standup"})).await.expect(201);
    let got = receiver.wait_for("VIDEO_ROOM_SCHEDULED", |r| !of_type(r, "VIDEO_ROOM_SCHEDULED").is_empty()).await;
    let scheduled = of_type(&got, "VIDEO_ROOM_SCHEDULED")[0].json();
    assert_eq!(scheduled["data"]["videoRoom"], room);
    assert_eq!(scheduled["seq"], 1);
    // The event log is written in the same transaction as the change: what is not there
    // will never be sent.
    assert_eq!(logged(&api, "MEMBER_UPDATED").await.len(), 1, "the no-op upsert emitted an event");
    server.stop().await;
    receiver.stop();
}

#[tokio::test]
async fn server_errors_are_retried_with_a_stable_event_id_and_client_errors_are_not() {
    let server = fast_retry_server().await;
    let receiver = Receiver::start(vec![500, 503, 200, 400]).await;
    let api = server.server_api();
    api.put("/callback-api", json!({"url": receiver.url()})).await.expect(200);

    api.post("/members", json!({"appUserId": "bob"})).await.expect(201);
    let got = receiver.wait_for("3 attempts", |r| r.len() >= 3).await;
    let ids: Vec<_> = got.iter().map(|r| r.header("x-vroom-event-id").to_owned()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "same event id on every attempt: {ids:?}");
    // The receiver records a POST before it answers; the log has the attempt once answered.
    let deliveries = deliveries_until(&api, "the delivery", |d| d.len() == 1 && d[0]["status"] != "PENDING").await;
    let d = &deliveries[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_u64(), d["lastStatusCode"].as_u64()),
        (Some("DELIVERED"), Some(3), Some(200))
    );
    assert_eq!(d["eventId"], ids[0].as_str());
    assert_eq!(d["type"], "MEMBER_CREATED");

    // The next event meets a 400: refused for good, one attempt only.
    api.post("/members", json!({"appUserId": "carol"})).await.expect(201);
    // Once the log says FAILED nothing is scheduled any more: a retry would have to be
    // there (PENDING with a next attempt) instead.
    let deliveries = deliveries_until(&api, "carol's delivery settled", |d| {
        d.len() == 2 && d.iter().all(|d| d["status"] != "PENDING")
    })
    .await;
    let refused = deliveries.iter().find(|d| d["status"] == "FAILED").expect("a FAILED delivery");
    assert_eq!((refused["attempts"].as_u64(), refused["lastStatusCode"].as_u64()), (Some(1), Some(400)));
    assert_eq!(refused["nextAttemptAt"], Value::Null, "{refused}");
    assert_eq!(receiver.received().len(), 4, "a 400 must not be retried");

    // Redelivery sends it again, now.
    let event_id = refused["eventId"].as_str().unwrap().to_owned();
    let r = api.post_empty(&format!("/webhook-deliveries/{event_id}/redeliver")).await.expect(200);
    assert_eq!(r["status"], "PENDING");
    receiver.wait_for("the redelivery", |r| r.len() >= 5).await;
    assert_eq!(receiver.received()[4].header("x-vroom-event-id"), event_id);
    api.post_empty("/webhook-deliveries/nope/redeliver").await.expect_error(404, "EVENT_NOT_FOUND");
    server.stop().await;
    receiver.stop();
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_everything_when_it_comes_back() {
    let server = fast_retry_server().await;
    // Connections are refused until the receiver starts listening on this port.
    let port = ReservedPort::new();
    let api = server.server_api();
    api.put("/callback-api", json!({"url": port.url()})).await.expect(200);
    for i in 0..5 {
        api.post("/members", json!({"appUserId": format!("m{i}")})).await.expect(201);
    }
    let log = deliveries_until(&api, "every event attempted", |d| {
        d.len() == 5 && d.iter().all(|d| d["attempts"].as_u64() >= Some(1))
    })
    .await;
    assert!(log.iter().all(|d| d["status"] == "PENDING" && d["lastError"] == "connection failed"), "{log:#?}");

    let receiver = Receiver::start_on(port, vec![]).await;
    let got = receiver.wait_for("all 5 events", |r| of_type(r, "MEMBER_CREATED").len() >= 5).await;
    let mut users: Vec<_> =
        got.iter().map(|r| r.json()["data"]["member"]["appUserId"].as_str().unwrap().to_owned()).collect();
    users.sort();
    users.dedup();
    assert_eq!(users, ["m0", "m1", "m2", "m3", "m4"]);
    server.stop().await;
    receiver.stop();
}

#[tokio::test]
async fn the_event_log_replays_and_filters() {
    let server = TestServer::start().await;
    let api = server.server_api();
    let room = api.post("/video-rooms", json!({"title": "A"})).await.expect(201);
    api.post("/video-rooms", json!({"title": "B"})).await.expect(201);
    api.post("/members", json!({"appUserId": "dave"})).await.expect(201);

    // Events are logged even with no receiver registered.
    let all = api.get("/events").await.expect(200);
    let types: Vec<_> =
        all["content"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types.iter().filter(|t| *t == "VIDEO_ROOM_SCHEDULED").count(), 2, "{types:?}");
    assert!(types.contains(&"MEMBER_CREATED".to_owned()));
    let id = room["id"].as_i64().unwrap();
    let of_room = api.get(&format!("/events?videoRoomId={id}")).await.expect(200);
    assert_eq!(of_room["totalElements"], 1);
    assert_eq!(of_room["content"][0]["seq"], 1);
    assert_eq!(of_room["content"][0]["data"]["videoRoom"]["id"], id);
    let after = api.get(&format!("/events?videoRoomId={id}&afterSeq=1")).await.expect(200);
    assert_eq!(after["totalElements"], 0);
    let members = api.get("/events?type=MEMBER_CREATED").await.expect(200);
    assert!(members["content"].as_array().unwrap().iter().all(|e| e["type"] == "MEMBER_CREATED"));
    api.get("/events?type=NOPE").await.expect_error(400, "INVALID_QUERY_PARAMETER");
    // Another app sees none of it.
    let other = server.new_app("other").await;
    assert_eq!(server.server_api_for(&other).get("/events").await.expect(200)["totalElements"], 0);
    server.stop().await;
}

#[tokio::test]
async fn bad_registrations_and_removal() {
    let server = fast_retry_server().await;
    let api = server.server_api();
    for url in ["ftp://example.com/x", "not a url", "http://"] {
        api.put("/callback-api", json!({"url": url})).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
    }
    api.put("/callback-api", json!({})).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
    api.delete("/callback-api").await.expect_error(404, "CALLBACK_API_NOT_FOUND");

    let receiver = Receiver::start(vec![]).await;
    api.put("/callback-api", json!({"url": receiver.url()})).await.expect(200);
    api.delete("/callback-api").await.expect_no_content();
    api.get("/callback-api").await.expect_error(404, "CALLBACK_API_NOT_FOUND");
    api.post("/members", json!({"appUserId": "erin"})).await.expect(201);
    // Deliveries are queued with the event, for the receiver registered then: none for erin.
    let created = logged(&api, "MEMBER_CREATED").await;
    assert_eq!(created.len(), 1, "{created:?}");
    let queued = api.get("/webhook-deliveries?pageSize=100").await.expect(200);
    assert_eq!(queued["totalElements"], 0, "no deliveries after DELETE: {queued}");
    assert!(receiver.received().is_empty(), "no deliveries after DELETE");
    server.stop().await;
    receiver.stop();
}

/// Starts the real binary on `dir` (fast retries); returns it and its base URL.
fn spawn_vroom(dir: &std::path::Path) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_vroom"))
        .args(["serve", "--dev", "--bind", "127.0.0.1:0", "--log", "warn", "--udp-port", "0"])
        .arg("--data-dir")
        .arg(dir)
        .env("VROOM_WEBHOOK_RETRY_SCALE", "0.001")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if let Some(url) = line.split_whitespace().find(|w| w.ends_with("/v2/apps/me")) {
            // Keep draining stdout so the server never writes into a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (child, url.trim_end_matches("/v2/apps/me").to_owned());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("no server URL printed");
}

async fn dev_post(base: &str, path: &str, body: Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v2/apps/me{path}"))
        .basic_auth("devkey", Some("devsecret"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn dev_put_callback(base: &str, url: &str) {
    let resp = reqwest::Client::new()
        .put(format!("{base}/v2/apps/me/callback-api"))
        .basic_auth("devkey", Some("devsecret"))
        .json(&json!({ "url": url }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Runs the real binary; SIGKILL loses nothing the API acknowledged.
#[tokio::test]
async fn events_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let dead = ReservedPort::new();
    let (mut first, base) = spawn_vroom(dir.path());
    dev_put_callback(&base, &dead.url()).await;
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        assert_eq!(dev_post(&base, "/members", json!({"appUserId": format!("k{i}")})).await, 201);
        acknowledged.push(format!("k{i}"));
    }
    first.kill().unwrap(); // SIGKILL: no shutdown, no flush
    first.wait().unwrap();

    let receiver = Receiver::start_on(dead, vec![]).await;
    let (mut second, _) = spawn_vroom(dir.path());
    let got = receiver.wait_for("every acknowledged event", |r| of_type(r, "MEMBER_CREATED").len() >= 20).await;
    let mut users: Vec<_> =
        got.iter().map(|r| r.json()["data"]["member"]["appUserId"].as_str().unwrap().to_owned()).collect();
    users.sort();
    users.dedup();
    acknowledged.sort();
    assert_eq!(users, acknowledged);
    second.kill().unwrap();
    second.wait().unwrap();
    receiver.stop();
}

/// A SIGKILL while POSTs are in flight (sent, not yet answered): after the restart those
/// events are delivered again. Duplicates are allowed, losses are not.
#[tokio::test]
async fn deliveries_in_flight_at_a_sigkill_are_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(vec![]).await;
    *receiver.state.delay.lock().unwrap() = Duration::from_secs(30);
    let (mut first, base) = spawn_vroom(dir.path());
    dev_put_callback(&base, &receiver.url()).await;
    for i in 0..10 {
        assert_eq!(dev_post(&base, "/members", json!({"appUserId": format!("f{i}")})).await, 201);
    }
    receiver.wait_for("10 POSTs in flight", |r| r.len() >= 10).await;
    first.kill().unwrap();
    first.wait().unwrap();

    *receiver.state.delay.lock().unwrap() = Duration::ZERO;
    let (mut second, base) = spawn_vroom(dir.path());
    let got = receiver.wait_for("each event a second time", |r| r.len() >= 20).await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *counts.entry(r.header("x-vroom-event-id").to_owned()).or_default() += 1;
    }
    assert_eq!(counts.len(), 10, "ten distinct events");
    assert!(counts.values().all(|n| *n >= 2), "every in-flight event is sent again: {counts:?}");
    let delivery_log = || async {
        reqwest::Client::new()
            .get(format!("{base}/v2/apps/me/webhook-deliveries"))
            .basic_auth("devkey", Some("devsecret"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let delivered = |log: &Value| log["content"].as_array().unwrap().iter().all(|d| d["status"] == "DELIVERED");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut log = delivery_log().await;
    while !delivered(&log) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = delivery_log().await;
    }
    assert!(delivered(&log), "{log}");
    second.kill().unwrap();
    second.wait().unwrap();
    receiver.stop();
}

/// One app's receiver that never answers holds only a few delivery slots: another app's
/// events keep flowing.
#[tokio::test]
async fn a_dead_receiver_does_not_hold_up_other_apps() {
    let server = TestServer::start().await;
    // Accepts connections, never answers: every attempt waits for the 10 s timeout.
    let hang = Router::new().route(
        "/hook",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_url = format!("http://{}/hook", listener.local_addr().unwrap());
    let hang_task = tokio::spawn(async move { axum::serve(listener, hang).await });

    let slow = server.new_app("slow").await;
    let slow_api = server.server_api_for(&slow);
    slow_api.put("/callback-api", json!({"url": hang_url})).await.expect(200);
    // More events than the deliverer has slots in all.
    for i in 0..100 {
        slow_api.post("/members", json!({"appUserId": format!("s{i}")})).await.expect(201);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let receiver = Receiver::start(vec![]).await;
    let api = server.server_api();
    api.put("/callback-api", json!({"url": receiver.url()})).await.expect(200);
    let sent = Instant::now();
    api.post("/members", json!({"appUserId": "fast"})).await.expect(201);
    receiver.wait_for("the healthy app's event", |r| !of_type(r, "MEMBER_CREATED").is_empty()).await;
    assert!(sent.elapsed() < Duration::from_secs(3), "took {:?} behind a dead receiver", sent.elapsed());
    server.stop().await;
    receiver.stop();
    hang_task.abort();
}
