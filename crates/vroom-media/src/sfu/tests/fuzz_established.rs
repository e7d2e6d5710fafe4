//! Fuzzing from established peers. A datagram from an address no peer uses is dropped at
//! the door, so fuzzing from anywhere never reaches a parser; here alice (publishing a
//! camera and a microphone) and bob (subscribed to both) have completed ICE, DTLS and SRTP
//! with the SFU first, and the fuzzer then
//! - sends any datagram from their addresses: str0m's STUN, DTLS and SRTP/SRTCP handling
//!   of an established connection;
//! - sends properly encrypted RTP from alice with any payload, marker, header extension
//!   values, sequence and timestamp jumps: the SFU's own packet path (VP8 descriptor and
//!   keyframe parsing, audio levels, layer choice, rewriting, forwarding to bob).
//!
//! Afterwards nobody was removed, and a valid keyframe still reaches bob: garbage loses
//! nothing.

use proptest::prelude::*;
use str0m::rtp::SeqNo;

use super::*;

/// The established peer connections, (client, 0 = publisher / 1 = subscriber): alice's
/// two, bob's subscriber (bob publishes nothing, so his publisher connection never starts).
const ESTABLISHED: [(usize, usize); 3] = [(0, 0), (0, 1), (1, 1)];

#[derive(Debug, Clone)]
enum Fuzz {
    /// Any datagram, from one of the established connections' addresses.
    Raw { from: usize, data: Vec<u8> },
    /// Encrypted RTP on alice's camera.
    Video { payload: Vec<u8>, marker: bool, seq_jump: u16, ts_jump: u32 },
    /// Encrypted RTP on alice's microphone, with any audio level.
    Audio { payload: Vec<u8>, level: Option<i8>, voice: Option<bool>, seq_jump: u16 },
}

/// Datagrams shaped like what the SFU demultiplexes (RFC 7983: STUN, DTLS, RTP/RTCP), and
/// anything at all.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![Just(0u8), Just(1), Just(20), Just(22), Just(23), Just(0x80), Just(0x90), any::<u8>()];
    (first, proptest::collection::vec(any::<u8>(), 0..600)).prop_map(|(first, mut rest)| {
        rest.insert(0, first);
        rest
    })
}

/// VP8 payloads: a plausible descriptor (picture id, TL0PICIDX, key frames or not) in front
/// of anything, or anything at all.
fn vp8_payload() -> impl Strategy<Value = Vec<u8>> {
    let descriptor =
        (any::<u8>(), any::<u8>(), any::<u16>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..300)).prop_map(
            |(required, extension, picture_id, tl0, rest)| {
                let mut p = vec![required | 0x80, extension, 0x80 | (picture_id >> 8) as u8, picture_id as u8, tl0];
                p.extend(rest);
                p
            },
        );
    prop_oneof![descriptor, proptest::collection::vec(any::<u8>(), 0..300)]
}

/// How far alice's sequence numbers move: the next one, or a gap of lost packets. Never
/// 2^15 or more, which no sender does: the receiver could not tell it from an old packet
/// and its SRTP rollover counter would fall out of step (RFC 3711 §3.3.1).
fn seq_jump() -> impl Strategy<Value = u16> {
    prop_oneof![Just(1u16), 1u16..3000]
}

fn fuzz() -> impl Strategy<Value = Fuzz> {
    prop_oneof![
        (0..ESTABLISHED.len(), datagram()).prop_map(|(from, data)| Fuzz::Raw { from, data }),
        (vp8_payload(), any::<bool>(), seq_jump(), prop_oneof![Just(3000u32), any::<u32>()])
            .prop_map(|(payload, marker, seq_jump, ts_jump)| Fuzz::Video { payload, marker, seq_jump, ts_jump }),
        (
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::option::of(any::<i8>()),
            proptest::option::of(any::<bool>()),
            seq_jump()
        )
            .prop_map(|(payload, level, voice, seq_jump)| Fuzz::Audio { payload, level, voice, seq_jump }),
    ]
}

/// Where alice's next packet on a track goes: sequence number and RTP time.
#[derive(Default)]
struct Cursor {
    seq: u64,
    time: u32,
}

struct Room {
    sfu: Sfu,
    sink: Recorder,
    net: Net,
    cam: Mid,
    mic: Mid,
    cam_at: Cursor,
    mic_at: Cursor,
}

impl Room {
    /// Alice publishes a camera and a microphone, bob subscribes to both; every peer
    /// connection is established.
    fn established() -> Self {
        Self::established_over(false)
    }

    /// [`Room::established`] with clients that have TCP candidates only (ICE over TCP to
    /// the SFU's passive TCP candidate) when `tcp`.
    fn established_over(tcp: bool) -> Self {
        let t0 = Instant::now();
        // Bandwidth estimation on (the default): forwarding goes through the pacer.
        let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
        net.rtp_mode = true;
        if tcp {
            sfu.set_tcp_host("127.0.0.1:7883".parse().unwrap());
            net.tcp = true;
        }
        let alice = net.join(&mut sfu, &mut sink, A, req("alice", FULL));
        let bob = net.join(&mut sfu, &mut sink, B, req("bob", FULL));
        let (_, cam) = net.publish(&mut sfu, &mut sink, alice, "cam", TrackKind::Video);
        let (_, mic) = net.publish(&mut sfu, &mut sink, alice, "mic", TrackKind::Audio);
        net.answer(&mut sfu, &mut sink, bob);
        for (client, role) in ESTABLISHED {
            let c = &net.clients[client];
            assert!([&c.publisher, &c.subscriber][role].is_connected(), "{:?} connection {role} is up", c.key);
        }
        Room { sfu, sink, net, cam, mic, cam_at: Cursor::default(), mic_at: Cursor::default() }
    }

    /// Writes one RTP packet on alice's track `mid` (encrypted by her str0m session).
    fn write(&mut self, mid: Mid, seq_jump: u16, ts_jump: u32, payload: Vec<u8>, marker: bool, ext: ExtensionValues) {
        let now = self.net.now;
        let at = if mid == self.cam { &mut self.cam_at } else { &mut self.mic_at };
        at.seq += u64::from(seq_jump.max(1));
        at.time = at.time.wrapping_add(ts_jump);
        let rtc = &mut self.net.clients[0].publisher;
        let codec = if mid == self.cam { Codec::Vp8 } else { Codec::Opus };
        let remote = rtc.media(mid).expect("negotiated").remote_pts().to_vec();
        let pt = rtc
            .codec_config()
            .find(|p| p.spec().codec == codec && remote.contains(&p.pt()))
            .expect("the codec is negotiated")
            .pt();
        let mut api = rtc.direct_api();
        let tx = api.stream_tx_by_mid(mid, None).expect("a send stream");
        let rtp =
            RtpWrite::new(pt, SeqNo::from(at.seq), at.time, now, payload).marker(marker).ext_vals(ext).nackable(true);
        tx.write_rtp(rtp);
    }

    fn apply(&mut self, input: Fuzz) {
        match input {
            Fuzz::Raw { from, data } => {
                let (client, role) = ESTABLISHED[from];
                let addr = self.net.clients[client].addrs[role];
                self.sfu.handle_receive(self.net.now, addr, &data, &mut self.sink);
            }
            Fuzz::Video { payload, marker, seq_jump, ts_jump } => {
                self.write(self.cam, seq_jump, ts_jump, payload, marker, ExtensionValues::default())
            }
            Fuzz::Audio { payload, level, voice, seq_jump } => {
                let ext = ExtensionValues { audio_level: level, voice_activity: voice, ..Default::default() };
                self.write(self.mic, seq_jump, 960, payload, true, ext)
            }
        }
        self.net.pump(&mut self.sfu, &mut self.sink);
    }

    /// Valid VP8 keyframes (one packet each) on alice's camera; returns how many RTP
    /// packets bob's subscriber connection received meanwhile.
    fn keyframes(&mut self, n: usize) -> usize {
        let before = self.net.clients[1].rtp_received;
        for i in 0..n {
            let picture_id = 0x8000 | (i as u16 & 0x7fff);
            // Descriptor: X, S, partition 0; I (15-bit picture id). Then a key frame's
            // payload header (P bit clear) and some bytes.
            let mut payload = vec![0x90, 0x80, (picture_id >> 8) as u8, picture_id as u8, 0x10, 0x02, 0x00];
            payload.extend_from_slice(&[0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
            payload.resize(200, 0x55);
            self.write(self.cam, 1, 3000, payload, true, ExtensionValues::default());
            self.net.pump(&mut self.sfu, &mut self.sink);
        }
        // The pacer releases what it holds over the next moments.
        for _ in 0..100 {
            self.net.now += Duration::from_millis(10);
            self.sfu.handle_timeout(self.net.now, &mut self.sink);
            self.net.pump(&mut self.sfu, &mut self.sink);
        }
        self.net.clients[1].rtp_received - before
    }
}

/// Clients that cannot use UDP connect over ICE-TCP (their TCP candidates pair with the
/// SFU's passive one), and media flows on it: nothing goes out over UDP.
#[test]
fn clients_without_udp_connect_over_tcp_and_receive_media() {
    let mut room = Room::established_over(true);
    assert!(room.keyframes(5) >= 5, "bob receives alice's keyframes over TCP");
    assert!(room.sink.sent_by.get("Tcp").is_some_and(|n| *n > 0), "{:?}", room.sink.sent_by);
    assert_eq!(room.sink.sent_by.get("Udp"), None, "nothing over UDP: {:?}", room.sink.sent_by);
}

#[test]
fn an_established_room_forwards_keyframes_to_its_subscriber() {
    // The baseline the fuzz run's last check relies on.
    let mut room = Room::established();
    assert!(room.keyframes(5) >= 3, "bob receives alice's video");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn garbage_from_established_peers_is_survived_and_loses_nothing(
        inputs in proptest::collection::vec(fuzz(), 1..120),
    ) {
        let mut room = Room::established();
        let n = inputs.len();
        let t0 = room.net.now;
        for input in inputs {
            room.apply(input);
        }
        let elapsed = room.net.now - t0;
        prop_assert_eq!(room.sfu.participant_count(), 2, "garbage removes nobody");
        prop_assert!(room.sink.removed(A).is_none() && room.sink.removed(B).is_none());
        let got = room.keyframes(8);
        prop_assert!(got >= 3, "valid video still reaches bob after the garbage: {} packets ({} inputs, {:?} simulated)", got, n, elapsed);
    }
}
