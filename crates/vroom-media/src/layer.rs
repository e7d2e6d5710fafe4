//! Which simulcast layer of a video track is forwarded, decided per incoming frame.
//!
//! Policy for this version: forward the best layer the publisher is currently sending (a
//! layer counts as sending if a frame arrived within [`LAYER_TIMEOUT`]). Switching happens
//! only on a keyframe of the new layer; until then the old one keeps flowing and a keyframe
//! is requested (at most every [`KEYFRAME_REQUEST_INTERVAL`]). Each subscriber has its own
//! selector ([`crate::forward`]), so a subscriber's `UpdateTrackSettings` caps its layer
//! ([`LayerSelector::set_max`]) without affecting the others.

use std::time::{Duration, Instant};

use str0m::media::Rid;

use crate::model::Quality;

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
    /// The best quality the subscriber wants.
    max: Quality,
}

impl LayerSelector {
    pub fn new(rids: Vec<Rid>) -> Self {
        let n = rids.len().max(1);
        Self { rids, last_seen: vec![None; n], current: None, last_request: None, max: Quality::High }
    }

    /// A selector for a new subscriber of the same track: it knows which layers are being
    /// sent (so it can ask for the right keyframe at once) but forwards nothing yet.
    pub fn fresh_copy(&self) -> Self {
        Self {
            rids: self.rids.clone(),
            last_seen: self.last_seen.clone(),
            current: None,
            last_request: None,
            max: Quality::High,
        }
    }

    /// Caps the forwarded layer; the switch happens at the next keyframe of the new layer.
    pub fn set_max(&mut self, max: Quality) {
        self.max = max;
    }

    /// Forgets the forwarded layer (forwarding paused): resuming waits for a keyframe.
    pub fn reset(&mut self) {
        self.current = None;
        self.last_request = None;
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

    /// The best layer seen recently within the cap, else the lowest one seen recently.
    fn target(&self, now: Instant) -> Option<usize> {
        let recent = |i: &usize| self.last_seen[*i].is_some_and(|t| now.duration_since(t) <= LAYER_TIMEOUT);
        let allowed = |i: &usize| self.rids.get(*i).is_none_or(|r| Quality::of_rid(r) <= self.max);
        (0..self.last_seen.len()).rev().filter(recent).find(allowed).or_else(|| (0..self.last_seen.len()).find(recent))
    }
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
    fn a_capped_subscriber_stays_on_the_lower_layer_and_switches_at_keyframes() {
        let t0 = Instant::now();
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut s = LayerSelector::new(vec![q, h]);
        s.set_max(Quality::Low);
        assert!(s.on_frame(t0, Some(q), true).forward);
        assert_eq!(s.on_frame(ms(t0, 10), Some(h), true), Decision::default(), "h is above the cap");
        assert!(s.on_frame(ms(t0, 20), Some(q), false).forward);
        // Raised: h is requested and taken at its keyframe.
        s.set_max(Quality::High);
        let d = s.on_frame(ms(t0, 30), Some(q), false);
        assert!(d.forward);
        assert_eq!(d.request_keyframe, Some(Some(h)));
        assert!(!s.on_frame(ms(t0, 40), Some(h), false).forward);
        assert!(s.on_frame(ms(t0, 50), Some(h), true).forward);
        // Lowered again: q from its next keyframe on.
        s.set_max(Quality::Medium);
        assert!(s.on_frame(ms(t0, 60), Some(h), false).forward, "h is 'medium': still allowed");
        s.set_max(Quality::Low);
        assert!(s.on_frame(ms(t0, 70), Some(h), false).forward, "until q's keyframe");
        assert!(!s.on_frame(ms(t0, 80), Some(q), false).forward);
        assert!(s.on_frame(ms(t0, 90), Some(q), true).forward);
        assert!(!s.on_frame(ms(t0, 100), Some(h), false).forward);
        // If only a layer above the cap is sent, it is better than nothing.
        let mut only_h = LayerSelector::new(vec![q, h]);
        only_h.set_max(Quality::Low);
        assert!(only_h.on_frame(t0, Some(h), true).forward);
    }

    #[test]
    fn a_fresh_copy_knows_the_layers_but_waits_for_a_keyframe() {
        let t0 = Instant::now();
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut probe = LayerSelector::new(vec![q, h]);
        probe.on_frame(t0, Some(q), true);
        probe.on_frame(t0, Some(h), true);
        let mut s = probe.fresh_copy();
        let d = s.on_frame(ms(t0, 10), Some(q), false);
        assert_eq!(d, Decision { forward: false, request_keyframe: Some(Some(h)) }, "asks for the best layer at once");
        assert!(s.on_frame(ms(t0, 20), Some(h), true).forward);
        s.reset();
        assert!(!s.on_frame(ms(t0, 30), Some(h), false).forward, "after a reset only a keyframe resumes");
    }
}
