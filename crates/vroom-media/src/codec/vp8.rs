//! VP8 (RFC 7741) as the forwarder needs it: where frames begin, and the payload
//! descriptor patch that gives a forwarded packet the subscriber's picture ids.

use str0m::rtp::Vp8Descriptor;

use crate::rewrite::Vp8Ids;

/// Whether a VP8 packet carries the beginning of a frame (RFC 7741: S bit, partition 0).
pub fn starts_frame(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & 0x10 != 0 && b & 0x07 == 0)
}

/// The payload patch giving a VP8 packet the subscriber's ids. A 7-bit picture id (Chrome
/// sends 15 bits) wraps at 128.
pub fn patch(descriptor: &Vp8Descriptor, ids: Vp8Ids) -> Option<str0m::rtp::Vp8Patch> {
    let build = |picture_id: Option<u16>| {
        let mut patch = descriptor.patch();
        if let Some(p) = picture_id {
            patch = patch.picture_id(p);
        }
        if let Some(t) = ids.tl0_pic_idx {
            patch = patch.tl0_pic_idx(t);
        }
        if let Some(k) = ids.key_idx {
            patch = patch.key_idx(k);
        }
        patch.build()
    };
    build(ids.picture_id).or_else(|_| build(ids.picture_id.map(|p| p & 0x7f))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_starts_at_partition_0_with_the_s_bit() {
        assert!(starts_frame(&[0x10, 0x00]));
        assert!(!starts_frame(&[0x00, 0x00]), "no S bit");
        assert!(!starts_frame(&[0x11, 0x00]), "S bit on partition 1");
        assert!(!starts_frame(&[]));
    }

    #[test]
    fn a_7_bit_picture_id_wraps_at_128() {
        // X=1, S=1; I=1; M=0: a 7-bit picture id (5).
        let payload = [0x90, 0x80, 0x05, 0x9d, 0x01, 0x2a];
        let descriptor = Vp8Descriptor::parse(&payload).expect("a VP8 descriptor");
        assert_eq!(descriptor.picture_id(), Some(5));
        let ids = Vp8Ids { picture_id: Some(300), ..Vp8Ids::default() };
        assert!(patch(&descriptor, ids).is_some(), "300 is written as 300 & 0x7f");
    }
}
