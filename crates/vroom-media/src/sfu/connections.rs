//! A participant's media side: its two peer connections, their data channels, the
//! subscriber connection's pending negotiation and its downlink (bandwidth) controller, and
//! the lookups its packets need. One value per participant ([`Connections`]): removing the
//! participant removes all of it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::channel::ChannelId;
use str0m::format::PayloadParams;
use str0m::media::{Mid, Pt, Rid};
use str0m::net::Protocol;
use str0m::rtp::{RtpPacket, Ssrc};
use str0m::{Event, Input, Output, Rtc};
use tracing::{debug, warn};

use super::Sink;
use crate::congestion::LossControl;
use crate::data::DataKind;
use crate::estimator::Estimate;
use crate::model::{ParticipantKey, PeerRole};

/// One of a participant's two peer connections, by owner and role: how the demultiplexing
/// index and the event queue name a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct PeerRef {
    pub owner: ParticipantKey,
    pub role: PeerRole,
}

/// One peer connection and what the server learns about its link.
pub(super) struct Peer {
    pub rtc: Rtc,
    /// When str0m next wants time.
    pub timeout: Instant,
    /// Our side's ICE ufrag, the key a new source address finds this connection by. Fixed
    /// for the connection's life: vroom never restarts ICE with new credentials.
    pub ufrag: String,
    /// What the server measured on it lately.
    pub link: Option<LinkStats>,
    pub channels: Channels,
}

impl Peer {
    pub fn new(mut rtc: Rtc, now: Instant) -> Self {
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        Peer { rtc, timeout: now, ufrag, link: None, channels: Channels::default() }
    }
}

/// What the server measured on a peer connection lately (its `PeerStats`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LinkStats {
    /// Worst of the loss we see on what we receive and the loss the client reports.
    pub loss: f32,
    pub rtt: Option<Duration>,
}

/// The data channels of one peer connection, by kind.
#[derive(Default)]
pub(super) struct Channels {
    reliable: Option<ChannelId>,
    lossy: Option<ChannelId>,
}

impl Channels {
    pub fn kind_of(&self, id: ChannelId) -> Option<DataKind> {
        if self.reliable == Some(id) {
            Some(DataKind::Reliable)
        } else if self.lossy == Some(id) {
            Some(DataKind::Lossy)
        } else {
            None
        }
    }

    pub fn get(&self, kind: DataKind) -> Option<ChannelId> {
        match kind {
            DataKind::Reliable => self.reliable,
            DataKind::Lossy => self.lossy,
        }
    }

    pub fn set(&mut self, label: &str, id: ChannelId) {
        match DataKind::from_label(label) {
            Some(DataKind::Reliable) => self.reliable = Some(id),
            Some(DataKind::Lossy) => self.lossy = Some(id),
            None => {}
        }
    }
}

/// The subscriber connection's downlink controller: what its link takes, from the loss it
/// reports and the bandwidth estimate, and whether its video is paced.
pub(super) struct Downlink {
    /// How good a layer the link takes, from the loss it reports.
    pub link_cap: LossControl,
    /// The latest bandwidth estimate (`None` until the first, or without estimation).
    pub estimate: Option<Estimate>,
    /// The client gives no transport-wide feedback (no estimate, unpaced).
    pub without_bwe: bool,
    /// Whether video goes through str0m's pacer (see [`crate::allocation::Allocation::paces`]):
    /// until an estimate shows room, it does.
    pub paced: bool,
}

impl Default for Downlink {
    fn default() -> Self {
        Downlink { link_cap: LossControl::default(), estimate: None, without_bwe: false, paced: true }
    }
}

/// Where an incoming packet belongs: its media section, simulcast layer and codec.
#[derive(Clone, Copy)]
pub(super) struct Source {
    pub mid: Mid,
    pub rid: Option<Rid>,
    pub params: PayloadParams,
}

impl Source {
    pub fn of(rtc: &mut Rtc, packet: &RtpPacket) -> Option<Self> {
        let params = *rtc.codec_config().find(|p| p.pt() == packet.header.payload_type)?;
        let mut api = rtc.direct_api();
        let stream = api.stream_rx(&packet.header.ssrc)?;
        Some(Self { mid: stream.mid(), rid: stream.rid(), params })
    }
}

/// The media side of one participant.
pub(super) struct Connections {
    /// The client offers: what it publishes arrives here.
    pub publisher: Peer,
    /// The server offers: what it subscribes to leaves here (the primary connection).
    pub subscriber: Peer,
    pub downlink: Downlink,
    /// The subscriber offer waiting for its answer (one at a time).
    pub pending_offer: Option<SdpPendingOffer>,
    pub offers_sent: u32,
    /// Where the publisher's packets belong, by (SSRC, payload type): looked up in str0m
    /// once, not per packet.
    pub sources: HashMap<(Ssrc, Pt), Source>,
    /// Each subscriber media section → the publication feeding it (publisher, publisher
    /// mid), for keyframe requests and link caps.
    pub feeds: HashMap<Mid, (ParticipantKey, Mid)>,
    /// When the signalling connection went away without a goodbye (grace period running).
    pub signal_lost_at: Option<Instant>,
}

impl Connections {
    pub fn new(publisher: Peer, subscriber: Peer) -> Self {
        Connections {
            publisher,
            subscriber,
            downlink: Downlink::default(),
            pending_offer: None,
            offers_sent: 0,
            sources: HashMap::new(),
            feeds: HashMap::new(),
            signal_lost_at: None,
        }
    }

    pub fn peer(&self, role: PeerRole) -> &Peer {
        match role {
            PeerRole::Publisher => &self.publisher,
            PeerRole::Subscriber => &self.subscriber,
        }
    }

    pub fn peer_mut(&mut self, role: PeerRole) -> &mut Peer {
        match role {
            PeerRole::Publisher => &mut self.publisher,
            PeerRole::Subscriber => &mut self.subscriber,
        }
    }
}

/// Our side's ufrag in a STUN message's USERNAME (`ours:theirs`, RFC 8445 §7.2.2), if the
/// datagram is one (RFC 7983: STUN's first byte is 0..=3).
pub(super) fn local_ufrag(datagram: &[u8]) -> Option<&str> {
    if datagram.first().is_none_or(|b| *b > 3) {
        return None;
    }
    let username = str0m::ice::StunMessage::parse(datagram).ok()?.username()?;
    username.split_once(':').map(|(ours, _)| ours)
}

/// Most rounds of due timeouts one `drive` handles before yielding to the worker.
const MAX_DUE_ROUNDS: usize = 256;

/// Drains a peer connection's output until it asks for a timeout (str0m's rule after every
/// input or change): datagrams go to the sink, events to the queue. A timeout that is
/// already due (the pacer releasing its next packet, a probe) is handled at once: waiting for
/// the worker's next turn would space paced packets a loop iteration apart.
pub(super) fn drive(
    now: Instant,
    at: PeerRef,
    peer: &mut Peer,
    events: &mut VecDeque<(PeerRef, Event)>,
    sink: &mut impl Sink,
) {
    let mut rounds = 0;
    loop {
        match peer.rtc.poll_output() {
            Ok(Output::Timeout(t)) if t <= now && rounds < MAX_DUE_ROUNDS => {
                rounds += 1;
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    debug!(peer = ?at, error = %e, "timeout handling failed");
                }
            }
            Ok(Output::Timeout(t)) => {
                peer.timeout = t;
                return;
            }
            Ok(Output::Transmit(t)) => sink.transmit(t.proto, t.destination, &t.contents),
            Ok(Output::Event(e)) => events.push_back((at, e)),
            Err(e) => {
                warn!(peer = ?at, error = %e, "peer connection failed; closing it");
                peer.rtc.disconnect();
                peer.timeout = now + Duration::from_secs(3600);
                return;
            }
        }
    }
}

/// Where a datagram from `source` goes, through the demultiplexing index: a known address
/// in one lookup, a new one through the ufrag its ICE check names.
#[derive(Default)]
pub(super) struct Demux {
    by_addr: HashMap<(Protocol, SocketAddr), PeerRef>,
    by_ufrag: HashMap<String, PeerRef>,
}

impl Demux {
    pub fn add(&mut self, ufrag: &str, at: PeerRef) {
        self.by_ufrag.insert(ufrag.to_owned(), at);
    }

    /// Forgets a participant's connections (their ufrags and every address they used).
    pub fn remove(&mut self, owner: ParticipantKey, connections: &Connections) {
        self.by_ufrag.remove(&connections.publisher.ufrag);
        self.by_ufrag.remove(&connections.subscriber.ufrag);
        self.by_addr.retain(|_, at| at.owner != owner);
    }

    pub fn by_addr(&self, proto: Protocol, source: SocketAddr) -> Option<PeerRef> {
        self.by_addr.get(&(proto, source)).copied()
    }

    /// The connection an ICE check in `datagram` names, if it is one.
    pub fn by_ice_check(&self, datagram: &[u8]) -> Option<PeerRef> {
        self.by_ufrag.get(local_ufrag(datagram)?).copied()
    }

    pub fn learn(&mut self, proto: Protocol, source: SocketAddr, at: PeerRef) {
        self.by_addr.insert((proto, source), at);
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.by_addr.is_empty() && self.by_ufrag.is_empty()
    }
}
