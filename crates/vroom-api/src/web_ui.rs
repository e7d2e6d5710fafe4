//! The prebuilt meeting UI (`web/`, built by Vite into `web/dist`): its files under `/ui/`
//! and its page at the embed URL paths, with the headers that keep it safe to embed.
//!
//! The files are compiled into the binary in every profile (`debug-embed`: the tests serve
//! what users get); `build.rs` makes cargo rebuild when the UI is rebuilt. It must not know
//! what the page does: the page talks to the member API like any client.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use vroom_platform::model::{AppId, EmbedPolicy};
use vroom_platform::{ErrorCode, Platform};

use crate::AppState;
use crate::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Files;

/// Where the UI's files are served; Vite builds it with this base.
pub const ASSET_PREFIX: &str = "/ui/";

/// Whether this binary carries the meeting UI (`web/dist` existed when it was built).
pub fn ui_built() -> bool {
    Files::get("index.html").is_some()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/{*path}", get(asset))
        .route("/vicollo-apps/{appId}/rooms/join/{roomUuid}", get(embed_page))
        .route("/room/join/{roomUuid}", get(member_page))
        // Text assets are most of the first load: gzip them (the bundles shrink ~3×).
        .layer(CompressionLayer::new().gzip(true))
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(file) = Files::get(&path) else {
        return Err(ApiError::new(ErrorCode::NotFound, "no such file of the meeting UI"));
    };
    let etag = format!("\"{}\"", hex_prefix(&file.metadata.sha256_hash()));
    // Vite names everything under assets/ by its content: it can be cached forever.
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = if headers.get(IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(CONTENT_TYPE, file.metadata.mimetype().to_owned())], file.data.into_owned()).into_response()
    };
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(ETAG, HeaderValue::from_str(&etag).expect("hex is a valid header value"));
    h.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    Ok(response)
}

async fn embed_page(State(s): State<AppState>, Path((app_id, _room)): Path<(String, String)>) -> Response {
    // An app id that is not a number or not an app still gets the page: it shows the error
    // the API gives it, in the user's language.
    let policy = match app_id.parse::<AppId>() {
        Ok(id) => s.platform.embed_policy_of_app(id).await,
        Err(_) => Ok(EmbedPolicy::default()),
    };
    page(&s.platform, policy.unwrap_or_default())
}

async fn member_page(State(s): State<AppState>, Path(room_uuid): Path<String>) -> Response {
    let policy = s.platform.embed_policy_of_room(&room_uuid).await.unwrap_or_default();
    page(&s.platform, policy)
}

fn page(platform: &Platform, policy: EmbedPolicy) -> Response {
    let Some(index) = Files::get("index.html") else { return not_built() };
    let csp = content_security_policy(&platform.urls().media, &policy);
    let mut response = ([(CONTENT_TYPE, "text/html; charset=utf-8")], index.data.into_owned()).into_response();
    let h = response.headers_mut();
    h.insert(HeaderName::from_static("content-security-policy"), header(&csp));
    // The URL carries the member's key: never send it on as a referrer, never cache it.
    h.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    response
}

/// What the page may load and connect to: vroom's own origin and its media URL, nothing
/// else; who may frame it is the app's choice.
pub fn content_security_policy(media_url: &str, policy: &EmbedPolicy) -> String {
    let mut connect = vec!["'self'".to_owned()];
    if let Some(origin) = origin_of(media_url) {
        // livekit-client opens the WebSocket and, after a failure, asks the same host over
        // HTTP(S) why (`/rtc/validate`).
        let http = origin.replacen("ws", "http", 1);
        connect.push(origin);
        connect.push(http);
    }
    let ancestors = match &policy.frame_ancestors {
        None => "*".to_owned(),
        Some(list) if list.is_empty() => "'none'".to_owned(),
        Some(list) => list.join(" "),
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob:; font-src 'self'; connect-src {}; worker-src 'self' blob:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}",
        connect.join(" ")
    )
}

/// `scheme://host[:port]` of a ws(s) URL; `None` for anything else.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "ws" && scheme != "wss" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty())?;
    let valid = authority.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then(|| format!("{scheme}://{authority}"))
}

fn header(value: &str) -> HeaderValue {
    // Built from validated parts only; a bad value would be a bug, not input.
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

fn hex_prefix(hash: &[u8]) -> String {
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// A binary built without `web/dist` says so, on the page and (at start-up) in the log.
fn not_built() -> Response {
    let body = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>vroom</title>\
        <h1>The meeting UI is not part of this build</h1>\
        <p>This vroom binary was built without <code>web/dist</code>. Build the UI with \
        <code>scripts/build-ui.sh</code>, then build vroom again (or start it with \
        <code>scripts/run.sh</code>, which does both).</p>\
        <p lang=\"ko\">이 vroom 바이너리에는 회의 UI가 포함되어 있지 않습니다. \
        <code>scripts/build-ui.sh</code>로 UI를 빌드한 뒤 vroom을 다시 빌드하세요.</p></html>";
    let mut response =
        (StatusCode::SERVICE_UNAVAILABLE, [(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_connects_only_to_vroom_and_its_media_url() {
        let csp = content_security_policy("ws://10.0.0.5:7880", &EmbedPolicy::default());
        assert!(csp.contains("connect-src 'self' ws://10.0.0.5:7880 http://10.0.0.5:7880;"), "{csp}");
        assert!(csp.contains("frame-ancestors *"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        let tls = content_security_policy("wss://media.example.com/path", &EmbedPolicy::default());
        assert!(tls.contains("connect-src 'self' wss://media.example.com https://media.example.com;"), "{tls}");
    }

    #[test]
    fn frame_ancestors_follow_the_app() {
        let some = EmbedPolicy { frame_ancestors: Some(vec!["https://a.example".into(), "'self'".into()]) };
        assert!(content_security_policy("ws://h:1", &some).ends_with("frame-ancestors https://a.example 'self'"));
        let none = EmbedPolicy { frame_ancestors: Some(vec![]) };
        assert!(content_security_policy("ws://h:1", &none).ends_with("frame-ancestors 'none'"));
    }

    #[test]
    fn a_media_url_that_is_not_websocket_adds_nothing() {
        assert_eq!(origin_of("http://h:1"), None);
        assert_eq!(origin_of("ws://"), None);
        assert_eq!(origin_of("ws://h;x"), None);
        assert_eq!(origin_of("ws://[::1]:7880/rtc").as_deref(), Some("ws://[::1]:7880"));
    }
}
