//! Dividing what a subscriber's connection can carry between the video tracks it receives.
//!
//! Input: the subscriber's bandwidth estimate (from transport-wide congestion control
//! feedback on its connection), and per video track the layers the publisher is sending
//! with their measured bitrates and the best quality the subscriber asked for. Output: the
//! best layer each track may use. Every track gets its lowest layer (a picture beats none);
//! then tracks are upgraded one layer at a time, round-robin, while the total fits, so two
//! tracks end up at medium before one reaches high. Pure.

use std::time::{Duration, Instant};

use crate::model::Quality;

/// Share of the estimate that media may use: the rest absorbs bitrate swings (keyframes)
/// and retransmissions.
pub const HEADROOM: f64 = 0.85;

/// What one video track offers and the subscriber wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    /// The layers being sent, lowest first, with their bitrate in bit/s.
    pub layers: Vec<(Quality, u64)>,
    /// The best quality the subscriber asked for.
    pub max: Quality,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Per demand (same order), the best quality it may be forwarded at.
    pub caps: Vec<Quality>,
    /// Bit/s of the chosen layers.
    pub allocated: u64,
    /// Bit/s of what the subscriber asked for (probing for it is worthwhile).
    pub desired: u64,
    /// Bit/s the next upgrade would need (`allocated` if none is possible).
    pub next_step: u64,
}

pub fn allocate(estimate: u64, demands: &[Demand]) -> Allocation {
    let budget = (estimate as f64 * HEADROOM) as u64;
    let wanted = |d: &Demand| d.layers.iter().filter(|(q, _)| *q <= d.max).count();
    // Index into each demand's layers of the layer chosen (0 = lowest, when there is one).
    let mut chosen = vec![0usize; demands.len()];
    let rate = |d: &Demand, i: usize| d.layers.get(i).map_or(0, |(_, r)| *r);
    let mut allocated: u64 = demands.iter().map(|d| rate(d, 0)).sum();
    let mut next_step = None;
    loop {
        let mut upgraded = false;
        for (d, c) in demands.iter().zip(chosen.iter_mut()) {
            if *c + 1 >= wanted(d) {
                continue;
            }
            let after = allocated - rate(d, *c) + rate(d, *c + 1);
            if after <= budget {
                allocated = after;
                *c += 1;
                upgraded = true;
            } else if next_step.is_none() {
                next_step = Some(after);
            }
        }
        if !upgraded {
            break;
        }
        next_step = None;
    }
    let caps = demands
        .iter()
        .zip(&chosen)
        .map(|(d, c)| match d.layers.get(*c) {
            // Below the best wanted layer being measured: held back by bandwidth.
            Some((q, _)) if *c + 1 < wanted(d) => *q,
            // Everything wanted fits (or nothing is measured yet, e.g. a layer that just
            // started): no reason to hold the track back.
            _ => d.max,
        })
        .collect();
    let desired = demands.iter().map(|d| rate(d, wanted(d).max(1) - 1)).sum();
    Allocation { caps, allocated, desired, next_step: next_step.unwrap_or(allocated) }
}

/// Bitrate of one layer, measured over windows of [`RateMeter::WINDOW`].
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    window_start: Option<Instant>,
    bytes: u64,
    rate: u64,
    last: Option<Instant>,
}

impl RateMeter {
    pub const WINDOW: Duration = Duration::from_millis(500);

    pub fn add(&mut self, now: Instant, bytes: usize) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= Self::WINDOW {
            self.rate = self.bytes * 8 * 1_000_000 / elapsed.as_micros().max(1) as u64;
            self.bytes = 0;
            self.window_start = Some(now);
        }
        self.bytes += bytes as u64;
        self.last = Some(now);
    }

    /// The last complete window's bit/s, if packets arrived within `fresh`.
    pub fn rate(&self, now: Instant, fresh: Duration) -> Option<u64> {
        let last = self.last?;
        (now.saturating_duration_since(last) <= fresh && self.rate > 0).then_some(self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Quality::*;

    fn simulcast(max: Quality) -> Demand {
        Demand { layers: vec![(Low, 150_000), (Medium, 500_000), (High, 1_700_000)], max }
    }

    #[test]
    fn plenty_of_bandwidth_gives_everyone_what_they_asked_for() {
        let a = allocate(10_000_000, &[simulcast(High), simulcast(Medium)]);
        assert_eq!(a.caps, [High, Medium]);
        assert_eq!(a.allocated, 2_200_000);
        assert_eq!(a.desired, 2_200_000);
        assert_eq!(a.next_step, a.allocated, "nothing more to probe for");
    }

    #[test]
    fn scarce_bandwidth_is_shared_layer_by_layer() {
        // 1.2 Mbit/s × 0.85 = 1.02 Mbit/s: both reach medium, neither high.
        let a = allocate(1_200_000, &[simulcast(High), simulcast(High)]);
        assert_eq!(a.caps, [Medium, Medium]);
        assert_eq!(a.allocated, 1_000_000);
        assert_eq!(a.desired, 3_400_000);
        assert_eq!(a.next_step, 2_200_000, "the first track's upgrade to high");
        // Too little even for the lowest layers: they are kept, nothing else.
        let a = allocate(100_000, &[simulcast(High), simulcast(High)]);
        assert_eq!(a.caps, [Low, Low]);
        // Only the low layer measured so far (the others just started): not held back.
        let a = allocate(100_000, &[Demand { layers: vec![(Low, 150_000)], max: High }]);
        assert_eq!(a.caps, [High]);
    }

    #[test]
    fn unmeasured_tracks_are_not_held_back() {
        let a = allocate(100_000, &[Demand { layers: vec![], max: High }]);
        assert_eq!(a.caps, [High]);
        assert_eq!(a.allocated, 0);
    }

    #[test]
    fn the_meter_reports_complete_windows_of_fresh_packets() {
        let t0 = Instant::now();
        let mut m = RateMeter::default();
        for i in 0..=50u64 {
            m.add(t0 + Duration::from_millis(i * 10), 1_000);
        }
        // 50 packets of 1000 bytes in 500 ms: 800 kbit/s.
        let at = t0 + Duration::from_millis(500);
        assert_eq!(m.rate(at, Duration::from_secs(1)), Some(800_000));
        assert_eq!(m.rate(at + Duration::from_secs(2), Duration::from_secs(1)), None, "stale");
    }
}
