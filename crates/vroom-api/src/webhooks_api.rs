//! Server-API routes of webhooks: the receiver registration, the replayable event log and
//! the delivery log (mounted under both server-API prefixes).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vroom_platform::callbacks::{CallbackApiInput, CallbackApiView, EventQuery};
use vroom_platform::event::EventType;
use vroom_platform::input;
use vroom_platform::model::Page;
use vroom_platform::webhook::WebhookDelivery;

use crate::docs::PageOf;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthApp, JsonBody, Path, Query};
use crate::server_api::PageQuery;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/callback-api", get(get_callback).put(put_callback).delete(delete_callback))
        .route("/events", get(list_events))
        .route("/webhook-deliveries", get(list_deliveries))
        .route("/webhook-deliveries/{eventId}/redeliver", post(redeliver))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// Only this room's events (ordered by `seq`).
    pub video_room_id: Option<i64>,
    /// Only events with a greater `seq`.
    pub after_seq: Option<i64>,
    #[serde(rename = "type")]
    #[param(inline, rename = "type")]
    pub event_type: Option<EventType>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// A webhook event: `{id, type, app, data, createdAt}` plus `seq` for room events.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelope {
    id: String,
    #[serde(rename = "type")]
    event_type: EventType,
    app: serde_json::Value,
    data: serde_json::Value,
    created_at: String,
    /// Per-room monotonically increasing number (room events only).
    seq: Option<i64>,
}

#[utoipa::path(put, path = "/v2/apps/me/callback-api", tag = "webhooks", request_body = CallbackApiInput,
    responses((status = 200, body = CallbackApiView), (status = 400, body = ErrorBody)), security(("appCredentials" = [])))]
/// Registers (or replaces) the app's webhook receiver; returns the signing secret.
async fn put_callback(
    State(s): State<AppState>,
    app: AuthApp,
    JsonBody(body): JsonBody<CallbackApiInput>,
) -> ApiResult<Json<CallbackApiView>> {
    Ok(Json(s.platform.put_callback_api(&app.app_ref(), &body).await?))
}

#[utoipa::path(get, path = "/v2/apps/me/callback-api", tag = "webhooks",
    responses((status = 200, body = CallbackApiView), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// The registered receiver (without the signing secret).
async fn get_callback(State(s): State<AppState>, app: AuthApp) -> ApiResult<Json<CallbackApiView>> {
    Ok(Json(s.platform.get_callback_api(&app.app_ref()).await?))
}

#[utoipa::path(delete, path = "/v2/apps/me/callback-api", tag = "webhooks",
    responses((status = 204), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// Removes the receiver; pending deliveries are cancelled.
async fn delete_callback(State(s): State<AppState>, app: AuthApp) -> ApiResult<StatusCode> {
    s.platform.delete_callback_api(&app.app_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v2/apps/me/events", tag = "webhooks", params(EventListQuery),
    responses((status = 200, body = PageOf<EventEnvelope>), (status = 400, body = ErrorBody)), security(("appCredentials" = [])))]
/// The event log (kept at least 7 days), oldest first: lets a receiver catch up.
async fn list_events(
    State(s): State<AppState>,
    app: AuthApp,
    Query(q): Query<EventListQuery>,
) -> ApiResult<Json<Page<serde_json::Value>>> {
    let page = input::page_request(q.page, q.page_size)?;
    let query = EventQuery { video_room_id: q.video_room_id, after_seq: q.after_seq, event_type: q.event_type };
    Ok(Json(s.platform.list_events(&app.app_ref(), &query, page).await?))
}

#[utoipa::path(get, path = "/v2/apps/me/webhook-deliveries", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = PageOf<WebhookDelivery>), (status = 400, body = ErrorBody)), security(("appCredentials" = [])))]
/// The delivery log, newest first: status, attempts, last answer, next attempt.
async fn list_deliveries(
    State(s): State<AppState>,
    app: AuthApp,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<WebhookDelivery>>> {
    let page = input::page_request(q.page, q.page_size)?;
    Ok(Json(s.platform.list_deliveries(&app.app_ref(), page).await?))
}

#[utoipa::path(post, path = "/v2/apps/me/webhook-deliveries/{eventId}/redeliver", tag = "webhooks",
    params(("eventId" = String, Path)),
    responses((status = 200, body = WebhookDelivery), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// Delivers an event again, now, to the current receiver.
async fn redeliver(
    State(s): State<AppState>,
    app: AuthApp,
    Path(event_id): Path<String>,
) -> ApiResult<Json<WebhookDelivery>> {
    Ok(Json(s.platform.redeliver(&app.app_ref(), &event_id).await?))
}
