//! One subscriber connection's bandwidth estimate as the allocation reads it: what the
//! link has carried over the sustain window (an upgrade is paid for by that, not by a
//! fresh reading), when a stalled estimator is restarted, and the rate to pad up to while
//! a better layer is wanted.
//!
//! Pure: fed estimates and a clock, it holds no connection and does no I/O; the SFU applies
//! its answers to str0m's estimator.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::allocation;

/// How long a subscriber's estimate may stay exactly the same, below what the subscriber
/// wants, before the estimator is restarted to probe again. On a congested link the estimate
/// keeps moving; one frozen this long is held by the estimator, not by the link.
const BWE_STALL: Duration = Duration::from_secs(8);

/// The least time between two restarts of one subscriber's estimator (each probes well above
/// the estimate, which briefly overshoots on a link that really is that narrow).
const BWE_RESTART_INTERVAL: Duration = Duration::from_secs(30);

/// How long the link must have carried an upgrade's rate (padded) before the upgrade.
const SUSTAIN: Duration = Duration::from_millis(3000);

/// How far above an upgrade's need the padding goes, so that the rates measured a moment
/// later (which wobble) still fit.
const PAD_MARGIN: f64 = 1.1;

/// How often subscribers' bandwidth estimates are shared out among their video tracks.
pub(crate) const ALLOCATION_INTERVAL: Duration = Duration::from_millis(500);

/// A subscriber connection's latest bandwidth estimate.
#[derive(Debug, Clone)]
pub(crate) struct Estimate {
    bps: u64,
    /// What the link carried without the estimate falling, at each allocation of the last
    /// [`SUSTAIN`] (oldest first): the estimate, or less if less was sent and padded.
    recent: VecDeque<(Instant, u64)>,
    /// The rate str0m was last asked to sustain with media and padding.
    sustain_target: u64,
    /// When it last changed (str0m reports it only when it does).
    moved_at: Instant,
    /// When the estimator was last restarted because it stalled.
    restarted_at: Option<Instant>,
}

impl Estimate {
    /// The estimate last reported.
    pub(crate) fn bps(&self) -> u64 {
        self.bps
    }

    /// A new estimate from the connection (str0m reports one only when it changes).
    pub(crate) fn observe(&mut self, bps: u64, now: Instant) {
        if self.bps != bps {
            (self.bps, self.moved_at) = (bps, now);
        }
    }

    /// The rate the connection was just asked to sustain with media and padding.
    pub(crate) fn set_sustain_target(&mut self, bps: u64) {
        self.sustain_target = bps;
    }

    pub(crate) fn new(bps: u64, now: Instant) -> Self {
        Estimate { bps, recent: VecDeque::new(), sustain_target: 0, moved_at: now, restarted_at: None }
    }

    /// Records what the link carries now (the estimate, or less when less was asked of it)
    /// and returns the least it carried over the last [`SUSTAIN`]: 0 until it has been
    /// watched that long, so an estimate nothing has tested yet buys no upgrade.
    pub(crate) fn sustained(&mut self, now: Instant) -> u64 {
        self.recent.retain(|(t, _)| now.duration_since(*t) <= SUSTAIN + ALLOCATION_INTERVAL);
        self.recent.push_back((now, self.bps.min(self.sustain_target)));
        let covered = self.recent.front().is_some_and(|(t, _)| now.duration_since(*t) >= SUSTAIN);
        if !covered {
            return 0;
        }
        self.recent.iter().filter(|(t, _)| now.duration_since(*t) <= SUSTAIN).map(|(_, bps)| *bps).min().unwrap_or(0)
    }

    /// Whether the estimator should be restarted now, given that more is wanted than the
    /// estimate pays for: it has not moved for [`BWE_STALL`] and was not restarted in the
    /// last [`BWE_RESTART_INTERVAL`]. Records the restart.
    pub(crate) fn restart_if_stalled(&mut self, now: Instant, wants_more: bool) -> bool {
        let stalled = now.duration_since(self.moved_at) >= BWE_STALL
            && self.restarted_at.is_none_or(|t| now.duration_since(t) >= BWE_RESTART_INTERVAL);
        let restart = wants_more && stalled;
        if restart {
            self.restarted_at = Some(now);
        }
        restart
    }
}

/// What a subscriber connection is padded up to while a better layer is wanted: enough for
/// everything it asks for to fit in [`allocation::UPGRADE_SHARE`] of it, with [`PAD_MARGIN`]
/// (str0m pads no higher than the estimate); otherwise what it uses.
///
/// The whole demand, not only the next upgrade: what the link carried over the sustain
/// window pays for as many upgrades as fit at once. Padding for one upgrade at a time made a
/// meeting climb one layer per 3 s window (9 cameras × 2 layers: about a minute) while the
/// estimate already had room for all of them.
pub(crate) fn pad_target(shares: &allocation::Allocation) -> u64 {
    let want = shares.desired.max(shares.next.unwrap_or(0));
    shares.next.map_or(shares.used, |_| (want as f64 / allocation::UPGRADE_SHARE * PAD_MARGIN) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's numbers: an upgrade needs 3 s of the link carrying its padded rate, and
    /// fits in 85 % of it; padding goes 10 % above that.
    #[test]
    fn an_upgrade_is_paid_for_by_what_the_link_carried_for_3_s() {
        let t0 = Instant::now();
        let mut e = Estimate::new(2_000_000, t0);
        e.sustain_target = 1_500_000;
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Every allocation (twice a second) records what the link carries: the estimate, or
        // the padded target when that is less.
        for ms in (0..3000).step_by(500) {
            assert_eq!(e.sustained(at(ms)), 0, "not watched for 3 s yet at {ms} ms");
        }
        assert_eq!(e.sustained(at(3000)), 1_500_000, "3 s of 1.5 Mbit/s carried");
        // One allocation that carried less within the last 3 s holds it down to that.
        e.bps = 900_000;
        assert_eq!(e.sustained(at(3500)), 900_000);
        e.bps = 2_000_000;
        for ms in [4000, 5000, 6000] {
            assert_eq!(e.sustained(at(ms)), 900_000, "the dip is within 3 s at {ms} ms");
        }
        assert_eq!(e.sustained(at(6600)), 1_500_000, "3 s after the dip");

        let shares =
            allocation::Allocation { layers: vec![1], used: 700_000, desired: 2_500_000, next: Some(1_700_000) };
        assert_eq!(pad_target(&shares), 3_235_294, "all that is wanted, 2.5 Mbit/s, / 0.85 × 1.1");
        assert_eq!(pad_target(&allocation::Allocation { next: None, ..shares }), 700_000, "nothing to upgrade to");
    }

    /// The README's numbers: an estimate that has not moved for 8 s while more is wanted is
    /// restarted, at most once every 30 s.
    #[test]
    fn a_stalled_estimator_is_restarted_after_8_s_at_most_every_30_s() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut e = Estimate::new(600_000, t0);
        assert!(!e.restart_if_stalled(at(7), true), "7 s unchanged is not a stall");
        assert!(!e.restart_if_stalled(at(8), false), "nothing more wanted: no restart");
        assert!(e.restart_if_stalled(at(8), true), "8 s unchanged and more wanted");
        assert!(!e.restart_if_stalled(at(20), true), "restarted 12 s ago");
        assert!(!e.restart_if_stalled(at(37), true), "restarted 29 s ago");
        assert!(e.restart_if_stalled(at(38), true), "30 s after the last restart");
        // An estimate that moves is not stalled.
        e.moved_at = at(70);
        assert!(!e.restart_if_stalled(at(75), true));
        assert!(e.restart_if_stalled(at(78), true));
    }

    #[test]
    fn only_a_changed_estimate_moves_the_stall_clock() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut e = Estimate::new(600_000, t0);
        e.observe(600_000, at(5));
        assert!(e.restart_if_stalled(at(8), true), "the same value again is no movement");
        let mut e = Estimate::new(600_000, t0);
        e.observe(650_000, at(5));
        assert_eq!(e.bps(), 650_000);
        assert!(!e.restart_if_stalled(at(12), true), "moved 7 s ago");
        assert!(e.restart_if_stalled(at(13), true));
    }
}
