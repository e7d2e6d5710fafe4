//! The persistence port. `vroom-store` implements it for SQLite (and PostgreSQL); the
//! platform only sees this trait. Methods are use-case sized: each runs in one transaction,
//! and where a change emits events the caller passes a builder so the outbox rows are
//! written in that same transaction.

use async_trait::async_trait;

use crate::error::Error;
use crate::event::EventType;
use crate::event::NewEvent;
use crate::model::*;
use crate::session::{Participation, RoomSession};
use crate::time::Timestamp;
use crate::webhook::{AttemptRecord, CallbackApi, DueDelivery, WebhookDelivery};

pub type StoreResult<T> = Result<T, Error>;

/// Builds the outbox events of a member change: `(member, created)`.
pub type MemberEvents<'a> = &'a (dyn Fn(&Member, bool) -> Vec<NewEvent> + Send + Sync);
/// Builds the outbox events of a new room.
pub type RoomEvents<'a> = &'a (dyn Fn(&VideoRoom) -> Vec<NewEvent> + Send + Sync);
/// Builds the outbox events of a participation change (JOINED or LEFT).
pub type ParticipationEvents<'a> = &'a (dyn Fn(&VideoRoom, &Participation) -> Vec<NewEvent> + Send + Sync);
/// Applies a change to a room inside the store's transaction; may refuse it.
pub type RoomUpdate<'a> = &'a (dyn Fn(&mut VideoRoom) -> Result<(), Error> + Send + Sync);

/// What the store knows of an app's credentials.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub app: App,
    /// SHA-256 of the API secret.
    pub secret_hash: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// SHA-256 (hex) of the opaque token.
    pub token_hash: String,
    /// Every token derived by rotation from one login shares its family.
    pub family: String,
    pub app_id: AppId,
    pub member_id: MemberId,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The old token was valid and is now spent; the new one is stored.
    Rotated { app_id: AppId, member_id: MemberId },
    /// Unknown or expired token.
    Invalid,
    /// A spent token was presented again: the whole family has been revoked.
    Reused,
}

/// Filter of the event log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub video_room_id: Option<VideoRoomId>,
    /// Only room events with a greater `seq` (meaningful with `video_room_id`).
    pub after_seq: Option<i64>,
    pub event_type: Option<EventType>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // Server-wide settings (generated secrets), by name.
    async fn setting(&self, name: &str) -> StoreResult<Option<String>>;
    /// Stores `value` unless the setting exists; returns the value in effect.
    async fn init_setting(&self, name: &str, value: &str) -> StoreResult<String>;
    async fn set_setting(&self, name: &str, value: &str) -> StoreResult<()>;

    // Apps. Creating an app also creates its built-in `admin` member.
    async fn create_app(&self, name: &str, api_key: &str, secret_hash: [u8; 32], now: Timestamp) -> StoreResult<App>;
    async fn app(&self, id: AppId) -> StoreResult<Option<App>>;
    async fn app_credentials(&self, api_key: &str) -> StoreResult<Option<AppCredentials>>;
    async fn list_apps(&self) -> StoreResult<Vec<App>>;
    async fn set_app_embed_frame_ancestors(
        &self,
        id: AppId,
        sources: Option<&[String]>,
        now: Timestamp,
    ) -> StoreResult<Option<App>>;
    async fn set_app_secret(&self, id: AppId, secret_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<App>>;

    // Members (deleted members are invisible to every method).
    async fn member(&self, app: AppId, app_user_id: &str) -> StoreResult<Option<Member>>;
    async fn member_by_id(&self, app: AppId, id: MemberId) -> StoreResult<Option<Member>>;
    /// Creates the member or applies `changes` to it; `(member, created, changed)`.
    async fn upsert_member(
        &self,
        app: AppId,
        app_user_id: &str,
        changes: &MemberChanges,
        now: Timestamp,
        events: MemberEvents<'_>,
    ) -> StoreResult<(Member, bool, bool)>;
    /// Applies `changes` to an existing member; `None` if there is no such member.
    async fn update_member(
        &self,
        app: AppId,
        app_user_id: &str,
        changes: &MemberChanges,
        now: Timestamp,
        events: MemberEvents<'_>,
    ) -> StoreResult<Option<Member>>;
    async fn list_members(&self, app: AppId, filter: &MemberFilter, page: PageRequest) -> StoreResult<Page<Member>>;
    /// Deletes the members that exist (and revokes their refresh tokens); returns them.
    async fn delete_members(&self, app: AppId, app_user_ids: &[String], now: Timestamp) -> StoreResult<Vec<Member>>;

    // Refresh tokens.
    async fn insert_refresh_token(&self, token: &NewRefreshToken, now: Timestamp) -> StoreResult<()>;
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<RefreshOutcome>;

    // Video rooms.
    /// Inserts `room` (its `id` is assigned here); `events` are built from the stored room
    /// and written in the same transaction.
    async fn create_room(&self, app: AppId, room: &VideoRoom, events: RoomEvents<'_>) -> StoreResult<VideoRoom>;
    async fn room(&self, app: AppId, id: VideoRoomId) -> StoreResult<Option<VideoRoom>>;
    async fn room_by_uuid(&self, app: AppId, uuid: &str) -> StoreResult<Option<VideoRoom>>;
    async fn list_rooms(&self, app: AppId, filter: &VideoRoomFilter, page: PageRequest)
    -> StoreResult<Page<VideoRoom>>;
    /// Reads the room, lets `update` change it, writes it back: one transaction.
    async fn update_room(
        &self,
        app: AppId,
        id: VideoRoomId,
        now: Timestamp,
        update: RoomUpdate<'_>,
    ) -> StoreResult<Option<VideoRoom>>;
    async fn delete_room(&self, app: AppId, id: VideoRoomId) -> StoreResult<Option<VideoRoom>>;

    // Webhooks.
    /// Registers or replaces the app's receiver. The signing secret of an existing
    /// registration is kept; `callback.signing_secret` is used only for a first registration.
    async fn put_callback_api(&self, callback: &CallbackApi, now: Timestamp) -> StoreResult<CallbackApi>;
    async fn callback_api(&self, app: AppId) -> StoreResult<Option<CallbackApi>>;
    /// Removes the receiver and cancels its pending deliveries; false if there was none.
    async fn delete_callback_api(&self, app: AppId) -> StoreResult<bool>;
    /// The event log, oldest first (by `seq` within a room), as stored envelopes.
    async fn list_events(
        &self,
        app: AppId,
        filter: &EventFilter,
        page: PageRequest,
    ) -> StoreResult<Page<serde_json::Value>>;
    async fn list_deliveries(&self, app: AppId, page: PageRequest) -> StoreResult<Page<WebhookDelivery>>;
    /// Makes an event due for delivery now to the current receiver (creating the delivery
    /// if the event predates the registration). `None` if the event does not exist.
    async fn redeliver(&self, app: AppId, event_id: &str, now: Timestamp) -> StoreResult<Option<WebhookDelivery>>;
    /// Leases up to `limit` due deliveries for `lease`, at most `per_app` of one app and
    /// none of `busy_apps` (so one slow receiver cannot take every slot). A room's
    /// deliveries are handed out one at a time in `seq` order: none while an earlier one
    /// of that room is pending.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        per_app: u32,
        busy_apps: &[AppId],
        lease: std::time::Duration,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Records the outcomes of attempts (one transaction for the batch).
    async fn record_attempts(&self, attempts: &[(String, AttemptRecord)]) -> StoreResult<()>;
    /// Drops every lease (at start-up: no attempt of a previous run is still in flight).
    async fn release_delivery_leases(&self) -> StoreResult<()>;
    /// Deletes finished deliveries and events older than `before`; returns events deleted.
    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64>;

    // Presence, sessions and attendance (reported by the media server).
    /// A room by uuid in any app (uuids are globally unique).
    async fn room_by_uuid_any(&self, uuid: &str) -> StoreResult<Option<VideoRoom>>;
    /// Records a join: starts a session when none is open (`session::lifecycle`), stores
    /// the participation with its session number and writes `events` in the same
    /// transaction. `None` when no room has that uuid.
    async fn participant_joined(
        &self,
        room_uuid: &str,
        participation: &Participation,
        events: ParticipationEvents<'_>,
    ) -> StoreResult<Option<VideoRoom>>;
    /// Closes the open participation with that id (no-op if none), ends the session when
    /// it was the last, writes `events`.
    async fn participant_left(
        &self,
        participant_sid: &str,
        reason: &str,
        at: Timestamp,
        events: ParticipationEvents<'_>,
    ) -> StoreResult<()>;
    /// Closes every open participation and session; returns how many participations.
    async fn close_open_participations(
        &self,
        reason: &str,
        at: Timestamp,
        events: ParticipationEvents<'_>,
    ) -> StoreResult<u64>;
    async fn list_sessions(&self, room: VideoRoomId, page: PageRequest) -> StoreResult<Page<RoomSession>>;
    async fn list_participations(&self, room: VideoRoomId, session_no: i64) -> StoreResult<Vec<Participation>>;
}
