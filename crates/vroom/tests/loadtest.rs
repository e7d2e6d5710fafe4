//! `vroom loadtest` against a vroom server in this process: a short run with a few
//! participants must deliver media to every subscriber with little loss, and its JSON
//! must agree with the server's own `/metrics` counters; a bad token must fail the run
//! with the server's reason. Run inside a loopback-only network namespace
//! (`scripts/test.sh`); everything is bounded in time.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{MEDIA_KEY, TestServer};
use serde_json::Value;

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
    let server = TestServer::start().await;
    let sent = "vroom_media_rtp_sent_packets_total";
    let received = "vroom_media_rtp_received_packets_total";
    let (sent_before, received_before) = (metric(&server.base, sent).await, metric(&server.base, received).await);
    let args = [
        "--url",
        &server.ws_url(),
        "--vroom-app",
        &format!("{}:{}", server.app.key, server.app.secret),
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
        "--json",
    ];
    let (code, stdout, stderr) = loadtest(args.iter().map(|s| s.to_string()).collect()).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    assert_eq!(report["joined"], 5, "{report:#}");
    assert_eq!(report["failed"], 0);

    // Every participant receives: publisher 0 gets publisher 1's audio, publisher 1 gets
    // publisher 0's audio and video, each subscriber gets all three tracks.
    let participants = report["participants"].as_array().unwrap();
    assert_eq!(participants.len(), 5);
    for p in participants {
        let packets = p["packets"].as_u64().unwrap();
        let (lost, expected) = (p["lost"].as_u64().unwrap(), p["expected"].as_u64().unwrap());
        assert!(packets > 50, "{p}");
        assert!(lost * 100 < expected, "more than 1 % lost: {p}");
    }
    let tracks: u64 = participants.iter().map(|p| p["tracks"].as_u64().unwrap()).sum();
    assert_eq!(tracks, 1 + 2 + 3 * 3, "{report:#}");
    assert!(report["total"]["loss_percent"].as_f64().unwrap() < 1.0);
    assert!(report["video"]["latency_samples"].as_u64().unwrap() > 0);
    assert!(report["audio"]["latency_p50_ms"].as_f64().is_some());

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
