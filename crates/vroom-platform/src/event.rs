//! Webhook events as the platform records them. Each is written to the outbox in the same
//! transaction as the change that caused it, so a crash can never lose one; delivery reads
//! the outbox later (the webhooks component).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::{AppRef, EntityState, Member, VideoRoom};
use crate::time::{self, Timestamp};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    VideoRoomParticipantJoined,
    VideoRoomParticipantLeft,
    VideoRoomEgressEnded,
    MemberCreated,
    MemberUpdated,
    VideoRoomScheduled,
}

impl EventType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VideoRoomParticipantJoined => "VIDEO_ROOM_PARTICIPANT_JOINED",
            Self::VideoRoomParticipantLeft => "VIDEO_ROOM_PARTICIPANT_LEFT",
            Self::VideoRoomEgressEnded => "VIDEO_ROOM_EGRESS_ENDED",
            Self::MemberCreated => "MEMBER_CREATED",
            Self::MemberUpdated => "MEMBER_UPDATED",
            Self::VideoRoomScheduled => "VIDEO_ROOM_SCHEDULED",
        }
    }
}

/// An event ready for the outbox: the full envelope except the per-room `seq`, which the
/// store assigns when it writes a room-scoped event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: String,
    pub app_id: i64,
    pub event_type: EventType,
    /// Set for room-scoped events (they get a per-room `seq`).
    pub video_room_id: Option<i64>,
    pub envelope: Value,
    pub created_at: Timestamp,
}

impl NewEvent {
    pub fn new(app: &AppRef, event_type: EventType, room: Option<i64>, data: Value, at: Timestamp) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        let envelope = json!({
            "id": id,
            "type": event_type.as_str(),
            "app": {
                "id": app.id,
                "state": EntityState::Active,
                "name": app.name,
                "defaultRtmpOutputMode": crate::model::DEFAULT_RTMP_OUTPUT_MODE,
            },
            "data": data,
            "createdAt": time::format(&at),
        });
        Self { id, app_id: app.id, event_type, video_room_id: room, envelope, created_at: at }
    }

    pub fn member(app: &AppRef, member: &Member, created: bool) -> Self {
        let kind = if created { EventType::MemberCreated } else { EventType::MemberUpdated };
        Self::new(app, kind, None, json!({ "member": member }), member.last_modified_at)
    }

    pub fn room_scheduled(app: &AppRef, room: &VideoRoom) -> Self {
        Self::new(app, EventType::VideoRoomScheduled, Some(room.id), json!({ "videoRoom": room }), room.created_at)
    }
}
