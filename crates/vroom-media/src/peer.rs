//! Building str0m peer connections the way every vroom connection is configured.

use std::time::{Duration, Instant};

/// How often str0m reports peer statistics.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

use str0m::bwe::Bitrate;
use str0m::change::SdpApi;
use str0m::channel::{ChannelConfig, Reliability};
use str0m::media::MediaKind;
use str0m::net::TcpType;
use str0m::{Candidate, Rtc};

use crate::data::DataKind;
use crate::model::TrackKind;

/// A peer connection: ICE-lite (the server has a reachable address, the browser does the
/// checks), one host candidate (the worker's UDP address), Opus, VP8 and H.264 (the codecs
/// advertised in `JoinResponse.enabled_publish_codecs`).
///
/// `bwe` starts send-side bandwidth estimation (transport-wide congestion control) at that
/// rate: subscriber connections use it to choose simulcast layers ([`crate::allocation`]).
/// `tcp_host`, when given, adds a passive TCP host candidate (ICE over TCP, RFC 6544, framed
/// as RFC 4571 by the I/O shell) for clients whose networks block UDP.
pub fn new_rtc(
    now: Instant,
    host: std::net::SocketAddr,
    tcp_host: Option<std::net::SocketAddr>,
    bwe: Option<Bitrate>,
) -> Result<Rtc, str0m::RtcError> {
    // Stats feed connection quality (loss and RTT as the server sees them).
    let mut rtc = Rtc::builder()
        .enable_bwe(bwe)
        .set_ice_lite(true)
        // Forwarding works on RTP packets (see `crate::sfu`), never on frames.
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true)
        .set_stats_interval(Some(STATS_INTERVAL))
        .build(now);
    let candidate = Candidate::host(host, "udp").map_err(str0m::RtcError::Ice)?;
    rtc.add_local_candidate(candidate);
    if let Some(tcp) = tcp_host {
        let candidate =
            Candidate::builder().tcp().host(tcp).tcptype(TcpType::Passive).build().map_err(str0m::RtcError::Ice)?;
        rtc.add_local_candidate(candidate);
    }
    Ok(rtc)
}

/// Adds the server-created `_reliable` (ordered) and `_lossy` (unordered, no retransmits)
/// channels LiveKit clients adopt on their subscriber connection.
pub fn add_data_channels(api: &mut SdpApi<'_>) {
    for kind in [DataKind::Reliable, DataKind::Lossy] {
        let (ordered, reliability) = match kind {
            DataKind::Reliable => (true, Reliability::Reliable),
            DataKind::Lossy => (false, Reliability::MaxRetransmits { retransmits: 0 }),
        };
        api.add_channel_with_config(ChannelConfig {
            label: kind.label().to_owned(),
            ordered,
            reliability,
            ..Default::default()
        });
    }
}

pub fn media_kind(kind: TrackKind) -> MediaKind {
    match kind {
        TrackKind::Audio => MediaKind::Audio,
        TrackKind::Video => MediaKind::Video,
    }
}

pub fn track_kind(kind: MediaKind) -> TrackKind {
    match kind {
        MediaKind::Audio => TrackKind::Audio,
        MediaKind::Video => TrackKind::Video,
    }
}
