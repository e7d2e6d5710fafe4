//! The packet path: one RTP packet of a publisher written to every subscriber media section
//! its forward feeds, and keyframe requests back to the publisher.

use std::time::Instant;

use str0m::format::Codec;
use str0m::media::{KeyframeRequestKind, Mid, Rid};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Vp8Descriptor};
use tracing::debug;

use super::connections::{PeerRef, Source, drive};
use super::{Sfu, Sink};
use crate::codec;
use crate::model::*;
use crate::rewrite::{Incoming, Vp8Ids};

impl Sfu {
    /// Forwards one RTP packet of `owner`'s to every subscriber that gets it.
    pub(super) fn forward(&mut self, owner: ParticipantKey, packet: RtpPacket, sink: &mut impl Sink) {
        let Some(publisher) = self.connections.get_mut(&owner) else { return };
        let cache_key = (packet.header.ssrc, packet.header.payload_type);
        let source = match publisher.sources.get(&cache_key) {
            Some(source) => *source,
            None => {
                let Some(source) = Source::of(&mut publisher.publisher.rtc, &packet) else { return };
                publisher.sources.insert(cache_key, source);
                source
            }
        };
        let Some(forward) = self.forwards.get_mut(&(owner, source.mid)) else { return };
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
        let (connections, events) = (&mut self.connections, &mut self.events);
        let requests = forward.on_packet(now, source.rid, frame_start, keyframe, |outlet| {
            let (subscriber, out_mid) = outlet.target;
            let Some(c) = connections.get_mut(&subscriber) else { return };
            let peer = &mut c.subscriber;
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
                stream.set_unpaced(!c.downlink.paced);
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
            drive(now, PeerRef { owner: subscriber, role: PeerRole::Subscriber }, peer, events, sink);
        });
        for rid in requests.iter() {
            self.request_keyframe(now, (owner, source.mid), rid, sink);
        }
    }

    /// Asks the publisher of `source` (publisher, its media section) for a keyframe of a layer.
    pub(super) fn request_keyframe(
        &mut self,
        now: Instant,
        source: (ParticipantKey, Mid),
        rid: Option<Rid>,
        sink: &mut impl Sink,
    ) {
        let (owner, mid) = source;
        let Some(c) = self.connections.get_mut(&owner) else { return };
        match c.publisher.rtc.direct_api().stream_rx_by_mid(mid, rid) {
            Some(stream) => stream.request_keyframe(KeyframeRequestKind::Pli),
            None => debug!(%mid, ?rid, "keyframe request for a stream not received yet"),
        }
        drive(now, PeerRef { owner, role: PeerRole::Publisher }, &mut c.publisher, &mut self.events, sink);
    }
}
