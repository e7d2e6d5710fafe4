//! The vocabulary shared with the signalling side: commands in, events out, and read-only
//! views of rooms, participants and tracks. Plain data, no protocol encoding.

use std::collections::BTreeMap;

pub use crate::ids::{ParticipantSid, RoomName, TrackSid};

/// Identifies one signalling connection's participant inside the media server. Allocated by
/// [`crate::MediaHandle::join`] so commands can follow the join without waiting for a reply;
/// it also tells the handle which worker owns the participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantKey(pub u64);

/// What a participant may do (from its access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaPermission {
    pub can_publish: bool,
    pub can_subscribe: bool,
    pub can_publish_data: bool,
    /// Invisible to others: not listed, its data carries no identity.
    pub hidden: bool,
}

/// A request to join (or create) a room.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub room: RoomName,
    pub identity: String,
    pub name: String,
    pub metadata: String,
    pub permission: MediaPermission,
    pub auto_subscribe: bool,
    /// The token lets the participant change its own name, metadata and attributes.
    pub can_update_metadata: bool,
    /// Attributes from the token (key → value).
    pub attributes: BTreeMap<String, String>,
}

/// A participant's change of its own name, metadata or attributes (LiveKit
/// `UpdateParticipantMetadata`). An empty name or metadata leaves it as it is; an attribute
/// with an empty value is removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetadataUpdate {
    pub name: String,
    pub metadata: String,
    pub attributes: Vec<(String, String)>,
    /// The client's id of the request, echoed in a refusal.
    pub request_id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Video,
}

/// Where a track comes from (LiveKit's `TrackSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrackSource {
    #[default]
    Unknown,
    Camera,
    Microphone,
    ScreenShare,
    ScreenShareAudio,
}

/// A client's announcement of a track it is about to publish.
#[derive(Debug, Clone)]
pub struct AddTrack {
    /// The client's id of the local track (matched against the SDP msid).
    pub cid: String,
    pub name: String,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub width: u32,
    pub height: u32,
    pub muted: bool,
    pub stream: String,
    /// The simulcast layers the client announced (video), for choosing a layer from the
    /// dimensions a subscriber asks for.
    pub layers: Vec<LayerSpec>,
    /// The video codec the client wants to publish with (lowercase, e.g. `h264`), if any.
    pub preferred_codec: Option<String>,
}

/// A simulcast quality (LiveKit's `VideoQuality`): rid `q`, `h`, `f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Quality {
    Low,
    Medium,
    #[default]
    High,
}

impl Quality {
    /// The quality a simulcast rid stands for (LiveKit clients assign `q`, `h`, `f` from low
    /// to high; anything else is treated as the best).
    pub fn of_rid(rid: &str) -> Quality {
        match rid {
            "q" => Quality::Low,
            "h" => Quality::Medium,
            _ => Quality::High,
        }
    }
}

/// One announced simulcast layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    pub quality: Quality,
    pub width: u32,
    pub height: u32,
}

/// A publisher lets one participant (named by sid or identity) subscribe to all its tracks
/// or to the listed ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeGrant {
    pub participant: String,
    pub all_tracks: bool,
    pub track_sids: Vec<TrackSid>,
}

/// What a subscriber wants of one track (LiveKit `UpdateTrackSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackSettings {
    /// Nothing is forwarded (e.g. the video element is hidden).
    pub disabled: bool,
    /// The best layer to forward.
    pub max_quality: Quality,
}

/// How a participant's connection looks from the server (LiveKit `ConnectionQuality`,
/// without `LOST`: a participant the server cannot hear from is removed instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionQuality {
    Poor,
    Good,
    Excellent,
}

/// One entry of a speakers update: a change of `sid`'s speaking state or level.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerView {
    pub sid: ParticipantSid,
    /// 0..1, linear.
    pub level: f32,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QualityView {
    pub sid: ParticipantSid,
    pub quality: ConnectionQuality,
    /// 1 (bad) ..= 5 (perfect), MOS-like.
    pub score: f32,
}

/// Which of a participant's two peer connections a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerRole {
    Publisher,
    Subscriber,
}

/// Commands from a signalling connection to the media server.
#[derive(Debug)]
pub enum Command {
    /// The client's offer on its publisher connection; `id` is echoed in the answer.
    PublisherOffer {
        sdp: String,
        id: u32,
    },
    /// The client's answer to our latest subscriber offer.
    SubscriberAnswer {
        sdp: String,
    },
    /// A remote ICE candidate line (`candidate:…`).
    Trickle {
        role: PeerRole,
        candidate: String,
    },
    AddTrack(AddTrack),
    Mute {
        track_sid: TrackSid,
        muted: bool,
    },
    /// Subscribe to or unsubscribe from tracks of others (manual subscription).
    UpdateSubscription {
        track_sids: Vec<TrackSid>,
        subscribe: bool,
    },
    /// A subscriber's wishes for tracks it receives. `width`/`height` (when non-zero) pick
    /// the smallest announced layer that covers them; otherwise `quality` caps the layer.
    UpdateTrackSettings {
        track_sids: Vec<TrackSid>,
        disabled: bool,
        quality: Quality,
        width: u32,
        height: u32,
    },
    /// Who may subscribe to this participant's tracks (LiveKit `SubscriptionPermission`):
    /// `None` lets everyone; otherwise only the grants' participants, to their tracks.
    SetSubscribePermission(Option<Vec<SubscribeGrant>>),
    /// The participant changes its own name, metadata or attributes.
    UpdateMetadata(MetadataUpdate),
    /// The client said goodbye (LiveKit `LeaveRequest`), or its connection failed in a way
    /// that rules out a reconnect: removed at once.
    Leave,
    /// The signalling connection is gone without a goodbye. The participant stays for the
    /// reconnect grace period (its media may still flow; the client may rejoin with the
    /// same identity) and is removed when it expires.
    Disconnected,
}

/// Why the server removed a participant (what the client is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedReason {
    DuplicateIdentity,
    ServerShutdown,
    /// The room was deleted.
    RoomDeleted,
    /// The room was ended.
    RoomClosed,
    /// The application removed this participant (e.g. its member was deleted).
    Removed,
    /// The participant waited for approval and was turned away.
    Rejected,
}

/// Why a participant is no longer in the media server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveCause {
    /// The client left.
    ClientLeft,
    /// The signalling connection was lost and not re-established within the grace period.
    ConnectionLost,
    /// The server removed it.
    Removed(RemovedReason),
}

/// Presence as the media server reports it to the application, in order: for every
/// participant exactly one `Joined` (once its `JoinResponse` is out) and then exactly one
/// `Left`. A replaced participant's `Left` follows its successor's `Joined`, so a
/// reconnect does not look like an empty room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Joined {
        room: RoomName,
        sid: ParticipantSid,
        identity: String,
        name: String,
        metadata: String,
        hidden: bool,
        at_ms: i64,
    },
    Left {
        room: RoomName,
        sid: ParticipantSid,
        cause: LeaveCause,
        at_ms: i64,
    },
}

/// Events from the media server to one signalling connection, in the order they must reach the
/// client.
#[derive(Debug, Clone)]
pub enum MediaEvent {
    Joined(Box<JoinInfo>),
    PublisherAnswer {
        sdp: String,
        id: u32,
    },
    SubscriberOffer {
        sdp: String,
        id: u32,
    },
    TrackPublished {
        cid: String,
        track: TrackView,
    },
    /// An `AddTrack` refused, with why: the client is told (not only the log).
    TrackRefused {
        cid: String,
        reason: crate::state::StateError,
    },
    /// Full snapshots of participants that changed (their complete track lists).
    ParticipantsChanged(Vec<ParticipantView>),
    /// The server removed this participant; the signalling connection should tell the client and close.
    Removed(RemovedReason),
    /// Speakers of the room whose state changed since the last update.
    SpeakersChanged(Vec<SpeakerView>),
    /// Connection quality of the room's participants.
    ConnectionQuality(Vec<QualityView>),
    /// Whether this participant may subscribe to a track (after its publisher changed who
    /// may, or when it asked for a track it may not have).
    SubscriptionAllowed {
        publisher_sid: ParticipantSid,
        track_sid: TrackSid,
        allowed: bool,
    },
    /// The participant's own metadata update was refused (it is told why).
    MetadataRefused {
        update: MetadataUpdate,
        reason: crate::state::MetadataError,
    },
}

/// The answer to a join: the room, the participant itself and the others present.
#[derive(Debug, Clone)]
pub struct JoinInfo {
    pub room: RoomView,
    pub participant: ParticipantView,
    pub others: Vec<ParticipantView>,
}

#[derive(Debug, Clone)]
pub struct RoomView {
    pub sid: String,
    pub name: RoomName,
    pub created_at_ms: i64,
    pub num_participants: u32,
    pub num_publishers: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantState {
    Joined,
    Active,
    Disconnected,
}

#[derive(Debug, Clone)]
pub struct ParticipantView {
    pub sid: ParticipantSid,
    pub identity: String,
    pub name: String,
    pub metadata: String,
    pub attributes: BTreeMap<String, String>,
    pub can_update_metadata: bool,
    pub state: ParticipantState,
    pub tracks: Vec<TrackView>,
    /// Increases with every change of this participant.
    pub version: u32,
    pub joined_at_ms: i64,
    pub permission: MediaPermission,
}

#[derive(Debug, Clone)]
pub struct TrackView {
    pub sid: TrackSid,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub name: String,
    pub muted: bool,
    pub width: u32,
    pub height: u32,
    /// `audio/opus`, `video/VP8`, or empty before media was negotiated.
    pub mime_type: String,
    pub mid: String,
    pub simulcast: bool,
    pub stream: String,
}
