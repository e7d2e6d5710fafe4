//! The platform's half of the narrow channel to the media server: what the platform may
//! ask of it ([`MediaControl`]: kick, close a room, change a participant's permission,
//! list who is in a room). The media server's reports to the platform (joined / left) go
//! the other way, through [`crate::session`].
//!
//! The platform names rooms by uuid (the LiveKit room name) and participants by identity
//! (the app user id), as the media server does; it never sees media state beyond
//! [`MediaParticipant`].

use async_trait::async_trait;

use crate::error::Result;
use crate::time::Timestamp;

/// Why the platform removes participants (each maps to what the client is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedReason {
    /// The room was ended.
    RoomClosed,
    /// The room was deleted.
    RoomDeleted,
    /// The participant's member was deleted.
    MemberDeleted,
    /// A waiting participant was not admitted.
    Rejected,
    /// The room's owner (or the app) removed the participant.
    Removed,
}

/// What a participant may do in the media server (LiveKit's `ParticipantPermission`, the
/// part vroom uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaPermission {
    pub can_publish: bool,
    pub can_subscribe: bool,
    pub can_publish_data: bool,
    /// Not shown to the other participants.
    pub hidden: bool,
}

impl MediaPermission {
    /// A regular participant.
    pub const FULL: Self = Self { can_publish: true, can_subscribe: true, can_publish_data: true, hidden: false };
    /// An observer (embed URL with `isObserver`): hidden, sees, hears and chats, publishes
    /// no media.
    pub const OBSERVER: Self = Self { can_publish: false, can_subscribe: true, can_publish_data: true, hidden: true };
    /// A participant waiting for approval: present, invisible, receiving and sending nothing.
    pub const WAITING: Self = Self { can_publish: false, can_subscribe: false, can_publish_data: false, hidden: true };

    /// Whether this is the permission of a participant still waiting for approval (an
    /// observer is hidden too, but subscribes).
    pub fn is_waiting(&self) -> bool {
        self.hidden && !self.can_subscribe && !self.can_publish
    }
}

/// A participant as the media server sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaParticipant {
    pub sid: String,
    pub identity: String,
    pub name: String,
    /// The token's metadata (vroom's member JSON).
    pub metadata: String,
    pub joined_at: Timestamp,
    pub permission: MediaPermission,
}

/// Commands from the platform to the media server. Installed into the [`crate::Platform`]
/// once the media server runs ([`crate::Platform::set_media_control`]); without one, the
/// platform behaves as if no room had participants.
#[async_trait]
pub trait MediaControl: Send + Sync {
    /// Removes everyone from a room, telling each client why (fire and forget).
    fn close_room(&self, room_uuid: &str, reason: RemovedReason);
    /// Removes one participant, if present, telling its client why (fire and forget).
    fn remove_participant(&self, room_uuid: &str, identity: &str, reason: RemovedReason);
    /// Changes a present participant's permission without a reconnect; its new state, or
    /// `None` if it is not in the room.
    async fn update_permission(
        &self,
        room_uuid: &str,
        identity: &str,
        permission: MediaPermission,
    ) -> Result<Option<MediaParticipant>>;
    /// Everyone in a room right now, hidden and waiting participants included.
    async fn participants(&self, room_uuid: &str) -> Result<Vec<MediaParticipant>>;
}
