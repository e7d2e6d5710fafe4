//! The member API (`/v2/members/me/**`): client SDKs, authenticated with a member access
//! token. Status codes are exactly those the official web SDK accepts (it throws on others).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use vroom_platform::input::{RefreshTokenInput, VideoRoomInput, WebRtcTokenInput};
use vroom_platform::model::*;
use vroom_platform::service::{RtcCredentials, TokenPair};
use vroom_platform::{Actor, RoomKey};

use crate::docs::PageOf;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthMember, JsonBody, Path, Query};
use crate::metrics::LimitedApi;
use crate::ratelimit::{self, ClientIp};
use crate::server_api::PageQuery;
use crate::server_api::VideoRoomListQuery;
use crate::state::AppState;
use vroom_platform::approval::LiveParticipant;
use vroom_platform::input;
use vroom_platform::session::{Participation, RoomSession};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/members/me", get(me))
        .route("/v2/members/me/video-rooms", post(create_room).get(list_rooms))
        .route("/v2/members/me/video-rooms/uuid/{uuid}", get(get_room_by_uuid))
        .route("/v2/members/me/video-rooms/{id}", get(get_room).patch(patch_room).delete(delete_room))
        .route("/v2/members/me/video-rooms/{id}/end", post(end_room))
        .route("/v2/members/me/video-rooms/{id}/web-rtc-tokens", post(web_rtc_tokens))
        .route("/v2/members/me/video-rooms/{id}/sessions", get(list_sessions))
        .route("/v2/members/me/video-rooms/{id}/sessions/{sessionNo}/participants", get(list_participants))
        .route("/v2/members/me/video-rooms/{id}/participants", get(live_participants))
        .route("/v2/members/me/video-rooms/{id}/participants/{appUserId}/approve", post(approve_participant))
        .route("/v2/members/me/video-rooms/{id}/participants/{appUserId}/reject", post(reject_participant))
        .route("/v2/members/me/video-rooms/{id}/participants/{appUserId}/remove", post(remove_participant))
        .route("/v2/members/refresh-token", post(refresh_token))
}

#[utoipa::path(get, path = "/v2/members/me", tag = "member-api",
    responses((status = 200, body = Member), (status = 401, body = ErrorBody)), security(("memberToken" = [])))]
/// The authenticated member.
async fn me(AuthMember(member): AuthMember) -> Json<Member> {
    Json(member)
}

#[utoipa::path(post, path = "/v2/members/me/video-rooms", tag = "member-api", request_body = VideoRoomInput,
    responses((status = 201, body = VideoRoom), (status = 400, body = ErrorBody)), security(("memberToken" = [])))]
/// Creates a room owned by the member.
async fn create_room(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    JsonBody(mut body): JsonBody<VideoRoomInput>,
) -> ApiResult<(StatusCode, Json<VideoRoom>)> {
    body.app_user_id = None; // the owner is always the caller
    Ok((StatusCode::CREATED, Json(s.platform.create_room_as_member(&m, &body).await?)))
}

#[utoipa::path(get, path = "/v2/members/me/video-rooms", tag = "member-api", params(VideoRoomListQuery),
    responses((status = 200, body = PageOf<VideoRoom>), (status = 400, body = ErrorBody)), security(("memberToken" = [])))]
/// The member's rooms plus the app's PUBLIC and MEMBER rooms.
async fn list_rooms(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Query(q): Query<VideoRoomListQuery>,
) -> ApiResult<Json<Page<VideoRoom>>> {
    let (filter, page) = q.filter()?;
    Ok(Json(s.platform.list_rooms(&m.app, filter, page, Actor::Member(&m)).await?))
}

#[utoipa::path(get, path = "/v2/members/me/video-rooms/{id}", tag = "member-api", params(("id" = i64, Path)),
    responses((status = 200, body = VideoRoom), (status = 404, body = ErrorBody)), security(("memberToken" = [])))]
async fn get_room(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path(id): Path<i64>,
) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.get_room(&m.app, RoomKey::Id(id), Actor::Member(&m)).await?))
}

#[utoipa::path(get, path = "/v2/members/me/video-rooms/uuid/{uuid}", tag = "member-api", params(("uuid" = String, Path)),
    responses((status = 200, body = VideoRoom), (status = 404, body = ErrorBody)), security(("memberToken" = [])))]
async fn get_room_by_uuid(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path(uuid): Path<String>,
) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.get_room(&m.app, RoomKey::Uuid(&uuid), Actor::Member(&m)).await?))
}

#[utoipa::path(patch, path = "/v2/members/me/video-rooms/{id}", tag = "member-api", params(("id" = i64, Path)), request_body = VideoRoomInput,
    responses((status = 200, body = VideoRoom), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("memberToken" = [])))]
/// Updates a room the member owns.
async fn patch_room(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<VideoRoomInput>,
) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.patch_room(&m.app, id, &body, Actor::Member(&m)).await?))
}

#[utoipa::path(delete, path = "/v2/members/me/video-rooms/{id}", tag = "member-api", params(("id" = i64, Path)),
    responses((status = 200, description = "deleted; the body is the deleted room", body = VideoRoom), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("memberToken" = [])))]
/// Deletes a room the member owns. Answers 200 (the official web SDK rejects 204).
async fn delete_room(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path(id): Path<i64>,
) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.delete_room(&m.app, id, Actor::Member(&m)).await?))
}

#[utoipa::path(post, path = "/v2/members/me/video-rooms/{id}/web-rtc-tokens", tag = "member-api", params(("id" = i64, Path)),
    request_body = WebRtcTokenInput,
    responses((status = 201, body = RtcCredentials), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("memberToken" = [])))]
/// Media-server credentials for the room (password checked unless the member owns it).
async fn web_rtc_tokens(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<WebRtcTokenInput>,
) -> ApiResult<(StatusCode, Json<RtcCredentials>)> {
    let room = s.platform.get_room(&m.app, RoomKey::Id(id), Actor::Member(&m)).await?;
    Ok((StatusCode::CREATED, Json(s.platform.web_rtc_token(&room, &m, &body, true).await?)))
}

#[utoipa::path(post, path = "/v2/members/refresh-token", tag = "member-api", request_body = RefreshTokenInput,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorBody)))]
/// Exchanges a refresh token (single use) for a new access and refresh token.
async fn refresh_token(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<RefreshTokenInput>,
) -> ApiResult<Json<TokenPair>> {
    // A wrong refresh token is a failed authentication like a wrong access token.
    let refreshed = async { Ok(s.platform.refresh(&body.refresh_token).await?) };
    Ok(Json(ratelimit::authenticate(&s, ip, LimitedApi::Member, refreshed).await?))
}

#[utoipa::path(get, path = "/v2/members/me/video-rooms/{id}/sessions", tag = "member-api", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = PageOf<RoomSession>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("memberToken" = [])))]
/// Sessions of a room the member owns.
async fn list_sessions(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<RoomSession>>> {
    let page = input::page_request(q.page, q.page_size)?;
    Ok(Json(s.platform.list_sessions(&m.app, id, page, Actor::Member(&m)).await?))
}

#[utoipa::path(get, path = "/v2/members/me/video-rooms/{id}/sessions/{sessionNo}/participants", tag = "member-api",
    params(("id" = i64, Path), ("sessionNo" = i64, Path)),
    responses((status = 200, body = [Participation]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("memberToken" = [])))]
/// Attendance of a session of a room the member owns.
async fn list_participants(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path((id, session_no)): Path<(i64, i64)>,
) -> ApiResult<Json<Vec<Participation>>> {
    Ok(Json(s.platform.list_participations(&m.app, id, session_no, Actor::Member(&m)).await?))
}

#[utoipa::path(get, path = "/v2/members/me/video-rooms/{id}/participants", tag = "member-api", params(("id" = i64, Path)),
    responses((status = 200, body = [LiveParticipant]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("memberToken" = [])))]
/// Who is in a room the member owns, including participants waiting for approval.
async fn live_participants(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<LiveParticipant>>> {
    Ok(Json(s.platform.live_participants(&m.app, id, Actor::Member(&m)).await?))
}

#[utoipa::path(post, path = "/v2/members/me/video-rooms/{id}/participants/{appUserId}/approve", tag = "member-api",
    params(("id" = i64, Path), ("appUserId" = String, Path)),
    responses((status = 200, description = "admitted: may publish and subscribe now, without reconnecting", body = LiveParticipant),
        (status = 403, description = "not the room's owner", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("memberToken" = [])))]
/// The owner admits a participant waiting for approval.
async fn approve_participant(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path((id, app_user_id)): Path<(i64, String)>,
) -> ApiResult<Json<LiveParticipant>> {
    Ok(Json(s.platform.approve_participant(&m.app, id, &app_user_id, Actor::Member(&m)).await?))
}

#[utoipa::path(post, path = "/v2/members/me/video-rooms/{id}/participants/{appUserId}/reject", tag = "member-api",
    params(("id" = i64, Path), ("appUserId" = String, Path)),
    responses((status = 200, description = "removed from the room; the participant as it was", body = LiveParticipant),
        (status = 403, description = "not the room's owner", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("memberToken" = [])))]
/// The owner turns a participant away.
async fn reject_participant(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path((id, app_user_id)): Path<(i64, String)>,
) -> ApiResult<Json<LiveParticipant>> {
    Ok(Json(s.platform.reject_participant(&m.app, id, &app_user_id, Actor::Member(&m)).await?))
}

#[utoipa::path(post, path = "/v2/members/me/video-rooms/{id}/end", tag = "member-api", params(("id" = i64, Path)),
    responses((status = 200, body = VideoRoom), (status = 403, description = "not the room's owner", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("memberToken" = [])))]
/// The owner ends the room for everyone: no more joins or media credentials.
async fn end_room(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path(id): Path<i64>,
) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.end_room_as(&m.app, id, Actor::Member(&m)).await?))
}

#[utoipa::path(post, path = "/v2/members/me/video-rooms/{id}/participants/{appUserId}/remove", tag = "member-api",
    params(("id" = i64, Path), ("appUserId" = String, Path)),
    responses((status = 200, description = "removed from the room; the participant as it was", body = LiveParticipant),
        (status = 403, description = "not the room's owner", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("memberToken" = [])))]
/// The owner removes a participant from the room.
async fn remove_participant(
    State(s): State<AppState>,
    AuthMember(m): AuthMember,
    Path((id, app_user_id)): Path<(i64, String)>,
) -> ApiResult<Json<LiveParticipant>> {
    Ok(Json(s.platform.remove_participant(&m.app, id, &app_user_id, Actor::Member(&m)).await?))
}
