//! Which simulcast layer of a video track is forwarded, decided per incoming frame.
//!
//! Policy for this version: forward the best layer the publisher is currently sending (a
//! layer counts as sending if a frame arrived within [`LAYER_TIMEOUT`]). Switching happens
//! only on a keyframe of the new layer; until then the old one keeps flowing and a keyframe
//! is requested (at most every [`KEYFRAME_REQUEST_INTERVAL`]). One decision serves every
//! subscriber of the track; per-subscriber choice comes with bandwidth estimation.

use std::time::{Duration, Instant};

use str0m::media::Rid;

pub const LAYER_TIMEOUT: Duration = Duration::from_millis(1500);
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// What to do with one incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    pub forward: bool,
    /// Ask the publisher for a keyframe on this layer (`Some(None)` = the only layer).
    pub request_keyframe: Option<Option<Rid>>,
}

#[derive(Debug)]
pub struct LayerSelector {
    /// Offered layers, lowest first; empty without simulcast.
    rids: Vec<Rid>,
    last_seen: Vec<Option<Instant>>,
    current: Option<usize>,
    last_request: Option<Instant>,
}

impl LayerSelector {
    pub fn new(rids: Vec<Rid>) -> Self {
        let n = rids.len().max(1);
        Self { rids, last_seen: vec![None; n], current: None, last_request: None }
    }

    /// The forwarded layer, if any.
    pub fn current(&self) -> Option<Option<Rid>> {
        self.current.map(|i| self.rids.get(i).copied())
    }

    fn index_of(&self, rid: Option<Rid>) -> Option<usize> {
        match rid {
            None if self.rids.is_empty() => Some(0),
            None => None,
            Some(r) => self.rids.iter().position(|x| *x == r),
        }
    }

    /// Decides for a frame of layer `rid`, `keyframe` telling whether it starts a picture.
    pub fn on_frame(&mut self, now: Instant, rid: Option<Rid>, keyframe: bool) -> Decision {
        let Some(index) = self.index_of(rid) else { return Decision::default() };
        self.last_seen[index] = Some(now);
        let target = self.target(now);
        let mut decision = Decision::default();
        if self.current == Some(index) {
            decision.forward = true;
        } else if Some(index) == target && (keyframe || self.current.is_none()) {
            // Start or switch: only a keyframe makes the picture decodable.
            if keyframe {
                self.current = Some(index);
                decision.forward = true;
            }
        }
        if target.is_some() && target != self.current {
            let due = self.last_request.is_none_or(|t| now.duration_since(t) >= KEYFRAME_REQUEST_INTERVAL);
            if due {
                self.last_request = Some(now);
                decision.request_keyframe = target.map(|i| self.rids.get(i).copied());
            }
        }
        decision
    }

    /// Asks for a keyframe of the forwarded layer (a new subscriber needs one), throttled.
    pub fn keyframe_for_new_subscriber(&mut self, now: Instant) -> Option<Option<Rid>> {
        let layer = self.current.or_else(|| self.target(now))?;
        if self.last_request.is_some_and(|t| now.duration_since(t) < KEYFRAME_REQUEST_INTERVAL / 2) {
            return None;
        }
        self.last_request = Some(now);
        Some(self.rids.get(layer).copied())
    }

    /// The best layer seen recently.
    fn target(&self, now: Instant) -> Option<usize> {
        (0..self.last_seen.len())
            .rev()
            .find(|&i| self.last_seen[i].is_some_and(|t| now.duration_since(t) <= LAYER_TIMEOUT))
    }
}

/// Whether a depacketized VP8 frame is a keyframe (RFC 6386 §9.1: P bit clear).
pub fn vp8_is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 0x01 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(start: Instant, n: u64) -> Instant {
        start + Duration::from_millis(n)
    }

    #[test]
    fn single_layer_waits_for_a_keyframe_then_forwards() {
        let t0 = Instant::now();
        let mut s = LayerSelector::new(vec![]);
        let d = s.on_frame(t0, None, false);
        assert!(!d.forward);
        assert_eq!(d.request_keyframe, Some(None));
        assert!(s.on_frame(ms(t0, 30), None, true).forward);
        assert!(s.on_frame(ms(t0, 60), None, false).forward);
        assert_eq!(s.current(), Some(None));
        // A frame with a rid on a non-simulcast track is ignored.
        assert!(!s.on_frame(ms(t0, 90), Some(Rid::from("q")), true).forward);
    }

    #[test]
    fn switches_up_only_at_a_keyframe_of_the_better_layer() {
        let t0 = Instant::now();
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut s = LayerSelector::new(vec![q, h]);
        assert!(s.on_frame(t0, Some(q), true).forward);
        assert_eq!(s.current(), Some(Some(q)));
        // h appears: keep q, ask for an h keyframe.
        let d = s.on_frame(ms(t0, 10), Some(h), false);
        assert!(!d.forward);
        assert_eq!(d.request_keyframe, Some(Some(h)));
        assert!(s.on_frame(ms(t0, 20), Some(q), false).forward);
        // Throttled: no second request within the interval.
        assert_eq!(s.on_frame(ms(t0, 40), Some(h), false).request_keyframe, None);
        assert_eq!(s.on_frame(ms(t0, 600), Some(h), false).request_keyframe, Some(Some(h)));
        // The h keyframe switches; q is no longer forwarded.
        assert!(s.on_frame(ms(t0, 610), Some(h), true).forward);
        assert!(!s.on_frame(ms(t0, 620), Some(q), true).forward);
        assert_eq!(s.current(), Some(Some(h)));
    }

    #[test]
    fn falls_back_when_the_best_layer_stops() {
        let t0 = Instant::now();
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut s = LayerSelector::new(vec![q, h]);
        assert!(s.on_frame(t0, Some(h), true).forward);
        // h goes silent; q keeps coming. After the timeout q is the target.
        assert!(!s.on_frame(ms(t0, 100), Some(q), false).forward);
        let d = s.on_frame(ms(t0, 1700), Some(q), false);
        assert_eq!(d.request_keyframe, Some(Some(q)));
        assert!(s.on_frame(ms(t0, 1710), Some(q), true).forward);
        assert_eq!(s.current(), Some(Some(q)));
    }

    #[test]
    fn new_subscribers_trigger_a_throttled_keyframe_request() {
        let t0 = Instant::now();
        let mut s = LayerSelector::new(vec![]);
        assert_eq!(s.keyframe_for_new_subscriber(t0), None, "nothing seen yet");
        s.on_frame(t0, None, true);
        assert_eq!(s.keyframe_for_new_subscriber(ms(t0, 1000)), Some(None));
        assert_eq!(s.keyframe_for_new_subscriber(ms(t0, 1010)), None);
    }

    #[test]
    fn vp8_keyframe_bit() {
        assert!(vp8_is_keyframe(&[0x10, 0, 0]));
        assert!(!vp8_is_keyframe(&[0x11]));
        assert!(!vp8_is_keyframe(&[]));
    }
}
