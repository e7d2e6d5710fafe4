//! Synthetic media: what publishers send instead of encoded video and audio.
//!
//! An SFU never decodes, so the bytes only have to look right where SFUs look: VP8 frames
//! start with a valid frame tag (keyframe bit, and the keyframe start code with a size) so
//! keyframe detection and layer switching work, and their sizes follow a 720p-like encoder
//! (a large keyframe every N frames, deltas around the mean). Opus packets are
//! voice-sized. Every frame ends with a [`Trailer`]: a marker and the send time, so
//! subscribers measure one-way latency (publisher and subscriber share this process's
//! clock). The trailer rides at the end of a frame, which is the end of the frame's last
//! RTP packet (the one with the marker bit) whether the SFU forwards packets as they are
//! or repacketizes frames.

use std::sync::OnceLock;
use std::time::Instant;

/// Marks the send-time trailer (so a frame without one is not misread).
const MAGIC: [u8; 4] = *b"VRLT";
/// Bytes added at the end of each frame: [`MAGIC`] then microseconds since [`epoch`].
pub const TRAILER_LEN: usize = 12;

/// The process-wide time origin of send timestamps.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds from [`epoch`] to `t`.
pub fn micros(t: Instant) -> u64 {
    t.saturating_duration_since(epoch()).as_micros() as u64
}

/// The send time written by [`Trailer::write`], if `payload` ends with a trailer.
pub fn read_trailer(payload: &[u8]) -> Option<u64> {
    let tail = payload.len().checked_sub(TRAILER_LEN).map(|i| &payload[i..])?;
    (tail[..4] == MAGIC).then(|| u64::from_le_bytes(tail[4..].try_into().expect("8 bytes")))
}

/// Writes the trailer into the last [`TRAILER_LEN`] bytes of a frame.
pub struct Trailer;

impl Trailer {
    pub fn write(frame: &mut [u8], sent: Instant) {
        let at = frame.len() - TRAILER_LEN;
        frame[at..at + 4].copy_from_slice(&MAGIC);
        frame[at + 4..].copy_from_slice(&micros(sent).to_le_bytes());
    }
}

/// A small, fast PRNG (xorshift64*): sizes only need to vary, not to be unpredictable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[1 - spread, 1 + spread]`.
    pub fn factor(&mut self, spread: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        1.0 - spread + 2.0 * spread * unit
    }
}

/// One encoded-looking video stream (a simulcast layer, or the only one).
#[derive(Debug, Clone)]
pub struct VideoSource {
    pub width: u16,
    pub height: u16,
    /// Frames between keyframes (keyframe included).
    pub keyframe_interval: u32,
    delta_bytes: f64,
    keyframe_bytes: f64,
    frame: u64,
    force_keyframe: bool,
    rng: Rng,
}

/// How much larger a keyframe is than a delta frame (typical for 720p camera content).
const KEYFRAME_RATIO: f64 = 8.0;

impl VideoSource {
    /// A stream averaging `bitrate` bit/s at `fps` frames per second.
    pub fn new(width: u16, height: u16, bitrate: u64, fps: u32, keyframe_interval: u32, seed: u64) -> Self {
        let k = keyframe_interval.max(1) as f64;
        // Per keyframe interval: (k - 1) deltas and one keyframe of KEYFRAME_RATIO deltas.
        let interval_bytes = bitrate as f64 / 8.0 / fps.max(1) as f64 * k;
        let delta = interval_bytes / (k - 1.0 + KEYFRAME_RATIO);
        Self {
            width,
            height,
            keyframe_interval: keyframe_interval.max(1),
            delta_bytes: delta,
            keyframe_bytes: delta * KEYFRAME_RATIO,
            frame: 0,
            force_keyframe: false,
            rng: Rng::new(seed),
        }
    }

    /// The next frame is a keyframe (the SFU asked for one).
    pub fn request_keyframe(&mut self) {
        self.force_keyframe = true;
    }

    /// The next frame's bytes and whether it is a keyframe.
    pub fn next_frame(&mut self, now: Instant) -> (Vec<u8>, bool) {
        let keyframe = self.force_keyframe || self.frame.is_multiple_of(self.keyframe_interval as u64);
        if keyframe {
            // Restart the cadence so forced keyframes do not add to the scheduled ones.
            self.frame = 0;
            self.force_keyframe = false;
        }
        self.frame += 1;
        let mean = if keyframe { self.keyframe_bytes } else { self.delta_bytes };
        let len = ((mean * self.rng.factor(0.3)) as usize).max(10 + TRAILER_LEN + 4);
        let mut frame = vec![0u8; len];
        vp8_header(&mut frame, keyframe, self.width, self.height);
        // Non-zero filler, so nothing on the path can get away with treating it as padding.
        let fill = (self.rng.next_u64() & 0xff) as u8 | 1;
        let end = len - TRAILER_LEN;
        frame[10..end].fill(fill);
        Trailer::write(&mut frame, now);
        (frame, keyframe)
    }
}

/// Writes a VP8 frame tag (RFC 6386 §9.1), plus the start code and size on keyframes.
fn vp8_header(frame: &mut [u8], keyframe: bool, width: u16, height: u16) {
    // Bit 0: 0 = keyframe; bits 1-3 version 0; bit 4 show_frame; bits 5-23 the first
    // partition's size, which must fit in the frame.
    let first_partition = ((frame.len() - 10) / 4) as u32 & 0x7_ffff;
    let tag = u32::from(!keyframe) | (1 << 4) | (first_partition << 5);
    frame[..3].copy_from_slice(&tag.to_le_bytes()[..3]);
    if keyframe {
        frame[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        frame[6..8].copy_from_slice(&(width & 0x3fff).to_le_bytes());
        frame[8..10].copy_from_slice(&(height & 0x3fff).to_le_bytes());
    }
}

/// Opus packets of a voice stream: 20 ms each, sized around `bitrate`.
#[derive(Debug, Clone)]
pub struct AudioSource {
    bytes: f64,
    rng: Rng,
}

impl AudioSource {
    pub fn new(bitrate: u64, seed: u64) -> Self {
        Self { bytes: bitrate as f64 / 8.0 / 50.0, rng: Rng::new(seed) }
    }

    pub fn next_packet(&mut self, now: Instant) -> Vec<u8> {
        let len = ((self.bytes * self.rng.factor(0.2)) as usize).max(1 + TRAILER_LEN);
        let mut packet = vec![0x55u8; len];
        // TOC byte: config 11 (SILK wideband, 20 ms), mono, one frame.
        packet[0] = 11 << 3;
        Trailer::write(&mut packet, now);
        packet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_round_trips_and_needs_its_marker() {
        let t = epoch() + std::time::Duration::from_micros(123_456);
        let mut frame = vec![7u8; 40];
        Trailer::write(&mut frame, t);
        assert_eq!(read_trailer(&frame), Some(123_456));
        assert_eq!(read_trailer(&frame[..39]), None);
        assert_eq!(read_trailer(&[0u8; 5]), None);
    }

    #[test]
    fn video_frames_look_like_vp8_at_the_asked_bitrate() {
        let mut v = VideoSource::new(1280, 720, 1_500_000, 30, 60, 1);
        let now = Instant::now();
        let frames: Vec<_> = (0..600).map(|_| v.next_frame(now)).collect();
        let (key, _) = &frames[0];
        assert!(frames[0].1 && frames[60].1 && !frames[1].1);
        assert_eq!(key[0] & 1, 0, "keyframe bit");
        assert_eq!(&key[3..6], &[0x9d, 0x01, 0x2a]);
        assert_eq!(u16::from_le_bytes([key[6], key[7]]), 1280);
        assert_eq!(frames[1].0[0] & 1, 1, "delta bit");
        let bytes: usize = frames.iter().map(|(f, _)| f.len()).sum();
        let bitrate = bytes as f64 * 8.0 / 20.0;
        assert!((bitrate - 1_500_000.0).abs() < 100_000.0, "{bitrate}");
        v.request_keyframe();
        assert!(v.next_frame(now).1);
        assert!(!v.next_frame(now).1);
    }

    #[test]
    fn audio_packets_are_voice_sized() {
        let mut a = AudioSource::new(32_000, 2);
        let p = a.next_packet(Instant::now());
        assert!((60..=100).contains(&p.len()), "{}", p.len());
        assert!(read_trailer(&p).is_some());
    }
}
