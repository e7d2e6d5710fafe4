//! Per-subscriber RTP rewriting: what makes one outgoing stream out of whatever layers and
//! pauses a publisher's track went through.
//!
//! A subscriber's media section has one SSRC and must see sequence numbers without gaps we
//! made, RTP timestamps that advance with real time, and (VP8) picture ids, TL0PICIDX and
//! KEYIDX that continue where they left off — across simulcast switches (each layer has
//! its own numbering and its own timestamp base) and across pauses (mute, disabled,
//! unsubscribed). A [`Rewriter`] does that with one *epoch* per continuous run of one
//! incoming stream: inside an epoch every field is the incoming one plus a fixed delta, so
//! reordered and retransmitted packets map to the same numbers; a new epoch (at a keyframe)
//! picks deltas that continue from the last packet sent. Pure and allocation-free.

use std::time::Instant;

/// VP8 payload-descriptor fields that must be continuous for the decoder (RFC 7741 §4.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vp8Ids {
    /// 15-bit picture id (a 7-bit one is handled by the caller masking it).
    pub picture_id: Option<u16>,
    pub tl0_pic_idx: Option<u8>,
    /// 5-bit key index.
    pub key_idx: Option<u8>,
}

/// One incoming packet, as far as rewriting is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Incoming {
    /// Extended sequence number of the incoming stream.
    pub seq: u64,
    pub timestamp: u32,
    pub vp8: Vp8Ids,
}

/// The numbers the packet carries to this subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    pub seq: u64,
    pub timestamp: u32,
    pub vp8: Vp8Ids,
    /// Whether any VP8 field differs from the incoming one (a payload patch is needed).
    pub vp8_changed: bool,
}

const PICTURE_ID_MASK: u16 = 0x7fff;
const MAX_TIMESTAMP_JUMP: u64 = 1 << 30;
const KEY_IDX_MASK: u8 = 0x1f;

#[derive(Debug, Clone, Copy)]
struct Epoch {
    first_seq: u64,
    seq_delta: u64,
    ts_delta: u32,
    picture_id_delta: u16,
    tl0_delta: u8,
    key_idx_delta: u8,
}

/// What was last sent, for continuing in the next epoch.
#[derive(Debug, Clone, Copy)]
struct Sent {
    max_seq: u64,
    timestamp: u32,
    at: Instant,
    vp8: Vp8Ids,
}

#[derive(Debug, Clone)]
pub struct Rewriter {
    /// RTP clock rate of the media (90 kHz video, 48 kHz Opus).
    clock_rate: u32,
    epoch: Option<Epoch>,
    sent: Option<Sent>,
}

impl Rewriter {
    pub fn new(clock_rate: u32) -> Self {
        Self { clock_rate, epoch: None, sent: None }
    }

    /// Ends the current epoch: the next packet rewritten starts a new one (call it when the
    /// forwarded stream changes or resumes after a pause, at a keyframe for video).
    pub fn break_epoch(&mut self) {
        self.epoch = None;
    }

    /// Maps one packet arriving at `now`. `None` drops it: it belongs before the current
    /// epoch (a late packet of the stream forwarded before a switch or a pause).
    pub fn rewrite(&mut self, now: Instant, packet: Incoming) -> Option<Outgoing> {
        let epoch = match self.epoch {
            Some(epoch) => {
                if packet.seq < epoch.first_seq {
                    return None;
                }
                epoch
            }
            None => {
                let epoch = self.start_epoch(now, packet);
                self.epoch = Some(epoch);
                epoch
            }
        };
        let vp8 = Vp8Ids {
            picture_id: packet.vp8.picture_id.map(|p| p.wrapping_add(epoch.picture_id_delta) & PICTURE_ID_MASK),
            tl0_pic_idx: packet.vp8.tl0_pic_idx.map(|t| t.wrapping_add(epoch.tl0_delta)),
            key_idx: packet.vp8.key_idx.map(|k| k.wrapping_add(epoch.key_idx_delta) & KEY_IDX_MASK),
        };
        let out = Outgoing {
            seq: packet.seq.wrapping_add(epoch.seq_delta),
            timestamp: packet.timestamp.wrapping_add(epoch.ts_delta),
            vp8,
            vp8_changed: vp8 != packet.vp8,
        };
        match &mut self.sent {
            Some(sent) if out.seq <= sent.max_seq => {}
            sent => {
                *sent = Some(Sent { max_seq: out.seq, timestamp: out.timestamp, at: now, vp8: merge(out.vp8, sent) })
            }
        }
        Some(out)
    }

    fn start_epoch(&self, now: Instant, packet: Incoming) -> Epoch {
        let Some(sent) = self.sent else {
            // First packet ever: keep the publisher's numbers, except that the sequence number
            // starts below 2^16 (a receiver assumes rollover count 0 for a new SSRC).
            return Epoch {
                first_seq: packet.seq,
                seq_delta: (packet.seq & 0xffff).wrapping_sub(packet.seq),
                ts_delta: 0,
                picture_id_delta: 0,
                tl0_delta: 0,
                key_idx_delta: 0,
            };
        };
        // Continue where the last epoch stopped: the timestamp advances by the real time that
        // passed (at least one tick, so the frame is new to the receiver's jitter buffer).
        let elapsed = now.saturating_duration_since(sent.at);
        // At most 2^30 ticks (3.3 h at 90 kHz): a receiver reads a jump of 2^31 or more as
        // going back in time.
        let ticks = (elapsed.as_micros() as u64 * u64::from(self.clock_rate) / 1_000_000).clamp(1, MAX_TIMESTAMP_JUMP);
        let timestamp = sent.timestamp.wrapping_add(ticks as u32);
        let delta_of = |next: Option<u16>, incoming: Option<u16>, mask: u16| match (next, incoming) {
            (Some(next), Some(incoming)) => next.wrapping_sub(incoming) & mask,
            _ => 0,
        };
        Epoch {
            first_seq: packet.seq,
            seq_delta: (sent.max_seq + 1).wrapping_sub(packet.seq),
            ts_delta: timestamp.wrapping_sub(packet.timestamp),
            picture_id_delta: delta_of(
                sent.vp8.picture_id.map(|p| p.wrapping_add(1)),
                packet.vp8.picture_id,
                PICTURE_ID_MASK,
            ),
            tl0_delta: sent
                .vp8
                .tl0_pic_idx
                .zip(packet.vp8.tl0_pic_idx)
                .map_or(0, |(last, incoming)| last.wrapping_add(1).wrapping_sub(incoming)),
            key_idx_delta: delta_of(
                sent.vp8.key_idx.map(|k| u16::from(k) + 1),
                packet.vp8.key_idx.map(u16::from),
                u16::from(KEY_IDX_MASK),
            ) as u8,
        }
    }
}

/// The VP8 ids to remember: the new packet's, keeping older ones it does not carry.
fn merge(ids: Vp8Ids, previous: &Option<Sent>) -> Vp8Ids {
    let old = previous.map(|s| s.vp8).unwrap_or_default();
    Vp8Ids {
        picture_id: ids.picture_id.or(old.picture_id),
        tl0_pic_idx: ids.tl0_pic_idx.or(old.tl0_pic_idx),
        key_idx: ids.key_idx.or(old.key_idx),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    fn vp8(picture_id: u16, tl0: u8, key: u8) -> Vp8Ids {
        Vp8Ids { picture_id: Some(picture_id), tl0_pic_idx: Some(tl0), key_idx: Some(key) }
    }

    fn pkt(seq: u64, timestamp: u32, ids: Vp8Ids) -> Incoming {
        Incoming { seq, timestamp, vp8: ids }
    }

    #[test]
    fn the_first_epoch_keeps_the_numbers_but_starts_below_the_first_rollover() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(90_000);
        let a = r.rewrite(t0, pkt(3 * 65_536 + 100, 5_000, vp8(7, 3, 1))).unwrap();
        assert_eq!((a.seq, a.timestamp, a.vp8, a.vp8_changed), (100, 5_000, vp8(7, 3, 1), false));
        let b = r.rewrite(ms(t0, 1), pkt(3 * 65_536 + 102, 8_000, vp8(8, 3, 1))).unwrap();
        assert_eq!(b.seq, 102);
        // Reordered and retransmitted packets of the epoch map the same way...
        let late = r.rewrite(ms(t0, 2), pkt(3 * 65_536 + 101, 5_000, vp8(7, 3, 1))).unwrap();
        assert_eq!(late.seq, 101);
        // ...but what precedes the packet that started the epoch is not forwarded.
        assert_eq!(r.rewrite(ms(t0, 3), pkt(3 * 65_536 + 99, 4_000, vp8(6, 3, 1))), None);
    }

    #[test]
    fn a_switch_continues_sequence_timestamp_and_vp8_ids() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(90_000);
        // Layer "q": seq 1000.., ts 90_000.., picture id 32_760 (about to wrap), tl0 255.
        for i in 0..3u64 {
            r.rewrite(ms(t0, i * 33), pkt(1_000 + i, 90_000 + i as u32 * 3_000, vp8(32_760 + i as u16, 255, 31)))
                .unwrap();
        }
        // Switch to layer "h" 100 ms after the last packet: unrelated numbers.
        r.break_epoch();
        let first = r.rewrite(ms(t0, 166), pkt(50_000, 1_234_567, vp8(400, 17, 2))).unwrap();
        assert_eq!(first.seq, 1_003, "sequence continues without a gap");
        assert_eq!(first.timestamp, 90_000 + 6_000 + 9_000, "timestamp advances by 100 ms of 90 kHz");
        assert_eq!(first.vp8, vp8(32_763, 0, 0), "picture id, TL0PICIDX and KEYIDX continue (wrapping)");
        assert!(first.vp8_changed);
        let next = r.rewrite(ms(t0, 199), pkt(50_001, 1_234_567 + 3_000, vp8(401, 17, 2))).unwrap();
        assert_eq!((next.seq, next.timestamp), (1_004, 105_000 + 3_000));
        assert_eq!(next.vp8.picture_id, Some(32_764));
        // A late packet of the old layer, or of the new one from before the switch, is dropped.
        assert_eq!(r.rewrite(ms(t0, 200), pkt(49_999, 1_231_567, vp8(399, 17, 2))), None);
    }

    #[test]
    fn a_pause_on_the_same_stream_leaves_no_sequence_gap() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(48_000);
        let none = Vp8Ids::default();
        r.rewrite(t0, pkt(10, 0, none)).unwrap();
        r.rewrite(ms(t0, 20), pkt(11, 960, none)).unwrap();
        r.break_epoch();
        // 500 packets were not forwarded (muted); resuming 10 s later.
        let resumed = r.rewrite(ms(t0, 10_020), pkt(511, 480_960, none)).unwrap();
        assert_eq!(resumed.seq, 12, "the subscriber sees no loss");
        assert_eq!(resumed.timestamp, 960 + 480_000, "time still advanced by 10 s");
        assert!(!resumed.vp8_changed);
    }

    #[test]
    fn sequence_numbers_roll_over_within_an_epoch() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(90_000);
        let none = Vp8Ids::default();
        assert_eq!(r.rewrite(t0, pkt(65_535, 0, none)).unwrap().seq, 65_535);
        assert_eq!(r.rewrite(t0, pkt(65_536, 0, none)).unwrap().seq, 65_536);
    }

    #[test]
    fn a_pause_of_hours_still_moves_the_timestamp_forward() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(90_000);
        let none = Vp8Ids::default();
        let before = r.rewrite(t0, pkt(1, 0, none)).unwrap().timestamp;
        r.break_epoch();
        let after = r.rewrite(t0 + Duration::from_secs(24 * 3600), pkt(2, 7, none)).unwrap().timestamp;
        let advance = after.wrapping_sub(before);
        assert!(advance > 0 && advance < 1 << 31, "read as a step back: {advance}");
    }
}
