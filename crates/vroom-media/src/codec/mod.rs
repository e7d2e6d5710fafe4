//! Codec specifics the forwarder needs, one file per codec (a new codec is a new file):
//! frame starts, keyframes and payload rewrites, read from the RTP payload without
//! depacketizing it, plus which video codec a publisher's section sends.
//!
//! Pure functions of packets and negotiated parameters: no state, no I/O.

pub mod h264;
pub mod vp8;

use str0m::Rtc;
use str0m::format::Codec;
use str0m::media::Mid;

/// The video codec a publisher's section sends: H.264 if the client asked for it and it was
/// negotiated, else the first codec of the client's that we support (the browser sends the
/// first of the answer, which keeps the offer's order).
pub fn video_mime(rtc: &Rtc, mid: Mid, prefers_h264: bool) -> &'static str {
    let Some(media) = rtc.media(mid) else { return "video/VP8" };
    let mimes = || {
        media.remote_pts().iter().filter_map(|pt| rtc.codec_config().find(|p| p.pt() == *pt)).filter_map(|p| {
            match p.spec().codec {
                Codec::H264 => Some("video/H264"),
                Codec::Vp8 => Some("video/VP8"),
                _ => None,
            }
        })
    };
    if prefers_h264 && mimes().any(|m| m == "video/H264") {
        return "video/H264";
    }
    mimes().next().unwrap_or("video/VP8")
}
