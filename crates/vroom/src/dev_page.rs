//! `/dev` (only with `--dev`): the first minute. One button creates a meeting in the dev app
//! and the page links to the meeting UI as two members (and an observer), each with a fresh
//! embed URL, so a new user is in a meeting with themself in two tabs.
//!
//! It must not be reachable without `--dev`: it hands out logins for the dev app's members.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use vroom_platform::Platform;
use vroom_platform::model::{AppRef, VideoRoomId};

#[derive(Clone)]
struct Dev {
    platform: Arc<Platform>,
    app: AppRef,
}

/// The dev members: the host owns the meetings `/dev` creates.
const HOST: (&str, &str) = ("alice", "Alice");
const GUEST: (&str, &str) = ("bob", "Bob");
const OBSERVER: (&str, &str) = ("carol", "Carol");

pub fn routes(platform: Arc<Platform>, app: AppRef) -> Router {
    Router::new()
        .route("/dev", get(home))
        .route("/dev/meetings", post(start_meeting))
        .route("/dev/meetings/{id}", get(meeting))
        .with_state(Dev { platform, app })
}

async fn home() -> Response {
    html(
        StatusCode::OK,
        "<h1>vroom dev mode</h1>\
         <p>Start a meeting in the <code>dev</code> app, then open it as Alice (the host) and as \
         Bob in two tabs, or two browsers.</p>\
         <p lang=\"ko\">dev 앱에 회의를 만들고 Alice(호스트)와 Bob으로 두 탭에서 입장해 보세요.</p>\
         <form method=\"post\" action=\"/dev/meetings\"><button type=\"submit\">Start a meeting · 회의 시작</button></form>",
    )
}

async fn start_meeting(State(dev): State<Dev>) -> Response {
    match create_meeting(&dev).await {
        Ok(id) => (StatusCode::SEE_OTHER, [(LOCATION, format!("/dev/meetings/{id}"))]).into_response(),
        Err(e) => failed(&e),
    }
}

async fn create_meeting(dev: &Dev) -> vroom_platform::Result<VideoRoomId> {
    for (id, name) in [HOST, GUEST, OBSERVER] {
        let body = serde_json::from_value(json!({"appUserId": id, "appUserName": name})).expect("a valid member input");
        dev.platform.upsert_member(&dev.app, &body).await?;
    }
    let body = serde_json::from_value(json!({"appUserId": HOST.0, "type": "VIDEO_CONFERENCE", "title": "Dev meeting"}))
        .expect("a valid room input");
    Ok(dev.platform.create_room_as_app(&dev.app, &body).await?.id)
}

async fn meeting(State(dev): State<Dev>, Path(id): Path<VideoRoomId>) -> Response {
    let mut links = String::new();
    for ((app_user_id, name), observer, label) in [
        (HOST, false, "host · 호스트"),
        (GUEST, false, "guest · 참가자"),
        (OBSERVER, true, "observer, hidden from the others · 관찰자"),
    ] {
        let body = serde_json::from_value(json!({"isObserver": observer})).expect("a valid embed input");
        match dev.platform.embed_url(&dev.app, id, app_user_id, &body).await {
            Ok(url) => links.push_str(&format!(
                "<li><a href=\"{}\" target=\"_blank\" rel=\"noopener\">Join as {name}</a> ({label})</li>",
                escape(&url.video_room_embed_url)
            )),
            Err(e) => return failed(&e),
        }
    }
    html(
        StatusCode::OK,
        &format!(
            "<h1>Dev meeting {id}</h1><p>Open each link in a tab of its own. Every visit of this \
             page makes fresh links (each carries a new login).</p><ul>{links}</ul>\
             <form method=\"post\" action=\"/dev/meetings\"><button type=\"submit\">Start another meeting</button></form>\
             <p><a href=\"/dev\">Back</a></p>"
        ),
    )
}

fn failed(e: &vroom_platform::Error) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = format!("{}: {}", e.code, e.message);
    html(status, &format!("<h1>That did not work</h1><p>{}</p><p><a href=\"/dev\">Back</a></p>", escape(&text)))
}

fn html(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>vroom dev</title></head>\
         <body>{body}</body></html>"
    );
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8"), (CACHE_CONTROL, "no-store")], page).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
