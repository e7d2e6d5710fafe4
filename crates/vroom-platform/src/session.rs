//! Room lifecycle driven by presence: the media server reports participants joining and
//! leaving; rooms go `LIVE` with a new session on the first join and `LIVE_INACTIVE` when
//! the last one leaves; attendance is recorded and JOINED/LEFT events are written with it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};
use crate::event::{EventType, NewEvent};
use crate::model::*;
use crate::service::{Actor, Platform, RoomKey};
use crate::time::{self, Timestamp};

/// Why a participation ended.
pub mod leave_reason {
    /// The client left.
    pub const LEFT: &str = "LEFT";
    /// The client's connection dropped and it did not come back within the grace period.
    pub const CONNECTION_LOST: &str = "CONNECTION_LOST";
    /// The same member joined again (another tab or device, or a reconnect): the older
    /// participant was replaced.
    pub const DUPLICATE_IDENTITY: &str = "DUPLICATE_IDENTITY";
    /// The room was ended while the participant was in it.
    pub const ROOM_CLOSED: &str = "ROOM_CLOSED";
    /// The room was deleted while the participant was in it.
    pub const ROOM_DELETED: &str = "ROOM_DELETED";
    /// The application removed the participant (its member was deleted).
    pub const REMOVED: &str = "REMOVED";
    /// The participant waited for approval and was rejected.
    pub const REJECTED: &str = "REJECTED";
    /// The media server stopped (graceful shutdown).
    pub const SERVER_SHUTDOWN: &str = "SERVER_SHUTDOWN";
    /// vroom stopped while the participant was in the room (closed at the next start).
    pub const SERVER_RESTART: &str = "SERVER_RESTART";
}

/// One stay of one participant in a room session.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participation {
    pub participant_sid: String,
    pub session_no: i64,
    pub app_user_id: String,
    pub member_id: Option<MemberId>,
    pub app_user_name: Option<String>,
    /// `OPERATOR` (the room's owner) or `MEMBER`.
    pub channel_member_type: String,
    pub custom_data: Option<CustomData>,
    /// Observers: present but not shown to others.
    pub hidden: bool,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub leave_reason: Option<String>,
}

/// A room session: from the first join to the last leave.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSession {
    pub session_no: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub participant_count: i64,
}

/// What the media server reports of a join.
#[derive(Debug, Clone)]
pub struct ParticipantJoin {
    pub room_uuid: String,
    pub participant_sid: String,
    /// The LiveKit identity: the app user id.
    pub identity: String,
    pub name: String,
    /// The token's metadata (vroom's member JSON).
    pub metadata: String,
    pub hidden: bool,
    pub at: Timestamp,
}

/// The member JSON vroom puts in media tokens (fields it needs back).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenMetadata {
    pub(crate) member_id: Option<MemberId>,
    pub(crate) app_user_name: Option<String>,
    pub(crate) channel_member_type: Option<String>,
    pub(crate) custom_data: Option<CustomData>,
}

impl ParticipantJoin {
    /// The participation this join starts (session number filled by the store).
    pub fn participation(&self) -> Participation {
        let meta: TokenMetadata = serde_json::from_str(&self.metadata).unwrap_or_default();
        Participation {
            participant_sid: self.participant_sid.clone(),
            session_no: 0,
            app_user_id: self.identity.clone(),
            member_id: meta.member_id,
            app_user_name: meta.app_user_name.or_else(|| Some(self.name.clone()).filter(|n| !n.is_empty())),
            channel_member_type: meta.channel_member_type.unwrap_or_else(|| "MEMBER".to_owned()),
            custom_data: meta.custom_data,
            hidden: self.hidden,
            joined_at: self.at,
            left_at: None,
            leave_reason: None,
        }
    }
}

/// Lifecycle rules the store applies inside its transactions.
pub mod lifecycle {
    use super::*;

    /// A participant joins a room with no open session: a new one starts. Returns its number.
    pub fn start_session(room: &mut VideoRoom, at: Timestamp) -> i64 {
        room.last_session_no += 1;
        if !room.video_room_state.is_closed() {
            room.video_room_state = VideoRoomState::Live;
        }
        room.live_started_at = Some(at);
        room.live_ended_at = None;
        room.last_session_no
    }

    /// The last participant left: the session ends and the room waits for the next one.
    pub fn end_session(room: &mut VideoRoom, at: Timestamp) {
        if room.video_room_state == VideoRoomState::Live {
            room.video_room_state = VideoRoomState::LiveInactive;
        }
        room.live_ended_at = Some(at);
    }
}

/// Builds a JOINED or LEFT event with the fields the contract specifies (plus extras).
pub fn participant_event(kind: EventType, room: &VideoRoom, p: &Participation) -> NewEvent {
    let mut data = json!({
        "videoRoom": {
            "id": room.id,
            "state": room.state,
            "videoRoomState": room.video_room_state,
            "type": room.room_type,
            "title": room.title,
            "channelId": room.id.to_string(),
            "sessionNo": p.session_no,
        },
        "appUser": {
            "appUserId": p.app_user_id,
            "appUserName": p.app_user_name,
            "channelMemberType": p.channel_member_type,
            "customData": p.custom_data,
        },
        "participantSid": p.participant_sid,
        "hidden": p.hidden,
    });
    let at = match kind {
        EventType::VideoRoomParticipantLeft => {
            let left = p.left_at.unwrap_or(p.joined_at);
            data["leftAt"] = time::format(&left).into();
            data["leaveReason"] = p.leave_reason.clone().into();
            left
        }
        _ => {
            data["joinedAt"] = time::format(&p.joined_at).into();
            p.joined_at
        }
    };
    NewEvent::new(&room.app, kind, Some(room.id), data, at)
}

impl Platform {
    /// The media server admitted a participant. `None` when the room no longer exists.
    pub async fn participant_joined(&self, join: &ParticipantJoin) -> Result<Option<VideoRoom>> {
        let events = |room: &VideoRoom, p: &Participation| {
            vec![participant_event(EventType::VideoRoomParticipantJoined, room, p)]
        };
        self.store.participant_joined(&join.room_uuid, &join.participation(), &events).await
    }

    /// A participant left (or its connection was lost for good). Unknown ids are ignored,
    /// so a LEFT is only ever written after its JOINED.
    pub async fn participant_left(&self, participant_sid: &str, reason: &str, at: Timestamp) -> Result<()> {
        let events =
            |room: &VideoRoom, p: &Participation| vec![participant_event(EventType::VideoRoomParticipantLeft, room, p)];
        self.store.participant_left(participant_sid, reason, at, &events).await
    }

    /// At start-up: nobody can still be connected to a media server that just started, so
    /// every open participation and session is closed as of `stopped_at`.
    pub async fn close_stale_sessions(&self, stopped_at: Timestamp) -> Result<u64> {
        let events =
            |room: &VideoRoom, p: &Participation| vec![participant_event(EventType::VideoRoomParticipantLeft, room, p)];
        self.store.close_open_participations(leave_reason::SERVER_RESTART, stopped_at, &events).await
    }

    /// Sessions of a room, newest first (app, or the room's owner).
    pub async fn list_sessions(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        page: PageRequest,
        actor: Actor<'_>,
    ) -> Result<Page<RoomSession>> {
        let room = self.owned_room(app, room_id, actor).await?;
        self.store.list_sessions(room.id, page).await
    }

    /// Who attended one session of a room, in join order.
    pub async fn list_participations(
        &self,
        app: &AppRef,
        room_id: VideoRoomId,
        session_no: i64,
        actor: Actor<'_>,
    ) -> Result<Vec<Participation>> {
        let room = self.owned_room(app, room_id, actor).await?;
        if session_no < 1 || session_no > room.last_session_no {
            return Err(Error::new(crate::ErrorCode::NotFound, format!("room has no session {session_no}")));
        }
        self.store.list_participations(room.id, session_no).await
    }

    pub(crate) async fn owned_room(&self, app: &AppRef, room_id: VideoRoomId, actor: Actor<'_>) -> Result<VideoRoom> {
        let room = self.get_room(app, RoomKey::Id(room_id), actor).await?;
        if let Actor::Member(m) = actor
            && room.member.id != m.id
        {
            return Err(Error::new(crate::ErrorCode::AccessDenied, "only the room's owner may do this"));
        }
        Ok(room)
    }
}
