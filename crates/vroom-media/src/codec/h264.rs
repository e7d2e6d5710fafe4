//! H.264 (RFC 6184) as the forwarder needs it: only whether a packet begins a keyframe.
//! The payload is never depacketized.

use str0m::format::{detect_h264_keyframe, detect_h264_nalu};

/// Whether an H.264 packet begins a keyframe: browsers send the sequence parameter set
/// (NAL type 7) first, then the IDR slice (type 5).
pub fn starts_keyframe(payload: &[u8]) -> bool {
    detect_h264_nalu(payload, 7) || detect_h264_keyframe(payload)
}

#[cfg(test)]
mod tests {
    use super::starts_keyframe;

    #[test]
    fn an_sps_or_an_idr_slice_begins_a_keyframe() {
        assert!(starts_keyframe(&[0x67, 0x42, 0x00, 0x1f]), "single NAL unit: SPS");
        assert!(starts_keyframe(&[0x65, 0x88, 0x84]), "single NAL unit: IDR slice");
        // STAP-A (type 24) aggregating an SPS (size 2) and a PPS.
        assert!(starts_keyframe(&[0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce]));
        assert!(!starts_keyframe(&[0x41, 0x9a, 0x02]), "a non-IDR slice");
        assert!(!starts_keyframe(&[]));
    }
}
