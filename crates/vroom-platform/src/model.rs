//! Domain types. They serialize to the exact wire shape of the public contract (camelCase,
//! RFC 3339 UTC times, `null` for absent values), which webhooks and the APIs share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::time;

pub type AppId = i64;
pub type MemberId = i64;
pub type VideoRoomId = i64;

/// `customData`: string keys to string values (the iOS SDK decodes `[String: String]`).
pub type CustomData = BTreeMap<String, String>;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityState {
    Active,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRef {
    pub id: AppId,
    pub name: String,
}

pub const DEFAULT_RTMP_OUTPUT_MODE: &str = "CMAF";

/// A tenant. Everything else lives inside one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: AppId,
    pub state: EntityState,
    pub name: String,
    /// Always `CMAF`; kept for wire compatibility with FlipFlop Cloud.
    pub default_rtmp_output_mode: String,
    #[serde(with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time")]
    pub last_modified_at: DateTime<Utc>,
    /// The public half of the app's credentials; not part of the App DTO.
    #[serde(skip)]
    pub api_key: String,
    /// vroom extension: the sites that may show this app's meeting page in a frame (CSP
    /// `frame-ancestors` sources); `null` lets any site embed it, `[]` none.
    pub embed_frame_ancestors: Option<Vec<String>>,
}

impl App {
    pub fn as_ref(&self) -> AppRef {
        AppRef { id: self.id, name: self.name.clone() }
    }

    pub fn embed_policy(&self) -> EmbedPolicy {
        EmbedPolicy { frame_ancestors: self.embed_frame_ancestors.clone() }
    }
}

/// How an app's meeting page may be embedded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbedPolicy {
    /// CSP `frame-ancestors` sources; `None`: any site.
    pub frame_ancestors: Option<Vec<String>>,
}

/// The built-in member every app has: the owner of rooms the server API creates without
/// an `appUserId`.
pub const ADMIN_APP_USER_ID: &str = "admin";

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: MemberId,
    pub state: EntityState,
    pub app_user_id: String,
    pub app_user_name: Option<String>,
    pub app_user_profile_img_url: Option<String>,
    pub email: Option<String>,
    pub country: Option<String>,
    pub lang: Option<String>,
    pub custom_type: Option<String>,
    pub custom_data: Option<CustomData>,
    pub app: AppRef,
    #[serde(with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time")]
    pub last_modified_at: DateTime<Utc>,
}

impl Member {
    pub fn as_ref(&self) -> MemberRef {
        MemberRef {
            id: self.id,
            app_user_id: self.app_user_id.clone(),
            app_user_name: self.app_user_name.clone(),
            app_user_profile_img_url: self.app_user_profile_img_url.clone(),
        }
    }

    /// The name shown to others: the display name, else the app user id.
    pub fn display_name(&self) -> &str {
        self.app_user_name.as_deref().unwrap_or(&self.app_user_id)
    }
}

/// A member as nested inside a room (its owner).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRef {
    pub id: MemberId,
    pub app_user_id: String,
    pub app_user_name: Option<String>,
    pub app_user_profile_img_url: Option<String>,
}

/// Profile fields a member upsert or patch may set. `None` leaves a field unchanged,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberChanges {
    pub app_user_name: Option<Option<String>>,
    pub app_user_profile_img_url: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub lang: Option<Option<String>>,
    pub custom_type: Option<Option<String>>,
    pub custom_data: Option<Option<CustomData>>,
}

impl MemberChanges {
    /// Applies the changes; returns whether anything changed.
    pub fn apply(&self, m: &mut Member) -> bool {
        fn set<T: Clone + PartialEq>(field: &mut T, change: &Option<T>) -> bool {
            match change {
                Some(v) if v != field => {
                    *field = v.clone();
                    true
                }
                _ => false,
            }
        }
        // Non-short-circuiting `|` so every field is applied.
        set(&mut m.app_user_name, &self.app_user_name)
            | set(&mut m.app_user_profile_img_url, &self.app_user_profile_img_url)
            | set(&mut m.email, &self.email)
            | set(&mut m.country, &self.country)
            | set(&mut m.lang, &self.lang)
            | set(&mut m.custom_type, &self.custom_type)
            | set(&mut m.custom_data, &self.custom_data)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VideoRoomType {
    VideoConference,
    BroadcastRtmp,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccessLevel {
    /// Visible to every member of the app.
    Public,
    /// Visible to every member of the app (kept distinct for compatibility).
    Member,
    /// Visible to its owner only.
    Private,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VideoRoomState {
    Scheduled,
    Live,
    LiveInactive,
    Ended,
    Cancelled,
}

impl VideoRoomState {
    /// Whether members may still obtain media credentials and join.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Ended | Self::Cancelled)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CreatorType {
    App,
    Member,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoRoomPolicy {
    pub has_password: bool,
    pub manually_approval: bool,
    pub can_auto_room_composite_recording: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoRoom {
    pub id: VideoRoomId,
    pub uuid: String,
    pub state: EntityState,
    #[serde(rename = "type")]
    pub room_type: VideoRoomType,
    pub video_room_state: VideoRoomState,
    pub access_level: AccessLevel,
    pub app: AppRef,
    /// The owner.
    pub member: MemberRef,
    pub creator_type: CreatorType,
    pub creator_id: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    pub custom_type: Option<String>,
    pub custom_data: Option<CustomData>,
    pub policy: VideoRoomPolicy,
    #[serde(serialize_with = "time::option::serialize")]
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time::option::serialize")]
    pub live_started_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time::option::serialize")]
    pub live_ended_at: Option<DateTime<Utc>>,
    pub last_session_no: i64,
    pub view_options: Option<serde_json::Value>,
    #[serde(with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time")]
    pub last_modified_at: DateTime<Utc>,
    /// PHC-format hash of the room password; never serialized.
    #[serde(skip)]
    pub password_hash: Option<String>,
}

/// Changes to a room, from a create or patch body, already validated. `None` leaves a
/// field unchanged, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoRoomChanges {
    pub room_type: Option<VideoRoomType>,
    pub title: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub access_level: Option<AccessLevel>,
    pub scheduled_at: Option<Option<DateTime<Utc>>>,
    pub custom_type: Option<Option<String>>,
    pub custom_data: Option<Option<CustomData>>,
    /// The new password's hash (hashed before the store's transaction: hashing is slow);
    /// `Some(None)` removes the password.
    pub password_hash: Option<Option<String>>,
    pub manually_approval: Option<bool>,
    pub can_auto_room_composite_recording: Option<bool>,
    pub view_options: Option<Option<serde_json::Value>>,
}

impl VideoRoomChanges {
    /// Applies the changes to `room` (which keeps its id, owner and lifecycle fields).
    pub fn apply(&self, room: &mut VideoRoom) {
        fn set<T: Clone>(field: &mut T, change: &Option<T>) {
            if let Some(v) = change {
                *field = v.clone();
            }
        }
        set(&mut room.room_type, &self.room_type);
        set(&mut room.title, &self.title);
        set(&mut room.description, &self.description);
        set(&mut room.access_level, &self.access_level);
        set(&mut room.scheduled_at, &self.scheduled_at);
        set(&mut room.custom_type, &self.custom_type);
        set(&mut room.custom_data, &self.custom_data);
        set(&mut room.password_hash, &self.password_hash);
        set(&mut room.policy.manually_approval, &self.manually_approval);
        set(&mut room.policy.can_auto_room_composite_recording, &self.can_auto_room_composite_recording);
        set(&mut room.view_options, &self.view_options);
        room.policy.has_password = room.password_hash.is_some();
    }
}

/// A page request: `page` is 1-based as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub size: u32,
}

impl PageRequest {
    pub const DEFAULT_SIZE: u32 = 20;
    pub const MAX_SIZE: u32 = 100;

    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, size: Self::DEFAULT_SIZE }
    }
}

/// A Spring-Data-shaped page (the official SDKs require all nine fields).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub content: Vec<T>,
    pub total_elements: u64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    pub fn total_pages(&self) -> u64 {
        self.total_elements.div_ceil(u64::from(self.request.size.max(1)))
    }
    /// The 0-based page index.
    pub fn number(&self) -> u64 {
        u64::from(self.request.page.saturating_sub(1))
    }
}

impl<T: Serialize> Serialize for Page<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let number = self.number();
        let total_pages = self.total_pages();
        let mut st = s.serialize_struct("Page", 9)?;
        st.serialize_field("content", &self.content)?;
        st.serialize_field("totalPages", &total_pages)?;
        st.serialize_field("totalElements", &self.total_elements)?;
        st.serialize_field("numberOfElements", &self.content.len())?;
        st.serialize_field("number", &number)?;
        st.serialize_field("size", &self.request.size)?;
        st.serialize_field("first", &(number == 0))?;
        st.serialize_field("last", &(number + 1 >= total_pages))?;
        st.serialize_field("empty", &self.content.is_empty())?;
        st.end()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MemberSort {
    CreatedAtAsc,
    #[default]
    CreatedAtDesc,
    LastModifiedAtAsc,
    LastModifiedAtDesc,
    AppUserIdAsc,
    AppUserIdDesc,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VideoRoomSort {
    CreatedAtAsc,
    #[default]
    CreatedAtDesc,
    LastModifiedAtAsc,
    LastModifiedAtDesc,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberFilter {
    pub app_user_id: Option<String>,
    /// Case-insensitive substring of `appUserName`.
    pub app_user_name: Option<String>,
    pub sort: MemberSort,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoRoomFilter {
    /// Owner's app user id.
    pub app_user_id: Option<String>,
    /// Case-insensitive substring of the title.
    pub keyword: Option<String>,
    pub video_room_state: Option<VideoRoomState>,
    pub room_type: Option<VideoRoomType>,
    pub access_level: Option<AccessLevel>,
    /// When set, only rooms this member may see: its own plus PUBLIC and MEMBER rooms.
    pub visible_to: Option<MemberId>,
    pub sort: VideoRoomSort,
}
