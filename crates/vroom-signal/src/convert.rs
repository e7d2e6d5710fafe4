//! Media views → LiveKit protobuf messages.

use livekit_protocol as lk;
use vroom_media::{JoinInfo, ParticipantState, ParticipantView, TrackKind, TrackSource, TrackView};

/// What vroom reports as its server version (clients refuse an empty one).
pub const SERVER_VERSION: &str = concat!("1.9.0-vroom.", env!("CARGO_PKG_VERSION"));
/// Signalling protocol level announced in `ServerInfo` (≥ 14 keeps 2.9.x from pre-creating
/// its data channels at configure time).
pub const SERVER_PROTOCOL: i32 = 16;
pub const PING_INTERVAL_SECS: i32 = 5;
pub const PING_TIMEOUT_SECS: i32 = 15;

fn codecs() -> Vec<lk::Codec> {
    ["audio/opus", "video/VP8", "video/H264"]
        .iter()
        .map(|m| lk::Codec { mime: (*m).into(), fmtp_line: String::new() })
        .collect()
}

pub fn join_response(info: &JoinInfo, node_id: &str) -> lk::JoinResponse {
    let room = &info.room;
    lk::JoinResponse {
        room: Some(lk::Room {
            sid: room.sid.clone(),
            name: room.name.to_string(),
            empty_timeout: 300,
            departure_timeout: 20,
            creation_time: room.created_at_ms / 1000,
            creation_time_ms: room.created_at_ms,
            enabled_codecs: codecs(),
            num_participants: room.num_participants,
            num_publishers: room.num_publishers,
            ..Default::default()
        }),
        participant: Some(participant_info(&info.participant)),
        other_participants: info.others.iter().map(participant_info).collect(),
        server_version: SERVER_VERSION.into(),
        subscriber_primary: true,
        client_configuration: Some(lk::ClientConfiguration {
            // No resume yet: clients always do a full reconnect.
            resume_connection: lk::ClientConfigSetting::Disabled as i32,
            ..Default::default()
        }),
        ping_timeout: PING_TIMEOUT_SECS,
        ping_interval: PING_INTERVAL_SECS,
        server_info: Some(lk::ServerInfo {
            edition: lk::server_info::Edition::Standard as i32,
            version: SERVER_VERSION.into(),
            protocol: SERVER_PROTOCOL,
            node_id: node_id.into(),
            ..Default::default()
        }),
        enabled_publish_codecs: codecs(),
        ..Default::default()
    }
}

pub fn participant_info(p: &ParticipantView) -> lk::ParticipantInfo {
    let state = match p.state {
        ParticipantState::Joined => lk::participant_info::State::Joined,
        ParticipantState::Active => lk::participant_info::State::Active,
        ParticipantState::Disconnected => lk::participant_info::State::Disconnected,
    };
    lk::ParticipantInfo {
        sid: p.sid.to_string(),
        identity: p.identity.clone(),
        state: state as i32,
        tracks: p.tracks.iter().map(track_info).collect(),
        metadata: p.metadata.clone(),
        attributes: p.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        joined_at: p.joined_at_ms / 1000,
        joined_at_ms: p.joined_at_ms,
        name: p.name.clone(),
        version: p.version,
        permission: Some(lk::ParticipantPermission {
            can_subscribe: p.permission.can_subscribe,
            can_publish: p.permission.can_publish,
            can_publish_data: p.permission.can_publish_data,
            hidden: p.permission.hidden,
            can_update_metadata: p.can_update_metadata,
            ..Default::default()
        }),
        is_publisher: !p.tracks.is_empty(),
        disconnect_reason: if p.state == ParticipantState::Disconnected {
            lk::DisconnectReason::ClientInitiated as i32
        } else {
            0
        },
        ..Default::default()
    }
}

pub fn track_info(t: &TrackView) -> lk::TrackInfo {
    let kind = match t.kind {
        TrackKind::Audio => lk::TrackType::Audio,
        TrackKind::Video => lk::TrackType::Video,
    };
    let codecs = if t.mime_type.is_empty() {
        Vec::new()
    } else {
        vec![lk::SimulcastCodecInfo { mime_type: t.mime_type.clone(), mid: t.mid.clone(), ..Default::default() }]
    };
    #[allow(deprecated)]
    lk::TrackInfo {
        sid: t.sid.to_string(),
        r#type: kind as i32,
        name: t.name.clone(),
        muted: t.muted,
        width: t.width,
        height: t.height,
        simulcast: t.simulcast,
        source: source(t.source) as i32,
        mime_type: t.mime_type.clone(),
        mid: t.mid.clone(),
        codecs,
        stream: t.stream.clone(),
        ..Default::default()
    }
}

fn source(s: TrackSource) -> lk::TrackSource {
    match s {
        TrackSource::Unknown => lk::TrackSource::Unknown,
        TrackSource::Camera => lk::TrackSource::Camera,
        TrackSource::Microphone => lk::TrackSource::Microphone,
        TrackSource::ScreenShare => lk::TrackSource::ScreenShare,
        TrackSource::ScreenShareAudio => lk::TrackSource::ScreenShareAudio,
    }
}

pub fn track_source(value: i32) -> TrackSource {
    match lk::TrackSource::try_from(value) {
        Ok(lk::TrackSource::Camera) => TrackSource::Camera,
        Ok(lk::TrackSource::Microphone) => TrackSource::Microphone,
        Ok(lk::TrackSource::ScreenShare) => TrackSource::ScreenShare,
        Ok(lk::TrackSource::ScreenShareAudio) => TrackSource::ScreenShareAudio,
        _ => TrackSource::Unknown,
    }
}
