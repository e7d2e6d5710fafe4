//! The SFU of one media worker, sans-IO: fed commands, datagrams and time; produces
//! datagrams to send and events for the signalling connections through a [`Sink`].
//!
//! What it holds, one value per concept:
//! - the rooms as plain state ([`Rooms`]: who is where, publications, subscriptions);
//! - each participant's media side (`connections::Connections`): two str0m [`Rtc`](str0m::Rtc)s
//!   (publisher: the client offers; subscriber: the server offers, and it is the primary
//!   connection), their data channels, the pending subscriber offer and the downlink
//!   controller;
//! - each publication's fan-out (`Forward`, a [`crate::forward::Fanout`]) to the subscriber media sections it feeds;
//! - the demultiplexing index (`connections::Demux`) from source address or ICE ufrag to
//!   a connection.
//!
//! Forwarding is str0m RTP mode: each RTP packet a publisher sends (`Event::RtpPacket`, its
//! payload an `Arc<[u8]>`) is written to each subscriber's sending stream with that
//! subscriber's sequence number, timestamp and VP8 ids ([`crate::rewrite`]); the payload is
//! shared, not copied, and never depacketized.
//!
//! The work is split by concern: `negotiation` (SDP both ways, publications appearing and
//! going), `packet` (the packet path), `downlink` (bandwidth shares per subscriber) and
//! `room_events` (what the room learns: snapshots, speakers, quality, data).

mod connections;
mod downlink;
mod negotiation;
mod packet;
mod room_events;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::media::{Direction, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Event, Input};
use tracing::{debug, info, warn};

use crate::activity::Speakers;
use crate::effects::{Effect, Effects};
use crate::estimator::Estimate;
use crate::forward::Fanout;
use crate::model::*;
use crate::peer;
use crate::state::Rooms;
use connections::{Connections, Demux, LinkStats, Peer, PeerRef, drive};
use negotiation::AddedMedia;

/// Where the SFU's outputs go.
pub trait Sink {
    /// Send a datagram from the worker's UDP socket, or a frame on the worker's TCP
    /// connection with `to` (ICE over TCP).
    fn transmit(&mut self, proto: Protocol, to: SocketAddr, data: &[u8]);
    /// Deliver an event to a participant's signalling connection.
    fn event(&mut self, to: ParticipantKey, event: MediaEvent);
    /// Report a join or a departure to the application (in the order emitted).
    fn presence(&mut self, report: Presence);
}

/// One publication as forwarded, written to subscriber media sections `(subscriber, mid)`.
type Forward = Fanout<(ParticipantKey, Mid)>;

const IDLE_TIMEOUT: Duration = Duration::from_millis(100);
/// Where a subscriber connection's bandwidth estimate starts, until its feedback says more
/// (kbit/s; also the default of `--bwe-start-kbps`).
pub const BWE_START_KBPS: u32 = 1_000;
/// How long a participant whose signalling connection dropped stays in its room.
pub const RECONNECT_GRACE: Duration = Duration::from_secs(10);

pub struct Sfu {
    host: SocketAddr,
    /// Where clients reach the worker over TCP (ICE-TCP, passive), if it listens there.
    tcp_host: Option<SocketAddr>,
    start: Instant,
    start_unix_ms: i64,
    rooms: Rooms,
    /// Each participant's media side.
    connections: HashMap<ParticipantKey, Connections>,
    /// Each publication's fan-out, by (publisher, publisher mid).
    forwards: HashMap<(ParticipantKey, Mid), Forward>,
    speakers: Speakers,
    demux: Demux,
    /// Events drained from connections, handled after the mutation that caused them.
    events: VecDeque<(PeerRef, Event)>,
    /// Scratch list of the connections whose timeout is due.
    due: Vec<PeerRef>,
    reconnect_grace: Duration,
    /// Where subscriber connections start their bandwidth estimate (`None`: no estimation).
    bwe_start: Option<Bitrate>,
    next_quality_update: Option<Instant>,
    next_allocation: Option<Instant>,
}

impl Sfu {
    /// `host` is the address clients reach (the ICE host candidate); `start_unix_ms` is the
    /// wall-clock time matching `start`, for join timestamps.
    pub fn new(host: SocketAddr, start: Instant, start_unix_ms: i64) -> Self {
        Self {
            host,
            tcp_host: None,
            start,
            start_unix_ms,
            rooms: Rooms::default(),
            connections: HashMap::new(),
            forwards: HashMap::new(),
            speakers: Speakers::default(),
            demux: Demux::default(),
            events: VecDeque::new(),
            due: Vec::new(),
            reconnect_grace: RECONNECT_GRACE,
            bwe_start: Some(Bitrate::kbps(u64::from(BWE_START_KBPS))),
            next_quality_update: None,
            next_allocation: None,
        }
    }

    /// Where subscriber connections start their bandwidth estimate; `None` turns bandwidth
    /// estimation off (layers then follow the subscribers' settings and reported loss only).
    /// Applies to connections created afterwards.
    pub fn set_bandwidth_estimation(&mut self, start: Option<Bitrate>) {
        self.bwe_start = start;
    }

    /// Offers ICE over TCP at `addr` (a passive TCP host candidate) to connections created
    /// afterwards; their TCP frames come in through [`Sfu::handle_receive_on`].
    pub fn set_tcp_host(&mut self, addr: SocketAddr) {
        self.tcp_host = Some(addr);
    }

    /// Changes the reconnect grace period (tests shorten it).
    pub fn set_reconnect_grace(&mut self, grace: Duration) {
        self.reconnect_grace = grace;
    }

    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    pub fn participant_count(&self) -> usize {
        self.connections.len()
    }

    fn unix_ms(&self, now: Instant) -> i64 {
        self.start_unix_ms + now.saturating_duration_since(self.start).as_millis() as i64
    }

    /// The next time [`Sfu::handle_timeout`] must run.
    pub fn poll_timeout(&self, now: Instant) -> Instant {
        let grace = self.connections.values().filter_map(|c| c.signal_lost_at).map(|t| t + self.reconnect_grace);
        self.connections
            .values()
            .flat_map(|c| [c.publisher.timeout, c.subscriber.timeout])
            .chain(grace)
            .min()
            .unwrap_or(now + IDLE_TIMEOUT)
            .min(now + IDLE_TIMEOUT)
    }

    // ---- commands ---------------------------------------------------------------------

    /// Admits a participant: evicts an older participant of the same identity, creates its two
    /// peer connections, sends `Joined`, tells the others, and makes the first subscriber
    /// offer (data channels and the media already published).
    pub fn join(&mut self, now: Instant, key: ParticipantKey, request: JoinRequest, sink: &mut impl Sink) {
        let (publisher, subscriber) = match (
            peer::new_rtc(now, self.host, self.tcp_host, None),
            peer::new_rtc(now, self.host, self.tcp_host, self.bwe_start),
        ) {
            (Ok(p), Ok(s)) => (p, s),
            (Err(e), _) | (_, Err(e)) => {
                warn!(error = %e, "cannot create peer connections");
                return;
            }
        };
        // The replaced participant's departure is reported after this join, so the platform
        // never sees the room empty during a reconnect.
        let mut replaced = None;
        if let Some(old) = self.rooms.find_identity(request.room.as_str(), &request.identity) {
            info!(identity = %request.identity, room = %request.room, "duplicate identity: removing the older participant");
            let reason = RemovedReason::DuplicateIdentity;
            sink.event(old, MediaEvent::Removed(reason));
            replaced = self.remove(now, old, LeaveCause::Removed(reason), sink);
        }
        let connections = Connections::new(Peer::new(publisher, now), Peer::new(subscriber, now));
        for role in [PeerRole::Publisher, PeerRole::Subscriber] {
            self.demux.add(&connections.peer(role).ufrag, PeerRef { owner: key, role });
        }
        self.connections.insert(key, connections);
        let room = request.room.clone();
        let (info, effects) = self.rooms.join(key, request, self.unix_ms(now));
        info!(room = %room, sid = %info.participant.sid, identity = %info.participant.identity, "participant joined");
        let joined = Presence::Joined {
            room: room.clone(),
            sid: info.participant.sid.clone(),
            identity: info.participant.identity.clone(),
            name: info.participant.name.clone(),
            metadata: info.participant.metadata.clone(),
            hidden: info.participant.permission.hidden,
            at_ms: info.participant.joined_at_ms,
        };
        sink.event(key, MediaEvent::Joined(Box::new(info)));
        sink.presence(joined);
        if let Some(left) = replaced {
            sink.presence(left);
        }
        self.apply(now, effects, sink);
        // The first offer, whatever it subscribes to: it carries the data channels.
        self.negotiate(now, key, sink);
        self.process_events(now, sink);
    }

    /// Handles a command of a joined participant.
    pub fn command(&mut self, now: Instant, key: ParticipantKey, command: Command, sink: &mut impl Sink) {
        if !self.connections.contains_key(&key) {
            debug!(?key, "command for an unknown participant");
            return;
        }
        match command {
            Command::PublisherOffer { sdp, id } => self.publisher_offer(now, key, &sdp, id, sink),
            Command::SubscriberAnswer { sdp } => self.subscriber_answer(now, key, &sdp, sink),
            Command::Trickle { role, candidate } => self.trickle(now, key, role, &candidate, sink),
            Command::AddTrack(track) => {
                let cid = track.cid.clone();
                match self.rooms.add_track(key, track) {
                    Ok(track) => sink.event(key, MediaEvent::TrackPublished { cid, track }),
                    Err(reason) => {
                        warn!(?key, error = %reason, "add track refused");
                        sink.event(key, MediaEvent::TrackRefused { cid, reason });
                    }
                }
            }
            Command::Mute { track_sid, muted } => {
                let effects = self.rooms.set_muted(key, &track_sid, muted);
                if !effects.is_empty() {
                    info!(?key, track = %track_sid, muted, "track mute changed");
                }
                self.apply(now, effects, sink);
            }
            Command::UpdateSubscription { track_sids, subscribe } => {
                let effects = self.rooms.update_subscription(key, &track_sids, subscribe);
                debug!(?key, ?track_sids, subscribe, ?effects, "subscription update");
                self.apply(now, effects, sink);
            }
            Command::SetSubscribePermission(grants) => {
                let effects = self.rooms.set_subscribe_grants(key, grants);
                debug!(?key, changes = ?effects.allowed(), "subscription permissions changed");
                self.apply(now, effects, sink);
            }
            Command::UpdateTrackSettings { track_sids, disabled, quality, width, height } => {
                let effects = self.rooms.set_track_settings(key, &track_sids, disabled, quality, width, height);
                debug!(?key, ?effects, "track settings changed");
                self.apply(now, effects, sink);
            }
            Command::UpdateMetadata(update) => match self.rooms.update_metadata(key, &update) {
                Ok(effects) => self.apply(now, effects, sink),
                Err(reason) => {
                    debug!(?key, error = %reason, "metadata update refused");
                    sink.event(key, MediaEvent::MetadataRefused { update, reason });
                }
            },
            Command::Leave => self.leave(now, key, LeaveCause::ClientLeft, sink),
            Command::Disconnected => {
                if let Some(connections) = self.connections.get_mut(&key) {
                    info!(?key, grace = ?self.reconnect_grace, "signalling lost; waiting for a reconnect");
                    connections.signal_lost_at.get_or_insert(now);
                }
            }
        }
        self.process_events(now, sink);
    }

    /// Removes a participant and everything that refers to it, and reports its departure.
    pub fn leave(&mut self, now: Instant, key: ParticipantKey, cause: LeaveCause, sink: &mut impl Sink) {
        if let Some(left) = self.remove(now, key, cause, sink) {
            sink.presence(left);
        }
    }

    /// Removes a participant; returns the departure to report (`None` if it was not here,
    /// which makes every removal path report at most once).
    fn remove(
        &mut self,
        now: Instant,
        key: ParticipantKey,
        cause: LeaveCause,
        sink: &mut impl Sink,
    ) -> Option<Presence> {
        let audience = self.rooms.audience(key);
        let (gone, effects) = self.rooms.leave(key)?;
        info!(sid = %gone.sid, identity = %gone.identity, ?cause, "participant left");
        if let Some(mut connections) = self.connections.remove(&key) {
            connections.publisher.rtc.disconnect();
            connections.subscriber.rtc.disconnect();
            self.demux.remove(key, &connections);
            // What it published stops feeding others; what it received stops being fed.
            self.forwards.retain(|(publisher, _), _| *publisher != key);
            for forward in self.forwards.values_mut() {
                forward.remove_where(|(subscriber, _)| *subscriber == key);
            }
            for other in self.connections.values_mut() {
                other.feeds.retain(|_, (publisher, _)| *publisher != key);
            }
        }
        self.speakers.forget(key);
        let view = gone.view();
        for k in audience {
            sink.event(k, MediaEvent::ParticipantsChanged(vec![view.clone()]));
        }
        self.apply(now, effects, sink);
        Some(Presence::Left { room: gone.room, sid: gone.sid, cause, at_ms: self.unix_ms(now) })
    }

    /// Carries out what a state transition asks ([`Effects`]), in order.
    pub(super) fn apply(&mut self, now: Instant, effects: Effects, sink: &mut impl Sink) {
        for effect in effects {
            match effect {
                Effect::Announce { participant, to_self } => self.broadcast(participant, to_self, sink),
                Effect::Mute { publisher, track_sid, muted } => {
                    if let Some(forward) = self.forward_of(publisher, &track_sid) {
                        forward.set_muted(muted);
                    }
                }
                Effect::TellAllowed { subscriber, publisher_sid, track_sid, allowed } => {
                    sink.event(subscriber, MediaEvent::SubscriptionAllowed { publisher_sid, track_sid, allowed });
                }
                Effect::Settings { subscriber, publisher, track_sid, settings } => {
                    self.apply_settings(subscriber, publisher, &track_sid, settings);
                }
                Effect::Renegotiate(subscriber) => self.negotiate(now, subscriber, sink),
            }
        }
    }

    // ---- control by the application -----------------------------------------------------

    /// Removes everyone from a room, each told `reason` first.
    pub fn close_room(&mut self, now: Instant, room: &str, reason: RemovedReason, sink: &mut impl Sink) {
        for key in self.rooms.members(room) {
            sink.event(key, MediaEvent::Removed(reason));
            self.leave(now, key, LeaveCause::Removed(reason), sink);
        }
        self.process_events(now, sink);
    }

    /// Removes the participant with this identity, told `reason` first; false if absent.
    pub fn remove_participant(
        &mut self,
        now: Instant,
        room: &str,
        identity: &str,
        reason: RemovedReason,
        sink: &mut impl Sink,
    ) -> bool {
        let Some(key) = self.rooms.find_identity(room, identity) else { return false };
        sink.event(key, MediaEvent::Removed(reason));
        self.leave(now, key, LeaveCause::Removed(reason), sink);
        self.process_events(now, sink);
        true
    }

    /// Changes what a participant may do, live: the participant receives its own update (a
    /// LiveKit client applies the new permission without reconnecting), the others learn
    /// of it if it became visible, and subscriptions follow. `None` if absent.
    pub fn update_permission(
        &mut self,
        now: Instant,
        room: &str,
        identity: &str,
        permission: MediaPermission,
        sink: &mut impl Sink,
    ) -> Option<ParticipantView> {
        let key = self.rooms.find_identity(room, identity)?;
        let effects = self.rooms.set_permission(key, permission)?;
        info!(?key, %identity, ?permission, "permission updated");
        self.apply(now, effects, sink);
        self.process_events(now, sink);
        self.rooms.participant(key).map(|p| p.view())
    }

    /// Everyone in a room, hidden participants included, in join order.
    pub fn participants(&self, room: &str) -> Vec<ParticipantView> {
        self.rooms.members(room).iter().filter_map(|k| self.rooms.participant(*k)).map(|p| p.view()).collect()
    }

    // ---- network and time -------------------------------------------------------------

    /// A datagram arrived on the worker's socket. Returns whether a peer connection took it.
    ///
    /// A known source address finds its connection in one lookup. A new address must open
    /// with an ICE connectivity check (STUN), whose USERNAME names our side's ufrag, so the
    /// connection is found by that; anything else from an unknown address is dropped without
    /// touching any connection (a spray of junk datagrams costs one parse each, not one scan
    /// of every peer).
    pub fn handle_receive(&mut self, now: Instant, source: SocketAddr, datagram: &[u8], sink: &mut impl Sink) -> bool {
        self.handle_receive_on(now, Protocol::Udp, source, self.host, datagram, sink)
    }

    /// [`Sfu::handle_receive`] for any transport: a UDP datagram, or one RFC 4571 frame from
    /// a TCP connection (`source` its remote end, `destination` the address it reached).
    pub fn handle_receive_on(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        datagram: &[u8],
        sink: &mut impl Sink,
    ) -> bool {
        let Ok(contents) = datagram.try_into() else { return false };
        let input = Input::Receive(now, Receive { proto, source, destination, contents });
        let accepts = |at: PeerRef| {
            self.connections.get(&at.owner).is_some_and(|c| c.peer(at.role).rtc.accepts(&input)).then_some(at)
        };
        let cached = self.demux.by_addr(proto, source).and_then(accepts);
        let Some(at) = cached.or_else(|| self.demux.by_ice_check(datagram).and_then(accepts)) else { return false };
        if cached.is_none() {
            self.demux.learn(proto, source, at);
        }
        let peer = self.connections.get_mut(&at.owner).expect("accepts() found the connection").peer_mut(at.role);
        if let Err(e) = peer.rtc.handle_input(input) {
            debug!(peer = ?at, error = %e, "input refused");
        }
        drive(now, at, peer, &mut self.events, sink);
        self.process_events(now, sink);
        true
    }

    /// Time passed: drives every peer connection whose timeout is due.
    pub fn handle_timeout(&mut self, now: Instant, sink: &mut impl Sink) {
        let grace = self.reconnect_grace;
        let lost: Vec<ParticipantKey> = self
            .connections
            .iter()
            .filter(|(_, c)| c.signal_lost_at.is_some_and(|t| now >= t + grace))
            .map(|(k, _)| *k)
            .collect();
        for key in lost {
            self.leave(now, key, LeaveCause::ConnectionLost, sink);
        }
        self.due.clear();
        for (&owner, c) in &self.connections {
            for role in [PeerRole::Publisher, PeerRole::Subscriber] {
                if c.peer(role).timeout <= now {
                    self.due.push(PeerRef { owner, role });
                }
            }
        }
        for i in 0..self.due.len() {
            let at = self.due[i];
            let Some(c) = self.connections.get_mut(&at.owner) else { continue };
            let peer = c.peer_mut(at.role);
            if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                debug!(peer = ?at, error = %e, "timeout handling failed");
            }
            drive(now, at, peer, &mut self.events, sink);
        }
        self.process_events(now, sink);
        self.report_speakers(now, sink);
        self.report_quality(now, sink);
        self.allocate_bandwidth(now, sink);
    }

    // ---- connection events --------------------------------------------------------------

    fn process_events(&mut self, now: Instant, sink: &mut impl Sink) {
        while let Some((at, event)) = self.events.pop_front() {
            // Events of a connection removed since they were drained are moot.
            if self.connections.contains_key(&at.owner) {
                self.handle_event(now, at, event, sink);
            }
        }
    }

    fn handle_event(&mut self, now: Instant, at: PeerRef, event: Event, sink: &mut impl Sink) {
        let PeerRef { owner, role } = at;
        match event {
            Event::Connected => {
                debug!(?owner, ?role, "peer connection established");
                if role == PeerRole::Subscriber {
                    let effects = self.rooms.set_active(owner);
                    self.apply(now, effects, sink);
                }
            }
            Event::IceConnectionStateChange(state) => debug!(?owner, ?role, ?state, "ICE state"),
            Event::MediaAdded(added) if role == PeerRole::Publisher && added.direction == Direction::RecvOnly => {
                let rids = added.simulcast.map(|s| s.recv.iter().map(|l| l.rid).collect()).unwrap_or_default();
                self.media_added(now, owner, AddedMedia { mid: added.mid, kind: added.kind, rids }, sink);
            }
            Event::MediaChanged(changed) if role == PeerRole::Publisher => {
                self.media_changed(now, owner, changed.mid, changed.direction, sink);
            }
            Event::RtpPacket(packet) if role == PeerRole::Publisher => self.forward(owner, packet, sink),
            Event::PeerStats(stats) => {
                if role == PeerRole::Subscriber {
                    debug!(peer = ?at, peer_bytes_tx = stats.peer_bytes_tx, media_bytes_tx = stats.bytes_tx, rtt = ?stats.rtt, loss = ?stats.egress_loss_fraction, "subscriber link stats");
                }
                let loss = stats.ingress_loss_fraction.unwrap_or(0.0).max(stats.egress_loss_fraction.unwrap_or(0.0));
                if let Some(c) = self.connections.get_mut(&owner) {
                    c.peer_mut(role).link = Some(LinkStats { loss, rtt: stats.rtt });
                }
                if role == PeerRole::Subscriber
                    && let Some(egress) = stats.egress_loss_fraction
                {
                    self.link_loss(owner, stats.timestamp, egress);
                }
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, can_probe }) if role == PeerRole::Subscriber => {
                debug!(peer = ?at, estimate = estimate.as_u64(), can_probe, "bandwidth estimate");
                let bps = estimate.as_u64();
                if let Some(c) = self.connections.get_mut(&owner) {
                    c.downlink.estimate.get_or_insert_with(|| Estimate::new(bps, now)).observe(bps, now);
                }
            }
            Event::KeyframeRequest(req) if role == PeerRole::Subscriber => {
                let feed = self.connections.get(&owner).and_then(|c| c.feeds.get(&req.mid)).copied();
                if let Some(source) = feed
                    && let Some(rid) = self.forwards.get(&source).and_then(|f| f.current_layer((owner, req.mid)))
                {
                    self.request_keyframe(now, source, rid, sink);
                }
            }
            Event::ChannelOpen(cid, label) => {
                debug!(?owner, ?role, %label, "data channel open");
                if let Some(c) = self.connections.get_mut(&owner) {
                    c.peer_mut(role).channels.set(&label, cid);
                }
            }
            Event::ChannelData(data) => self.data_received(now, at, data, sink),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
