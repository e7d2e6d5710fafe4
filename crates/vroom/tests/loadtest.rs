//! `vroom loadtest` against a vroom server in this process: a short run with a few
//! participants must deliver media to every subscriber with little loss, and its JSON
//! must agree with the server's own `/metrics` counters; rooms on different media workers
//! must each get their media through their own worker; a bad token must fail the run with
//! the server's reason (exit 2), participants refused after the first joined exit 1. Run inside a loopback-only network namespace (`scripts/test.sh`);
//! everything is bounded in time.

mod common;

use std::process::Command;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use common::{MEDIA_KEY, TestServer};
use serde_json::{Value, json};
use vroom::ServeConfig;

const BIN: &str = env!("CARGO_BIN_EXE_vroom");

/// Runs `vroom loadtest ARGS` in a blocking thread (the server lives on this runtime).
async fn loadtest(args: Vec<String>) -> (i32, String, String) {
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .arg("loadtest")
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start vroom loadtest");
        // The run bounds itself; this only keeps a bug from hanging the suite.
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        while child.try_wait().expect("wait").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().expect("output")
    })
    .await
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `vroom loadtest` with the app's credentials and these arguments; its JSON report,
/// after checking that the run succeeded.
async fn loadtest_report(server: &TestServer, args: &[&str]) -> Value {
    let app = format!("{}:{}", server.app.key, server.app.secret);
    let mut all = vec!["--url".to_owned(), server.ws_url(), "--vroom-app".into(), app, "--json".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    let (code, stdout, stderr) = loadtest(all).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// Every participant of the report received media, with less than 1 % lost.
fn assert_everyone_received(report: &Value, joined: usize) {
    assert_eq!(report["joined"], joined, "{report:#}");
    assert_eq!(report["failed"], 0);
    for p in report["participants"].as_array().unwrap() {
        let packets = p["packets"].as_u64().unwrap();
        let (lost, expected) = (p["lost"].as_u64().unwrap(), p["expected"].as_u64().unwrap());
        assert!(packets > 50, "{p}");
        assert!(lost * 100 < expected, "more than 1 % lost: {p}");
    }
    assert!(report["total"]["loss_percent"].as_f64().unwrap() < 1.0);
}

/// A counter's value from the Prometheus text.
async fn metric(base: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

#[tokio::test]
async fn a_short_run_delivers_to_every_subscriber_and_matches_the_server_counters() {
    // Without bandwidth estimation: its probes resend media the subscribers already counted.
    let server = TestServer::start_with(|c| ServeConfig { bwe_start_kbps: 0, ..c }).await;
    let sent = "vroom_media_rtp_sent_packets_total";
    let received = "vroom_media_rtp_received_packets_total";
    let (sent_before, received_before) = (metric(&server.base, sent).await, metric(&server.base, received).await);
    let args = [
        "--video-publishers",
        "1",
        "--audio-publishers",
        "2",
        "--subscribers",
        "3",
        "--simulcast",
        "--duration",
        "3s",
        "--join-rate",
        "20",
    ];
    let report = loadtest_report(&server, &args).await;

    // Every participant receives: publisher 0 gets publisher 1's audio, publisher 1 gets
    // publisher 0's audio and video, each subscriber gets all three tracks.
    assert_everyone_received(&report, 5);
    let participants = report["participants"].as_array().unwrap();
    assert_eq!(participants.len(), 5);
    let tracks: u64 = participants.iter().map(|p| p["tracks"].as_u64().unwrap()).sum();
    assert_eq!(tracks, 1 + 2 + 3 * 3, "{report:#}");
    assert!(report["video"]["latency_samples"].as_u64().unwrap() > 0);
    assert!(report["audio"]["latency_p50_ms"].as_f64().is_some());
    // Without estimation every subscriber gets every track's top layer: what was asked for
    // (the top layer's and the audio's packets × the 4 others) is what arrived.
    let share = report["window"]["delivered_share"].as_f64().expect("a delivered share");
    assert!((0.9..=1.05).contains(&share), "delivered {share} of what was asked for: {:#}", report["window"]);

    // The server's counters: what it forwarded is what the subscribers counted (minus what
    // was lost on the way, plus retransmissions, which the load test counts once), and what
    // it received is what the publishers sent.
    let server_sent = metric(&server.base, sent).await - sent_before;
    let server_received = metric(&server.base, received).await - received_before;
    let counted = report["total"]["packets"].as_u64().unwrap();
    let published = report["publisher_packets_sent"].as_u64().unwrap();
    let close = |a: u64, b: u64| (a as f64 - b as f64).abs() <= 0.02 * b as f64 + 20.0;
    assert!(close(counted, server_sent), "subscribers counted {counted}, server sent {server_sent}");
    assert!(close(published, server_received), "publishers sent {published}, server received {server_received}");
    server.stop().await;
}

#[tokio::test]
async fn rooms_on_different_media_workers_each_forward_through_their_own() {
    let server = TestServer::start_with(|c| ServeConfig { media_workers: 2, ..c }).await;
    let (udp, counters) = (&server.running().media_udp, &server.running().media_counters);
    assert_eq!(counters.len(), 2);
    assert_ne!(udp[0].port(), udp[1].port(), "one UDP port per worker: {udp:?}");
    // Video rooms until one lives on each worker (a room's worker follows from its uuid,
    // its name in the media server).
    let api = server.server_api();
    api.post("/members", json!({"appUserId": "owner", "appUserName": "Owner"})).await.expect(201);
    let mut rooms: [Option<i64>; 2] = [None, None];
    for _ in 0..64 {
        let room = api.post("/video-rooms", json!({"title": "workers", "appUserId": "owner"})).await.expect(201);
        let worker = vroom_media::room_worker(room["uuid"].as_str().unwrap(), 2);
        rooms[worker].get_or_insert(room["id"].as_i64().unwrap());
        if rooms.iter().all(Option::is_some) {
            break;
        }
    }
    let rooms = rooms.map(|r| r.expect("a room on each worker").to_string());
    let before: Vec<u64> = counters.iter().map(|c| c.rtp_sent.load(Relaxed)).collect();
    let scraped_before = metric(&server.base, "vroom_media_rtp_sent_packets_total").await;

    let args = ["--rooms", "2", "--room", &rooms[0], "--room", &rooms[1]];
    let per_room = ["--video-publishers", "1", "--audio-publishers", "2", "--subscribers", "1"];
    let timing = ["--duration", "2s", "--join-rate", "20"];
    let report = loadtest_report(&server, &[&args[..], &per_room, &timing].concat()).await;
    assert_everyone_received(&report, 6);

    // Both workers forwarded, about equally (the rooms are alike).
    let sent: Vec<u64> = counters.iter().zip(&before).map(|(c, b)| c.rtp_sent.load(Relaxed) - b).collect();
    assert!(sent.iter().all(|&s| s > 100), "RTP sent per worker: {sent:?}");
    assert!(sent[0].abs_diff(sent[1]) * 4 < sent[0] + sent[1], "RTP sent per worker: {sent:?}");
    assert!(counters.iter().all(|c| c.rtp_received.load(Relaxed) > 100 && c.datagrams_received.load(Relaxed) > 100));
    // `/metrics` shows the sum over the workers.
    let scraped = metric(&server.base, "vroom_media_rtp_sent_packets_total").await - scraped_before;
    let total: u64 = counters.iter().zip(&before).map(|(c, b)| c.rtp_sent.load(Relaxed) - b).sum();
    assert!(scraped.abs_diff(total) <= total / 50, "/metrics {scraped}, workers {sent:?} then {total}");
    let dropped: u64 = counters.iter().map(|c| c.datagrams_send_dropped.load(Relaxed)).sum();
    assert_eq!(metric(&server.base, "vroom_media_datagrams_send_dropped_total").await, dropped);
    server.stop().await;
}

#[tokio::test]
async fn a_udp_spray_during_a_call_is_dropped_and_counted_and_the_call_goes_on() {
    let server = TestServer::start().await;
    let udp = server.running().media_udp[0];
    let unmatched = "vroom_media_datagrams_unmatched_total";
    let before = metric(&server.base, unmatched).await;
    // Junk from a stranger while the call runs: random-looking bytes, RTP- and DTLS-shaped
    // datagrams, ICE checks naming no connection of the server's.
    let spray = std::thread::spawn(move || {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let mut stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
        stun.extend_from_slice(&[9; 12]);
        stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
        stun.extend_from_slice(b"nope:you");
        let shapes: [Vec<u8>; 4] =
            [vec![0xa5; 200], [&[0x80, 0x60][..], &[1; 170]].concat(), vec![22, 254, 253, 0, 0], stun];
        let mut sent = 0u64;
        for round in 0..2000 {
            for shape in &shapes {
                sent += u64::from(socket.send_to(shape, udp).is_ok());
            }
            if round % 100 == 0 {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        sent
    });
    let args = ["--video-publishers", "1", "--audio-publishers", "2", "--subscribers", "1", "--duration", "3s"];
    let report = loadtest_report(&server, &[&args[..], &["--join-rate", "20"]].concat()).await;
    let sprayed = spray.join().expect("spray");
    // The video publisher is one of the two audio publishers: three participants.
    assert_everyone_received(&report, 3);
    // Each sprayed datagram the kernel delivered is counted as unmatched (loopback may drop
    // some under load, never add any: the load test's own datagrams all match).
    let counted = metric(&server.base, unmatched).await - before;
    assert!(counted <= sprayed && counted * 10 >= sprayed * 9, "sprayed {sprayed}, counted unmatched {counted}");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_token_fails_the_run_with_the_servers_reason() {
    let server = TestServer::start().await;
    // A real key with the wrong secret: the signature does not verify.
    let args = ["--url", &server.ws_url(), "--api-key", MEDIA_KEY, "--api-secret", "wrong", "--subscribers", "2"];
    let (code, stdout, stderr) = loadtest(args.iter().map(|s| s.to_string()).collect()).await;
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(stderr.contains("invalid authorization token"), "{stderr}");
    // Nobody there: the target is named in the error.
    let args = ["--url", "ws://127.0.0.1:9", "--api-key", "k", "--api-secret", "s", "--subscribers", "1"];
    let (code, _, stderr) = loadtest(args.iter().map(|s| s.to_string()).collect()).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot reach ws://127.0.0.1:9"), "{stderr}");
    server.stop().await;
}

/// Exit status 1 when some participants did not join: once the run has its media tokens,
/// all members but the first participant's are deleted (their tokens stop working), so the
/// later joins are refused; the report counts them.
#[tokio::test]
async fn a_run_in_which_some_cannot_join_exits_1() {
    let server = TestServer::start().await;
    let api = server.server_api();
    api.post("/members", json!({"appUserId": "owner", "appUserName": "Owner"})).await.expect(201);
    let room = api.post("/video-rooms", json!({"title": "refusing", "appUserId": "owner"})).await.expect(201);
    let id = room["id"].as_i64().unwrap();
    let app = format!("{}:{}", server.app.key, server.app.secret);
    let args = ["--url", &server.ws_url(), "--vroom-app", &app, "--json", "--room", &id.to_string()];
    // One join a second: the later ones start well after the members are gone.
    let per_room = ["--subscribers", "4", "--join-rate", "1", "--duration", "1s"];
    let run = tokio::spawn(loadtest([&args[..], &per_room].concat().iter().map(|s| s.to_string()).collect()));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let later = loop {
        let page = api.get("/members?pageSize=100").await.expect(200);
        let mut subs: Vec<String> = page["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["appUserId"].as_str().filter(|u| u.contains("-r1-sub")).map(str::to_owned))
            .collect();
        if subs.len() == 4 {
            subs.sort();
            break subs.split_off(1);
        }
        assert!(std::time::Instant::now() < deadline, "the run never logged its members in: {page}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for member in &later {
        api.delete(&format!("/members/{member}")).await.expect_no_content();
    }
    let (code, stdout, stderr) = run.await.unwrap();
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    assert_eq!(report["failed"], 3, "{report:#}");
    server.stop().await;
}
