//! The SFU of one media worker, sans-IO: fed commands, datagrams and time; produces
//! datagrams to send and events for the signalling sessions through a [`Sink`].
//!
//! It owns the room state ([`Rooms`]) and two str0m [`Rtc`]s per participant (publisher:
//! the client offers; subscriber: the server offers, and it is the primary connection).
//! Forwarding is str0m RTP mode: each RTP packet a publisher sends (`Event::RtpPacket`, its
//! payload an `Arc<[u8]>`) is written to each subscriber's sending stream with that
//! subscriber's sequence number, timestamp and VP8 ids ([`crate::rewrite`]); the payload is
//! shared, not copied, and never depacketized.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelData, ChannelId};
use str0m::format::{Codec, PayloadParams};
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc, Vp8Descriptor};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tracing::{debug, info, warn};

use crate::activity::{self, Speakers};
use crate::allocation;
use crate::codec;
use crate::codec_preference;
use crate::congestion::LossControl;
use crate::data::{self, DataKind};
use crate::estimator::{ALLOCATION_INTERVAL, Estimate, pad_target};
use crate::forward::Fanout;
use crate::model::*;
use crate::peer::{self, media_kind, track_kind};
use crate::rewrite::{Incoming, Vp8Ids};
use crate::state::{DeniedTrack, Rooms, SubscriptionState};

/// Where the SFU's outputs go.
pub trait Sink {
    /// Send a datagram from the worker's socket.
    fn transmit(&mut self, to: SocketAddr, data: &[u8]);
    /// Deliver an event to a participant's signalling session.
    fn event(&mut self, to: ParticipantKey, event: MediaEvent);
    /// Report a join or a departure to the application (in the order emitted).
    fn presence(&mut self, report: Presence);
}

type PeerId = u64;

/// One peer connection and what the server learns about its link: removing the peer
/// removes all of it.
struct Peer {
    rtc: Rtc,
    owner: ParticipantKey,
    role: PeerRole,
    timeout: Instant,
    /// What the server measured on it lately.
    link: Option<LinkStats>,
    /// A subscriber's: how good a layer its link takes, from the loss it reports.
    link_cap: LossControl,
    /// A subscriber's latest bandwidth estimate (`None` until the first, or without estimation).
    estimate: Option<Estimate>,
    /// A subscriber whose client gives no transport-wide feedback (no estimate, unpaced).
    without_bwe: bool,
    /// Whether video to this subscriber goes through str0m's pacer (see
    /// [`allocation::Allocation::paces`]): until an estimate shows room, it does.
    paced: bool,
}

impl Peer {
    fn new(rtc: Rtc, owner: ParticipantKey, role: PeerRole, now: Instant) -> Self {
        let link_cap = LossControl::default();
        Peer { rtc, owner, role, timeout: now, link: None, link_cap, estimate: None, without_bwe: false, paced: true }
    }
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
    /// When the signalling connection went away without a goodbye (grace period running).
    signal_lost_at: Option<Instant>,
}

/// A media section a publisher's offer added.
struct AddedMedia {
    mid: Mid,
    kind: MediaKind,
    rids: Vec<Rid>,
}

/// One published track as forwarded, written to subscriber media sections `(peer, mid)`.
type Forward = Fanout<(PeerId, Mid)>;

/// What the server measured on a peer connection lately (its `PeerStats`).
#[derive(Debug, Clone, Copy, Default)]
struct LinkStats {
    /// Worst of the loss we see on what we receive and the loss the client reports.
    loss: f32,
    rtt: Option<Duration>,
}

const IDLE_TIMEOUT: Duration = Duration::from_millis(100);
/// Where a subscriber connection's bandwidth estimate starts, until its feedback says more
/// (kbit/s; also the default of `--bwe-start-kbps`).
pub const BWE_START_KBPS: u32 = 1_000;
/// The SDP extension for transport-wide sequence numbers (what the estimate is built on).
const TWCC_EXTENSION: &str = "transport-wide-cc";
/// How long a participant whose signalling connection dropped stays in its room.
pub const RECONNECT_GRACE: Duration = Duration::from_secs(10);

pub struct Sfu {
    host: SocketAddr,
    start: Instant,
    start_unix_ms: i64,
    rooms: Rooms,
    peers: HashMap<PeerId, Peer>,
    next_peer: PeerId,
    by_addr: HashMap<SocketAddr, PeerId>,
    /// Each peer connection by our side's ICE ufrag, to place a new source address.
    by_ufrag: HashMap<String, PeerId>,
    sessions: HashMap<ParticipantKey, Session>,
    /// Keyed by (publisher peer, publisher mid).
    forwards: HashMap<(PeerId, Mid), Forward>,
    /// (subscriber peer, subscriber mid) → the forward feeding it (for keyframe requests).
    feeds: HashMap<(PeerId, Mid), (PeerId, Mid)>,
    events: VecDeque<(PeerId, Event)>,
    due: Vec<PeerId>,
    reconnect_grace: Duration,
    speakers: Speakers,
    next_quality_update: Option<Instant>,
    /// Where subscriber connections start their bandwidth estimate (`None`: no estimation).
    bwe_start: Option<Bitrate>,
    next_allocation: Option<Instant>,
    /// Where a publisher's packets belong, by (peer, SSRC, payload type): looked up in
    /// str0m once, not per packet.
    sources: HashMap<(PeerId, Ssrc, Pt), Source>,
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
            by_ufrag: HashMap::new(),
            sessions: HashMap::new(),
            forwards: HashMap::new(),
            feeds: HashMap::new(),
            events: VecDeque::new(),
            due: Vec::new(),
            reconnect_grace: RECONNECT_GRACE,
            speakers: Speakers::default(),
            next_quality_update: None,
            bwe_start: Some(Bitrate::kbps(u64::from(BWE_START_KBPS))),
            next_allocation: None,
            sources: HashMap::new(),
        }
    }

    /// Where subscriber connections start their bandwidth estimate; `None` turns bandwidth
    /// estimation off (layers then follow the subscribers' settings and reported loss only).
    /// Applies to connections created afterwards.
    pub fn set_bandwidth_estimation(&mut self, start: Option<Bitrate>) {
        self.bwe_start = start;
    }

    /// Changes the reconnect grace period (tests shorten it).
    pub fn set_reconnect_grace(&mut self, grace: Duration) {
        self.reconnect_grace = grace;
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
        let grace = self.sessions.values().filter_map(|s| s.signal_lost_at).map(|t| t + self.reconnect_grace);
        self.peers.values().map(|p| p.timeout).chain(grace).min().unwrap_or(now + IDLE_TIMEOUT).min(now + IDLE_TIMEOUT)
    }

    // ---- commands ---------------------------------------------------------------------

    /// Admits a participant: evicts a previous session of the same identity, creates its two
    /// peer connections, sends `Joined`, tells the others, and makes the first subscriber
    /// offer (data channels and the media already published).
    pub fn join(&mut self, now: Instant, key: ParticipantKey, request: JoinRequest, sink: &mut impl Sink) {
        let (publisher, subscriber) =
            match (peer::new_rtc(now, self.host, None), peer::new_rtc(now, self.host, self.bwe_start)) {
                (Ok(p), Ok(s)) => (p, s),
                (Err(e), _) | (_, Err(e)) => {
                    warn!(error = %e, "cannot create peer connections");
                    return;
                }
            };
        // The replaced session's departure is reported after this join, so the platform
        // never sees the room empty during a reconnect.
        let mut replaced = None;
        if let Some(old) = self.rooms.find_identity(&request.room, &request.identity) {
            info!(identity = %request.identity, room = %request.room, "duplicate identity: removing the older session");
            let reason = RemovedReason::DuplicateIdentity;
            sink.event(old, MediaEvent::Removed(reason));
            replaced = self.remove(now, old, LeaveCause::Removed(reason), sink);
        }
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
                signal_lost_at: None,
            },
        );
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
        self.tell_denied(key, |_| true, sink);
        sink.presence(joined);
        if let Some(left) = replaced {
            sink.presence(left);
        }
        self.broadcast(key, false, sink);
        self.negotiate(now, key, sink);
        self.process_events(now, sink);
    }

    /// Handles a command of a joined participant.
    pub fn command(&mut self, now: Instant, key: ParticipantKey, command: Command, sink: &mut impl Sink) {
        if !self.sessions.contains_key(&key) {
            debug!(?key, "command for an unknown participant");
            return;
        }
        match command {
            Command::PublisherOffer { sdp, id } => self.publisher_offer(now, key, &sdp, id, sink),
            Command::SubscriberAnswer { sdp } => self.subscriber_answer(now, key, &sdp, sink),
            Command::Trickle { role, candidate } => self.trickle(key, role, &candidate),
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
                if self.rooms.set_muted(key, &track_sid, muted) {
                    info!(?key, track = %track_sid, muted, "track mute changed");
                    if let Some(forward) = self.forward_of(key, &track_sid) {
                        forward.set_muted(muted);
                    }
                    self.broadcast(key, true, sink);
                }
            }
            Command::UpdateSubscription { track_sids, subscribe } => {
                if self.rooms.update_subscription(key, &track_sids, subscribe) {
                    debug!(?key, ?track_sids, subscribe, "subscription updated");
                    self.negotiate(now, key, sink);
                }
                if subscribe {
                    self.tell_denied(key, |d| track_sids.contains(&d.track_sid), sink);
                }
            }
            Command::SetSubscribePermission(grants) => {
                let changes = self.rooms.set_subscribe_grants(key, grants);
                let publisher_sid = self.rooms.participant(key).map(|p| p.sid.clone()).unwrap_or_default();
                let mut affected: Vec<ParticipantKey> = Vec::new();
                for (subscriber, track_sid, allowed) in changes {
                    debug!(?key, ?subscriber, track = %track_sid, allowed, "subscription permission changed");
                    let publisher_sid = publisher_sid.clone();
                    sink.event(subscriber, MediaEvent::SubscriptionAllowed { publisher_sid, track_sid, allowed });
                    if !affected.contains(&subscriber) {
                        affected.push(subscriber);
                    }
                }
                for subscriber in affected {
                    self.negotiate(now, subscriber, sink);
                }
            }
            Command::UpdateTrackSettings { track_sids, disabled, quality, width, height } => {
                let changed = self.rooms.set_track_settings(key, &track_sids, disabled, quality, width, height);
                for (publisher, track_sid, settings) in changed {
                    debug!(?key, track = %track_sid, ?settings, "track settings changed");
                    self.apply_settings(key, publisher, &track_sid, settings);
                }
            }
            Command::Leave => self.leave(now, key, LeaveCause::ClientLeft, sink),
            Command::Disconnected => {
                if let Some(session) = self.sessions.get_mut(&key) {
                    info!(?key, grace = ?self.reconnect_grace, "signalling lost; waiting for a reconnect");
                    session.signal_lost_at.get_or_insert(now);
                }
            }
        }
        self.process_events(now, sink);
    }

    fn publisher_offer(&mut self, now: Instant, key: ParticipantKey, sdp: &str, id: u32, sink: &mut impl Sink) {
        let Some(peer_id) = self.sessions.get(&key).map(|s| s.publisher) else { return };
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        let offer = match SdpOffer::from_sdp_string(sdp) {
            Ok(offer) => offer,
            Err(e) => {
                warn!(?key, error = %e, "unparsable publisher offer");
                return;
            }
        };
        let answer = match peer.rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => Some(answer.to_sdp_string()),
            Err(e) => {
                warn!(?key, error = %e, "publisher offer refused");
                None
            }
        };
        drive(now, peer_id, peer, &mut self.events, sink);
        if let Some(answer) = answer {
            let answer = self.honour_codec_preferences(key, sdp, answer);
            sink.event(key, MediaEvent::PublisherAnswer { sdp: answer, id });
        }
    }

    /// Puts H.264 first in the answer's sections of tracks published with `videoCodec:
    /// 'h264'` ([`codec_preference`]): the browser sends the answer's first codec.
    fn honour_codec_preferences(&self, key: ParticipantKey, offer: &str, answer: String) -> String {
        let Some(participant) = self.rooms.participant(key) else { return answer };
        let wants_h264 = |track: &str| {
            participant.publications.iter().any(|p| p.cid == track && p.preferred_codec.as_deref() == Some("h264"))
        };
        let mids: Vec<String> = codec_preference::section_tracks(offer)
            .into_iter()
            .filter(|(_, track)| wants_h264(track))
            .map(|(mid, _)| mid)
            .collect();
        if mids.is_empty() {
            return answer;
        }
        codec_preference::prefer_codec(&answer, &mids, "H264")
    }

    fn subscriber_answer(&mut self, now: Instant, key: ParticipantKey, sdp: &str, sink: &mut impl Sink) {
        let Some(session) = self.sessions.get_mut(&key) else { return };
        let Some(pending) = session.pending_offer.take() else {
            debug!(?key, "subscriber answer without an offer");
            return;
        };
        let sub_peer = session.subscriber;
        let Some(peer) = self.peers.get_mut(&sub_peer) else { return };
        // A client that gives no transport-wide feedback never gets an estimate, and str0m
        // would pace it at the starting rate for good: unpace it, and let its layers follow
        // its settings and loss only.
        // (An answer without media, to an offer of data channels only, says nothing yet.)
        let has_media = sdp.contains("\nm=audio") || sdp.contains("\nm=video");
        if self.bwe_start.is_some() && has_media && !sdp.contains(TWCC_EXTENSION) && !peer.without_bwe {
            peer.without_bwe = true;
            peer.paced = false;
            debug!(?key, "subscriber gives no transport-wide feedback: no bandwidth estimation");
            peer.rtc.bwe().reset(Bitrate::gbps(10));
        }
        let accepted = match SdpAnswer::from_sdp_string(sdp) {
            Ok(answer) => peer.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        drive(now, sub_peer, peer, &mut self.events, sink);
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
                    opened.push((s.publisher, s.track_sid.clone(), mid, s.settings));
                    true
                }
                SubscriptionState::Stopping(_) => false,
                _ => true,
            });
            for (publisher, track_sid, out_mid, settings) in opened {
                self.open_output(publisher, &track_sid, sub_peer, out_mid, settings);
            }
        }
        self.negotiate(now, key, sink);
    }

    /// The publisher connection and media section of one of `publisher`'s published tracks.
    fn source_of(&self, publisher: ParticipantKey, track_sid: &str) -> Option<(PeerId, Mid)> {
        let pub_peer = self.sessions.get(&publisher)?.publisher;
        let in_mid =
            self.rooms.participant(publisher)?.publications.iter().find(|t| t.sid == track_sid)?.media.as_ref()?.mid;
        Some((pub_peer, in_mid))
    }

    fn forward_of(&mut self, publisher: ParticipantKey, track_sid: &str) -> Option<&mut Forward> {
        let source = self.source_of(publisher, track_sid)?;
        self.forwards.get_mut(&source)
    }

    /// Starts writing a publisher's track into a subscriber's media section. The first
    /// frame it gets asks the publisher for a keyframe (the outlet starts at one).
    fn open_output(
        &mut self,
        publisher: ParticipantKey,
        track_sid: &str,
        sub_peer: PeerId,
        out_mid: Mid,
        settings: TrackSettings,
    ) {
        let Some(source) = self.source_of(publisher, track_sid) else { return };
        let Some(forward) = self.forwards.get_mut(&source) else { return };
        let sub = self.peers.get(&sub_peer);
        let link_cap = sub.map_or(Quality::High, |p| p.link_cap.cap());
        let without_bwe = sub.is_some_and(|p| p.without_bwe);
        forward.add((sub_peer, out_mid), settings, link_cap);
        // Start small: the next allocation raises it if the estimate pays.
        if self.bwe_start.is_some() && !without_bwe {
            forward.set_bwe_cap((sub_peer, out_mid), Quality::Low);
        }
        self.feeds.insert((sub_peer, out_mid), source);
    }

    /// A subscriber's new settings for a track it receives, applied to its outlet.
    fn apply_settings(
        &mut self,
        subscriber: ParticipantKey,
        publisher: ParticipantKey,
        track_sid: &str,
        settings: TrackSettings,
    ) {
        let Some(sub_peer) = self.sessions.get(&subscriber).map(|s| s.subscriber) else { return };
        let open = self.rooms.participant(subscriber).and_then(|p| {
            p.subscriptions.iter().find_map(|s| match s.state {
                SubscriptionState::Open(mid) if s.track_sid == track_sid => Some(mid),
                _ => None,
            })
        });
        let (Some(out_mid), Some(forward)) = (open, self.forward_of(publisher, track_sid)) else { return };
        forward.set_settings((sub_peer, out_mid), settings);
    }

    /// Stops feeding the media sections of `key`'s subscriptions that are being removed
    /// (at once, not when the renegotiation completes: the client no longer wants them).
    fn close_stopped_outputs(&mut self, key: ParticipantKey) {
        let Some(sub_peer) = self.sessions.get(&key).map(|s| s.subscriber) else { return };
        let Some(participant) = self.rooms.participant(key) else { return };
        for s in &participant.subscriptions {
            let (SubscriptionState::ToStop(mid) | SubscriptionState::Stopping(mid)) = s.state else { continue };
            let Some(source) = self.feeds.remove(&(sub_peer, mid)) else { continue };
            if let Some(forward) = self.forwards.get_mut(&source) {
                forward.remove_where(|t| *t == (sub_peer, mid));
            }
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
        let (gone, affected) = self.rooms.leave(key)?;
        info!(sid = %gone.sid, identity = %gone.identity, ?cause, "participant left");
        if let Some(session) = self.sessions.remove(&key) {
            for id in [session.publisher, session.subscriber] {
                if let Some(mut peer) = self.peers.remove(&id) {
                    peer.rtc.disconnect();
                }
            }
            let gone_peers = [session.publisher, session.subscriber];
            self.by_addr.retain(|_, id| !gone_peers.contains(id));
            self.by_ufrag.retain(|_, id| !gone_peers.contains(id));
            self.forwards.retain(|(p, _), _| *p != session.publisher);
            for forward in self.forwards.values_mut() {
                forward.remove_where(|(p, _)| *p == session.subscriber);
            }
            self.feeds.retain(|(sub, _), (publ, _)| *sub != session.subscriber && *publ != session.publisher);
            for id in gone_peers {
                self.sources.retain(|(peer, _, _), _| *peer != id);
            }
        }
        self.speakers.forget(key);
        let view = gone.view();
        for k in audience {
            sink.event(k, MediaEvent::ParticipantsChanged(vec![view.clone()]));
        }
        for k in affected {
            self.negotiate(now, k, sink);
        }
        Some(Presence::Left { room: gone.room, sid: gone.sid, cause, at_ms: self.unix_ms(now) })
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
        permission: Permission,
        sink: &mut impl Sink,
    ) -> Option<ParticipantView> {
        let key = self.rooms.find_identity(room, identity)?;
        let renegotiate = self.rooms.set_permission(key, permission)?;
        info!(?key, %identity, ?permission, "permission updated");
        self.broadcast(key, true, sink);
        for k in renegotiate {
            self.negotiate(now, k, sink);
        }
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
    /// A known source address finds its peer in one lookup. A new address must open with an
    /// ICE connectivity check (STUN), whose USERNAME names our side's ufrag, so the peer is
    /// found by that; anything else from an unknown address is dropped without touching any
    /// peer (a spray of junk datagrams costs one parse each, not one scan of every peer).
    pub fn handle_receive(&mut self, now: Instant, source: SocketAddr, datagram: &[u8], sink: &mut impl Sink) -> bool {
        let Ok(contents) = datagram.try_into() else { return false };
        let input = Input::Receive(now, Receive { proto: Protocol::Udp, source, destination: self.host, contents });
        let cached =
            self.by_addr.get(&source).copied().filter(|id| self.peers.get(id).is_some_and(|p| p.rtc.accepts(&input)));
        let found = cached.or_else(|| {
            let id = *self.by_ufrag.get(local_ufrag(datagram)?)?;
            self.peers.get(&id).is_some_and(|p| p.rtc.accepts(&input)).then_some(id)
        });
        let Some(id) = found else { return false };
        if cached.is_none() {
            self.by_addr.insert(source, id);
        }
        let Some(peer) = self.peers.get_mut(&id) else { return false };
        if let Err(e) = peer.rtc.handle_input(input) {
            debug!(peer = id, error = %e, "input refused");
        }
        drive(now, id, peer, &mut self.events, sink);
        self.process_events(now, sink);
        true
    }

    /// Time passed: drives every peer connection whose timeout is due.
    pub fn handle_timeout(&mut self, now: Instant, sink: &mut impl Sink) {
        let grace = self.reconnect_grace;
        let lost: Vec<ParticipantKey> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.signal_lost_at.is_some_and(|t| now >= t + grace))
            .map(|(k, _)| *k)
            .collect();
        for key in lost {
            self.leave(now, key, LeaveCause::ConnectionLost, sink);
        }
        self.due.clear();
        self.due.extend(self.peers.iter().filter(|(_, p)| p.timeout <= now).map(|(id, _)| *id));
        for i in 0..self.due.len() {
            let id = self.due[i];
            let Some(peer) = self.peers.get_mut(&id) else { continue };
            if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                debug!(peer = id, error = %e, "timeout handling failed");
            }
            drive(now, id, peer, &mut self.events, sink);
        }
        self.process_events(now, sink);
        self.report_speakers(now, sink);
        self.report_quality(now, sink);
        self.allocate_bandwidth(now, sink);
    }

    /// Sends speaker changes to the rooms concerned (throttled by [`Speakers`]). Hidden
    /// participants are never reported.
    fn report_speakers(&mut self, now: Instant, sink: &mut impl Sink) {
        let changes = self.speakers.update(now);
        let mut by_room: HashMap<&str, Vec<SpeakerView>> = HashMap::new();
        for change in &changes {
            let Some(p) = self.rooms.participant(change.key).filter(|p| !p.permission.hidden) else { continue };
            by_room.entry(p.room.as_str()).or_default().push(SpeakerView {
                sid: p.sid.clone(),
                level: change.level,
                active: change.active,
            });
        }
        for (room, speakers) in by_room {
            for key in self.rooms.members(room) {
                sink.event(key, MediaEvent::SpeakersChanged(speakers.clone()));
            }
        }
    }

    /// Every [`activity::QUALITY_INTERVAL`], tells each participant the connection quality
    /// of everyone in its room it can see (itself included) that the server has measured.
    fn report_quality(&mut self, now: Instant, sink: &mut impl Sink) {
        if self.next_quality_update.is_some_and(|t| now < t) {
            return;
        }
        self.next_quality_update = Some(now + activity::QUALITY_INTERVAL);
        let mut rooms: HashMap<&str, Vec<(ParticipantKey, bool, QualityView)>> = HashMap::new();
        for (key, session) in &self.sessions {
            let links = [session.publisher, session.subscriber].map(|id| self.peers.get(&id).and_then(|p| p.link));
            if links.iter().all(Option::is_none) {
                continue;
            }
            let loss = links.iter().flatten().map(|l| l.loss).fold(0.0, f32::max);
            let rtt = links.iter().flatten().filter_map(|l| l.rtt).max();
            let Some(p) = self.rooms.participant(*key) else { continue };
            let (quality, score) = activity::connection_quality(loss, rtt);
            let view = QualityView { sid: p.sid.clone(), quality, score };
            rooms.entry(p.room.as_str()).or_default().push((*key, p.permission.hidden, view));
        }
        for (room, measured) in rooms {
            for key in self.rooms.members(room) {
                let updates: Vec<QualityView> =
                    measured.iter().filter(|(k, hidden, _)| *k == key || !hidden).map(|(_, _, v)| v.clone()).collect();
                sink.event(key, MediaEvent::ConnectionQuality(updates));
            }
        }
    }

    // ---- internals --------------------------------------------------------------------

    fn add_peer(&mut self, mut rtc: Rtc, owner: ParticipantKey, role: PeerRole, now: Instant) -> PeerId {
        let id = self.next_peer;
        self.next_peer += 1;
        // Fixed for the connection's life: vroom never restarts ICE with new credentials.
        self.by_ufrag.insert(rtc.direct_api().local_ice_credentials().ufrag, id);
        self.peers.insert(id, Peer::new(rtc, owner, role, now));
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
    fn negotiate(&mut self, now: Instant, key: ParticipantKey, sink: &mut impl Sink) {
        self.close_stopped_outputs(key);
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
        drive(now, session.subscriber, peer, &mut self.events, sink);
    }

    fn process_events(&mut self, now: Instant, sink: &mut impl Sink) {
        while let Some((id, event)) = self.events.pop_front() {
            let Some((owner, role)) = self.peers.get(&id).map(|p| (p.owner, p.role)) else { continue };
            self.handle_event(now, id, owner, role, event, sink);
        }
    }

    fn handle_event(
        &mut self,
        now: Instant,
        id: PeerId,
        owner: ParticipantKey,
        role: PeerRole,
        event: Event,
        sink: &mut impl Sink,
    ) {
        match event {
            Event::Connected => {
                debug!(?owner, ?role, "peer connection established");
                if role == PeerRole::Subscriber && self.rooms.set_active(owner) {
                    self.broadcast(owner, false, sink);
                }
            }
            Event::IceConnectionStateChange(state) => debug!(?owner, ?role, ?state, "ICE state"),
            Event::MediaAdded(added) if role == PeerRole::Publisher && added.direction == Direction::RecvOnly => {
                let rids = added.simulcast.map(|s| s.recv.iter().map(|l| l.rid).collect()).unwrap_or_default();
                self.media_added(now, id, owner, AddedMedia { mid: added.mid, kind: added.kind, rids }, sink);
            }
            Event::MediaChanged(changed) if role == PeerRole::Publisher => {
                self.media_changed(now, id, owner, changed.mid, changed.direction, sink);
            }
            Event::RtpPacket(packet) if role == PeerRole::Publisher => self.forward(id, owner, packet, sink),
            Event::PeerStats(stats) => {
                if role == PeerRole::Subscriber {
                    debug!(peer = id, peer_bytes_tx = stats.peer_bytes_tx, media_bytes_tx = stats.bytes_tx, rtt = ?stats.rtt, loss = ?stats.egress_loss_fraction, "subscriber link stats");
                }
                let loss = stats.ingress_loss_fraction.unwrap_or(0.0).max(stats.egress_loss_fraction.unwrap_or(0.0));
                if let Some(peer) = self.peers.get_mut(&id) {
                    peer.link = Some(LinkStats { loss, rtt: stats.rtt });
                }
                if role == PeerRole::Subscriber
                    && let Some(egress) = stats.egress_loss_fraction
                {
                    self.link_loss(id, stats.timestamp, egress);
                }
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, can_probe }) if role == PeerRole::Subscriber => {
                debug!(peer = id, estimate = estimate.as_u64(), can_probe, "bandwidth estimate");
                let bps = estimate.as_u64();
                if let Some(peer) = self.peers.get_mut(&id) {
                    peer.estimate.get_or_insert_with(|| Estimate::new(bps, now)).observe(bps, now);
                }
            }
            Event::KeyframeRequest(req) if role == PeerRole::Subscriber => {
                if let Some((pub_peer, in_mid)) = self.feeds.get(&(id, req.mid)).copied()
                    && let Some(rid) =
                        self.forwards.get(&(pub_peer, in_mid)).and_then(|f| f.current_layer((id, req.mid)))
                {
                    self.request_keyframe(now, pub_peer, in_mid, rid, sink);
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
            Event::ChannelData(data) => self.data_received(now, owner, role, data, sink),
            _ => {}
        }
    }

    fn media_added(
        &mut self,
        now: Instant,
        id: PeerId,
        owner: ParticipantKey,
        added: AddedMedia,
        sink: &mut impl Sink,
    ) {
        let AddedMedia { mid, kind, rids } = added;
        let msid_track = self.peers.get(&id).and_then(|p| p.rtc.media(mid)).map(|m| m.track_id().to_owned());
        // A track published with `videoCodec: 'h264'` is sent in H.264 whatever the offer's
        // order (see `honour_codec_preferences`).
        let prefers_h264 = self.rooms.participant(owner).is_some_and(|p| {
            p.publications.iter().any(|t| {
                t.media.is_none()
                    && Some(t.cid.as_str()) == msid_track.as_deref()
                    && t.preferred_codec.as_deref() == Some("h264")
            })
        });
        let mime = match (kind, self.peers.get(&id)) {
            (MediaKind::Video, Some(peer)) => codec::video_mime(&peer.rtc, mid, prefers_h264),
            (MediaKind::Video, None) => "video/VP8",
            (MediaKind::Audio, _) => "audio/opus",
        };
        let track_kind = track_kind(kind);
        let Some((sid, subscribers)) =
            self.rooms.media_added(owner, mid, track_kind, msid_track.as_deref().unwrap_or(""), mime, rids.clone())
        else {
            warn!(?owner, %mid, "media section without an announced track; ignored");
            return;
        };
        info!(?owner, track = %sid, %mid, ?rids, "track published");
        let others: Vec<ParticipantKey> = self.rooms.others(owner).map(|p| p.key).collect();
        for other in others {
            self.tell_denied(other, |d| d.track_sid == sid, sink);
        }
        let mut forward = Forward::new(track_kind, rids);
        let muted = self
            .rooms
            .participant(owner)
            .and_then(|p| p.publications.iter().find(|t| t.sid == sid))
            .is_some_and(|t| t.muted);
        forward.set_muted(muted);
        self.forwards.insert((id, mid), forward);
        self.broadcast(owner, false, sink);
        for subscriber in subscribers {
            self.negotiate(now, subscriber, sink);
        }
    }

    /// The publisher renegotiated a media section: turning inactive is how LiveKit clients
    /// unpublish (there is no signalling message for it); receiving again on a section
    /// without a track is a new publication reusing the transceiver.
    fn media_changed(
        &mut self,
        now: Instant,
        id: PeerId,
        owner: ParticipantKey,
        mid: Mid,
        direction: Direction,
        sink: &mut impl Sink,
    ) {
        let bound = self.rooms.participant(owner).is_some_and(|p| p.publication_by_mid(mid).is_some());
        match direction {
            Direction::Inactive | Direction::SendOnly if bound => {
                let Some((sid, affected)) = self.rooms.unpublish(owner, mid) else { return };
                info!(?owner, track = %sid, %mid, "track unpublished");
                self.forwards.remove(&(id, mid));
                self.feeds.retain(|_, source| *source != (id, mid));
                self.broadcast(owner, false, sink);
                for subscriber in affected {
                    self.negotiate(now, subscriber, sink);
                }
            }
            Direction::RecvOnly | Direction::SendRecv if !bound => {
                let Some(media) = self.peers.get(&id).and_then(|p| p.rtc.media(mid)) else { return };
                let kind = media.kind();
                let rids = match media.rids_rx() {
                    str0m::media::Rids::Specific(rids) => rids.clone(),
                    _ => Vec::new(),
                };
                self.media_added(now, id, owner, AddedMedia { mid, kind, rids }, sink);
            }
            _ => {}
        }
    }

    /// Forwards one RTP packet of a publisher to every subscriber that gets it.
    fn forward(&mut self, pub_peer: PeerId, owner: ParticipantKey, packet: RtpPacket, sink: &mut impl Sink) {
        let cache_key = (pub_peer, packet.header.ssrc, packet.header.payload_type);
        let source = match self.sources.get(&cache_key) {
            Some(source) => *source,
            None => {
                let Some(peer) = self.peers.get_mut(&pub_peer) else { return };
                let Some(source) = Source::of(&mut peer.rtc, &packet) else { return };
                self.sources.insert(cache_key, source);
                source
            }
        };
        let Some(forward) = self.forwards.get_mut(&(pub_peer, source.mid)) else { return };
        forward.count(source.rid, packet.payload.len());
        let header = &packet.header;
        if forward.kind == TrackKind::Audio
            && !forward.muted()
            && let Some(level) = header.ext_vals.audio_level
        {
            self.speakers.observe(owner, level);
        }
        let (vp8, frame_start, keyframe) = match (forward.kind, source.params.spec().codec) {
            (TrackKind::Audio, _) => (None, true, false),
            (TrackKind::Video, Codec::Vp8) => match Vp8Descriptor::parse(&packet.payload) {
                Ok(d) => (Some(d), codec::vp8::starts_frame(&packet.payload), d.starts_keyframe(&packet.payload)),
                // Not VP8 we understand (or padding): nothing a decoder could use.
                Err(_) => return,
            },
            // H.264 marks no frame start: the first packet with a newer timestamp is one.
            (TrackKind::Video, Codec::H264) => {
                let start = forward.starts_frame(source.rid, header.timestamp);
                (None, start, start && codec::h264::starts_keyframe(&packet.payload))
            }
            // Nothing else is negotiated (see `peer::new_rtc`).
            (TrackKind::Video, _) => return,
        };
        let ids = vp8.map_or_else(Vp8Ids::default, |d| Vp8Ids {
            picture_id: d.picture_id(),
            tl0_pic_idx: d.tl0_pic_idx(),
            key_idx: d.key_idx(),
        });
        let incoming = Incoming { seq: *packet.seq_no, timestamp: header.timestamp, vp8: ids };
        // Every video packet counts towards its layer's newest sequence number, continuations
        // included: that is what shows a keyframe start arriving late.
        let in_order = forward.kind == TrackKind::Audio || forward.in_order(source.rid, incoming.seq);
        let frame_start = frame_start && in_order;
        let now = packet.timestamp;
        let nackable = forward.kind == TrackKind::Video;
        let (peers, events) = (&mut self.peers, &mut self.events);
        let requests = forward.on_packet(now, source.rid, frame_start, keyframe, |outlet| {
            let (sub_peer, out_mid) = outlet.target;
            let Some(peer) = peers.get_mut(&sub_peer) else { return };
            // The answer fixes the section's payload types, so the match is made once.
            let pt = match outlet.payload_type {
                Some(pt) => pt,
                None => {
                    let Some(pt) = peer.rtc.codec_config().match_params(source.params).map(|p| p.pt()) else { return };
                    outlet.payload_type = Some(pt);
                    pt
                }
            };
            // The stream first: a packet that cannot be written must not take a sequence number.
            let mut api = peer.rtc.direct_api();
            let stream = match outlet.tx_ssrc {
                Some(ssrc) => api.stream_tx(&ssrc),
                None => api.stream_tx_by_mid(out_mid, None),
            };
            let Some(stream) = stream else { return };
            outlet.tx_ssrc = Some(stream.ssrc());
            if nackable {
                // A store, read by the pacer when it next looks at its queues.
                stream.set_unpaced(!peer.paced);
            }
            let Some(out) = outlet.rewriter.rewrite(now, incoming) else { return };
            let mut ext_vals = ExtensionValues::default();
            ext_vals.audio_level = header.ext_vals.audio_level;
            ext_vals.voice_activity = header.ext_vals.voice_activity;
            ext_vals.video_orientation = header.ext_vals.video_orientation;
            let mut write = RtpWrite::new(pt, out.seq.into(), out.timestamp, now, packet.payload.clone())
                .marker(header.marker)
                .ext_vals(ext_vals)
                .nackable(nackable);
            if out.vp8_changed
                && let Some(patch) = vp8.and_then(|d| codec::vp8::patch(&d, out.vp8))
            {
                write = write.vp8_patch(patch);
            }
            stream.write_rtp(write);
            drive(now, sub_peer, peer, events, sink);
        });
        for rid in requests.iter() {
            self.request_keyframe(now, pub_peer, source.mid, rid, sink);
        }
    }

    /// Tells `subscriber` which of the tracks it wants (those `which` picks) it may not have.
    fn tell_denied(&self, subscriber: ParticipantKey, which: impl Fn(&DeniedTrack) -> bool, sink: &mut impl Sink) {
        let Some(p) = self.rooms.participant(subscriber) else { return };
        for denied in p.denied.iter().filter(|d| which(d)) {
            let Some(publisher) = self.rooms.participant(denied.publisher) else { continue };
            sink.event(
                subscriber,
                MediaEvent::SubscriptionAllowed {
                    publisher_sid: publisher.sid.clone(),
                    track_sid: denied.track_sid.clone(),
                    allowed: false,
                },
            );
        }
    }

    /// Shares each subscriber's bandwidth estimate among the video it receives
    /// ([`allocation`]), every [`ALLOCATION_INTERVAL`], and tells its estimator what rate to
    /// sustain and what to probe for.
    fn allocate_bandwidth(&mut self, now: Instant, sink: &mut impl Sink) {
        if self.next_allocation.is_some_and(|t| now < t) {
            return;
        }
        self.next_allocation = Some(now + ALLOCATION_INTERVAL);
        /// A video track a subscriber receives: its forward, its outlet and the quality of
        /// each layer in its [`allocation::Track`] rates.
        struct Video {
            source: (PeerId, Mid),
            target: (PeerId, Mid),
            qualities: Vec<Quality>,
        }
        #[derive(Default)]
        struct Demand {
            audio: u64,
            videos: Vec<(Video, allocation::Track)>,
        }
        let mut demands: HashMap<PeerId, Demand> = HashMap::new();
        for (source, forward) in &mut self.forwards {
            forward.update_rates(now);
            for (i, outlet) in forward.outlets().iter().enumerate() {
                let sub_peer = outlet.target.0;
                if self.peers.get(&sub_peer).is_none_or(|p| p.estimate.is_none()) {
                    continue;
                }
                let Some((track, qualities)) = forward.demand(i) else { continue };
                let demand = demands.entry(sub_peer).or_default();
                match forward.kind {
                    TrackKind::Audio => demand.audio += forward.total_rate(),
                    TrackKind::Video => {
                        demand.videos.push((Video { source: *source, target: outlet.target, qualities }, track));
                    }
                }
            }
        }
        // Every estimated subscriber, those left without video too: what it was told to
        // sustain (and pad up to) must follow what it still receives.
        for (&sub_peer, peer) in &mut self.peers {
            let Some(e) = peer.estimate.as_mut() else { continue };
            let mut demand = demands.remove(&sub_peer).unwrap_or_default();
            let estimate = e.bps();
            // An upgrade must be paid for by what the link has *carried* for a while: padding
            // up to the next layer's rate (below) tests the link first, and a link that cannot
            // take it shows delay, which brings the estimate down before the switch. An
            // estimate nothing has tested (a probe that slipped through a policer's burst
            // allowance reads high for seconds) buys nothing.
            let sustained = e.sustained(now);
            // The same order every time (the map's is not), so a tie between tracks is always
            // settled the same way and no upgrade moves from one track to another.
            demand.videos.sort_by_key(|(v, _)| (v.target, v.source));
            let (videos, tracks): (Vec<Video>, Vec<allocation::Track>) = demand.videos.into_iter().unzip();
            let shares = allocation::allocate(estimate, sustained, demand.audio, &tracks);
            // An upgrade is wanted that the estimate does not pay for, and the estimate has not
            // moved for a while: the estimator is stuck (after loss it can hold a value long
            // after the link cleared, and in that state it does not probe). Restarting it from
            // the same value makes it probe above it at once.
            let wants_more = shares.next.is_some_and(|n| n as f64 > estimate as f64 * allocation::UPGRADE_SHARE);
            let restart = e.restart_if_stalled(now, wants_more);
            peer.paced = shares.paces(estimate);
            debug!(peer = sub_peer, estimate, used = shares.used, desired = shares.desired, layers = ?shares.layers, ?tracks, "bandwidth allocation");
            for (video, layer) in videos.iter().zip(&shares.layers) {
                // A track with no layer measured yet keeps its cap until one is.
                let Some(&cap) = video.qualities.get(*layer) else { continue };
                if let Some(forward) = self.forwards.get_mut(&video.source) {
                    forward.set_bwe_cap(video.target, cap);
                }
            }
            // While a better layer is wanted, pad up to what its upgrade needs, with a
            // margin (str0m caps padding at the estimate): that is the test `sustained`
            // counts on, and a busy link gives probes and delay a true reading.
            let minimum = pad_target(&shares);
            e.set_sustain_target(minimum);
            if restart {
                debug!(peer = sub_peer, estimate, "bandwidth estimate stalled below demand: probing again");
                peer.rtc.bwe().reset(Bitrate::bps(estimate));
            }
            peer.rtc.bwe().set_bitrate(Bitrate::bps(minimum), Bitrate::bps(shares.desired.max(minimum)));
            drive(now, sub_peer, peer, &mut self.events, sink);
        }
    }

    /// A subscriber's link reported `loss` on what we send it: maybe change its layer cap.
    fn link_loss(&mut self, sub_peer: PeerId, now: Instant, loss: f32) {
        let Some(peer) = self.peers.get_mut(&sub_peer) else { return };
        let Some(cap) = peer.link_cap.on_loss(now, loss) else { return };
        info!(peer = sub_peer, loss, ?cap, "subscriber link: video layer cap changed");
        for (&(peer, out_mid), source) in &self.feeds {
            if peer == sub_peer
                && let Some(forward) = self.forwards.get_mut(source)
            {
                forward.set_link_cap((sub_peer, out_mid), cap);
            }
        }
    }

    fn request_keyframe(&mut self, now: Instant, pub_peer: PeerId, mid: Mid, rid: Option<Rid>, sink: &mut impl Sink) {
        let Some(peer) = self.peers.get_mut(&pub_peer) else { return };
        match peer.rtc.direct_api().stream_rx_by_mid(mid, rid) {
            Some(stream) => stream.request_keyframe(KeyframeRequestKind::Pli),
            None => debug!(%mid, ?rid, "keyframe request for a stream not received yet"),
        }
        drive(now, pub_peer, peer, &mut self.events, sink);
    }

    fn data_received(
        &mut self,
        now: Instant,
        owner: ParticipantKey,
        role: PeerRole,
        data: ChannelData,
        sink: &mut impl Sink,
    ) {
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
            // Whoever may not subscribe (e.g. waits for approval) receives no room data either.
            .filter(|p| p.permission.can_subscribe)
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
            drive(now, sub_peer, peer, &mut self.events, sink);
        }
    }
}

/// Where an incoming packet belongs: its media section, simulcast layer and codec.
#[derive(Clone, Copy)]
struct Source {
    mid: Mid,
    rid: Option<Rid>,
    params: PayloadParams,
}

impl Source {
    fn of(rtc: &mut Rtc, packet: &RtpPacket) -> Option<Self> {
        let params = *rtc.codec_config().find(|p| p.pt() == packet.header.payload_type)?;
        let mut api = rtc.direct_api();
        let stream = api.stream_rx(&packet.header.ssrc)?;
        Some(Self { mid: stream.mid(), rid: stream.rid(), params })
    }
}

/// Our side's ufrag in a STUN message's USERNAME (`ours:theirs`, RFC 8445 §7.2.2), if the
/// datagram is one (RFC 7983: STUN's first byte is 0..=3).
fn local_ufrag(datagram: &[u8]) -> Option<&str> {
    if datagram.first().is_none_or(|b| *b > 3) {
        return None;
    }
    let username = str0m::ice::StunMessage::parse(datagram).ok()?.username()?;
    username.split_once(':').map(|(ours, _)| ours)
}

/// Drains a peer connection's output until it asks for a timeout (str0m's rule after every
/// input or change): datagrams go to the sink, events to the queue.
/// Most rounds of due timeouts one `drive` handles before yielding to the worker.
const MAX_DUE_ROUNDS: usize = 256;

/// Sends what the connection has to send and queues its events. A timeout that is already
/// due (the pacer releasing its next packet, a probe) is handled at once: waiting for the
/// worker's next turn would space paced packets a loop iteration apart.
fn drive(now: Instant, id: PeerId, peer: &mut Peer, events: &mut VecDeque<(PeerId, Event)>, sink: &mut impl Sink) {
    let mut rounds = 0;
    loop {
        match peer.rtc.poll_output() {
            Ok(Output::Timeout(t)) if t <= now && rounds < MAX_DUE_ROUNDS => {
                rounds += 1;
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    debug!(peer = id, error = %e, "timeout handling failed");
                }
            }
            Ok(Output::Timeout(t)) => {
                peer.timeout = t;
                return;
            }
            Ok(Output::Transmit(t)) => sink.transmit(t.destination, &t.contents),
            Ok(Output::Event(e)) => events.push_back((id, e)),
            Err(e) => {
                warn!(peer = id, error = %e, "peer connection failed; closing it");
                peer.rtc.disconnect();
                peer.timeout = now + Duration::from_secs(3600);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::rtp::{Extension, ExtensionMap};

    #[derive(Default)]
    struct Recorder {
        events: Vec<(ParticipantKey, MediaEvent)>,
        presence: Vec<Presence>,
        /// Datagrams the SFU sent, for tests that route them to simulated clients.
        datagrams: Vec<(SocketAddr, Vec<u8>)>,
    }

    impl Sink for Recorder {
        fn transmit(&mut self, to: SocketAddr, data: &[u8]) {
            self.datagrams.push((to, data.to_vec()));
        }
        fn event(&mut self, to: ParticipantKey, event: MediaEvent) {
            self.events.push((to, event));
        }
        fn presence(&mut self, report: Presence) {
            self.presence.push(report);
        }
    }

    impl Recorder {
        /// Presence as `(J|L, identity or sid, cause)` for compact assertions.
        fn trail(&self) -> Vec<String> {
            self.presence
                .iter()
                .map(|p| match p {
                    Presence::Joined { identity, sid, .. } => format!("J {identity} {sid}"),
                    Presence::Left { sid, cause, .. } => format!("L {sid} {cause:?}"),
                })
                .collect()
        }

        fn removed(&self, key: ParticipantKey) -> Option<RemovedReason> {
            self.events.iter().find_map(|(k, e)| match e {
                MediaEvent::Removed(r) if *k == key => Some(*r),
                _ => None,
            })
        }
    }

    const FULL: Permission =
        Permission { can_publish: true, can_subscribe: true, can_publish_data: true, hidden: false };
    const WAITING: Permission =
        Permission { can_publish: false, can_subscribe: false, can_publish_data: false, hidden: true };

    fn req(identity: &str, permission: Permission) -> JoinRequest {
        JoinRequest {
            room: "room".into(),
            identity: identity.into(),
            name: identity.into(),
            metadata: "{}".into(),
            permission,
            auto_subscribe: true,
        }
    }

    fn sfu_without_bwe(t0: Instant) -> Sfu {
        let mut sfu = sfu(t0);
        sfu.set_bandwidth_estimation(None);
        sfu
    }

    fn sfu(t0: Instant) -> Sfu {
        Sfu::new("127.0.0.1:7882".parse().unwrap(), t0, 1_700_000_000_000)
    }

    fn sid(sfu: &Sfu, key: ParticipantKey) -> String {
        sfu.rooms().participant(key).unwrap().sid.clone()
    }

    const A: ParticipantKey = ParticipantKey(1);
    const B: ParticipantKey = ParticipantKey(2);
    const C: ParticipantKey = ParticipantKey(3);

    #[test]
    fn presence_is_reported_once_per_participant_and_a_replacement_joins_first() {
        let t0 = Instant::now();
        let (mut sfu, mut sink) = (sfu(t0), Recorder::default());
        sfu.join(t0, A, req("alice", FULL), &mut sink);
        sfu.join(t0, B, req("bob", FULL), &mut sink);
        let (alice1, bob) = (sid(&sfu, A), sid(&sfu, B));
        sfu.join(t0, C, req("alice", FULL), &mut sink);
        let alice2 = sid(&sfu, C);
        sfu.command(t0, B, Command::Leave, &mut sink);
        sfu.command(t0, B, Command::Leave, &mut sink);
        sfu.command(t0, B, Command::Disconnected, &mut sink);
        assert_eq!(
            sink.trail(),
            vec![
                format!("J alice {alice1}"),
                format!("J bob {bob}"),
                format!("J alice {alice2}"),
                format!("L {alice1} Removed(DuplicateIdentity)"),
                format!("L {bob} ClientLeft"),
            ]
        );
        assert_eq!(sink.removed(A), Some(RemovedReason::DuplicateIdentity));
        let Some(Presence::Joined { at_ms, .. }) = sink.presence.first() else { panic!("joined first") };
        assert_eq!(*at_ms, 1_700_000_000_000);
    }

    #[test]
    fn lost_signalling_is_removed_after_the_grace_period_unless_it_rejoins() {
        let t0 = Instant::now();
        let (mut sfu, mut sink) = (sfu(t0), Recorder::default());
        sfu.set_reconnect_grace(Duration::from_secs(10));
        sfu.join(t0, A, req("alice", FULL), &mut sink);
        sfu.join(t0, B, req("bob", FULL), &mut sink);
        let (alice, bob) = (sid(&sfu, A), sid(&sfu, B));
        sfu.command(t0, A, Command::Disconnected, &mut sink);
        sfu.command(t0, B, Command::Disconnected, &mut sink);
        let t9 = t0 + Duration::from_secs(9);
        sfu.handle_timeout(t9, &mut sink);
        assert_eq!(sink.presence.len(), 2, "still in the room during the grace period");
        assert!(sfu.poll_timeout(t9) <= t0 + Duration::from_secs(10));
        // Bob reconnects (a new signalling session with the same identity).
        sfu.join(t9, C, req("bob", FULL), &mut sink);
        let bob2 = sid(&sfu, C);
        let t10 = t0 + Duration::from_secs(10);
        sfu.handle_timeout(t10, &mut sink);
        sfu.handle_timeout(t10 + Duration::from_secs(30), &mut sink);
        assert_eq!(
            sink.trail()[2..],
            [
                format!("J bob {bob2}"),
                format!("L {bob} Removed(DuplicateIdentity)"),
                format!("L {alice} ConnectionLost")
            ]
        );
        assert_eq!(sfu.participant_count(), 1);
    }

    #[test]
    fn the_application_closes_rooms_and_removes_participants_with_a_reason() {
        let t0 = Instant::now();
        let (mut sfu, mut sink) = (sfu(t0), Recorder::default());
        sfu.join(t0, A, req("alice", FULL), &mut sink);
        sfu.join(t0, B, req("bob", FULL), &mut sink);
        sfu.join(t0, C, req("carol", FULL), &mut sink);
        assert!(!sfu.remove_participant(t0, "room", "nobody", RemovedReason::Removed, &mut sink));
        assert!(sfu.remove_participant(t0, "room", "carol", RemovedReason::Rejected, &mut sink));
        assert_eq!(sink.removed(C), Some(RemovedReason::Rejected));
        sfu.close_room(t0, "room", RemovedReason::RoomClosed, &mut sink);
        assert_eq!(
            (sink.removed(A), sink.removed(B)),
            (Some(RemovedReason::RoomClosed), Some(RemovedReason::RoomClosed))
        );
        let causes: Vec<String> = sink.trail()[3..].iter().map(|l| l.rsplit(' ').next().unwrap().to_owned()).collect();
        assert_eq!(causes, ["Removed(Rejected)", "Removed(RoomClosed)", "Removed(RoomClosed)"]);
        assert_eq!((sfu.participant_count(), sfu.rooms().room_count()), (0, 0));
        // Removal events precede nothing else for the removed: the session closes on them.
        let last_for_a = sink.events.iter().rev().find(|(k, _)| *k == A).map(|(_, e)| e);
        assert!(matches!(last_for_a, Some(MediaEvent::Removed(_))));
    }

    #[test]
    fn approval_updates_the_participant_itself_and_reveals_it() {
        let t0 = Instant::now();
        let (mut sfu, mut sink) = (sfu(t0), Recorder::default());
        sfu.join(t0, A, req("owner", FULL), &mut sink);
        sfu.join(t0, B, req("guest", WAITING), &mut sink);
        assert!(matches!(sink.presence[1], Presence::Joined { hidden: true, .. }));
        let listed = sfu.participants("room");
        assert_eq!(listed.iter().map(|p| p.identity.as_str()).collect::<Vec<_>>(), ["owner", "guest"]);
        assert_eq!(listed[1].permission, WAITING);
        let owner_saw_guest = |sink: &Recorder| {
            sink.events.iter().any(|(k, e)| {
                *k == A && matches!(e, MediaEvent::ParticipantsChanged(v) if v.iter().any(|p| p.identity == "guest"))
            })
        };
        assert!(!owner_saw_guest(&sink), "a waiting participant is invisible");
        sink.events.clear();

        let view = sfu.update_permission(t0, "room", "guest", FULL, &mut sink).expect("present");
        assert_eq!(view.permission, FULL);
        let own_update = sink.events.iter().find_map(|(k, e)| match e {
            MediaEvent::ParticipantsChanged(v) if *k == B => v.iter().find(|p| p.identity == "guest").cloned(),
            _ => None,
        });
        assert_eq!(own_update.expect("the guest is told its new permission").permission, FULL);
        assert!(owner_saw_guest(&sink), "the owner now sees the guest");
        assert!(sfu.update_permission(t0, "room", "nobody", FULL, &mut sink).is_none());
    }

    // ---- publishing, muting, unpublishing and subscribing with str0m clients -----------

    /// A client's two peer connections (str0m), negotiated through the SFU's commands and
    /// events and connected to it over a simulated network ([`Net`]): str0m reports media
    /// sections only once DTLS is up.
    struct Client {
        key: ParticipantKey,
        publisher: Rtc,
        subscriber: Rtc,
        addrs: [SocketAddr; 2],
        offers_seen: usize,
        next_offer_id: u32,
        /// RTP packets its subscriber connection received (counted in RTP mode only).
        rtp_received: usize,
    }

    /// Everyone's packets, delivered in memory with a simulated clock.
    struct Net {
        now: Instant,
        clients: Vec<Client>,
        /// Clients joined from now on use str0m's RTP mode: they write whole RTP packets
        /// (any payload) and report each packet received.
        rtp_mode: bool,
    }

    impl Net {
        /// Delivers datagrams both ways and advances time until the network is quiet.
        fn pump(&mut self, sfu: &mut Sfu, sink: &mut Recorder) {
            let host = sfu.host;
            for _ in 0..200 {
                let mut sent = false;
                for c in &mut self.clients {
                    for (i, rtc) in [&mut c.publisher, &mut c.subscriber].into_iter().enumerate() {
                        let _ = rtc.handle_input(Input::Timeout(self.now));
                        while let Ok(out) = rtc.poll_output() {
                            match out {
                                Output::Timeout(_) => break,
                                Output::Transmit(t) => {
                                    sent = true;
                                    sfu.handle_receive(self.now, c.addrs[i], &t.contents, sink);
                                }
                                Output::Event(Event::RtpPacket(_)) if i == 1 => c.rtp_received += 1,
                                Output::Event(_) => {}
                            }
                        }
                    }
                }
                for (to, data) in std::mem::take(&mut sink.datagrams) {
                    sent = true;
                    for c in &mut self.clients {
                        for (i, rtc) in [&mut c.publisher, &mut c.subscriber].into_iter().enumerate() {
                            if c.addrs[i] != to {
                                continue;
                            }
                            let Ok(contents) = data.as_slice().try_into() else { continue };
                            let receive = Receive { proto: Protocol::Udp, source: host, destination: to, contents };
                            let _ = rtc.handle_input(Input::Receive(self.now, receive));
                        }
                    }
                }
                self.now += Duration::from_millis(5);
                sfu.handle_timeout(self.now, sink);
                if !sent && sink.datagrams.is_empty() {
                    return;
                }
            }
        }

        /// Alice (A) and bob (B) join, alice publishes a track, bob takes the offer:
        /// (alice, bob, the track's sid).
        fn alice_publishes_to_bob(
            &mut self,
            sfu: &mut Sfu,
            sink: &mut Recorder,
            name: &str,
            kind: TrackKind,
        ) -> (usize, usize, String) {
            let alice = self.join(sfu, sink, A, req("alice", FULL));
            let bob = self.join(sfu, sink, B, req("bob", FULL));
            let (track, _) = self.publish(sfu, sink, alice, name, kind);
            self.answer(sfu, sink, bob);
            (alice, bob, track)
        }

        fn join(&mut self, sfu: &mut Sfu, sink: &mut Recorder, key: ParticipantKey, request: JoinRequest) -> usize {
            self.join_with(sfu, sink, key, request, true)
        }

        /// Joins a client whose subscriber connection negotiates transport-wide sequence
        /// numbers (what bandwidth estimation needs) or not.
        fn join_with(
            &mut self,
            sfu: &mut Sfu,
            sink: &mut Recorder,
            key: ParticipantKey,
            request: JoinRequest,
            twcc: bool,
        ) -> usize {
            sfu.join(self.now, key, request, sink);
            let n = self.clients.len() as u16;
            let addrs = [0, 1].map(|i| SocketAddr::from(([10, 0, 0, 1], 5000 + n * 2 + i)));
            let rtp_mode = self.rtp_mode;
            let mut rtcs = addrs.map(|a| {
                let mut rtc = Rtc::builder().set_rtp_mode(rtp_mode).build(self.now);
                rtc.add_local_candidate(Candidate::host(a, "udp").unwrap());
                rtc
            });
            if !twcc {
                let mut exts = ExtensionMap::empty();
                for (id, ext) in ExtensionMap::standard().iter() {
                    if *ext != Extension::TransportSequenceNumber {
                        exts.set(id, ext.clone());
                    }
                }
                let mut rtc = Rtc::builder().set_extension_map(exts).set_rtp_mode(rtp_mode).build(self.now);
                rtc.add_local_candidate(Candidate::host(addrs[1], "udp").unwrap());
                rtcs[1] = rtc;
            }
            let [publisher, subscriber] = std::mem::replace(&mut rtcs, [Rtc::new(self.now), Rtc::new(self.now)]);
            self.clients.push(Client {
                key,
                publisher,
                subscriber,
                addrs,
                offers_seen: 0,
                next_offer_id: 1,
                rtp_received: 0,
            });
            let i = self.clients.len() - 1;
            self.clients[i].answer_offers(sfu, sink, self.now);
            self.pump(sfu, sink);
            i
        }

        fn publish(
            &mut self,
            sfu: &mut Sfu,
            sink: &mut Recorder,
            who: usize,
            cid: &str,
            kind: TrackKind,
        ) -> (String, Mid) {
            let now = self.now;
            let published = self.clients[who].publish(sfu, sink, now, cid, kind);
            self.pump(sfu, sink);
            published
        }

        fn unpublish(&mut self, sfu: &mut Sfu, sink: &mut Recorder, who: usize, mid: Mid) {
            let now = self.now;
            self.clients[who].unpublish(sfu, sink, now, mid);
            self.pump(sfu, sink);
        }

        /// Lets `who` answer its pending subscriber offers; returns their SDP.
        fn answer(&mut self, sfu: &mut Sfu, sink: &mut Recorder, who: usize) -> Vec<String> {
            let mut all = Vec::new();
            loop {
                let now = self.now;
                let offers = self.clients[who].answer_offers(sfu, sink, now);
                if offers.is_empty() {
                    return all;
                }
                all.extend(offers);
                self.pump(sfu, sink);
            }
        }

        fn command(&mut self, sfu: &mut Sfu, sink: &mut Recorder, key: ParticipantKey, command: Command) {
            sfu.command(self.now, key, command, sink);
            self.pump(sfu, sink);
        }
    }

    impl Client {
        /// Announces and negotiates a track; returns its sid and publisher mid.
        fn publish(
            &mut self,
            sfu: &mut Sfu,
            sink: &mut Recorder,
            t0: Instant,
            cid: &str,
            kind: TrackKind,
        ) -> (String, Mid) {
            let add = AddTrack {
                cid: cid.into(),
                name: cid.into(),
                kind,
                source: if kind == TrackKind::Audio { TrackSource::Microphone } else { TrackSource::Camera },
                width: 640,
                height: 480,
                muted: false,
                stream: String::new(),
                layers: Vec::new(),
                preferred_codec: None,
            };
            sfu.command(t0, self.key, Command::AddTrack(add), sink);
            let sid = sink
                .events
                .iter()
                .rev()
                .find_map(|(k, e)| match e {
                    MediaEvent::TrackPublished { cid: c, track } if *k == self.key && c == cid => {
                        Some(track.sid.clone())
                    }
                    _ => None,
                })
                .expect("track published");
            let mut api = self.publisher.sdp_api();
            let mid =
                api.add_media(media_kind(kind), Direction::SendOnly, Some("stream".into()), Some(cid.into()), None);
            let (offer, pending) = api.apply().expect("changes");
            self.offer(sfu, sink, t0, offer, pending);
            (sid, mid)
        }

        /// Removes a published track the way browsers do: the section turns inactive.
        fn unpublish(&mut self, sfu: &mut Sfu, sink: &mut Recorder, t0: Instant, mid: Mid) {
            let mut api = self.publisher.sdp_api();
            api.set_direction(mid, Direction::Inactive);
            let (offer, pending) = api.apply().expect("changes");
            self.offer(sfu, sink, t0, offer, pending);
        }

        fn offer(
            &mut self,
            sfu: &mut Sfu,
            sink: &mut Recorder,
            t0: Instant,
            offer: SdpOffer,
            pending: SdpPendingOffer,
        ) {
            let id = self.next_offer_id;
            self.next_offer_id += 1;
            sfu.command(t0, self.key, Command::PublisherOffer { sdp: offer.to_sdp_string(), id }, sink);
            let answer = sink
                .events
                .iter()
                .rev()
                .find_map(|(k, e)| match e {
                    MediaEvent::PublisherAnswer { sdp, id: i } if *k == self.key && *i == id => Some(sdp.clone()),
                    _ => None,
                })
                .expect("publisher answer");
            self.publisher.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap()).unwrap();
        }

        /// Answers every subscriber offer not answered yet; returns the offers' SDP.
        fn answer_offers(&mut self, sfu: &mut Sfu, sink: &mut Recorder, t0: Instant) -> Vec<String> {
            let mut seen = Vec::new();
            loop {
                let offers: Vec<String> = sink
                    .events
                    .iter()
                    .filter_map(|(k, e)| match e {
                        MediaEvent::SubscriberOffer { sdp, .. } if *k == self.key => Some(sdp.clone()),
                        _ => None,
                    })
                    .collect();
                let Some(sdp) = offers.get(self.offers_seen).cloned() else { return seen };
                self.offers_seen += 1;
                let answer = self.subscriber.sdp_api().accept_offer(SdpOffer::from_sdp_string(&sdp).unwrap()).unwrap();
                sfu.command(t0, self.key, Command::SubscriberAnswer { sdp: answer.to_sdp_string() }, sink);
                seen.push(sdp);
            }
        }
    }

    /// The tracks (sid, muted) of `about` in the latest update `to` received.
    fn seen_tracks(sink: &Recorder, to: ParticipantKey, about: &str) -> Option<Vec<(String, bool)>> {
        sink.events.iter().rev().find_map(|(k, e)| match e {
            MediaEvent::ParticipantsChanged(v) if *k == to => {
                v.iter().find(|p| p.sid == about).map(|p| p.tracks.iter().map(|t| (t.sid.clone(), t.muted)).collect())
            }
            _ => None,
        })
    }

    fn subscription_states(sfu: &Sfu, key: ParticipantKey) -> Vec<(String, SubscriptionState)> {
        sfu.rooms().participant(key).unwrap().subscriptions.iter().map(|s| (s.track_sid.clone(), s.state)).collect()
    }

    impl Sfu {
        fn outlets_of(&self, key: ParticipantKey, track_sid: &str) -> Option<(bool, usize)> {
            let source = self.source_of(key, track_sid)?;
            self.forwards.get(&source).map(|f| (f.muted(), f.outlets().len()))
        }
    }

    fn net(t0: Instant) -> Net {
        Net { now: t0, clients: Vec::new(), rtp_mode: false }
    }

    /// Fuzzing from established peers: what reaches the parsers behind DTLS and SRTP.
    mod fuzz_established;
    /// Random join/publish/subscribe/leave sequences: nothing is left behind.
    mod leaves_no_trace;

    /// An ICE connectivity check (STUN binding request) with this USERNAME; its integrity
    /// is a dummy (no peer of ours knows the password).
    fn stun_binding(username: &str) -> Vec<u8> {
        use str0m::ice::{StunMessageBuilder, TransId};
        let message = StunMessageBuilder::new().binding().request().username(username).prio(1).build(TransId::new());
        let mut buf = vec![0; 1500];
        let len = message.to_bytes(Some(b"password"), &mut buf, |_, _| [0; 20]).expect("fits");
        buf.truncate(len);
        buf
    }

    #[test]
    fn datagrams_from_unknown_sources_are_dropped_unless_an_ice_check_names_a_peer() {
        let t0 = Instant::now();
        let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
        let (_, bob, mic) = net.alice_publishes_to_bob(&mut sfu, &mut sink, "mic", TrackKind::Audio);
        assert_eq!(sfu.outlets_of(A, &mic), Some((false, 1)));
        assert_eq!(local_ufrag(&stun_binding("ours:theirs")), Some("ours"));

        let mut rtp_like = vec![0x80, 0x6f, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4];
        rtp_like.extend_from_slice(&[0; 160]);
        let junk: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xff; 1200],
            rtp_like,
            vec![22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16],
            stun_binding("nosuchufrag:remote"),
            stun_binding("no-colon"),
            stun_binding(""),
        ];
        for (n, datagram) in junk.iter().enumerate() {
            let stranger: SocketAddr = format!("127.0.0.1:{}", 40000 + n).parse().unwrap();
            assert!(!sfu.handle_receive(net.now, stranger, datagram, &mut sink), "datagram {n} was taken");
            // Also from an address a client uses: no peer takes it, and nothing breaks.
            sfu.handle_receive(net.now, net.clients[bob].addrs[1], datagram, &mut sink);
        }
        assert!(sink.datagrams.iter().all(|(to, _)| to.port() < 40000), "nothing is sent to a stranger");

        // A new participant still gets in (its first checks come from new addresses) and the
        // running subscription is unharmed.
        let carol = net.join(&mut sfu, &mut sink, C, req("carol", FULL));
        net.answer(&mut sfu, &mut sink, carol);
        assert_eq!(sfu.outlets_of(A, &mic), Some((false, 2)), "carol and bob receive the microphone");
    }

    #[test]
    fn mute_tells_everyone_and_pauses_forwarding() {
        let t0 = Instant::now();
        let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
        let alice = net.join(&mut sfu, &mut sink, A, req("alice", FULL));
        let bob = net.join(&mut sfu, &mut sink, B, req("bob", FULL));
        let (mic, _) = net.publish(&mut sfu, &mut sink, alice, "mic", TrackKind::Audio);
        let alice_sid = sid(&sfu, A);
        assert_eq!(seen_tracks(&sink, B, &alice_sid), Some(vec![(mic.clone(), false)]));
        net.answer(&mut sfu, &mut sink, bob);
        assert_eq!(sfu.outlets_of(A, &mic), Some((false, 1)), "bob receives the microphone");

        net.command(&mut sfu, &mut sink, A, Command::Mute { track_sid: mic.clone(), muted: true });
        assert_eq!(seen_tracks(&sink, B, &alice_sid), Some(vec![(mic.clone(), true)]), "bob is told");
        assert_eq!(seen_tracks(&sink, A, &alice_sid), Some(vec![(mic.clone(), true)]), "alice sees the server's copy");
        assert_eq!(sfu.outlets_of(A, &mic), Some((true, 1)), "forwarding paused");
        // Bob cannot mute alice's track.
        sink.events.clear();
        net.command(&mut sfu, &mut sink, B, Command::Mute { track_sid: mic.clone(), muted: false });
        assert!(!sink.events.iter().any(|(_, e)| matches!(e, MediaEvent::ParticipantsChanged(_))));
        net.command(&mut sfu, &mut sink, A, Command::Mute { track_sid: mic.clone(), muted: false });
        assert_eq!(seen_tracks(&sink, B, &alice_sid), Some(vec![(mic.clone(), false)]));
        assert_eq!(sfu.outlets_of(A, &mic), Some((false, 1)), "forwarding resumed");
    }

    #[test]
    fn an_inactive_section_in_a_publisher_offer_unpublishes_the_track() {
        let t0 = Instant::now();
        let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
        let alice = net.join(&mut sfu, &mut sink, A, req("alice", FULL));
        let bob = net.join(&mut sfu, &mut sink, B, req("bob", FULL));
        let (mic, _) = net.publish(&mut sfu, &mut sink, alice, "mic", TrackKind::Audio);
        let (cam, cam_mid) = net.publish(&mut sfu, &mut sink, alice, "cam", TrackKind::Video);
        net.answer(&mut sfu, &mut sink, bob);
        assert_eq!(sfu.outlets_of(A, &cam), Some((false, 1)));
        let alice_sid = sid(&sfu, A);
        let version = sfu.rooms().participant(A).unwrap().version;

        net.unpublish(&mut sfu, &mut sink, alice, cam_mid);
        assert_eq!(
            seen_tracks(&sink, B, &alice_sid),
            Some(vec![(mic.clone(), false)]),
            "bob's update lacks the camera"
        );
        assert!(sfu.rooms().participant(A).unwrap().version > version);
        assert!(sfu.outlets_of(A, &cam).is_none(), "no longer forwarded");
        // Bob's subscriber connection drops the section in a new offer.
        let offers = net.answer(&mut sfu, &mut sink, bob);
        assert_eq!(offers.len(), 1, "one renegotiation");
        assert_eq!(subscription_states(&sfu, B).into_iter().map(|s| s.0).collect::<Vec<_>>(), [mic]);
        // Publishing again works.
        let (cam2, _) = net.publish(&mut sfu, &mut sink, alice, "cam2", TrackKind::Video);
        assert_eq!(seen_tracks(&sink, B, &alice_sid).unwrap().len(), 2);
        assert!(net.answer(&mut sfu, &mut sink, bob).iter().any(|sdp| sdp.contains(&cam2)));
    }

    #[test]
    fn manual_subscribers_receive_what_they_ask_for() {
        let t0 = Instant::now();
        let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
        let alice = net.join(&mut sfu, &mut sink, A, req("alice", FULL));
        let mut manual = req("bob", FULL);
        manual.auto_subscribe = false;
        let bob = net.join(&mut sfu, &mut sink, B, manual);
        let (cam, _) = net.publish(&mut sfu, &mut sink, alice, "cam", TrackKind::Video);
        assert!(net.answer(&mut sfu, &mut sink, bob).is_empty(), "nothing offered unasked");

        let subscribe = |subscribe| Command::UpdateSubscription { track_sids: vec![cam.clone()], subscribe };
        net.command(&mut sfu, &mut sink, B, subscribe(true));
        let offers = net.answer(&mut sfu, &mut sink, bob);
        assert_eq!(offers.len(), 1);
        assert!(offers[0].contains(&format!("{}|{cam}", sid(&sfu, A))), "msid PA|TR");
        assert!(matches!(subscription_states(&sfu, B)[..], [(_, SubscriptionState::Open(_))]));
        assert_eq!(sfu.outlets_of(A, &cam), Some((false, 1)));

        // Settings reach the subscriber's outlet.
        let settings = Command::UpdateTrackSettings {
            track_sids: vec![cam.clone()],
            disabled: true,
            quality: Quality::Low,
            width: 0,
            height: 0,
        };
        net.command(&mut sfu, &mut sink, B, settings);
        let source = sfu.source_of(A, &cam).unwrap();
        assert_eq!(
            sfu.forwards[&source].outlets()[0].settings,
            TrackSettings { disabled: true, max_quality: Quality::Low }
        );

        net.command(&mut sfu, &mut sink, B, subscribe(false));
        assert_eq!(sfu.outlets_of(A, &cam), Some((false, 0)), "forwarding stops at once");
        assert_eq!(net.answer(&mut sfu, &mut sink, bob).len(), 1, "and the section is removed");
        assert!(subscription_states(&sfu, B).is_empty());
    }

    #[test]
    fn subscribers_start_on_the_lowest_layer_unless_their_client_gives_no_transport_feedback() {
        let t0 = Instant::now();
        let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
        // Alice's first subscriber answer has data channels only: that says nothing yet.
        let alice = net.join(&mut sfu, &mut sink, A, req("alice", FULL));
        let (cam, _) = net.publish(&mut sfu, &mut sink, alice, "cam", TrackKind::Video);
        let bob = net.join(&mut sfu, &mut sink, B, req("bob", FULL));
        let carol = net.join_with(&mut sfu, &mut sink, C, req("carol", FULL), false);
        net.answer(&mut sfu, &mut sink, bob);
        net.answer(&mut sfu, &mut sink, carol);
        let subscriber = |key| sfu.sessions[&key].subscriber;
        assert_eq!(
            [A, B, C].map(|k| sfu.peers.get(&subscriber(k)).is_some_and(|p| p.without_bwe)),
            [false, false, true],
            "only carol's answer lacks transport-wide sequence numbers"
        );
        let source = sfu.source_of(A, &cam).expect("published");
        let caps: HashMap<PeerId, Quality> =
            sfu.forwards[&source].outlets().iter().map(|o| (o.target.0, o.bwe_cap())).collect();
        // Bob's estimate decides his layer (from the lowest up); carol's never will.
        assert_eq!(caps[&subscriber(B)], Quality::Low);
        assert_eq!(caps[&subscriber(C)], Quality::High);
        // Bob is paced until an estimate shows his link has room; carol, never estimated, is not.
        let (bob_sub, carol_sub) = (subscriber(B), subscriber(C));
        assert_eq!([bob_sub, carol_sub].map(|p| sfu.peers[&p].paced), [true, false]);
        let roomy = Estimate::new(10_000_000, net.now);
        sfu.peers.get_mut(&bob_sub).expect("bob's subscriber").estimate = Some(roomy);
        sfu.allocate_bandwidth(net.now + ALLOCATION_INTERVAL, &mut sink);
        assert!(!sfu.peers[&bob_sub].paced, "nothing held back, the estimate unused: unpaced");
        // Without bandwidth estimation nobody is held back.
        let (mut sfu, mut sink, mut net) = (sfu_without_bwe(t0), Recorder::default(), self::net(t0));
        let alice = net.join(&mut sfu, &mut sink, A, req("alice", FULL));
        let (cam, _) = net.publish(&mut sfu, &mut sink, alice, "cam", TrackKind::Video);
        net.join(&mut sfu, &mut sink, B, req("bob", FULL));
        let source = sfu.source_of(A, &cam).expect("published");
        assert_eq!(sfu.forwards[&source].outlets().iter().map(|o| o.bwe_cap()).collect::<Vec<_>>(), [Quality::High]);
        assert!(sfu.peers.values().all(|p| !p.without_bwe));
    }

    #[test]
    fn loss_reported_by_a_subscriber_caps_its_video_and_later_subscriptions() {
        let t0 = Instant::now();
        let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
        let (alice, bob, cam) = net.alice_publishes_to_bob(&mut sfu, &mut sink, "cam", TrackKind::Video);
        let bob_peer = sfu.sessions[&B].subscriber;
        let caps = |sfu: &Sfu, track: &str| -> Vec<Quality> {
            let source = sfu.source_of(A, track).expect("published");
            sfu.forwards[&source].outlets().iter().map(|o| o.link_cap()).collect()
        };
        assert_eq!(caps(&sfu, &cam), [Quality::High]);
        // Bob reports 30 % loss for three seconds: one step down after two.
        for s in 0..3 {
            sfu.link_loss(bob_peer, t0 + Duration::from_secs(s), 0.3);
        }
        assert_eq!(caps(&sfu, &cam), [Quality::Medium]);
        // A track published afterwards reaches bob already capped.
        let (screen, _) = net.publish(&mut sfu, &mut sink, alice, "screen", TrackKind::Video);
        net.answer(&mut sfu, &mut sink, bob);
        assert_eq!(caps(&sfu, &screen), [Quality::Medium]);
    }
}
