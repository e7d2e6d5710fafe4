//! How good a simulcast layer a subscriber's connection can take, judged from the loss it
//! reports on what we send it (RTCP receiver reports, once a second).
//!
//! Sustained loss means the link is congested: the subscriber is moved one layer down, and
//! further down if the loss persists. A long stretch without loss lets it climb back one
//! layer at a time. Slow to rise and quick to fall, so a subscriber on a poor link gets a
//! smaller picture that plays instead of a large one that freezes, and a link that only
//! hiccups keeps its quality. Pure: fed loss samples with their time.
//!
//! A backstop: the bandwidth estimate ([`crate::allocation`]) normally moves layers before
//! packets are lost; this catches links that lose packets without the estimate noticing, and
//! subscribers whose client sends no transport-wide feedback.

use std::time::{Duration, Instant};

use crate::model::Quality;

/// Loss above which the link counts as congested.
pub const CONGESTED_LOSS: f32 = 0.10;
/// Loss below which the link counts as clear.
pub const CLEAR_LOSS: f32 = 0.02;
/// How long congestion must last before (each) step down.
pub const STEP_DOWN_AFTER: Duration = Duration::from_secs(2);
/// How long the link must be clear before (each) step up.
pub const STEP_UP_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct LossControl {
    cap: Quality,
    congested_since: Option<Instant>,
    clear_since: Option<Instant>,
}

impl Default for LossControl {
    fn default() -> Self {
        Self { cap: Quality::High, congested_since: None, clear_since: None }
    }
}

impl LossControl {
    pub fn cap(&self) -> Quality {
        self.cap
    }

    /// Takes one loss sample (0.0–1.0); returns the new cap when it changes.
    pub fn on_loss(&mut self, now: Instant, loss: f32) -> Option<Quality> {
        let step = if loss > CONGESTED_LOSS {
            self.clear_since = None;
            let since = *self.congested_since.get_or_insert(now);
            (now.duration_since(since) >= STEP_DOWN_AFTER).then(|| lower(self.cap)).flatten()
        } else if loss < CLEAR_LOSS {
            self.congested_since = None;
            let since = *self.clear_since.get_or_insert(now);
            (now.duration_since(since) >= STEP_UP_AFTER).then(|| higher(self.cap)).flatten()
        } else {
            // In between: hold, and start both clocks afresh.
            self.congested_since = None;
            self.clear_since = None;
            None
        };
        let cap = step?;
        self.cap = cap;
        // The next step needs its own full period.
        self.congested_since = self.congested_since.map(|_| now);
        self.clear_since = self.clear_since.map(|_| now);
        Some(cap)
    }
}

fn lower(q: Quality) -> Option<Quality> {
    match q {
        Quality::High => Some(Quality::Medium),
        Quality::Medium => Some(Quality::Low),
        Quality::Low => None,
    }
}

fn higher(q: Quality) -> Option<Quality> {
    match q {
        Quality::Low => Some(Quality::Medium),
        Quality::Medium => Some(Quality::High),
        Quality::High => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds one sample a second from `from` (seconds) for `n` seconds; returns the changes.
    fn feed(c: &mut LossControl, t0: Instant, from: u64, n: u64, loss: f32) -> Vec<(u64, Quality)> {
        (from..from + n).filter_map(|s| c.on_loss(t0 + Duration::from_secs(s), loss).map(|q| (s, q))).collect()
    }

    #[test]
    fn sustained_loss_steps_down_and_a_long_clear_stretch_steps_back_up() {
        let t0 = Instant::now();
        let mut c = LossControl::default();
        assert_eq!(feed(&mut c, t0, 0, 30, 0.0), [], "already at the best layer");
        // 20 % loss from 30 s: down after 2 s, again 2 s later, then nothing lower.
        assert_eq!(feed(&mut c, t0, 30, 10, 0.2), [(32, Quality::Medium), (34, Quality::Low)]);
        // Clear from 40 s: one layer up every 10 s.
        assert_eq!(feed(&mut c, t0, 40, 25, 0.0), [(50, Quality::Medium), (60, Quality::High)]);
        assert_eq!(c.cap(), Quality::High);
    }

    #[test]
    fn short_hiccups_and_moderate_loss_change_nothing() {
        let t0 = Instant::now();
        let mut c = LossControl::default();
        // One bad second in every three never lasts the 2 s a step down needs.
        for s in 0..60 {
            let loss = if s % 3 == 0 { 0.5 } else { 0.0 };
            assert_eq!(c.on_loss(t0 + Duration::from_secs(s), loss), None);
        }
        // 5 % loss: neither congested nor clear.
        assert_eq!(feed(&mut c, t0, 60, 30, 0.05), []);
        c.on_loss(t0 + Duration::from_secs(90), 0.3);
        assert_eq!(c.on_loss(t0 + Duration::from_secs(92), 0.3), Some(Quality::Medium));
        // Moderate loss after stepping down does not bring it back up.
        assert_eq!(feed(&mut c, t0, 93, 30, 0.05), []);
        assert_eq!(c.cap(), Quality::Medium);
    }
}
