//! Chaos run of webhook delivery (issue 4): the receiver is down while rooms see a stream
//! of joins and leaves, vroom is killed with SIGKILL in the middle, restarted, and the
//! receiver comes back. Afterwards every logged event has arrived, no room's events arrive
//! out of `seq` order, every LEFT follows its JOINED, and the replay endpoint returns
//! exactly the delivered set.
//!
//! A real SIGKILL needs a process to kill, so this test binary (harness = false) runs the
//! server in a child copy of itself: `CHAOS_ROLE=work` generates presence through the
//! platform's media hooks, `CHAOS_ROLE=recover` just serves. Bounded: about 30 s.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use vroom::ServeConfig;
use vroom_platform::input::MemberInput;
use vroom_platform::input::VideoRoomInput;
use vroom_platform::session::{ParticipantJoin, leave_reason};
use vroom_platform::time;

const ROOMS: usize = 4;
const USERS: usize = 6;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    match std::env::var("CHAOS_ROLE").as_deref() {
        Ok("work") => rt.block_on(work()),
        Ok("recover") => rt.block_on(recover()),
        _ => {
            rt.block_on(parent());
            println!("chaos: ok");
        }
    }
}

fn config() -> ServeConfig {
    let dir = std::env::var("CHAOS_DATA_DIR").unwrap();
    ServeConfig { webhook_retry_scale: 0.001, ..ServeConfig::for_data_dir(dir) }
}

/// Child: serve, register the (down) receiver, then join and leave at random forever.
async fn work() {
    let server = vroom::start(&config()).await.unwrap();
    let platform = server.platform.clone();
    let app = platform.ensure_dev_app().await.unwrap().as_ref();
    let url = std::env::var("CHAOS_RECEIVER").unwrap();
    let body = serde_json::from_value(json!({"url": url})).unwrap();
    platform.put_callback_api(&app, &body).await.unwrap();
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        let input: VideoRoomInput = serde_json::from_value(json!({"title": format!("room {r}")})).unwrap();
        rooms.push(platform.create_room_as_app(&app, &input).await.unwrap());
    }
    for u in 0..USERS {
        let input: MemberInput = serde_json::from_value(json!({"appUserId": format!("u{u}")})).unwrap();
        platform.upsert_member(&app, &input).await.unwrap();
    }
    println!("READY http://{}", server.addr);
    // (room, user) → the sid of the open participation
    let mut open: HashMap<(usize, usize), String> = HashMap::new();
    let mut rng_state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        (rng_state % n as u64) as usize
    };
    for op in 0u64.. {
        let key = (next(ROOMS), next(USERS));
        if let Some(sid) = open.remove(&key) {
            platform.participant_left(&sid, leave_reason::LEFT, time::now()).await.unwrap();
        } else {
            let sid = format!("PA_{op}");
            let join = ParticipantJoin {
                room_uuid: rooms[key.0].uuid.clone(),
                participant_sid: sid.clone(),
                identity: format!("u{}", key.1),
                name: String::new(),
                metadata: "{}".into(),
                hidden: false,
                at: time::now(),
            };
            platform.participant_joined(&join).await.unwrap();
            open.insert(key, sid);
        }
        if op % 50 == 0 {
            println!("OPS {op}");
        }
    }
}

/// Child: serve on the same data dir (start-up reconciliation closes open sessions).
async fn recover() {
    let server = vroom::start(&config()).await.unwrap();
    server.platform.ensure_dev_app().await.unwrap();
    println!("READY http://{}", server.addr);
    std::future::pending::<()>().await;
}

fn spawn(role: &str, data_dir: &str, receiver: &str) -> (Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("CHAOS_ROLE", role)
        .env("CHAOS_DATA_DIR", data_dir)
        .env("CHAOS_RECEIVER", receiver)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

fn wait_line(lines: &mut std::io::Lines<BufReader<std::process::ChildStdout>>, prefix: &str) -> String {
    for line in lines.map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.trim().to_owned();
        }
    }
    panic!("child exited before printing {prefix}");
}

#[derive(Default)]
struct Inbox(Mutex<Vec<Value>>);

async fn receive(State(inbox): State<Arc<Inbox>>, _headers: HeaderMap, body: Bytes) -> StatusCode {
    inbox.0.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
    StatusCode::OK
}

async fn all_events(base: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for page in 1.. {
        let resp: Value = client
            .get(format!("{base}/v2/apps/me/events?page={page}&pageSize=100"))
            .basic_auth("devkey", Some("devsecret"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(resp["content"].as_array().unwrap().iter().cloned());
        if resp["last"] == true {
            return out;
        }
    }
    unreachable!()
}

async fn parent() {
    let deadline = Instant::now() + Duration::from_secs(90);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    // The receiver's port is held (bound, not listening: connections are refused) from now
    // on, so nothing else can take it before the receiver starts listening on it.
    let receiver_socket = tokio::net::TcpSocket::new_v4().unwrap();
    receiver_socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = receiver_socket.local_addr().unwrap();
    let receiver_url = format!("http://{port}/hook");

    // Phase 1: receiver down, presence churn, then SIGKILL mid-stream.
    let (mut worker, mut lines) = spawn("work", &data_dir, &receiver_url);
    wait_line(&mut lines, "READY");
    loop {
        let ops: u64 = wait_line(&mut lines, "OPS").parse().unwrap();
        if ops >= 400 {
            break;
        }
    }
    worker.kill().unwrap();
    worker.wait().unwrap();

    // Phase 2: the receiver comes back, vroom restarts.
    let inbox = Arc::new(Inbox::default());
    let app = Router::new().route("/hook", post(receive)).with_state(inbox.clone());
    let listener = receiver_socket.listen(1024).unwrap();
    let server_task = tokio::spawn(async move { axum::serve(listener, app).await });
    let (mut recovered, mut lines) = spawn("recover", &data_dir, &receiver_url);
    let base = wait_line(&mut lines, "READY");

    // Every logged event must arrive.
    let logged = all_events(&base).await;
    assert!(logged.len() > 400, "the run produced {} events", logged.len());
    let logged_ids: HashSet<String> = logged.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    loop {
        let got: HashSet<String> =
            inbox.0.lock().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        let missing = logged_ids.difference(&got).count();
        if missing == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{missing} of {} events never arrived", logged_ids.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing more is logged after recovery (reconciliation ran before serving).
    let replay = all_events(&base).await;
    let replay_ids: HashSet<String> = replay.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let delivered: Vec<Value> = inbox.0.lock().unwrap().clone();
    let delivered_ids: HashSet<String> = delivered.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(replay_ids, delivered_ids, "the replay endpoint returns exactly the delivered set");

    // Order: per room, first arrivals in seq order; every LEFT after its JOINED.
    let mut last_seq: BTreeMap<i64, i64> = BTreeMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut joined: HashSet<String> = HashSet::new();
    let mut violations = 0;
    for e in &delivered {
        if !seen.insert(e["id"].as_str().unwrap().to_owned()) {
            continue; // an at-least-once duplicate
        }
        let Some(seq) = e["seq"].as_i64() else { continue };
        let room = e["data"]["videoRoom"]["id"].as_i64().unwrap();
        let prev = last_seq.insert(room, seq).unwrap_or(0);
        if seq != prev + 1 {
            violations += 1;
        }
        let sid = e["data"]["participantSid"].as_str().unwrap_or_default().to_owned();
        match e["type"].as_str().unwrap() {
            "VIDEO_ROOM_PARTICIPANT_JOINED" => {
                joined.insert(sid);
            }
            "VIDEO_ROOM_PARTICIPANT_LEFT" => assert!(joined.contains(&sid), "LEFT before JOINED for {sid}"),
            _ => {}
        }
    }
    assert_eq!(violations, 0, "per-room order violations");
    let restart_lefts = delivered.iter().filter(|e| e["data"]["leaveReason"] == leave_reason::SERVER_RESTART).count();
    assert!(restart_lefts > 0, "participants open at the kill are closed by the restart");
    println!(
        "chaos: {} events, {} deliveries ({} duplicates), {} closed by the restart",
        logged_ids.len(),
        delivered.len(),
        delivered.len() - delivered_ids.len(),
        restart_lefts
    );
    recovered.kill().unwrap();
    recovered.wait().unwrap();
    server_task.abort();
}
