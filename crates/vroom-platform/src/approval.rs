//! Who is in a room right now, and manual approval: in a room whose policy says
//! `manuallyApproval`, members other than the owner join as *waiting* participants (hidden,
//! receiving and sending nothing, see [`MediaPermission::WAITING`]) until the owner or the
//! app approves them (their permission is upgraded live, no reconnect) or rejects them
//! (removed with a reason).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};
use crate::media::{MediaParticipant, MediaPermission, RemovedReason};
use crate::model::*;
use crate::service::{Actor, Platform};
use crate::session::TokenMetadata;

/// A participant present in a room now (from the media server).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveParticipant {
    pub participant_sid: String,
    pub app_user_id: String,
    pub app_user_name: Option<String>,
    /// `OPERATOR` (the room's owner) or `MEMBER`.
    pub channel_member_type: String,
    pub custom_data: Option<CustomData>,
    /// Not shown to the other participants (observers, waiting participants).
    pub hidden: bool,
    /// Waits for the owner's or the app's approval.
    pub waiting: bool,
    pub can_publish: bool,
    pub can_subscribe: bool,
    pub joined_at: DateTime<Utc>,
}

impl From<MediaParticipant> for LiveParticipant {
    fn from(p: MediaParticipant) -> Self {
        let meta: TokenMetadata = serde_json::from_str(&p.metadata).unwrap_or_default();
        Self {
            participant_sid: p.sid,
            app_user_name: meta.app_user_name.or_else(|| Some(p.name).filter(|n| !n.is_empty())),
            app_user_id: p.identity,
            channel_member_type: meta.channel_member_type.unwrap_or_else(|| "MEMBER".to_owned()),
            custom_data: meta.custom_data,
            hidden: p.permission.hidden,
            waiting: p.permission.is_waiting(),
            can_publish: p.permission.can_publish,
            can_subscribe: p.permission.can_subscribe,
            joined_at: p.joined_at,
        }
    }
}

fn not_present(app_user_id: &str) -> Error {
    Error::new(ErrorCode::NotFound, format!("{app_user_id} is not in the video room"))
}

impl Platform {
    /// Who is in the room now, waiting participants included (app, or the room's owner).
    pub async fn live_participants(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        actor: Actor<'_>,
    ) -> Result<Vec<LiveParticipant>> {
        let room = self.owned_room(app, room_id, actor).await?;
        let Some(media) = self.media_control() else { return Ok(Vec::new()) };
        Ok(media.participants(&room.uuid).await?.into_iter().map(LiveParticipant::from).collect())
    }

    /// Admits a participant: it becomes visible and may publish and subscribe, live.
    /// Approving a participant that is not waiting changes nothing.
    pub async fn approve_participant(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        app_user_id: &str,
        actor: Actor<'_>,
    ) -> Result<LiveParticipant> {
        let (room, media, current) = self.present_participant(app, room_id, app_user_id, actor).await?;
        if !current.permission.is_waiting() {
            return Ok(current.into());
        }
        let updated = media
            .update_permission(&room.uuid, app_user_id, MediaPermission::FULL)
            .await?
            .ok_or_else(|| not_present(app_user_id))?;
        Ok(updated.into())
    }

    /// Turns a participant away: it is removed from the room with a reason. Returns it as
    /// it was.
    pub async fn reject_participant(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        app_user_id: &str,
        actor: Actor<'_>,
    ) -> Result<LiveParticipant> {
        self.evict(app, room_id, app_user_id, actor, RemovedReason::Rejected).await
    }

    /// Removes a present participant (waiting or not) from the room; it is told it was
    /// removed and may join again with new credentials. Returns it as it was.
    pub async fn remove_participant(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        app_user_id: &str,
        actor: Actor<'_>,
    ) -> Result<LiveParticipant> {
        self.evict(app, room_id, app_user_id, actor, RemovedReason::Removed).await
    }

    /// The room's owner ends it for everyone (the server API's `end`).
    pub async fn end_room_as(&self, app: &AppRef, room_id: VideoRoomId, actor: Actor<'_>) -> Result<VideoRoom> {
        self.owned_room(app, room_id, actor).await?;
        self.end_room(app, room_id).await
    }
}

impl Platform {
    /// Removes a present participant, telling its client `reason`; returns it as it was.
    async fn evict(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        app_user_id: &str,
        actor: Actor<'_>,
        reason: RemovedReason,
    ) -> Result<LiveParticipant> {
        let (room, media, current) = self.present_participant(app, room_id, app_user_id, actor).await?;
        media.remove_participant(&room.uuid, app_user_id, reason);
        Ok(current.into())
    }

    /// The room (owned by `actor`), the media server, and `app_user_id` as it is in the room
    /// now; 404 when it is not present.
    async fn present_participant(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        app_user_id: &str,
        actor: Actor<'_>,
    ) -> Result<(VideoRoom, &dyn crate::media::MediaControl, MediaParticipant)> {
        let room = self.owned_room(app, room_id, actor).await?;
        let media = self.media_control().ok_or_else(|| not_present(app_user_id))?;
        let present = media.participants(&room.uuid).await?;
        let current =
            present.into_iter().find(|p| p.identity == app_user_id).ok_or_else(|| not_present(app_user_id))?;
        Ok((room, media, current))
    }
}
