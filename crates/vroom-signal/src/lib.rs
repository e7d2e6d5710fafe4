//! # vroom-signal: LiveKit signalling
//!
//! Owns the HTTP/WebSocket face of the media server for LiveKit clients:
//!
//! - `GET /rtc` (WebSocket): binary protobuf `SignalRequest`/`SignalResponse`, one message
//!   per frame ([`connection`]);
//! - `GET /rtc/validate`: the same checks as `/rtc`, answered as `200 success` or a 4xx with
//!   a plain-text reason (clients call it to explain a failed WebSocket);
//! - `/rtc/v1` and `/rtc/v1/validate`: plain 404 (with CORS) so that clients that try the
//!   single-PC path first (livekit-client ≥ 2.17, the native SDKs) fall back to `/rtc`.
//!
//! It verifies access tokens ([`auth`]), asks the embedding application whether the room
//! may be joined ([`RoomGate`]), and translates between protobuf and the media server's
//! commands and events ([`convert`]). It must not hold media state of its own: rooms,
//! participants and tracks live in `vroom-media`.

pub mod auth;
pub mod connection;
pub mod convert;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use vroom_media::{JoinRequest, MediaHandle};

pub use auth::{Refused, TokenVerifier};

/// Why a room may not be joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomRefusal {
    /// No such room.
    NotFound,
    /// The room exists but is closed (ended, cancelled).
    Closed(String),
    /// This participant may not join (e.g. its member was deleted since the token).
    Denied(String),
    /// The check itself failed (e.g. the database is unavailable).
    Unavailable(String),
}

/// The application's say on which rooms exist (vroom: a video room uuid that is not
/// ended or cancelled).
#[async_trait::async_trait]
pub trait RoomGate: Send + Sync {
    /// May `identity` join `room` now?
    async fn admit(&self, room: &str, identity: &str) -> Result<(), RoomRefusal>;
}

/// What the signalling routes need.
#[derive(Clone)]
pub struct SignalState {
    pub verifier: TokenVerifier,
    pub media: MediaHandle,
    pub gate: Arc<dyn RoomGate>,
    /// Reported to clients as `ServerInfo.node_id`.
    pub node_id: String,
}

/// The signalling routes, to merge into the application's router.
pub fn router(state: SignalState) -> Router {
    Router::new()
        .route("/rtc", get(rtc))
        .route("/rtc/validate", get(validate))
        .route("/rtc/v1", get(v1_not_found))
        .route("/rtc/v1/validate", get(v1_not_found))
        .with_state(Arc::new(state))
}

type Params = Query<HashMap<String, String>>;

fn flag(params: &HashMap<String, String>, name: &str) -> Option<bool> {
    params.get(name).map(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The checks shared by `/rtc` and `/rtc/validate`.
async fn authorize(
    state: &SignalState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<JoinRequest, Refused> {
    let token = auth::find_token(params.get("access_token").map(String::as_str), headers)?;
    let mut join = state.verifier.verify(token)?;
    join.auto_subscribe = flag(params, "auto_subscribe").unwrap_or(true);
    match state.gate.admit(&join.room, &join.identity).await {
        Ok(()) => Ok(join),
        Err(RoomRefusal::NotFound) => Err(Refused::new(StatusCode::NOT_FOUND, "requested room does not exist")),
        Err(RoomRefusal::Closed(why) | RoomRefusal::Denied(why)) => Err(Refused::new(StatusCode::FORBIDDEN, why)),
        Err(RoomRefusal::Unavailable(why)) => {
            tracing::warn!(reason = %why, "room check failed");
            Err(Refused::new(StatusCode::SERVICE_UNAVAILABLE, "room check failed, try again"))
        }
    }
}

/// Plain-text response that browsers on any origin may read.
fn text(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn validate(State(state): State<Arc<SignalState>>, Query(params): Params, headers: HeaderMap) -> Response {
    match authorize(&state, &params, &headers).await {
        Ok(_) => text(StatusCode::OK, "success".into()),
        Err(refused) => text(refused.status, refused.reason),
    }
}

async fn rtc(
    State(state): State<Arc<SignalState>>,
    Query(params): Params,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return text(StatusCode::NOT_FOUND, "a WebSocket upgrade is required".into());
    };
    let join = match authorize(&state, &params, &headers).await {
        Ok(join) => join,
        Err(refused) => {
            tracing::info!(status = %refused.status, reason = %refused.reason, "signal connection refused");
            return text(refused.status, refused.reason);
        }
    };
    // The token is kept to be refreshed (the LiveKit `RefreshToken` message) while the
    // participant stays: a client reconnecting hours later needs a token still valid then.
    let renew = auth::find_token(params.get("access_token").map(String::as_str), &headers)
        .ok()
        .and_then(|token| state.verifier.renewable(token))
        .map(|token| connection::Renewal { verifier: state.verifier.clone(), token });
    let options = connection::ClientOptions { reconnect: flag(&params, "reconnect").unwrap_or(false), renew };
    let media = state.media.clone();
    let node_id = state.node_id.clone();
    upgrade
        .max_message_size(connection::MAX_MESSAGE_BYTES)
        .max_frame_size(connection::MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection::run(socket, media, join, options, node_id))
}

/// Single-PC signalling is not implemented; a 404 makes clients fall back to `/rtc`.
async fn v1_not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found".into())
}
