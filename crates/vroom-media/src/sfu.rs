//! The SFU of one media worker, sans-IO: fed commands, datagrams and time; produces
//! datagrams to send and events for the signalling sessions through a [`Sink`].
//!
//! It owns the room state ([`Rooms`]) and two str0m [`Rtc`]s per participant (publisher:
//! the client offers; subscriber: the server offers, and it is the primary connection).
//! Forwarding is str0m frame mode: a publisher's `MediaData` (one depacketized frame whose
//! bytes are an `Arc<[u8]>`) is written to each subscriber's sending media section; the
//! bytes are shared, not copied, per subscriber.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelData, ChannelId};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid, Rid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tracing::{debug, info, warn};

use crate::data::{self, DataKind};
use crate::layer::{LayerSelector, vp8_is_keyframe};
use crate::model::*;
use crate::peer::{self, media_kind, track_kind};
use crate::state::{Rooms, SubscriptionState};

/// Where the SFU's outputs go.
pub trait Sink {
    /// Send a datagram from the worker's socket.
    fn transmit(&mut self, to: SocketAddr, data: &[u8]);
    /// Deliver an event to a participant's signalling session.
    fn event(&mut self, to: ParticipantKey, event: MediaEvent);
}

type PeerId = u64;

struct Peer {
    rtc: Rtc,
    owner: ParticipantKey,
    role: PeerRole,
    timeout: Instant,
}

#[derive(Default)]
struct Channels {
    reliable: Option<ChannelId>,
    lossy: Option<ChannelId>,
}

impl Channels {
    fn kind_of(&self, id: ChannelId) -> Option<DataKind> {
        if self.reliable == Some(id) {
            Some(DataKind::Reliable)
        } else if self.lossy == Some(id) {
            Some(DataKind::Lossy)
        } else {
            None
        }
    }

    fn get(&self, kind: DataKind) -> Option<ChannelId> {
        match kind {
            DataKind::Reliable => self.reliable,
            DataKind::Lossy => self.lossy,
        }
    }

    fn set(&mut self, label: &str, id: ChannelId) {
        match DataKind::from_label(label) {
            Some(DataKind::Reliable) => self.reliable = Some(id),
            Some(DataKind::Lossy) => self.lossy = Some(id),
            None => {}
        }
    }
}

/// The media side of one participant.
struct Session {
    publisher: PeerId,
    subscriber: PeerId,
    pending_offer: Option<SdpPendingOffer>,
    offers_sent: u32,
    publisher_channels: Channels,
    subscriber_channels: Channels,
}

/// One published track as forwarded: its layer choice and the subscriber media sections
/// it is written to.
struct Forward {
    kind: TrackKind,
    layers: LayerSelector,
    outputs: Vec<(PeerId, Mid)>,
    last_loss_request: Option<Instant>,
}

const LOSS_KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);
const IDLE_TIMEOUT: Duration = Duration::from_millis(100);

pub struct Sfu {
    host: SocketAddr,
    start: Instant,
    start_unix_ms: i64,
    rooms: Rooms,
    peers: HashMap<PeerId, Peer>,
    next_peer: PeerId,
    by_addr: HashMap<SocketAddr, PeerId>,
    sessions: HashMap<ParticipantKey, Session>,
    /// Keyed by (publisher peer, publisher mid).
    forwards: HashMap<(PeerId, Mid), Forward>,
    /// (subscriber peer, subscriber mid) → the forward feeding it (for keyframe requests).
    feeds: HashMap<(PeerId, Mid), (PeerId, Mid)>,
    events: VecDeque<(PeerId, Event)>,
    due: Vec<PeerId>,
}

impl Sfu {
    /// `host` is the address clients reach (the ICE host candidate); `start_unix_ms` is the
    /// wall-clock time matching `start`, for join timestamps.
    pub fn new(host: SocketAddr, start: Instant, start_unix_ms: i64) -> Self {
        Self {
            host,
            start,
            start_unix_ms,
            rooms: Rooms::default(),
            peers: HashMap::new(),
            next_peer: 1,
            by_addr: HashMap::new(),
            sessions: HashMap::new(),
            forwards: HashMap::new(),
            feeds: HashMap::new(),
            events: VecDeque::new(),
            due: Vec::new(),
        }
    }

    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    pub fn participant_count(&self) -> usize {
        self.sessions.len()
    }

    fn unix_ms(&self, now: Instant) -> i64 {
        self.start_unix_ms + now.saturating_duration_since(self.start).as_millis() as i64
    }

    /// The next time [`Sfu::handle_timeout`] must run.
    pub fn poll_timeout(&self, now: Instant) -> Instant {
        self.peers.values().map(|p| p.timeout).min().unwrap_or(now + IDLE_TIMEOUT).min(now + IDLE_TIMEOUT)
    }

    // ---- commands ---------------------------------------------------------------------

    /// Admits a participant: evicts a previous session of the same identity, creates its two
    /// peer connections, sends `Joined`, tells the others, and makes the first subscriber
    /// offer (data channels and the media already published).
    pub fn join(&mut self, now: Instant, key: ParticipantKey, request: JoinRequest, sink: &mut impl Sink) {
        if let Some(old) = self.rooms.find_identity(&request.room, &request.identity) {
            info!(identity = %request.identity, room = %request.room, "duplicate identity: removing the older session");
            sink.event(old, MediaEvent::Removed(RemovedReason::DuplicateIdentity));
            self.leave(old, sink);
        }
        let (publisher, subscriber) = match (peer::new_rtc(now, self.host), peer::new_rtc(now, self.host)) {
            (Ok(p), Ok(s)) => (p, s),
            (Err(e), _) | (_, Err(e)) => {
                warn!(error = %e, "cannot create peer connections");
                return;
            }
        };
        let publisher = self.add_peer(publisher, key, PeerRole::Publisher, now);
        let subscriber = self.add_peer(subscriber, key, PeerRole::Subscriber, now);
        let room = request.room.clone();
        let info = self.rooms.join(key, request, self.unix_ms(now));
        info!(room = %room, sid = %info.participant.sid, identity = %info.participant.identity, "participant joined");
        self.sessions.insert(
            key,
            Session {
                publisher,
                subscriber,
                pending_offer: None,
                offers_sent: 0,
                publisher_channels: Channels::default(),
                subscriber_channels: Channels::default(),
            },
        );
        sink.event(key, MediaEvent::Joined(Box::new(info)));
        self.broadcast(key, false, sink);
        self.negotiate(key, sink);
        self.process_events(sink);
    }

    /// Handles a command of a joined participant.
    pub fn command(&mut self, now: Instant, key: ParticipantKey, command: Command, sink: &mut impl Sink) {
        if !self.sessions.contains_key(&key) {
            debug!(?key, "command for an unknown participant");
            return;
        }
        match command {
            Command::PublisherOffer { sdp, id } => self.publisher_offer(key, &sdp, id, sink),
            Command::SubscriberAnswer { sdp } => self.subscriber_answer(now, key, &sdp, sink),
            Command::Trickle { role, candidate } => self.trickle(key, role, &candidate),
            Command::AddTrack(track) => {
                let cid = track.cid.clone();
                match self.rooms.add_track(key, track) {
                    Ok(track) => sink.event(key, MediaEvent::TrackPublished { cid, track }),
                    Err(e) => warn!(?key, error = %e, "add track refused"),
                }
            }
            Command::Mute { track_sid, muted } => {
                if self.rooms.set_muted(key, &track_sid, muted) {
                    self.broadcast(key, true, sink);
                }
            }
            Command::Leave => self.leave(key, sink),
        }
        self.process_events(sink);
    }

    fn publisher_offer(&mut self, key: ParticipantKey, sdp: &str, id: u32, sink: &mut impl Sink) {
        let Some(peer_id) = self.sessions.get(&key).map(|s| s.publisher) else { return };
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        let offer = match SdpOffer::from_sdp_string(sdp) {
            Ok(offer) => offer,
            Err(e) => {
                warn!(?key, error = %e, "unparsable publisher offer");
                return;
            }
        };
        match peer.rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => sink.event(key, MediaEvent::PublisherAnswer { sdp: answer.to_sdp_string(), id }),
            Err(e) => warn!(?key, error = %e, "publisher offer refused"),
        }
        drive(peer_id, peer, &mut self.events, sink);
    }

    fn subscriber_answer(&mut self, now: Instant, key: ParticipantKey, sdp: &str, sink: &mut impl Sink) {
        let Some(session) = self.sessions.get_mut(&key) else { return };
        let Some(pending) = session.pending_offer.take() else {
            debug!(?key, "subscriber answer without an offer");
            return;
        };
        let sub_peer = session.subscriber;
        let Some(peer) = self.peers.get_mut(&sub_peer) else { return };
        let accepted = match SdpAnswer::from_sdp_string(sdp) {
            Ok(answer) => peer.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        drive(sub_peer, peer, &mut self.events, sink);
        let Some(participant) = self.rooms.participant_mut(key) else { return };
        if let Err(e) = accepted {
            warn!(?key, error = %e, "subscriber answer refused; renegotiating");
            for s in &mut participant.subscriptions {
                s.state = match s.state {
                    SubscriptionState::Negotiating(_) => SubscriptionState::ToOpen,
                    SubscriptionState::Stopping(mid) => SubscriptionState::ToStop(mid),
                    other => other,
                };
            }
        } else {
            let mut opened = Vec::new();
            participant.subscriptions.retain_mut(|s| match s.state {
                SubscriptionState::Negotiating(mid) => {
                    s.state = SubscriptionState::Open(mid);
                    opened.push((s.publisher, s.track_sid.clone(), mid));
                    true
                }
                SubscriptionState::Stopping(_) => false,
                _ => true,
            });
            for (publisher, track_sid, out_mid) in opened {
                self.open_output(now, publisher, &track_sid, sub_peer, out_mid, sink);
            }
        }
        self.negotiate(key, sink);
    }

    /// Starts writing a publisher's track into a subscriber's media section.
    fn open_output(
        &mut self,
        now: Instant,
        publisher: ParticipantKey,
        track_sid: &str,
        sub_peer: PeerId,
        out_mid: Mid,
        sink: &mut impl Sink,
    ) {
        let Some(pub_peer) = self.sessions.get(&publisher).map(|s| s.publisher) else { return };
        let Some(in_mid) = self
            .rooms
            .participant(publisher)
            .and_then(|p| p.publications.iter().find(|t| t.sid == track_sid))
            .and_then(|t| t.media.as_ref().map(|m| m.mid))
        else {
            return;
        };
        let Some(forward) = self.forwards.get_mut(&(pub_peer, in_mid)) else { return };
        forward.outputs.push((sub_peer, out_mid));
        self.feeds.insert((sub_peer, out_mid), (pub_peer, in_mid));
        if forward.kind == TrackKind::Video
            && let Some(rid) = forward.layers.keyframe_for_new_subscriber(now)
        {
            self.request_keyframe(pub_peer, in_mid, rid, sink);
        }
    }

    fn trickle(&mut self, key: ParticipantKey, role: PeerRole, candidate: &str) {
        let Some(session) = self.sessions.get(&key) else { return };
        let id = match role {
            PeerRole::Publisher => session.publisher,
            PeerRole::Subscriber => session.subscriber,
        };
        let Some(peer) = self.peers.get_mut(&id) else { return };
        match Candidate::from_sdp_string(candidate) {
            Ok(c) => peer.rtc.add_remote_candidate(c),
            // mDNS (.local) candidates cannot be resolved here; ICE-lite learns the address
            // from the client's checks (peer-reflexive), so skipping them is harmless.
            Err(e) => debug!(?key, error = %e, "ignoring remote candidate"),
        }
    }

    /// Removes a participant and everything that refers to it.
    pub fn leave(&mut self, key: ParticipantKey, sink: &mut impl Sink) {
        let audience = self.rooms.audience(key);
        let Some((gone, affected)) = self.rooms.leave(key) else { return };
        info!(sid = %gone.sid, identity = %gone.identity, "participant left");
        if let Some(session) = self.sessions.remove(&key) {
            for id in [session.publisher, session.subscriber] {
                if let Some(mut peer) = self.peers.remove(&id) {
                    peer.rtc.disconnect();
                }
            }
            let gone_peers = [session.publisher, session.subscriber];
            self.by_addr.retain(|_, id| !gone_peers.contains(id));
            self.forwards.retain(|(p, _), _| *p != session.publisher);
            for forward in self.forwards.values_mut() {
                forward.outputs.retain(|(p, _)| *p != session.subscriber);
            }
            self.feeds.retain(|(sub, _), (publ, _)| *sub != session.subscriber && *publ != session.publisher);
        }
        let view = gone.view();
        for k in audience {
            sink.event(k, MediaEvent::ParticipantsChanged(vec![view.clone()]));
        }
        for k in affected {
            self.negotiate(k, sink);
        }
    }

    // ---- network and time -------------------------------------------------------------

    /// A datagram arrived on the worker's socket.
    pub fn handle_receive(&mut self, now: Instant, source: SocketAddr, datagram: &[u8], sink: &mut impl Sink) {
        let Ok(contents) = datagram.try_into() else { return };
        let input = Input::Receive(now, Receive { proto: Protocol::Udp, source, destination: self.host, contents });
        let cached =
            self.by_addr.get(&source).copied().filter(|id| self.peers.get(id).is_some_and(|p| p.rtc.accepts(&input)));
        let Some(id) = cached.or_else(|| self.peers.iter().find(|(_, p)| p.rtc.accepts(&input)).map(|(id, _)| *id))
        else {
            return;
        };
        if cached.is_none() {
            self.by_addr.insert(source, id);
        }
        let Some(peer) = self.peers.get_mut(&id) else { return };
        if let Err(e) = peer.rtc.handle_input(input) {
            debug!(peer = id, error = %e, "input refused");
        }
        drive(id, peer, &mut self.events, sink);
        self.process_events(sink);
    }

    /// Time passed: drives every peer connection whose timeout is due.
    pub fn handle_timeout(&mut self, now: Instant, sink: &mut impl Sink) {
        self.due.clear();
        self.due.extend(self.peers.iter().filter(|(_, p)| p.timeout <= now).map(|(id, _)| *id));
        for i in 0..self.due.len() {
            let id = self.due[i];
            let Some(peer) = self.peers.get_mut(&id) else { continue };
            if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                debug!(peer = id, error = %e, "timeout handling failed");
            }
            drive(id, peer, &mut self.events, sink);
        }
        self.process_events(sink);
    }

    // ---- internals --------------------------------------------------------------------

    fn add_peer(&mut self, rtc: Rtc, owner: ParticipantKey, role: PeerRole, now: Instant) -> PeerId {
        let id = self.next_peer;
        self.next_peer += 1;
        self.peers.insert(id, Peer { rtc, owner, role, timeout: now });
        id
    }

    /// Sends `key`'s current snapshot to the others of its room (and to itself).
    fn broadcast(&mut self, key: ParticipantKey, include_self: bool, sink: &mut impl Sink) {
        let Some(view) = self.rooms.participant(key).map(|p| p.view()) else { return };
        for k in self.rooms.audience(key) {
            sink.event(k, MediaEvent::ParticipantsChanged(vec![view.clone()]));
        }
        if include_self {
            sink.event(key, MediaEvent::ParticipantsChanged(vec![view]));
        }
    }

    /// Makes a subscriber offer if subscriptions changed and no offer is outstanding (the
    /// answer handler calls this again, so changes made meanwhile are not lost).
    fn negotiate(&mut self, key: ParticipantKey, sink: &mut impl Sink) {
        let Some(session) = self.sessions.get_mut(&key) else { return };
        if session.pending_offer.is_some() {
            return;
        }
        let Some(participant) = self.rooms.participant(key) else { return };
        let wanted: Vec<(usize, TrackKind, String, String)> = participant
            .subscriptions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state == SubscriptionState::ToOpen)
            .filter_map(|(i, s)| {
                let publisher = self.rooms.participant(s.publisher)?;
                Some((i, s.kind, format!("{}|{}", publisher.sid, s.track_sid), s.track_sid.clone()))
            })
            .collect();
        let Some(peer) = self.peers.get_mut(&session.subscriber) else { return };
        let Some(participant) = self.rooms.participant_mut(key) else { return };
        let mut api = peer.rtc.sdp_api();
        if session.offers_sent == 0 {
            peer::add_data_channels(&mut api);
        }
        for (index, kind, stream_id, track_id) in wanted {
            let mid = api.add_media(media_kind(kind), Direction::SendOnly, Some(stream_id), Some(track_id), None);
            participant.subscriptions[index].state = SubscriptionState::Negotiating(mid);
        }
        for s in &mut participant.subscriptions {
            if let SubscriptionState::ToStop(mid) = s.state {
                api.stop_media(mid);
                s.state = SubscriptionState::Stopping(mid);
            }
        }
        if !api.has_changes() {
            return;
        }
        let Some((offer, pending)) = api.apply() else { return };
        session.pending_offer = Some(pending);
        session.offers_sent += 1;
        sink.event(key, MediaEvent::SubscriberOffer { sdp: offer.to_sdp_string(), id: session.offers_sent });
        drive(session.subscriber, peer, &mut self.events, sink);
    }

    fn process_events(&mut self, sink: &mut impl Sink) {
        while let Some((id, event)) = self.events.pop_front() {
            let Some((owner, role)) = self.peers.get(&id).map(|p| (p.owner, p.role)) else { continue };
            self.handle_event(id, owner, role, event, sink);
        }
    }

    fn handle_event(&mut self, id: PeerId, owner: ParticipantKey, role: PeerRole, event: Event, sink: &mut impl Sink) {
        match event {
            Event::Connected => {
                debug!(?owner, ?role, "peer connection established");
                if role == PeerRole::Subscriber && self.rooms.set_active(owner) {
                    self.broadcast(owner, false, sink);
                }
            }
            Event::IceConnectionStateChange(state) => debug!(?owner, ?role, ?state, "ICE state"),
            Event::MediaAdded(added) if role == PeerRole::Publisher && added.direction == Direction::RecvOnly => {
                self.media_added(id, owner, added.mid, added.kind, added.simulcast, sink);
            }
            Event::MediaData(data) if role == PeerRole::Publisher => self.forward(id, data, sink),
            Event::KeyframeRequest(req) if role == PeerRole::Subscriber => {
                if let Some((pub_peer, in_mid)) = self.feeds.get(&(id, req.mid)).copied()
                    && let Some(rid) = self.forwards.get(&(pub_peer, in_mid)).and_then(|f| f.layers.current())
                {
                    self.request_keyframe(pub_peer, in_mid, rid, sink);
                }
            }
            Event::ChannelOpen(cid, label) => {
                debug!(?owner, ?role, %label, "data channel open");
                if let Some(session) = self.sessions.get_mut(&owner) {
                    match role {
                        PeerRole::Publisher => session.publisher_channels.set(&label, cid),
                        PeerRole::Subscriber => session.subscriber_channels.set(&label, cid),
                    }
                }
            }
            Event::ChannelData(data) => self.data_received(owner, role, data, sink),
            _ => {}
        }
    }

    fn media_added(
        &mut self,
        id: PeerId,
        owner: ParticipantKey,
        mid: Mid,
        kind: MediaKind,
        simulcast: Option<str0m::media::Simulcast>,
        sink: &mut impl Sink,
    ) {
        let msid_track = self.peers.get(&id).and_then(|p| p.rtc.media(mid)).map(|m| m.track_id().to_owned());
        let rids: Vec<Rid> = simulcast.map(|s| s.recv.iter().map(|l| l.rid).collect()).unwrap_or_default();
        let mime = match kind {
            MediaKind::Audio => "audio/opus",
            MediaKind::Video => "video/VP8",
        };
        let track_kind = track_kind(kind);
        let Some((sid, subscribers)) =
            self.rooms.media_added(owner, mid, track_kind, msid_track.as_deref().unwrap_or(""), mime, rids.clone())
        else {
            warn!(?owner, %mid, "media section without an announced track; ignored");
            return;
        };
        info!(?owner, track = %sid, %mid, ?rids, "track published");
        self.forwards.insert(
            (id, mid),
            Forward {
                kind: track_kind,
                layers: LayerSelector::new(rids),
                outputs: Vec::new(),
                last_loss_request: None,
            },
        );
        self.broadcast(owner, false, sink);
        for subscriber in subscribers {
            self.negotiate(subscriber, sink);
        }
    }

    fn forward(&mut self, pub_peer: PeerId, data: MediaData, sink: &mut impl Sink) {
        let Some(forward) = self.forwards.get_mut(&(pub_peer, data.mid)) else { return };
        let now = data.network_time;
        let mut keyframe_request = None;
        let pass = match forward.kind {
            TrackKind::Audio => true,
            TrackKind::Video => {
                let decision = forward.layers.on_frame(now, data.rid, vp8_is_keyframe(&data.data));
                keyframe_request = decision.request_keyframe;
                if decision.forward
                    && !data.contiguous
                    && forward.last_loss_request.is_none_or(|t| now.duration_since(t) >= LOSS_KEYFRAME_INTERVAL)
                {
                    forward.last_loss_request = Some(now);
                    keyframe_request = Some(data.rid);
                }
                decision.forward
            }
        };
        if pass {
            for &(sub_peer, out_mid) in &forward.outputs {
                let Some(peer) = self.peers.get_mut(&sub_peer) else { continue };
                let Some(writer) = peer.rtc.writer(out_mid) else { continue };
                let Some(pt) = writer.match_params(data.params) else { continue };
                if let Err(e) = writer.write(pt, data.network_time, data.time, data.data.clone()) {
                    debug!(peer = sub_peer, error = %e, "forwarding failed");
                }
                drive(sub_peer, peer, &mut self.events, sink);
            }
        }
        if let Some(rid) = keyframe_request {
            self.request_keyframe(pub_peer, data.mid, rid, sink);
        }
    }

    fn request_keyframe(&mut self, pub_peer: PeerId, mid: Mid, rid: Option<Rid>, sink: &mut impl Sink) {
        let Some(peer) = self.peers.get_mut(&pub_peer) else { return };
        if let Some(mut writer) = peer.rtc.writer(mid)
            && let Err(e) = writer.request_keyframe(rid, KeyframeRequestKind::Pli)
        {
            debug!(error = %e, "keyframe request failed");
        }
        drive(pub_peer, peer, &mut self.events, sink);
    }

    fn data_received(&mut self, owner: ParticipantKey, role: PeerRole, data: ChannelData, sink: &mut impl Sink) {
        let Some(session) = self.sessions.get(&owner) else { return };
        let channels = match role {
            PeerRole::Publisher => &session.publisher_channels,
            PeerRole::Subscriber => &session.subscriber_channels,
        };
        let Some(kind) = channels.kind_of(data.id) else { return };
        let Some(sender) = self.rooms.participant_mut(owner) else { return };
        let who = data::Sender {
            sid: &sender.sid,
            identity: &sender.identity,
            hidden: sender.permission.hidden,
            can_publish_data: sender.permission.can_publish_data,
        };
        let routed = match data::route(&data.data, kind, who, &mut sender.last_data_sequence) {
            Ok(routed) => routed,
            Err(e) => {
                debug!(?owner, error = %e, "data packet dropped");
                return;
            }
        };
        let recipients: Vec<(ParticipantKey, bool)> = self
            .rooms
            .others(owner)
            .map(|p| (p.key, routed.destinations.is_empty() || routed.destinations.contains(&p.identity)))
            .collect();
        for (key, wanted) in recipients {
            if !wanted {
                continue;
            }
            let Some(session) = self.sessions.get(&key) else { continue };
            let Some(channel) = session.subscriber_channels.get(kind) else {
                debug!(?key, "data dropped: recipient channel not open");
                continue;
            };
            let sub_peer = session.subscriber;
            let Some(peer) = self.peers.get_mut(&sub_peer) else { continue };
            if let Some(mut ch) = peer.rtc.channel(channel)
                && let Err(e) = ch.write(true, &routed.bytes)
            {
                debug!(?key, error = %e, "data write failed");
            }
            drive(sub_peer, peer, &mut self.events, sink);
        }
    }
}

/// Drains a peer connection's output until it asks for a timeout (str0m's rule after every
/// input or change): datagrams go to the sink, events to the queue.
fn drive(id: PeerId, peer: &mut Peer, events: &mut VecDeque<(PeerId, Event)>, sink: &mut impl Sink) {
    loop {
        match peer.rtc.poll_output() {
            Ok(Output::Timeout(t)) => {
                peer.timeout = t;
                return;
            }
            Ok(Output::Transmit(t)) => sink.transmit(t.destination, &t.contents),
            Ok(Output::Event(e)) => events.push_back((id, e)),
            Err(e) => {
                warn!(peer = id, error = %e, "peer connection failed; closing it");
                peer.rtc.disconnect();
                peer.timeout = Instant::now() + Duration::from_secs(3600);
                return;
            }
        }
    }
}
