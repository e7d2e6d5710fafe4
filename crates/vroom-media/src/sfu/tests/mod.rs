//! Unit tests of the SFU on a simulated clock and an in-memory network of str0m clients.

use super::connections::local_ufrag;
use super::*;
use crate::estimator::ALLOCATION_INTERVAL;
use crate::peer::media_kind;
use crate::state::SubscriptionState;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::rtp::{Extension, ExtensionMap};
use str0m::rtp::{ExtensionValues, RtpWrite};
use str0m::{Candidate, Output, Rtc};

#[derive(Default)]
struct Recorder {
    events: Vec<(ParticipantKey, MediaEvent)>,
    presence: Vec<Presence>,
    /// Datagrams the SFU sent, for tests that route them to simulated clients.
    datagrams: Vec<(Protocol, SocketAddr, Vec<u8>)>,
    /// How many the SFU sent, by transport.
    sent_by: HashMap<String, usize>,
}

impl Sink for Recorder {
    fn transmit(&mut self, proto: Protocol, to: SocketAddr, data: &[u8]) {
        *self.sent_by.entry(format!("{proto:?}")).or_default() += 1;
        self.datagrams.push((proto, to, data.to_vec()));
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

const FULL: MediaPermission =
    MediaPermission { can_publish: true, can_subscribe: true, can_publish_data: true, hidden: false };
const WAITING: MediaPermission =
    MediaPermission { can_publish: false, can_subscribe: false, can_publish_data: false, hidden: true };

fn req(identity: &str, permission: MediaPermission) -> JoinRequest {
    JoinRequest {
        room: "room".into(),
        identity: identity.into(),
        name: identity.into(),
        metadata: "{}".into(),
        permission,
        auto_subscribe: true,
        can_update_metadata: true,
        attributes: Default::default(),
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

fn sid(sfu: &Sfu, key: ParticipantKey) -> ParticipantSid {
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
    // Bob reconnects (a new signalling connection with the same identity).
    sfu.join(t9, C, req("bob", FULL), &mut sink);
    let bob2 = sid(&sfu, C);
    let t10 = t0 + Duration::from_secs(10);
    sfu.handle_timeout(t10, &mut sink);
    sfu.handle_timeout(t10 + Duration::from_secs(30), &mut sink);
    assert_eq!(
        sink.trail()[2..],
        [format!("J bob {bob2}"), format!("L {bob} Removed(DuplicateIdentity)"), format!("L {alice} ConnectionLost")]
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
    assert_eq!((sink.removed(A), sink.removed(B)), (Some(RemovedReason::RoomClosed), Some(RemovedReason::RoomClosed)));
    let causes: Vec<String> = sink.trail()[3..].iter().map(|l| l.rsplit(' ').next().unwrap().to_owned()).collect();
    assert_eq!(causes, ["Removed(Rejected)", "Removed(RoomClosed)", "Removed(RoomClosed)"]);
    assert_eq!((sfu.participant_count(), sfu.rooms().room_count()), (0, 0));
    // Removal events precede nothing else for the removed: the signalling connection closes on them.
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
    /// Clients joined from now on have TCP host candidates only (as if UDP were blocked).
    tcp: bool,
}

impl Net {
    /// Delivers datagrams both ways and advances time until the network is quiet.
    fn pump(&mut self, sfu: &mut Sfu, sink: &mut Recorder) {
        let (host, tcp_host) = (sfu.host, sfu.tcp_host);
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
                                sfu.handle_receive_on(self.now, t.proto, c.addrs[i], t.destination, &t.contents, sink);
                            }
                            Output::Event(Event::RtpPacket(_)) if i == 1 => c.rtp_received += 1,
                            Output::Event(_) => {}
                        }
                    }
                }
            }
            for (proto, to, data) in std::mem::take(&mut sink.datagrams) {
                let source = match proto {
                    Protocol::Udp => host,
                    _ => tcp_host.expect("TCP only when offered"),
                };
                sent = true;
                for c in &mut self.clients {
                    for (i, rtc) in [&mut c.publisher, &mut c.subscriber].into_iter().enumerate() {
                        if c.addrs[i] != to {
                            continue;
                        }
                        let Ok(contents) = data.as_slice().try_into() else { continue };
                        let receive = Receive { proto, source, destination: to, contents };
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
    ) -> (usize, usize, TrackSid) {
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
        let (rtp_mode, proto) = (self.rtp_mode, if self.tcp { "tcp" } else { "udp" });
        let mut rtcs = addrs.map(|a| {
            let mut rtc = Rtc::builder().set_rtp_mode(rtp_mode).build(self.now);
            rtc.add_local_candidate(Candidate::host(a, proto).unwrap());
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
            rtc.add_local_candidate(Candidate::host(addrs[1], proto).unwrap());
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
    ) -> (TrackSid, Mid) {
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
    ) -> (TrackSid, Mid) {
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
                MediaEvent::TrackPublished { cid: c, track } if *k == self.key && c == cid => Some(track.sid.clone()),
                _ => None,
            })
            .expect("track published");
        let mut api = self.publisher.sdp_api();
        let mid = api.add_media(media_kind(kind), Direction::SendOnly, Some("stream".into()), Some(cid.into()), None);
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

    fn offer(&mut self, sfu: &mut Sfu, sink: &mut Recorder, t0: Instant, offer: SdpOffer, pending: SdpPendingOffer) {
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
fn seen_tracks(sink: &Recorder, to: ParticipantKey, about: &str) -> Option<Vec<(TrackSid, bool)>> {
    sink.events.iter().rev().find_map(|(k, e)| match e {
        MediaEvent::ParticipantsChanged(v) if *k == to => {
            v.iter().find(|p| p.sid == about).map(|p| p.tracks.iter().map(|t| (t.sid.clone(), t.muted)).collect())
        }
        _ => None,
    })
}

fn subscription_states(sfu: &Sfu, key: ParticipantKey) -> Vec<(TrackSid, SubscriptionState)> {
    sfu.rooms().participant(key).unwrap().subscriptions.iter().map(|s| (s.track_sid.clone(), s.state)).collect()
}

impl Sfu {
    fn outlets_of(&self, key: ParticipantKey, track_sid: &TrackSid) -> Option<(bool, usize)> {
        let source = self.source_of(key, track_sid)?;
        self.forwards.get(&source).map(|f| (f.muted(), f.outlets().len()))
    }
}

fn net(t0: Instant) -> Net {
    Net { now: t0, clients: Vec::new(), rtp_mode: false, tcp: false }
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
    assert!(sink.datagrams.iter().all(|(_, to, _)| to.port() < 40000), "nothing is sent to a stranger");

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
    assert_eq!(seen_tracks(&sink, B, &alice_sid), Some(vec![(mic.clone(), false)]), "bob's update lacks the camera");
    assert!(sfu.rooms().participant(A).unwrap().version > version);
    assert!(sfu.outlets_of(A, &cam).is_none(), "no longer forwarded");
    // Bob's subscriber connection drops the section in a new offer.
    let offers = net.answer(&mut sfu, &mut sink, bob);
    assert_eq!(offers.len(), 1, "one renegotiation");
    assert_eq!(subscription_states(&sfu, B).into_iter().map(|s| s.0).collect::<Vec<_>>(), [mic]);
    // Publishing again works.
    let (cam2, _) = net.publish(&mut sfu, &mut sink, alice, "cam2", TrackKind::Video);
    assert_eq!(seen_tracks(&sink, B, &alice_sid).unwrap().len(), 2);
    assert!(net.answer(&mut sfu, &mut sink, bob).iter().any(|sdp| sdp.contains(cam2.as_str())));
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
    assert_eq!(
        [A, B, C].map(|k| sfu.connections[&k].downlink.without_bwe),
        [false, false, true],
        "only carol's answer lacks transport-wide sequence numbers"
    );
    let source = sfu.source_of(A, &cam).expect("published");
    let caps: HashMap<ParticipantKey, Quality> =
        sfu.forwards[&source].outlets().iter().map(|o| (o.target.0, o.bwe_cap())).collect();
    // Bob's estimate decides his layer (from the lowest up); carol's never will.
    assert_eq!(caps[&B], Quality::Low);
    assert_eq!(caps[&C], Quality::High);
    // Bob is paced until an estimate shows his link has room; carol, never estimated, is not.
    assert_eq!([B, C].map(|k| sfu.connections[&k].downlink.paced), [true, false]);
    let roomy = Estimate::new(10_000_000, net.now);
    sfu.connections.get_mut(&B).expect("bob's connections").downlink.estimate = Some(roomy);
    sfu.allocate_bandwidth(net.now + ALLOCATION_INTERVAL, &mut sink);
    assert!(!sfu.connections[&B].downlink.paced, "nothing held back, the estimate unused: unpaced");
    // Without bandwidth estimation nobody is held back.
    let (mut sfu, mut sink, mut net) = (sfu_without_bwe(t0), Recorder::default(), self::net(t0));
    let alice = net.join(&mut sfu, &mut sink, A, req("alice", FULL));
    let (cam, _) = net.publish(&mut sfu, &mut sink, alice, "cam", TrackKind::Video);
    net.join(&mut sfu, &mut sink, B, req("bob", FULL));
    let source = sfu.source_of(A, &cam).expect("published");
    assert_eq!(sfu.forwards[&source].outlets().iter().map(|o| o.bwe_cap()).collect::<Vec<_>>(), [Quality::High]);
    assert!(sfu.connections.values().all(|c| !c.downlink.without_bwe));
}

#[test]
fn loss_reported_by_a_subscriber_caps_its_video_and_later_subscriptions() {
    let t0 = Instant::now();
    let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
    let (alice, bob, cam) = net.alice_publishes_to_bob(&mut sfu, &mut sink, "cam", TrackKind::Video);
    let caps = |sfu: &Sfu, track: &TrackSid| -> Vec<Quality> {
        let source = sfu.source_of(A, track).expect("published");
        sfu.forwards[&source].outlets().iter().map(|o| o.link_cap()).collect()
    };
    assert_eq!(caps(&sfu, &cam), [Quality::High]);
    // Bob reports 30 % loss for three seconds: one step down after two.
    for s in 0..3 {
        sfu.link_loss(B, t0 + Duration::from_secs(s), 0.3);
    }
    assert_eq!(caps(&sfu, &cam), [Quality::Medium]);
    // A track published afterwards reaches bob already capped.
    let (screen, _) = net.publish(&mut sfu, &mut sink, alice, "screen", TrackKind::Video);
    net.answer(&mut sfu, &mut sink, bob);
    assert_eq!(caps(&sfu, &screen), [Quality::Medium]);
}
