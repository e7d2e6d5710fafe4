//! Wiring of the media server: the UDP worker, the signalling routes, and the two narrow
//! channels between the media server and the platform: presence reports (media →
//! platform, through a channel to one async task, off the packet path) and
//! [`MediaControl`] (platform → media).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc::{self, UnboundedReceiver};
use vroom_media::{LeaveCause, MediaHandle, MediaPermission, Presence, RemovedReason};
use vroom_platform::media::{self as platform_media, MediaControl, MediaParticipant};
use vroom_platform::session::{ParticipantJoin, leave_reason};
use vroom_platform::{Error, Platform, time};
use vroom_signal::{RoomGate, RoomRefusal, SignalState, TokenVerifier};

use crate::config::{self, ServeConfig};

/// The started media server: its signalling routes, and per worker its announced UDP
/// address and packet counters.
pub struct Media {
    pub router: axum::Router,
    pub udp_addrs: Vec<SocketAddr>,
    pub counters: Vec<Arc<vroom_media::MediaCounters>>,
}

/// Binds the media UDP ports, starts the workers, connects them with the platform both
/// ways and builds the signalling routes. Must run inside the Tokio runtime.
pub fn start(config: &ServeConfig, platform: Arc<Platform>, api_key: &str, api_secret: &str) -> anyhow::Result<Media> {
    let node_ip = config.node_ip.unwrap_or_else(config::detect_node_ip);
    let any: IpAddr = if node_ip.is_ipv4() { [0, 0, 0, 0].into() } else { [0u16; 8].into() };
    let bind = SocketAddr::new(any, config.udp_port);
    let workers = config.media_workers;
    let media = vroom_media::start_workers(vroom_media::WorkerConfig { bind, node_ip, workers })
        .with_context(|| format!("starting {workers} media workers on UDP from {bind}"))?;
    let bwe_start = (config.bwe_start_kbps > 0).then(|| u64::from(config.bwe_start_kbps) * 1000);
    media.set_bandwidth_estimation(bwe_start).context("media worker stopped")?;
    let (udp_addrs, counters) = (media.udp_addrs(), media.counters());
    // Installed before the signalling routes exist, so no join can go unreported. Every
    // worker reports into this one channel; a room's reports all come from its worker, so
    // they stay in order.
    let (reports, presence) = mpsc::unbounded_channel();
    media.report_presence(reports).context("media worker stopped")?;
    tokio::spawn(report_presence(platform.clone(), presence));
    platform.set_media_control(Arc::new(MediaControlHandle(media.clone())));
    let state = SignalState {
        verifier: TokenVerifier::new(api_key, api_secret),
        media,
        gate: Arc::new(PlatformGate(platform)),
        node_id: udp_addrs[0].to_string(),
    };
    Ok(Media { router: vroom_signal::router(state), udp_addrs, counters })
}

/// Rooms are vroom video rooms, by uuid, that are neither ended nor cancelled; participants
/// are members of the room's app that still exist.
struct PlatformGate(Arc<Platform>);

#[async_trait::async_trait]
impl RoomGate for PlatformGate {
    async fn admit(&self, room: &str, identity: &str) -> Result<(), RoomRefusal> {
        let room = match self.0.room_for_media(room).await {
            Ok(Some(r)) if r.video_room_state.is_closed() => {
                return Err(RoomRefusal::Closed("the video room has ended or was cancelled".into()));
            }
            Ok(Some(r)) => r,
            Ok(None) => return Err(RoomRefusal::NotFound),
            Err(e) => return Err(RoomRefusal::Unavailable(e.to_string())),
        };
        // Media tokens live for hours; a member deleted since its token was issued is out.
        match self.0.store().member(room.app.id, identity).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(RoomRefusal::Denied("the member no longer exists".into())),
            Err(e) => Err(RoomRefusal::Unavailable(e.to_string())),
        }
    }
}

/// Longest wait between two attempts to record one presence report.
const PRESENCE_RETRY_MAX: Duration = Duration::from_secs(5);
/// Attempts per report before it is given up (about two minutes of database trouble).
const PRESENCE_ATTEMPTS: u32 = 30;

/// Records the media server's presence reports, one at a time and in order (a `Left` must
/// never overtake its `Joined`), retrying transient database failures.
async fn report_presence(platform: Arc<Platform>, mut reports: UnboundedReceiver<Presence>) {
    while let Some(report) = reports.recv().await {
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=PRESENCE_ATTEMPTS {
            match record(&platform, &report).await {
                Ok(()) => break,
                Err(e) if attempt == PRESENCE_ATTEMPTS => {
                    tracing::error!(error = %e, ?report, "presence report given up");
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "presence report not recorded yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(PRESENCE_RETRY_MAX);
                }
            }
        }
    }
}

async fn record(platform: &Platform, report: &Presence) -> Result<(), Error> {
    match report {
        Presence::Joined { room, sid, identity, name, metadata, hidden, at_ms } => {
            let join = ParticipantJoin {
                room_uuid: room.to_string(),
                participant_sid: sid.to_string(),
                identity: identity.clone(),
                name: name.clone(),
                metadata: metadata.clone(),
                hidden: *hidden,
                at: time::from_millis(*at_ms),
            };
            if platform.participant_joined(&join).await?.is_none() {
                tracing::debug!(%room, "presence in a room the platform does not know");
            }
            Ok(())
        }
        Presence::Left { sid, cause, at_ms, .. } => {
            platform.participant_left(sid, leave_reason_of(*cause), time::from_millis(*at_ms)).await
        }
    }
}

/// The attendance record's leave reason for a media-side departure.
fn leave_reason_of(cause: LeaveCause) -> &'static str {
    match cause {
        LeaveCause::ClientLeft => leave_reason::LEFT,
        LeaveCause::ConnectionLost => leave_reason::CONNECTION_LOST,
        LeaveCause::Removed(reason) => match reason {
            RemovedReason::DuplicateIdentity => leave_reason::DUPLICATE_IDENTITY,
            RemovedReason::ServerShutdown => leave_reason::SERVER_SHUTDOWN,
            RemovedReason::RoomDeleted => leave_reason::ROOM_DELETED,
            RemovedReason::RoomClosed => leave_reason::ROOM_CLOSED,
            RemovedReason::Removed => leave_reason::REMOVED,
            RemovedReason::Rejected => leave_reason::REJECTED,
        },
    }
}

/// The platform's commands, sent to the media worker.
struct MediaControlHandle(MediaHandle);

fn removed_reason(reason: platform_media::RemovedReason) -> RemovedReason {
    match reason {
        platform_media::RemovedReason::RoomClosed => RemovedReason::RoomClosed,
        platform_media::RemovedReason::RoomDeleted => RemovedReason::RoomDeleted,
        platform_media::RemovedReason::MemberDeleted | platform_media::RemovedReason::Removed => RemovedReason::Removed,
        platform_media::RemovedReason::Rejected => RemovedReason::Rejected,
    }
}

fn participant(view: vroom_media::ParticipantView) -> MediaParticipant {
    let p = view.permission;
    MediaParticipant {
        sid: view.sid.into(),
        identity: view.identity,
        name: view.name,
        metadata: view.metadata,
        joined_at: time::from_millis(view.joined_at_ms),
        permission: platform_media::MediaPermission {
            can_publish: p.can_publish,
            can_subscribe: p.can_subscribe,
            can_publish_data: p.can_publish_data,
            hidden: p.hidden,
        },
    }
}

fn media_gone(e: vroom_media::MediaGone) -> Error {
    Error::internal(e.to_string())
}

#[async_trait::async_trait]
impl MediaControl for MediaControlHandle {
    fn close_room(&self, room_uuid: &str, reason: platform_media::RemovedReason) {
        if let Err(e) = self.0.close_room(room_uuid, removed_reason(reason)) {
            tracing::warn!(error = %e, "cannot close the room in the media server");
        }
    }

    fn remove_participant(&self, room_uuid: &str, identity: &str, reason: platform_media::RemovedReason) {
        if let Err(e) = self.0.remove_participant(room_uuid, identity, removed_reason(reason)) {
            tracing::warn!(error = %e, "cannot remove the participant in the media server");
        }
    }

    async fn update_permission(
        &self,
        room_uuid: &str,
        identity: &str,
        permission: platform_media::MediaPermission,
    ) -> Result<Option<MediaParticipant>, Error> {
        let permission = MediaPermission {
            can_publish: permission.can_publish,
            can_subscribe: permission.can_subscribe,
            can_publish_data: permission.can_publish_data,
            hidden: permission.hidden,
        };
        Ok(self.0.update_permission(room_uuid, identity, permission).await.map_err(media_gone)?.map(participant))
    }

    async fn participants(&self, room_uuid: &str) -> Result<Vec<MediaParticipant>, Error> {
        Ok(self.0.participants(room_uuid).await.map_err(media_gone)?.into_iter().map(participant).collect())
    }
}
