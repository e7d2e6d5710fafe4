//! The server API (`/v2/apps/me/**`, alias `/v2/vicollo-apps/me/**`): the customer's
//! backend, authenticated with the app's API key and secret.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::IntoParams;
use vroom_platform::input::{self, AppSettingsInput, EmbedUrlInput, MemberInput, VideoRoomInput, WebRtcTokenInput};
use vroom_platform::model::*;
use vroom_platform::service::{EmbedUrl, LoginResponse, RtcCredentials};
use vroom_platform::{Actor, RoomKey};

use crate::docs::PageOf;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthApp, JsonBody, Path, Query};
use crate::state::AppState;
use vroom_platform::approval::LiveParticipant;
use vroom_platform::session::{Participation, RoomSession};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(app_info).patch(patch_app))
        .route("/members", post(upsert_member).get(list_members))
        .route("/members/login", post(login))
        .route("/members/{appUserId}", get(get_member).patch(patch_member).delete(delete_members))
        .route("/video-rooms", post(create_room).get(list_rooms))
        .route("/video-rooms/uuid/{uuid}", get(get_room_by_uuid))
        .route("/video-rooms/{id}", get(get_room).patch(patch_room).delete(delete_room))
        .route("/video-rooms/{id}/end", post(end_room))
        .route("/video-rooms/{id}/cancel", post(cancel_room))
        .route("/video-rooms/{id}/members/{appUserId}/web-rtc-tokens", post(web_rtc_tokens))
        .route("/video-rooms/{id}/members/{appUserId}/embed-url", post(embed_url))
        .route("/video-rooms/{id}/sessions", get(list_sessions))
        .route("/video-rooms/{id}/sessions/{sessionNo}/participants", get(list_participants))
        .route("/video-rooms/{id}/participants", get(live_participants))
        .route("/video-rooms/{id}/participants/{appUserId}/approve", post(approve_participant))
        .route("/video-rooms/{id}/participants/{appUserId}/reject", post(reject_participant))
        .route("/video-rooms/{id}/participants/{appUserId}/remove", post(remove_participant))
        .merge(crate::webhooks_api::routes())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct MemberListQuery {
    /// Exact app user id.
    pub app_user_id: Option<String>,
    /// Case-insensitive substring of the name.
    pub app_user_name: Option<String>,
    #[param(inline)]
    pub sort_by: Option<MemberSort>,
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// 1–100 (default 20).
    pub page_size: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct VideoRoomListQuery {
    /// The owner's app user id.
    pub app_user_id: Option<String>,
    /// Case-insensitive substring of the title.
    pub keyword: Option<String>,
    #[param(inline)]
    pub video_room_state: Option<VideoRoomState>,
    #[serde(rename = "type")]
    #[param(inline, rename = "type")]
    pub room_type: Option<VideoRoomType>,
    #[param(inline)]
    pub access_level: Option<AccessLevel>,
    #[param(inline)]
    pub sort_by: Option<VideoRoomSort>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

impl VideoRoomListQuery {
    pub fn filter(&self) -> ApiResult<(VideoRoomFilter, PageRequest)> {
        let page = input::page_request(self.page, self.page_size)?;
        let filter = VideoRoomFilter {
            app_user_id: self.app_user_id.clone(),
            keyword: self.keyword.clone().filter(|k| !k.is_empty()),
            video_room_state: self.video_room_state,
            room_type: self.room_type,
            access_level: self.access_level,
            visible_to: None,
            sort: self.sort_by.unwrap_or_default(),
        };
        Ok((filter, page))
    }
}

#[utoipa::path(get, path = "/v2/apps/me", tag = "server-api",
    responses((status = 200, body = App), (status = 401, body = ErrorBody)), security(("appCredentials" = [])))]
/// The authenticated app.
async fn app_info(AuthApp(app): AuthApp) -> Json<App> {
    Json(app)
}

#[utoipa::path(patch, path = "/v2/apps/me", tag = "server-api", request_body = AppSettingsInput,
    responses((status = 200, body = App), (status = 400, body = ErrorBody)), security(("appCredentials" = [])))]
/// vroom extension: changes the app's own settings (which sites may frame its meeting page).
async fn patch_app(
    State(s): State<AppState>,
    app: AuthApp,
    JsonBody(body): JsonBody<AppSettingsInput>,
) -> ApiResult<Json<App>> {
    Ok(Json(s.platform.update_app_settings(&app.app_ref(), &body).await?))
}

#[utoipa::path(post, path = "/v2/apps/me/members", tag = "server-api", request_body = MemberInput,
    responses((status = 201, description = "created", body = Member), (status = 200, description = "updated", body = Member), (status = 400, body = ErrorBody)),
    security(("appCredentials" = [])))]
/// Creates or updates a member (absent fields unchanged, `null` clears).
async fn upsert_member(
    State(s): State<AppState>,
    app: AuthApp,
    JsonBody(body): JsonBody<MemberInput>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    let (member, created) = s.platform.upsert_member(&app.app_ref(), &body).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(member)))
}

#[utoipa::path(get, path = "/v2/apps/me/members", tag = "server-api", params(MemberListQuery),
    responses((status = 200, body = PageOf<Member>), (status = 400, body = ErrorBody)), security(("appCredentials" = [])))]
/// Lists members.
async fn list_members(
    State(s): State<AppState>,
    app: AuthApp,
    Query(q): Query<MemberListQuery>,
) -> ApiResult<Json<Page<Member>>> {
    let page = input::page_request(q.page, q.page_size)?;
    let filter = MemberFilter {
        app_user_id: q.app_user_id.filter(|v| !v.is_empty()),
        app_user_name: q.app_user_name.filter(|v| !v.is_empty()),
        sort: q.sort_by.unwrap_or_default(),
    };
    Ok(Json(s.platform.list_members(&app.app_ref(), &filter, page).await?))
}

#[utoipa::path(get, path = "/v2/apps/me/members/{appUserId}", tag = "server-api", params(("appUserId" = String, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// One member.
async fn get_member(State(s): State<AppState>, app: AuthApp, Path(id): Path<String>) -> ApiResult<Json<Member>> {
    Ok(Json(s.platform.get_member(&app.app_ref(), &id).await?))
}

#[utoipa::path(patch, path = "/v2/apps/me/members/{appUserId}", tag = "server-api", params(("appUserId" = String, Path)), request_body = MemberInput,
    responses((status = 200, body = Member), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// Updates a member's profile.
async fn patch_member(
    State(s): State<AppState>,
    app: AuthApp,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MemberInput>,
) -> ApiResult<Json<Member>> {
    Ok(Json(s.platform.patch_member(&app.app_ref(), &id, &body).await?))
}

#[utoipa::path(delete, path = "/v2/apps/me/members/{appUserId}", tag = "server-api",
    params(("appUserId" = String, Path, description = "one id or a comma-separated list")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// Deletes members; their tokens stop working.
async fn delete_members(State(s): State<AppState>, app: AuthApp, Path(ids): Path<String>) -> ApiResult<StatusCode> {
    s.platform.delete_members(&app.app_ref(), &ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v2/apps/me/members/login", tag = "server-api", request_body = MemberInput,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody)), security(("appCredentials" = [])))]
/// Upserts the member and issues its access and refresh tokens.
async fn login(
    State(s): State<AppState>,
    app: AuthApp,
    JsonBody(body): JsonBody<MemberInput>,
) -> ApiResult<Json<LoginResponse>> {
    Ok(Json(s.platform.login(&app.app_ref(), &body).await?))
}

#[utoipa::path(post, path = "/v2/apps/me/video-rooms", tag = "server-api", request_body = VideoRoomInput,
    responses((status = 201, body = VideoRoom), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// Creates a room owned by `appUserId` (default: the built-in `admin` member).
async fn create_room(
    State(s): State<AppState>,
    app: AuthApp,
    JsonBody(body): JsonBody<VideoRoomInput>,
) -> ApiResult<(StatusCode, Json<VideoRoom>)> {
    Ok((StatusCode::CREATED, Json(s.platform.create_room_as_app(&app.app_ref(), &body).await?)))
}

#[utoipa::path(get, path = "/v2/apps/me/video-rooms", tag = "server-api", params(VideoRoomListQuery),
    responses((status = 200, body = PageOf<VideoRoom>), (status = 400, body = ErrorBody)), security(("appCredentials" = [])))]
/// Lists the app's rooms.
async fn list_rooms(
    State(s): State<AppState>,
    app: AuthApp,
    Query(q): Query<VideoRoomListQuery>,
) -> ApiResult<Json<Page<VideoRoom>>> {
    let (filter, page) = q.filter()?;
    Ok(Json(s.platform.list_rooms(&app.app_ref(), filter, page, Actor::App).await?))
}

#[utoipa::path(get, path = "/v2/apps/me/video-rooms/{id}", tag = "server-api", params(("id" = i64, Path)),
    responses((status = 200, body = VideoRoom), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
async fn get_room(State(s): State<AppState>, app: AuthApp, Path(id): Path<i64>) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.get_room(&app.app_ref(), RoomKey::Id(id), Actor::App).await?))
}

#[utoipa::path(get, path = "/v2/apps/me/video-rooms/uuid/{uuid}", tag = "server-api", params(("uuid" = String, Path)),
    responses((status = 200, body = VideoRoom), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
async fn get_room_by_uuid(
    State(s): State<AppState>,
    app: AuthApp,
    Path(uuid): Path<String>,
) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.get_room(&app.app_ref(), RoomKey::Uuid(&uuid), Actor::App).await?))
}

#[utoipa::path(patch, path = "/v2/apps/me/video-rooms/{id}", tag = "server-api", params(("id" = i64, Path)), request_body = VideoRoomInput,
    responses((status = 200, body = VideoRoom), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
async fn patch_room(
    State(s): State<AppState>,
    app: AuthApp,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<VideoRoomInput>,
) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.patch_room(&app.app_ref(), id, &body, Actor::App).await?))
}

#[utoipa::path(delete, path = "/v2/apps/me/video-rooms/{id}", tag = "server-api", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
async fn delete_room(State(s): State<AppState>, app: AuthApp, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    s.platform.delete_room(&app.app_ref(), id, Actor::App).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v2/apps/me/video-rooms/{id}/end", tag = "server-api", params(("id" = i64, Path)),
    responses((status = 200, body = VideoRoom), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("appCredentials" = [])))]
/// Ends the room: no more joins or media credentials.
async fn end_room(State(s): State<AppState>, app: AuthApp, Path(id): Path<i64>) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.end_room(&app.app_ref(), id).await?))
}

#[utoipa::path(post, path = "/v2/apps/me/video-rooms/{id}/cancel", tag = "server-api", params(("id" = i64, Path)),
    responses((status = 200, body = VideoRoom), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("appCredentials" = [])))]
/// Cancels a room that is still `SCHEDULED`.
async fn cancel_room(State(s): State<AppState>, app: AuthApp, Path(id): Path<i64>) -> ApiResult<Json<VideoRoom>> {
    Ok(Json(s.platform.cancel_room(&app.app_ref(), id).await?))
}

#[utoipa::path(post, path = "/v2/apps/me/video-rooms/{id}/members/{appUserId}/web-rtc-tokens", tag = "server-api",
    params(("id" = i64, Path), ("appUserId" = String, Path)), request_body = WebRtcTokenInput,
    responses((status = 201, body = RtcCredentials), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("appCredentials" = [])))]
/// Media-server credentials for a member (the password is not checked: the app is trusted).
async fn web_rtc_tokens(
    State(s): State<AppState>,
    app: AuthApp,
    Path((id, app_user_id)): Path<(i64, String)>,
    JsonBody(body): JsonBody<WebRtcTokenInput>,
) -> ApiResult<(StatusCode, Json<RtcCredentials>)> {
    let app = app.app_ref();
    let room = s.platform.get_room(&app, RoomKey::Id(id), Actor::App).await?;
    let member = s.platform.get_member(&app, &app_user_id).await?;
    Ok((StatusCode::CREATED, Json(s.platform.web_rtc_token(&room, &member, &body, false).await?)))
}

#[utoipa::path(post, path = "/v2/apps/me/video-rooms/{id}/members/{appUserId}/embed-url", tag = "server-api",
    params(("id" = i64, Path), ("appUserId" = String, Path)), request_body = EmbedUrlInput,
    responses((status = 200, body = EmbedUrl), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// A URL of the prebuilt meeting UI that logs the member in and joins the room.
async fn embed_url(
    State(s): State<AppState>,
    app: AuthApp,
    Path((id, app_user_id)): Path<(i64, String)>,
    JsonBody(body): JsonBody<EmbedUrlInput>,
) -> ApiResult<Json<EmbedUrl>> {
    Ok(Json(s.platform.embed_url(&app.app_ref(), id, &app_user_id, &body).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

#[utoipa::path(get, path = "/v2/apps/me/video-rooms/{id}/sessions", tag = "server-api", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = PageOf<RoomSession>), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// The room's sessions (first join to last leave), newest first.
async fn list_sessions(
    State(s): State<AppState>,
    app: AuthApp,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<RoomSession>>> {
    let page = input::page_request(q.page, q.page_size)?;
    Ok(Json(s.platform.list_sessions(&app.app_ref(), id, page, Actor::App).await?))
}

#[utoipa::path(get, path = "/v2/apps/me/video-rooms/{id}/sessions/{sessionNo}/participants", tag = "server-api",
    params(("id" = i64, Path), ("sessionNo" = i64, Path)),
    responses((status = 200, body = [Participation]), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// Who attended a session: join and leave times and reasons, in join order.
async fn list_participants(
    State(s): State<AppState>,
    app: AuthApp,
    Path((id, session_no)): Path<(i64, i64)>,
) -> ApiResult<Json<Vec<Participation>>> {
    Ok(Json(s.platform.list_participations(&app.app_ref(), id, session_no, Actor::App).await?))
}

#[utoipa::path(get, path = "/v2/apps/me/video-rooms/{id}/participants", tag = "server-api", params(("id" = i64, Path)),
    responses((status = 200, body = [LiveParticipant]), (status = 404, body = ErrorBody)), security(("appCredentials" = [])))]
/// Who is in the room now (from the media server), including participants waiting for
/// approval (`waiting: true`).
async fn live_participants(
    State(s): State<AppState>,
    app: AuthApp,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<LiveParticipant>>> {
    Ok(Json(s.platform.live_participants(&app.app_ref(), id, Actor::App).await?))
}

#[utoipa::path(post, path = "/v2/apps/me/video-rooms/{id}/participants/{appUserId}/approve", tag = "server-api",
    params(("id" = i64, Path), ("appUserId" = String, Path)),
    responses((status = 200, description = "admitted: may publish and subscribe now, without reconnecting", body = LiveParticipant),
        (status = 404, description = "no such room, or the member is not in it", body = ErrorBody)),
    security(("appCredentials" = [])))]
/// Admits a participant waiting for approval (rooms with `manuallyApproval`).
async fn approve_participant(
    State(s): State<AppState>,
    app: AuthApp,
    Path((id, app_user_id)): Path<(i64, String)>,
) -> ApiResult<Json<LiveParticipant>> {
    Ok(Json(s.platform.approve_participant(&app.app_ref(), id, &app_user_id, Actor::App).await?))
}

#[utoipa::path(post, path = "/v2/apps/me/video-rooms/{id}/participants/{appUserId}/reject", tag = "server-api",
    params(("id" = i64, Path), ("appUserId" = String, Path)),
    responses((status = 200, description = "removed from the room (the client is told PARTICIPANT_REMOVED); the participant as it was", body = LiveParticipant),
        (status = 404, description = "no such room, or the member is not in it", body = ErrorBody)),
    security(("appCredentials" = [])))]
/// Turns a participant away (typically one waiting for approval).
async fn reject_participant(
    State(s): State<AppState>,
    app: AuthApp,
    Path((id, app_user_id)): Path<(i64, String)>,
) -> ApiResult<Json<LiveParticipant>> {
    Ok(Json(s.platform.reject_participant(&app.app_ref(), id, &app_user_id, Actor::App).await?))
}

#[utoipa::path(post, path = "/v2/apps/me/video-rooms/{id}/participants/{appUserId}/remove", tag = "server-api",
    params(("id" = i64, Path), ("appUserId" = String, Path)),
    responses((status = 200, description = "removed from the room (the client is told PARTICIPANT_REMOVED); the participant as it was", body = LiveParticipant),
        (status = 404, description = "no such room, or the member is not in it", body = ErrorBody)),
    security(("appCredentials" = [])))]
/// vroom extension: removes a participant from the room, waiting or not.
async fn remove_participant(
    State(s): State<AppState>,
    app: AuthApp,
    Path((id, app_user_id)): Path<(i64, String)>,
) -> ApiResult<Json<LiveParticipant>> {
    Ok(Json(s.platform.remove_participant(&app.app_ref(), id, &app_user_id, Actor::App).await?))
}
