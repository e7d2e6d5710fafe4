//! Property-based fuzzing of the media core's own packet handling: whatever datagrams reach
//! the worker's socket from addresses no peer uses (what anyone on the network can send),
//! the SFU does not panic; whatever sequence of packets and layer switches the rewriter
//! sees, each subscriber's stream stays continuous. What established peers can send (past
//! ICE, DTLS and SRTP) is fuzzed in `sfu::tests::fuzz_established`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use vroom_media::rewrite::{Incoming, Rewriter, Vp8Ids};
use vroom_media::sfu::{Sfu, Sink};
use vroom_media::{JoinRequest, MediaEvent, MediaPermission, ParticipantKey, Presence};

struct Discard;

impl Sink for Discard {
    fn transmit(&mut self, _: str0m::net::Protocol, _: SocketAddr, _: &[u8]) {}
    fn event(&mut self, _: ParticipantKey, _: MediaEvent) {}
    fn presence(&mut self, _: Presence) {}
}

/// Datagrams shaped like what the socket demultiplexes (RFC 7983): STUN, DTLS, RTP/RTCP,
/// plus anything at all.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![Just(0u8), Just(1), Just(22), Just(23), Just(0x80), Just(0x90), Just(0xbf), any::<u8>()];
    (first, proptest::collection::vec(any::<u8>(), 0..1500)).prop_map(|(first, mut rest)| {
        rest.insert(0, first);
        rest
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_datagram_from_anywhere_is_survived(
        datagrams in proptest::collection::vec((datagram(), 0u8..4), 1..40),
    ) {
        let t0 = Instant::now();
        let host: SocketAddr = "127.0.0.1:7882".parse().unwrap();
        let mut sfu = Sfu::new(host, t0, 1_700_000_000_000);
        let permission = MediaPermission { can_publish: true, can_subscribe: true, can_publish_data: true, hidden: false };
        for (i, identity) in ["a", "b"].into_iter().enumerate() {
            let request = JoinRequest {
                room: "room".into(),
                identity: identity.into(),
                name: identity.into(),
                metadata: "{}".into(),
                permission,
                auto_subscribe: true,
                can_update_metadata: true,
                attributes: Default::default(),
            };
            sfu.join(t0, ParticipantKey(i as u64 + 1), request, &mut Discard);
        }
        let mut now = t0;
        for (data, from) in &datagrams {
            now += Duration::from_millis(3);
            let source = SocketAddr::from(([127, 0, 0, 1], 40_000 + u16::from(*from)));
            sfu.handle_receive(now, source, data, &mut Discard);
            sfu.handle_timeout(now, &mut Discard);
        }
        prop_assert_eq!(sfu.participant_count(), 2, "garbage removes nobody");
    }
}

/// One run of packets of one incoming stream: where its numbers start, how many packets,
/// and the pause before it starts.
#[derive(Debug, Clone)]
struct Run {
    seq: u64,
    timestamp: u32,
    picture_id: u16,
    tl0: u8,
    packets: u64,
    pause_ms: u64,
}

fn run() -> impl Strategy<Value = Run> {
    (0u64..1 << 40, any::<u32>(), 0u16..0x8000, any::<u8>(), 1u64..50, 0u64..5_000).prop_map(
        |(seq, timestamp, picture_id, tl0, packets, pause_ms)| Run {
            seq,
            timestamp,
            picture_id,
            tl0,
            packets,
            pause_ms,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Runs of unrelated streams (simulcast layers, pauses) are spliced into one stream:
    /// sequence numbers without gaps or repeats, timestamps that never go back and advance
    /// by at least the real time between runs, picture ids and TL0PICIDX that continue.
    #[test]
    fn spliced_runs_form_one_continuous_stream(runs in proptest::collection::vec(run(), 1..12)) {
        let mut rewriter = Rewriter::new(90_000);
        let mut now = Instant::now();
        let mut last: Option<(u64, u32, u16, u8)> = None;
        for run in &runs {
            rewriter.break_epoch();
            now += Duration::from_millis(run.pause_ms);
            for i in 0..run.packets {
                // One frame per packet, 30 frames/s.
                let frame = i as u32;
                let at = now + Duration::from_micros(33_333 * i);
                let incoming = Incoming {
                    seq: run.seq + i,
                    timestamp: run.timestamp.wrapping_add(frame * 3_000),
                    vp8: Vp8Ids {
                        picture_id: Some((run.picture_id + i as u16) & 0x7fff),
                        tl0_pic_idx: Some(run.tl0.wrapping_add(frame as u8)),
                        key_idx: None,
                    },
                };
                let out = rewriter.rewrite(at, incoming).expect("in-order packets are forwarded");
                let pid = out.vp8.picture_id.expect("picture id");
                let tl0 = out.vp8.tl0_pic_idx.expect("tl0picidx");
                match last {
                    None => prop_assert!(out.seq < 1 << 16, "a new stream starts below the first rollover"),
                    Some((seq, ts, last_pid, last_tl0)) => {
                        prop_assert_eq!(out.seq, seq + 1);
                        let advance = out.timestamp.wrapping_sub(ts);
                        prop_assert!(advance > 0 && advance < 1 << 31, "timestamp went back: {} -> {}", ts, out.timestamp);
                        prop_assert_eq!(pid, (last_pid + 1) & 0x7fff);
                        prop_assert_eq!(tl0, last_tl0.wrapping_add(1));
                        if i == 0 {
                            // The pause shows in the timestamps (90 ticks per ms, at least one).
                            let min = (run.pause_ms * 90).max(1) as u32;
                            prop_assert!(advance >= min, "advance {} < {}", advance, min);
                        }
                    }
                }
                last = Some((out.seq, out.timestamp, pid, tl0));
            }
            now += Duration::from_micros(33_333 * (run.packets - 1));
        }
    }
}
