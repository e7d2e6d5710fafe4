//! Rate limits against a real server over HTTP: 429 `TOO_MANY_REQUESTS` with `Retry-After`
//! per member, per app and per address for failed authentications; 0 disables a limit.
//! Limits are small so the tests run fast (a few seconds of waiting in all).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use vroom::ServeConfig;
use vroom_api::ratelimit::{Limit, RateLimitConfig};

/// A server whose rate limits `adjust` sets.
async fn server_with(adjust: impl FnOnce(&mut RateLimitConfig)) -> TestServer {
    TestServer::start_with(|mut c| {
        adjust(&mut c.rate_limits);
        c
    })
    .await
}

/// Sends `send` until it answers 429 (at most `max` times); returns the answers before the
/// 429, and the 429.
async fn until_limited<F: Future<Output = Resp>>(max: usize, mut send: impl FnMut() -> F) -> (Vec<Resp>, Resp) {
    let mut before = Vec::new();
    while before.len() < max {
        let resp = send().await;
        if resp.status == 429 {
            return (before, resp);
        }
        before.push(resp);
    }
    panic!("no 429 after {max} requests");
}

/// [`until_limited`] where every answer before the 429 must be a success; returns how many.
async fn served_until_limited<F: Future<Output = Resp>>(max: usize, send: impl FnMut() -> F) -> (usize, Resp) {
    let (before, limited) = until_limited(max, send).await;
    for resp in &before {
        assert!(resp.status < 300, "{} {}: {} {}", resp.method, resp.url, resp.status, resp.body);
    }
    (before.len(), limited)
}

/// Asserts the exact 429 envelope and a `Retry-After` of whole seconds ≥ 1; returns it.
#[track_caller]
fn expect_too_many(resp: &Resp) -> Duration {
    resp.expect_error(429, "TOO_MANY_REQUESTS");
    let body = resp.json();
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "only errorCode and errorMessage: {body}");
    let header = resp.retry_after.as_deref().unwrap_or_else(|| panic!("429 without Retry-After: {resp:?}"));
    let secs: u64 = header.parse().unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {header:?}"));
    assert!(secs >= 1, "Retry-After {secs}");
    Duration::from_secs(secs)
}

async fn metric(ts: &TestServer, series: &str) -> u64 {
    let text = ts.anon().get("/metrics").await.body;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
}

#[tokio::test]
async fn a_member_over_its_limit_gets_429_and_others_are_unaffected() {
    let ts = server_with(|l| l.member = Limit::new(1, 5)).await;
    let other_app = ts.new_app("other-app").await;
    let alice = login(&ts.server_api(), "alice", json!({})).await;
    let bob = login(&ts.server_api(), "bob", json!({})).await;
    let carol = login(&ts.server_api_for(&other_app), "carol", json!({})).await;

    let me = ts.member_api(&alice.access);
    let (served, resp) = served_until_limited(20, || me.get("")).await;
    // The burst, plus at most one token refilled while the burst was being sent.
    assert!((5..=6).contains(&served), "served {served} before the first 429");
    let wait = expect_too_many(&resp);
    assert_eq!(resp.json()["errorCode"], "TOO_MANY_REQUESTS");
    // Every member API route of that member is limited, not just one path.
    expect_too_many(&me.get("/video-rooms").await);

    // Another member of the same app, a member of another app and the server API are not.
    ts.member_api(&bob.access).get("").await.expect(200);
    ts.member_api(&carol.access).get("").await.expect(200);
    ts.server_api().get("").await.expect(200);
    // Nor are health, metrics and the docs.
    assert_eq!(ts.anon().get("/healthz").await.status, 200);
    ts.anon().get("/open-api/openapi.json").await.expect(200);
    assert_eq!(metric(&ts, r#"vroom_http_rate_limited_total{api="member",limit="caller"}"#).await, 2);

    tokio::time::sleep(wait).await;
    assert_eq!(me.get("").await.expect(200)["appUserId"], "alice");
}

#[tokio::test]
async fn an_app_over_its_limit_gets_429_and_other_apps_are_unaffected() {
    let ts = server_with(|l| l.server = Limit::new(1, 8)).await;
    let other_app = ts.new_app("other-app").await;
    let api = ts.server_api();
    let alice = login(&api, "alice", json!({})).await; // one request of the burst

    let (served, resp) = served_until_limited(30, || api.get("/members")).await;
    assert!((7..=8).contains(&served), "served {served} before the first 429");
    let wait = expect_too_many(&resp);
    // The same app under its /v2/vicollo-apps/me alias shares the limit.
    expect_too_many(&ts.server_api_at(VICOLLO_PREFIX).get("").await);

    ts.server_api_for(&other_app).get("").await.expect(200);
    ts.member_api(&alice.access).get("").await.expect(200);
    assert_eq!(metric(&ts, r#"vroom_http_rate_limited_total{api="server",limit="caller"}"#).await, 2);

    tokio::time::sleep(wait).await;
    api.get("").await.expect(200);
}

#[tokio::test]
async fn repeated_bad_credentials_from_one_address_get_429_while_good_ones_still_work() {
    let ts = server_with(|l| {
        l.auth_failures = Limit::new(1, 5);
        l.server = Limit::new(1, 20);
    })
    .await;
    let wrong_secret = ts.anon().basic(&ts.app.key, "not-the-secret").prefix(APPS_PREFIX);

    let (failed, resp) = until_limited(10, || wrong_secret.get("")).await;
    failed.iter().for_each(|r| r.expect_error(401, "INVALID_APP_CREDENTIALS"));
    assert!((5..=6).contains(&failed.len()), "429 after {} bad attempts", failed.len());
    expect_too_many(&resp);
    // Further guesses from the address, on either API, are refused with 429: guessing does not
    // go on at full speed.
    expect_too_many(&ts.anon().bearer("not-a-token").prefix("/v2/members/me").get("").await);
    assert_eq!(metric(&ts, r#"vroom_http_rate_limited_total{api="server",limit="auth_failures"}"#).await, 1);
    assert_eq!(metric(&ts, r#"vroom_http_rate_limited_total{api="member",limit="auth_failures"}"#).await, 1);

    // Someone guessing from a shared address (a NAT, an office proxy) does not lock the real
    // backend out: valid credentials are always checked and served, within the app's own limit,
    // and successful requests are never charged as failures.
    assert_eq!(ts.anon().get("/healthz").await.status, 200);
    for _ in 0..20 {
        ts.server_api().get("").await.expect(200);
    }
    expect_too_many(&ts.server_api().get("").await);
    assert_eq!(metric(&ts, r#"vroom_http_rate_limited_total{api="server",limit="caller"}"#).await, 1);
}

#[tokio::test]
async fn bad_refresh_tokens_count_as_failed_authentications() {
    let ts = server_with(|l| l.auth_failures = Limit::new(1, 3)).await;
    let anon = ts.anon();
    let (failed, resp) =
        until_limited(10, || anon.post("/v2/members/refresh-token", json!({"refreshToken": "guess"}))).await;
    failed.iter().for_each(|r| r.expect_error(401, "INVALID_REFRESH_TOKEN"));
    assert!((3..=4).contains(&failed.len()), "429 after {} bad refresh tokens", failed.len());
    expect_too_many(&resp);
}

#[tokio::test]
async fn zero_disables_each_limit() {
    let ts = server_with(|l| {
        // Rate 0 or burst 0: with either, any limit at all would refuse the 2nd request.
        l.member = Limit::new(0, 1);
        l.server = Limit::new(0, 1);
        l.auth_failures = Limit::new(1, 0);
    })
    .await;
    let api = ts.server_api();
    let alice = login(&api, "alice", json!({})).await;
    for _ in 0..30 {
        api.get("").await.expect(200);
        ts.member_api(&alice.access).get("").await.expect(200);
        ts.anon().bearer("bad").prefix("/v2/members/me").get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    }
    // The defaults, by contrast, limit.
    assert_eq!(ServeConfig::for_data_dir("x").rate_limits, RateLimitConfig::default());
    assert!(RateLimitConfig::default().member.is_enabled() && RateLimitConfig::default().auth_failures.is_enabled());
}

#[tokio::test]
async fn the_openapi_document_lists_429_on_every_api_operation() {
    let ts = TestServer::start().await;
    let doc = ts.anon().get("/open-api/openapi.json").await.expect(200);
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let resp = &op["responses"]["429"];
            assert!(resp.is_object(), "{method} {path} does not document 429");
            assert!(resp["headers"]["Retry-After"].is_object(), "{method} {path}: 429 without Retry-After");
            operations += 1;
        }
    }
    assert!(operations > 40, "{operations}");
}

/// Health, metrics, the docs and the media server's `/rtc` are never limited: not by an
/// address that has used up its failed authentications, not by bad media tokens.
#[tokio::test]
async fn health_metrics_docs_and_rtc_are_never_limited() {
    let ts = server_with(|l| l.auth_failures = Limit::new(1, 3)).await;
    let api = ts.server_api();
    api.post("/members", json!({"appUserId": "ann"})).await.expect(201);
    let room = api.post("/video-rooms", json!({"title": "R"})).await.expect(201);
    let creds =
        api.post(&format!("/video-rooms/{}/members/ann/web-rtc-tokens", id_of(&room)), json!({})).await.expect(201);
    let token = creds["webRtcToken"].as_str().unwrap().to_owned();
    // The address is over its failure limit.
    let wrong = ts.anon().basic(&ts.app.key, "wrong").prefix(APPS_PREFIX);
    let (_, limited) = until_limited(10, || wrong.get("")).await;
    expect_too_many(&limited);

    let anon = ts.anon();
    for _ in 0..30 {
        assert_eq!(anon.get("/rtc/validate?access_token=not-a-token").await.status, 401, "a bad media token");
    }
    for path in ["/healthz", "/metrics", "/open-api/openapi.json", &format!("/rtc/validate?access_token={token}")] {
        for _ in 0..30 {
            let resp = anon.get(path).await;
            assert_eq!(resp.status, 200, "{path}: {} {}", resp.status, resp.body);
        }
    }
    // Still limited: the 150 requests above take seconds on a loaded machine, in which the
    // bucket refills (1 a second), but never past its burst of 3.
    let (allowed, limited) = until_limited(4, || wrong.get("")).await;
    expect_too_many(&limited);
    assert!(allowed.len() <= 3, "{} failures allowed again", allowed.len());
}
