//! Wiring of the media server: the UDP worker, the signalling routes and the room gate
//! backed by the platform.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use vroom_platform::Platform;
use vroom_signal::{RoomGate, RoomRefusal, SignalState, TokenVerifier};

use crate::config::{self, ServeConfig};

/// The started media server: its signalling routes and announced UDP address.
pub struct Media {
    pub router: axum::Router,
    pub udp_addr: SocketAddr,
    pub counters: Arc<vroom_media::MediaCounters>,
}

/// Binds the media UDP port, starts the worker and builds the signalling routes.
pub fn start(config: &ServeConfig, platform: Arc<Platform>, api_key: &str, api_secret: &str) -> anyhow::Result<Media> {
    let node_ip = config.node_ip.unwrap_or_else(config::detect_node_ip);
    let any: IpAddr = if node_ip.is_ipv4() { [0, 0, 0, 0].into() } else { [0u16; 8].into() };
    let bind = SocketAddr::new(any, config.udp_port);
    let media = vroom_media::start_worker(vroom_media::WorkerConfig { bind, node_ip })
        .with_context(|| format!("binding the media UDP port {bind}"))?;
    let udp_addr = media.udp_addr();
    let counters = media.counters();
    let state = SignalState {
        verifier: TokenVerifier::new(api_key, api_secret),
        media,
        gate: Arc::new(PlatformGate(platform)),
        node_id: udp_addr.to_string(),
    };
    Ok(Media { router: vroom_signal::router(state), udp_addr, counters })
}

/// Rooms are vroom video rooms, by uuid, that are neither ended nor cancelled.
struct PlatformGate(Arc<Platform>);

#[async_trait::async_trait]
impl RoomGate for PlatformGate {
    async fn admit(&self, room: &str) -> Result<(), RoomRefusal> {
        match self.0.room_for_media(room).await {
            Ok(Some(r)) if r.video_room_state.is_closed() => {
                Err(RoomRefusal::Closed("the video room has ended or was cancelled".into()))
            }
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(RoomRefusal::NotFound),
            Err(e) => Err(RoomRefusal::Unavailable(e.to_string())),
        }
    }
}
