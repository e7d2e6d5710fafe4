//! The use cases: what the server API and the member API do, independent of HTTP.

use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use base64::Engine;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, ErrorCode, Result};
use crate::event::NewEvent;
use crate::input::{self, AppSettingsInput, EmbedUrlInput, MemberInput, VideoRoomInput, WebRtcTokenInput};
use crate::media::{MediaControl, MediaPermission, RemovedReason};
use crate::model::*;
use crate::store::{NewRefreshToken, RefreshOutcome, Store};
use crate::time;
use crate::token::{self, MediaTokenClaims, TokenKeys, VideoGrant};

/// `{accessToken, refreshToken, member}`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub member: Member,
}

/// `{accessToken, refreshToken}`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

/// Media-server credentials: a LiveKit URL and access token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcCredentials {
    pub web_rtc_server_url: String,
    pub web_rtc_token: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedUrl {
    pub video_room_embed_url: String,
}

/// Where clients reach this deployment.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    /// Base URL of the HTTP APIs and pages, without a trailing slash.
    pub http: String,
    /// LiveKit signalling URL handed out as `webRtcServerUrl`.
    pub media: String,
}

/// Who is acting on a room: the app itself (server API) or one of its members.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    App,
    Member(&'a Member),
}

pub struct Platform {
    pub(crate) store: Arc<dyn Store>,
    keys: TokenKeys,
    urls: PublicUrls,
    /// Set once the media server runs (it starts after the platform).
    media: OnceLock<Arc<dyn MediaControl>>,
}

impl Platform {
    pub fn new(store: Arc<dyn Store>, keys: TokenKeys, urls: PublicUrls) -> Self {
        Self { store, keys, urls, media: OnceLock::new() }
    }

    /// Connects the media server; false if one was already installed (it is kept).
    pub fn set_media_control(&self, control: Arc<dyn MediaControl>) -> bool {
        self.media.set(control).is_ok()
    }

    pub(crate) fn media_control(&self) -> Option<&dyn MediaControl> {
        self.media.get().map(|m| m.as_ref())
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn urls(&self) -> &PublicUrls {
        &self.urls
    }

    // ---- apps -------------------------------------------------------------------------

    /// Creates an app; returns it with its API secret, which is not stored and cannot be
    /// shown again.
    pub async fn create_app(&self, name: &str) -> Result<(App, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid_body("an app name is 1-100 characters"));
        }
        let secret = token::random_secret();
        let key = format!("vk{}", token::random_hex(22));
        let app = self.store.create_app(name, &key, token::sha256(&secret), time::now()).await?;
        Ok((app, secret))
    }

    /// The insecure development app (`devkey`/`devsecret`), created or repaired.
    pub async fn ensure_dev_app(&self) -> Result<App> {
        const KEY: &str = "devkey";
        const SECRET: &str = "devsecret";
        match self.store.app_credentials(KEY).await? {
            Some(c) if token::secret_matches(SECRET, &c.secret_hash) => Ok(c.app),
            Some(c) => self
                .store
                .set_app_secret(c.app.id, token::sha256(SECRET), time::now())
                .await?
                .ok_or_else(|| Error::new(ErrorCode::AppNotFound, "dev app vanished")),
            None => self.store.create_app("dev", KEY, token::sha256(SECRET), time::now()).await,
        }
    }

    /// Applies `PATCH /v2/apps/me`.
    pub async fn update_app_settings(&self, app: &AppRef, input: &AppSettingsInput) -> Result<App> {
        input.validate()?;
        let missing = || Error::new(ErrorCode::AppNotFound, "the app no longer exists");
        match &input.embed_frame_ancestors {
            Some(sources) => self
                .store
                .set_app_embed_frame_ancestors(app.id, sources.as_deref(), time::now())
                .await?
                .ok_or_else(missing),
            None => self.store.app(app.id).await?.ok_or_else(missing),
        }
    }

    /// How the meeting page of app `id` may be embedded (any site when there is no such app:
    /// the page then shows the API's error).
    pub async fn embed_policy_of_app(&self, id: AppId) -> Result<EmbedPolicy> {
        Ok(self.store.app(id).await?.map(|a| a.embed_policy()).unwrap_or_default())
    }

    /// The embed policy of the app that owns the room `uuid`.
    pub async fn embed_policy_of_room(&self, uuid: &str) -> Result<EmbedPolicy> {
        let Some(room) = self.store.room_by_uuid_any(uuid).await? else { return Ok(EmbedPolicy::default()) };
        self.embed_policy_of_app(room.app.id).await
    }

    pub async fn list_apps(&self) -> Result<Vec<App>> {
        self.store.list_apps().await
    }

    pub async fn rotate_app_secret(&self, id: AppId) -> Result<(App, String)> {
        let secret = token::random_secret();
        let app = self
            .store
            .set_app_secret(id, token::sha256(&secret), time::now())
            .await?
            .ok_or_else(|| Error::new(ErrorCode::AppNotFound, format!("no app with id {id}")))?;
        Ok((app, secret))
    }

    /// Server-API authentication (HTTP Basic `apiKey:apiSecret`).
    pub async fn authenticate_app(&self, api_key: &str, api_secret: &str) -> Result<App> {
        let invalid = || Error::new(ErrorCode::InvalidAppCredentials, "invalid API key or secret");
        let creds = self.store.app_credentials(api_key).await?.ok_or_else(invalid)?;
        if token::secret_matches(api_secret, &creds.secret_hash) { Ok(creds.app) } else { Err(invalid()) }
    }

    // ---- members ------------------------------------------------------------------------

    /// Member-API authentication: a valid access token of a member that still exists.
    pub async fn authenticate_member(&self, access_token: &str) -> Result<Member> {
        let claims = self.keys.verify_access_token(access_token)?;
        self.store
            .member_by_id(claims.app_id, claims.member_id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::InvalidAccessToken, "the member of this token no longer exists"))
    }

    /// Creates or updates a member; `(member, created)`.
    pub async fn upsert_member(&self, app: &AppRef, body: &MemberInput) -> Result<(Member, bool)> {
        let app_user_id = input::app_user_id(body.app_user_id.as_deref())?;
        let changes = body.changes()?;
        let (member, created, _) = self.upsert(app, &app_user_id, &changes, true).await?;
        Ok((member, created))
    }

    async fn upsert(
        &self,
        app: &AppRef,
        app_user_id: &str,
        changes: &MemberChanges,
        updates_emit: bool,
    ) -> Result<(Member, bool, bool)> {
        let events = |m: &Member, created: bool| {
            if created || updates_emit { vec![NewEvent::member(app, m, created)] } else { vec![] }
        };
        self.store.upsert_member(app.id, app_user_id, changes, time::now(), &events).await
    }

    pub async fn get_member(&self, app: &AppRef, app_user_id: &str) -> Result<Member> {
        self.store.member(app.id, app_user_id).await?.ok_or_else(|| Error::member_not_found(app_user_id))
    }

    pub async fn patch_member(&self, app: &AppRef, app_user_id: &str, body: &MemberInput) -> Result<Member> {
        let changes = body.changes()?;
        let events = |m: &Member, _| vec![NewEvent::member(app, m, false)];
        self.store
            .update_member(app.id, app_user_id, &changes, time::now(), &events)
            .await?
            .ok_or_else(|| Error::member_not_found(app_user_id))
    }

    pub async fn list_members(&self, app: &AppRef, filter: &MemberFilter, page: PageRequest) -> Result<Page<Member>> {
        self.store.list_members(app.id, filter, page).await
    }

    /// Deletes members named in a comma-separated list. 404 when none of them exists.
    pub async fn delete_members(&self, app: &AppRef, ids_csv: &str) -> Result<Vec<Member>> {
        let ids: Vec<String> = ids_csv.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if ids.is_empty() {
            return Err(Error::new(ErrorCode::EmptyAppUserId, "no appUserId given"));
        }
        let deleted = self.store.delete_members(app.id, &ids, time::now()).await?;
        if deleted.is_empty() {
            return Err(Error::member_not_found(ids_csv));
        }
        self.remove_from_live_rooms(app, &deleted).await?;
        Ok(deleted)
    }

    /// Kicks deleted members out of the app's live rooms. The rooms come from the room
    /// states the media server's reports maintain (a join still being reported may be
    /// missed; its token no longer admits it once it leaves).
    async fn remove_from_live_rooms(&self, app: &AppRef, members: &[Member]) -> Result<()> {
        let Some(media) = self.media_control() else { return Ok(()) };
        let filter = VideoRoomFilter { video_room_state: Some(VideoRoomState::Live), ..Default::default() };
        let mut page = PageRequest { page: 1, size: PageRequest::MAX_SIZE };
        loop {
            let rooms = self.store.list_rooms(app.id, &filter, page).await?;
            for room in &rooms.content {
                for member in members {
                    media.remove_participant(&room.uuid, &member.app_user_id, RemovedReason::MemberDeleted);
                }
            }
            if rooms.content.len() < page.size as usize {
                return Ok(());
            }
            page.page += 1;
        }
    }

    /// Upserts the member (an existing member's profile is updated from the body) and
    /// issues its tokens.
    pub async fn login(&self, app: &AppRef, body: &MemberInput) -> Result<LoginResponse> {
        let app_user_id = input::app_user_id(body.app_user_id.as_deref())?;
        let changes = body.changes()?;
        let (member, _, _) = self.upsert(app, &app_user_id, &changes, true).await?;
        self.issue_tokens(&member).await
    }

    async fn issue_tokens(&self, member: &Member) -> Result<LoginResponse> {
        let now = time::now();
        let access_token = self.keys.mint_access_token(member.app.id, member.id, &member.app_user_id, now)?;
        let (refresh_token, hash) = token::new_refresh_token();
        let record = NewRefreshToken {
            token_hash: hash,
            family: uuid::Uuid::new_v4().to_string(),
            app_id: member.app.id,
            member_id: member.id,
            expires_at: now + self.keys.refresh_ttl,
        };
        self.store.insert_refresh_token(&record, now).await?;
        Ok(LoginResponse { access_token, refresh_token, member: member.clone() })
    }

    /// Exchanges a refresh token for a new pair; a spent token revokes its family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let invalid = |m: &str| Error::new(ErrorCode::InvalidRefreshToken, m.to_owned());
        let now = time::now();
        let (new_token, new_hash) = token::new_refresh_token();
        let outcome = self
            .store
            .rotate_refresh_token(&token::sha256_hex(refresh_token), &new_hash, now + self.keys.refresh_ttl, now)
            .await?;
        match outcome {
            RefreshOutcome::Rotated { app_id, member_id } => {
                let member = self
                    .store
                    .member_by_id(app_id, member_id)
                    .await?
                    .ok_or_else(|| invalid("the member of this token no longer exists"))?;
                let access_token = self.keys.mint_access_token(app_id, member_id, &member.app_user_id, now)?;
                Ok(TokenPair { access_token, refresh_token: new_token })
            }
            RefreshOutcome::Invalid => Err(invalid("unknown or expired refresh token")),
            RefreshOutcome::Reused => Err(invalid("refresh token reuse detected; its sessions have been revoked")),
        }
    }

    // ---- video rooms --------------------------------------------------------------------

    /// Server API: creates a room owned by `appUserId` (default: the built-in admin).
    pub async fn create_room_as_app(&self, app: &AppRef, body: &VideoRoomInput) -> Result<VideoRoom> {
        let owner = match &body.app_user_id {
            Some(id) => self.get_member(app, &input::app_user_id(Some(id))?).await?,
            None => self.upsert(app, ADMIN_APP_USER_ID, &MemberChanges::default(), false).await?.0,
        };
        self.create_room(app, &owner, CreatorType::App, app.id, body).await
    }

    /// Member API: creates a room owned by the member.
    pub async fn create_room_as_member(&self, member: &Member, body: &VideoRoomInput) -> Result<VideoRoom> {
        self.create_room(&member.app, member, CreatorType::Member, member.id, body).await
    }

    async fn create_room(
        &self,
        app: &AppRef,
        owner: &Member,
        creator_type: CreatorType,
        creator_id: i64,
        body: &VideoRoomInput,
    ) -> Result<VideoRoom> {
        let (mut changes, password) = body.changes()?;
        changes.password_hash = hash_password(password).await?;
        let now = time::now();
        let mut room = VideoRoom {
            id: 0,
            uuid: uuid::Uuid::new_v4().to_string(),
            state: EntityState::Active,
            room_type: VideoRoomType::VideoConference,
            video_room_state: VideoRoomState::Scheduled,
            access_level: AccessLevel::Public,
            app: app.clone(),
            member: owner.as_ref(),
            creator_type,
            creator_id,
            title: None,
            description: None,
            custom_type: None,
            custom_data: None,
            policy: VideoRoomPolicy::default(),
            scheduled_at: None,
            live_started_at: None,
            live_ended_at: None,
            last_session_no: 0,
            view_options: None,
            created_at: now,
            last_modified_at: now,
            password_hash: None,
        };
        changes.apply(&mut room);
        let events = |r: &VideoRoom| vec![NewEvent::room_scheduled(app, r)];
        self.store.create_room(app.id, &room, &events).await
    }

    /// A room by id or uuid, as `actor` may see it (invisible rooms are not found).
    pub async fn get_room(&self, app: &AppRef, key: RoomKey<'_>, actor: Actor<'_>) -> Result<VideoRoom> {
        let room = match key {
            RoomKey::Id(id) => self.store.room(app.id, id).await?,
            RoomKey::Uuid(uuid) => self.store.room_by_uuid(app.id, uuid).await?,
        };
        room.filter(|r| visible(r, actor)).ok_or_else(Error::room_not_found)
    }

    pub async fn list_rooms(
        &self,
        app: &AppRef,
        mut filter: VideoRoomFilter,
        page: PageRequest,
        actor: Actor<'_>,
    ) -> Result<Page<VideoRoom>> {
        if let Actor::Member(m) = actor {
            filter.visible_to = Some(m.id);
        }
        self.store.list_rooms(app.id, &filter, page).await
    }

    pub async fn patch_room(
        &self,
        app: &AppRef,
        id: VideoRoomId,
        body: &VideoRoomInput,
        actor: Actor<'_>,
    ) -> Result<VideoRoom> {
        let (mut changes, password) = body.changes()?;
        changes.password_hash = hash_password(password).await?;
        self.update_room(app, id, actor, &|room| {
            changes.apply(room);
            Ok(())
        })
        .await
    }

    /// Ends a room: its participants are removed; no more joins, no new media credentials.
    pub async fn end_room(&self, app: &AppRef, id: VideoRoomId) -> Result<VideoRoom> {
        let room = self.close_room_state(app, id).await?;
        if let Some(media) = self.media_control() {
            media.close_room(&room.uuid, RemovedReason::RoomClosed);
        }
        Ok(room)
    }

    async fn close_room_state(&self, app: &AppRef, id: VideoRoomId) -> Result<VideoRoom> {
        let now = time::now();
        self.update_room(app, id, Actor::App, &|room| match room.video_room_state {
            VideoRoomState::Ended => Ok(()),
            VideoRoomState::Cancelled => Err(transition(room.video_room_state, "end")),
            _ => {
                room.video_room_state = VideoRoomState::Ended;
                room.live_ended_at.get_or_insert(now);
                Ok(())
            }
        })
        .await
    }

    /// Cancels a room that has not started.
    pub async fn cancel_room(&self, app: &AppRef, id: VideoRoomId) -> Result<VideoRoom> {
        self.update_room(app, id, Actor::App, &|room| match room.video_room_state {
            VideoRoomState::Cancelled => Ok(()),
            VideoRoomState::Scheduled => {
                room.video_room_state = VideoRoomState::Cancelled;
                Ok(())
            }
            other => Err(transition(other, "cancel")),
        })
        .await
    }

    async fn update_room(
        &self,
        app: &AppRef,
        id: VideoRoomId,
        actor: Actor<'_>,
        change: &(dyn Fn(&mut VideoRoom) -> Result<()> + Send + Sync),
    ) -> Result<VideoRoom> {
        let guarded = |room: &mut VideoRoom| {
            check_owner(room, actor)?;
            change(room)
        };
        self.store.update_room(app.id, id, time::now(), &guarded).await?.ok_or_else(Error::room_not_found)
    }

    pub async fn delete_room(&self, app: &AppRef, id: VideoRoomId, actor: Actor<'_>) -> Result<VideoRoom> {
        let room = self.get_room(app, RoomKey::Id(id), actor).await?;
        check_owner(&room, actor)?;
        let deleted = self.store.delete_room(app.id, id).await?.ok_or_else(Error::room_not_found)?;
        if let Some(media) = self.media_control() {
            media.close_room(&deleted.uuid, RemovedReason::RoomDeleted);
        }
        Ok(deleted)
    }

    /// The video room with this uuid, whichever app owns it: the media server knows rooms
    /// only by the uuid in the access token (uuids are unique across apps).
    pub async fn room_for_media(&self, uuid: &str) -> Result<Option<VideoRoom>> {
        self.store.room_by_uuid_any(uuid).await
    }

    /// Media credentials for `member` in `room`. `check_password` is false for the server
    /// API (the app is trusted).
    pub async fn web_rtc_token(
        &self,
        room: &VideoRoom,
        member: &Member,
        body: &WebRtcTokenInput,
        check_password: bool,
    ) -> Result<RtcCredentials> {
        let custom_data = body.validated_custom_data()?;
        if room.video_room_state.is_closed() {
            return Err(Error::new(ErrorCode::VideoRoomEnded, "the video room has ended or was cancelled"));
        }
        // The app granted observing (the password and approval are its to waive).
        if let Some(grant) = &body.observer_grant {
            let claims = self.keys.verify_observer_grant(grant)?;
            if claims.app_id != room.app.id || claims.member_id != member.id || claims.room != room.uuid {
                return Err(Error::new(ErrorCode::AccessDenied, "observerGrant was issued for another member or room"));
            }
            return self.rtc_credentials(room, member, custom_data, MediaPermission::OBSERVER);
        }
        if check_password
            && room.member.id != member.id
            && let Some(hash) = room.password_hash.clone()
        {
            let presented = body.password.clone().unwrap_or_default();
            if !tokio_blocking(move || Ok(password_matches(&presented, &hash))).await? {
                return Err(Error::new(ErrorCode::VideoRoomPasswordMismatch, "wrong or missing video room password"));
            }
        }
        // Without approval, only the owner comes straight in.
        let permission = if room.policy.manually_approval && room.member.id != member.id {
            MediaPermission::WAITING
        } else {
            MediaPermission::FULL
        };
        self.rtc_credentials(room, member, custom_data, permission)
    }

    /// Mints the LiveKit token; the caller has checked state and password and validated
    /// the custom data.
    fn rtc_credentials(
        &self,
        room: &VideoRoom,
        member: &Member,
        custom_data: Option<CustomData>,
        permission: MediaPermission,
    ) -> Result<RtcCredentials> {
        let is_owner = room.member.id == member.id;
        let metadata = json!({
            "memberId": member.id,
            "appUserId": member.app_user_id,
            "appUserName": member.app_user_name,
            "appUserProfileImgUrl": member.app_user_profile_img_url,
            "videoRoomId": room.id,
            "channelMemberType": if is_owner { "OPERATOR" } else { "MEMBER" },
            "customData": custom_data,
        });
        let now = time::now().timestamp();
        let claims = MediaTokenClaims {
            iss: self.keys.media_api_key.clone(),
            sub: member.app_user_id.clone(),
            name: member.display_name().to_owned(),
            nbf: now,
            exp: now + self.keys.media_ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().to_string(),
            video: VideoGrant {
                room: room.uuid.clone(),
                room_join: true,
                can_publish: permission.can_publish,
                can_subscribe: permission.can_subscribe,
                can_publish_data: permission.can_publish_data,
                hidden: permission.hidden,
                can_update_own_metadata: true,
            },
            metadata: metadata.to_string(),
        };
        Ok(RtcCredentials {
            web_rtc_server_url: self.urls.media.clone(),
            web_rtc_token: self.keys.mint_media_token(&claims)?,
        })
    }

    /// The prebuilt meeting UI's URL for a member, carrying a fresh login as `key`.
    pub async fn embed_url(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        app_user_id: &str,
        body: &EmbedUrlInput,
    ) -> Result<EmbedUrl> {
        body.validate()?;
        let room = self.get_room(app, RoomKey::Id(room_id), Actor::App).await?;
        if room.video_room_state.is_closed() {
            return Err(Error::new(ErrorCode::VideoRoomEnded, "the video room has ended or was cancelled"));
        }
        let member = self.get_member(app, app_user_id).await?;
        let login = self.issue_tokens(&member).await?;
        let mut key = serde_json::to_value(&login).map_err(Error::internal)?;
        if body.is_observer == Some(true) {
            // What lets the page join hidden: the app asked for an observer, not the member.
            let grant = self.keys.mint_observer_grant(app.id, member.id, &room.uuid, time::now())?;
            key["observerGrant"] = Value::String(grant);
        }
        let key = base64::engine::general_purpose::STANDARD.encode(key.to_string());
        let mut url =
            format!("{}/vicollo-apps/{}/rooms/join/{}?key={}", self.urls.http, app.id, room.uuid, query_escape(&key));
        let mut param = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                url.push_str(&format!("&{name}={}", query_escape(&v)));
            }
        };
        param("isObserver", body.is_observer.map(|b| b.to_string()));
        param("drawLayoutType", body.draw_layout_type.clone());
        param("drawLayoutPosition", body.draw_layout_position.clone());
        param("displayName", body.display_name.clone());
        Ok(EmbedUrl { video_room_embed_url: url })
    }
}

/// How a room is named in a path.
#[derive(Debug, Clone, Copy)]
pub enum RoomKey<'a> {
    Id(VideoRoomId),
    Uuid(&'a str),
}

fn visible(room: &VideoRoom, actor: Actor<'_>) -> bool {
    match actor {
        Actor::App => true,
        Actor::Member(m) => room.member.id == m.id || room.access_level != AccessLevel::Private,
    }
}

fn check_owner(room: &VideoRoom, actor: Actor<'_>) -> Result<()> {
    match actor {
        Actor::App => Ok(()),
        Actor::Member(m) if room.member.id == m.id => Ok(()),
        Actor::Member(_) if visible(room, actor) => {
            Err(Error::new(ErrorCode::AccessDenied, "only the room's owner may do this"))
        }
        Actor::Member(_) => Err(Error::room_not_found()),
    }
}

fn transition(from: VideoRoomState, action: &str) -> Error {
    Error::new(
        ErrorCode::InvalidVideoRoomStateTransition,
        format!(
            "cannot {action} a room in state {}",
            serde_json::to_value(from).unwrap_or_default().as_str().unwrap_or("?")
        ),
    )
}

/// Hashes a new room password off the async runtime (argon2 is deliberately slow).
async fn hash_password(password: Option<Option<String>>) -> Result<Option<Option<String>>> {
    let Some(Some(plain)) = password else {
        return Ok(password.map(|_| None));
    };
    let hashed = tokio_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(plain.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(e.to_string()))
    })
    .await?;
    Ok(Some(Some(hashed)))
}

fn password_matches(plain: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(plain.as_bytes(), &h).is_ok())
}

async fn tokio_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(Error::internal)?
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
