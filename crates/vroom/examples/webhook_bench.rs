//! Webhook delivery benchmark (run by `bench/webhooks.sh`): events/s delivered and the
//! latency from the change that caused an event (its transaction committed) to the POST
//! arriving at a receiver on loopback; then the same with a second app whose receiver
//! never answers, to show that one dead receiver does not slow another app down.
//!
//! Events are produced through the platform (member upserts), not HTTP: this measures the
//! outbox and the deliverer, not the API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use vroom::ServeConfig;
use vroom_platform::Platform;
use vroom_platform::input::MemberInput;
use vroom_platform::model::AppRef;

#[derive(Default)]
struct Arrivals(Mutex<HashMap<String, Instant>>);

async fn fast(State(a): State<Arc<Arrivals>>, body: Bytes) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(id) = v["data"]["member"]["appUserId"].as_str() {
        a.0.lock().unwrap().entry(id.to_owned()).or_insert_with(Instant::now);
    }
    StatusCode::OK
}

/// A receiver that accepts the connection and never answers (each attempt times out).
async fn dead(_body: Bytes) -> StatusCode {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    StatusCode::OK
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

async fn register(platform: &Platform, app: &AppRef, url: &str) {
    let body = serde_json::from_value(json!({ "url": url })).unwrap();
    platform.put_callback_api(app, &body).await.unwrap();
}

/// Produces `n` MEMBER_CREATED events for `app` from `workers` tasks; returns commit times.
async fn produce(
    platform: Arc<Platform>,
    app: AppRef,
    prefix: &str,
    n: usize,
    workers: usize,
) -> HashMap<String, Instant> {
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (platform, app, prefix) = (platform.clone(), app.clone(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for i in (w..n).step_by(workers) {
                let id = format!("{prefix}{i}");
                let input: MemberInput = serde_json::from_value(json!({ "appUserId": id })).unwrap();
                platform.upsert_member(&app, &input).await.unwrap();
                done.push((id, Instant::now()));
            }
            done
        }));
    }
    let mut out = HashMap::new();
    for t in tasks {
        out.extend(t.await.unwrap());
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(platform: Arc<Platform>, n: usize, with_dead_app: bool) -> String {
    let arrivals = Arc::new(Arrivals::default());
    let url = serve(Router::new().route("/hook", post(fast)).with_state(arrivals.clone())).await;
    let (app, _) = platform.create_app("bench-fast").await.unwrap();
    let app = app.as_ref();
    register(&platform, &app, &url).await;
    if with_dead_app {
        let dead_url = serve(Router::new().route("/hook", post(dead))).await;
        let (slow, _) = platform.create_app("bench-dead").await.unwrap();
        let slow = slow.as_ref();
        register(&platform, &slow, &dead_url).await;
        produce(platform.clone(), slow, "dead-", 500, 4).await;
    }
    let started = Instant::now();
    let committed = produce(platform.clone(), app, "m-", n, 16).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrivals.0.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "events did not all arrive");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrived = arrivals.0.lock().unwrap().clone();
    let last = arrived.values().max().copied().unwrap();
    let mut lat: Vec<f64> =
        committed.iter().map(|(id, t)| arrived[id].saturating_duration_since(*t).as_secs_f64() * 1000.0).collect();
    lat.sort_by(f64::total_cmp);
    let rate = n as f64 / last.duration_since(started).as_secs_f64();
    let label =
        if with_dead_app { "with a second app whose receiver never answers" } else { "one app, healthy receiver" };
    format!(
        "| {label} | {n} | {rate:.0} | {:.1} | {:.1} | {:.1} |",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    )
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let server = vroom::start(&ServeConfig::for_data_dir(dir.path())).await.unwrap();
    let platform = server.platform.clone();
    println!("| Scenario | events | delivered events/s | p50 ms | p99 ms | max ms |");
    println!("|---|--:|--:|--:|--:|--:|");
    println!("{}", run(platform.clone(), n, false).await);
    println!("{}", run(platform.clone(), n, true).await);
    // The dead receiver's attempts are still in flight (10 s timeouts); no need to wait.
    std::process::exit(0);
}
