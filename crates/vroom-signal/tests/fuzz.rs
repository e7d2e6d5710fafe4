//! Property-based fuzzing of what the network hands the media server: signalling frames,
//! access tokens and data-channel payloads. Whatever arrives, the answer is a value (an
//! action, a refusal, a routing error), never a panic.

use livekit_protocol as lk;
use livekit_protocol::signal_request;
use proptest::prelude::*;
use prost::Message;
use vroom_media::data::{self, DataKind, Sender};
use vroom_signal::TokenVerifier;
use vroom_signal::connection::handle_request;

/// Valid requests of several kinds, encoded: the seeds that mutations start from.
fn seeds() -> Vec<Vec<u8>> {
    let msgs = vec![
        signal_request::Message::Offer(lk::SessionDescription {
            r#type: "offer".into(),
            sdp: "v=0\r\n".into(),
            ..Default::default()
        }),
        signal_request::Message::Trickle(lk::TrickleRequest {
            candidate_init: r#"{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}"#.into(),
            target: 1,
            ..Default::default()
        }),
        signal_request::Message::AddTrack(lk::AddTrackRequest {
            cid: "c".into(),
            name: "cam".into(),
            ..Default::default()
        }),
        signal_request::Message::Ping(42),
        signal_request::Message::Leave(lk::LeaveRequest::default()),
    ];
    msgs.into_iter().map(|m| lk::SignalRequest { message: Some(m) }.encode_to_vec()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = handle_request(&bytes);
    }

    #[test]
    fn mutated_valid_frames_never_panic(seed in 0usize..5, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16), cut in any::<usize>()) {
        let mut bytes = seeds()[seed].clone();
        for (at, value) in flips {
            let len = bytes.len();
            bytes[at % len] ^= value;
        }
        let cut = cut % (bytes.len() + 1);
        let _ = handle_request(&bytes[..cut]);
        let _ = handle_request(&bytes);
    }

    #[test]
    fn arbitrary_tokens_are_refused_without_panic(token in ".{0,600}", parts in proptest::collection::vec("[A-Za-z0-9_-]{0,80}", 0..5)) {
        let verifier = TokenVerifier::new("key", "secret");
        prop_assert!(verifier.verify(&token).is_err());
        prop_assert!(verifier.verify(&parts.join(".")).is_err());
    }

    #[test]
    fn arbitrary_data_packets_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048), lossy in any::<bool>(), hidden in any::<bool>()) {
        let sender = Sender { sid: "PA_x", identity: "alice", hidden, can_publish_data: true };
        let kind = if lossy { DataKind::Lossy } else { DataKind::Reliable };
        let mut last = 0;
        let _ = data::route(&raw, kind, sender, &mut last);
    }
}
