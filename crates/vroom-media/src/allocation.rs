//! How a subscriber's bandwidth estimate is shared among the video tracks it receives.
//!
//! The estimate comes from send-side bandwidth estimation on the subscriber connection
//! (str0m's transport-wide congestion control); the layer rates are measured on what the
//! publishers send. Pure: fed numbers, returns a layer per track and the rates to tell the
//! estimator (what to sustain, what to probe for).
//!
//! Quick to fall, slower to rise: layers being received are kept while the total fits the
//! whole estimate, and each upgrade must fit within [`UPGRADE_SHARE`] of what the link has
//! *sustained* (the caller passes the least it carried over the last few seconds, padding
//! included), so an untested or wobbling estimate does not flip layers back and forth. Upgrades go one
//! step at a time, round-robin over the tracks, so several cameras share the estimate
//! instead of one taking it all. Every track keeps at least its lowest layer: a small
//! picture that may stutter beats none (pausing video is not done).

/// Share of the estimate an upgrade must fit in.
pub const UPGRADE_SHARE: f64 = 0.85;

/// One video track a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// The measured rate (bit/s) of each layer the subscriber may get, lowest first. Empty
    /// when no layer is being sent: the track takes nothing.
    pub rates: Vec<u64>,
    /// The index in `rates` of the layer it receives now, if any.
    pub current: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The index in its `rates` of the layer each track gets (0 for a track with no layer).
    pub layers: Vec<usize>,
    /// What the allocation sends, audio and other fixed rates included (bit/s).
    pub used: u64,
    /// What the subscriber would take with every track at its best layer (bit/s): the rate
    /// worth probing for.
    pub desired: u64,
    /// What the allocation plus its cheapest next upgrade would send, if one is left.
    pub next: Option<u64>,
}

impl Allocation {
    /// Whether the subscriber's video is worth pacing (spreading at the estimate's rate):
    /// only while its link, as estimated, is what limits it (what it gets takes more than
    /// [`UPGRADE_SHARE`] of the estimate, or the next upgrade would not fit the estimate
    /// at all) and what it gets still fits the estimate.
    ///
    /// With room to spare, a burst (a keyframe) goes out at once instead of waiting in a
    /// pacer, which costs latency and a wake-up per packet and protects nothing. That holds
    /// while upgrades that fit the estimate wait for the sustain window too: pacing then
    /// (while estimates climbed) put a 10-person meeting's p99 latency at 110 ms against
    /// 7 ms without. An upgrade the estimate cannot take means a narrow link, where bursts
    /// (the keyframe of a layer switch, padding) are lost unless spread. Over the
    /// estimate with every track already on its lowest layer (a single-layer camera on a
    /// lossy link), a pacer could only queue: it sends at the estimate's rate what comes in
    /// faster, so its queue and the video's delay grow until the estimate recovers.
    pub fn paces(&self, estimate: u64) -> bool {
        let limits = self.used as f64 > estimate as f64 * UPGRADE_SHARE || self.next.is_some_and(|n| n > estimate);
        limits && self.used <= estimate
    }
}

/// Shares an estimate (bit/s) among `tracks`, after `fixed` (audio; bit/s) is taken:
/// `estimate` is what layers being received must fit in, `sustained` (what the link carried
/// lately without the estimate falling) what upgrades are measured against, so a high
/// reading nothing has tested (a probe that passed a policer's burst allowance) does not buy a
/// layer the link cannot keep.
pub fn allocate(estimate: u64, sustained: u64, fixed: u64, tracks: &[Track]) -> Allocation {
    let rate = |i: usize, layer: usize| tracks[i].rates.get(layer).copied().unwrap_or(0);
    let mut layers: Vec<usize> =
        tracks.iter().map(|t| t.current.unwrap_or(0).min(t.rates.len().saturating_sub(1))).collect();
    let mut used = fixed + (0..tracks.len()).map(|i| rate(i, layers[i])).sum::<u64>();

    // Fall: while over the estimate, lower the track on the most expensive layer.
    while used > estimate {
        let Some(i) = (0..tracks.len()).filter(|&i| layers[i] > 0).max_by_key(|&i| rate(i, layers[i])) else {
            break;
        };
        used = used - rate(i, layers[i]) + rate(i, layers[i] - 1);
        layers[i] -= 1;
    }

    // Rise: one step per track per round, while the next step fits.
    let budget = (sustained.min(estimate) as f64 * UPGRADE_SHARE) as u64;
    let delta = |i: usize, layers: &[usize]| {
        (layers[i] + 1 < tracks[i].rates.len()).then(|| rate(i, layers[i] + 1).saturating_sub(rate(i, layers[i])))
    };
    loop {
        let mut raised = false;
        for i in 0..tracks.len() {
            if let Some(d) = delta(i, &layers)
                && used + d <= budget
            {
                layers[i] += 1;
                used += d;
                raised = true;
            }
        }
        if !raised {
            break;
        }
    }

    let next = (0..tracks.len()).filter_map(|i| delta(i, &layers)).min().map(|d| used + d);
    let desired = fixed + tracks.iter().map(|t| t.rates.last().copied().unwrap_or(0)).sum::<u64>();
    Allocation { layers, used, desired, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulcast camera: 150 kbit/s, 500 kbit/s, 1.5 Mbit/s.
    fn camera(current: Option<usize>) -> Track {
        Track { rates: vec![150_000, 500_000, 1_500_000], current }
    }

    #[test]
    fn video_is_paced_when_the_link_limits_it_and_what_is_sent_fits_the_estimate() {
        // Everything asked for, with room: unpaced.
        let open = allocate(4_000_000, 4_000_000, 64_000, &[camera(None)]);
        assert!(!open.paces(4_000_000));
        // The best layer held back, its upgrade over the estimate: a narrow link, paced.
        let narrow = allocate(1_200_000, 1_200_000, 64_000, &[camera(None)]);
        assert_eq!((narrow.used, narrow.next), (564_000, Some(1_564_000)));
        assert!(narrow.paces(1_200_000));
        // Upgrades held back only until the link has carried them (a climbing estimate),
        // what is sent far below the estimate: unpaced.
        let climbing = allocate(4_000_000, 600_000, 64_000, &[camera(None)]);
        assert_eq!((climbing.used, climbing.next), (214_000, Some(564_000)));
        assert!(!climbing.paces(4_000_000));
        // Everything given, but the estimate fell under what is sent (layers being received
        // are kept while they fit the whole estimate): paced.
        let kept = allocate(1_700_000, 1_700_000, 64_000, &[camera(Some(2))]);
        assert_eq!((kept.layers.as_slice(), kept.next), ([2].as_slice(), None));
        assert!(kept.paces(1_700_000));
        // A single-layer camera over the estimate: nothing left to lower, so unpaced (a pacer
        // would only queue what it cannot send).
        let single = allocate(400_000, 400_000, 64_000, &[Track { rates: vec![500_000], current: Some(0) }]);
        assert_eq!(single.used, 564_000);
        assert!(!single.paces(400_000));
    }

    #[test]
    fn one_track_gets_the_best_layer_that_fits_with_headroom() {
        // 2 Mbit/s: 1.5 M + 64 k audio fits within 85 %.
        let a = allocate(2_000_000, 2_000_000, 64_000, &[camera(None)]);
        assert_eq!(a.layers, [2]);
        assert_eq!(a.used, 1_564_000);
        assert_eq!(a.desired, 1_564_000);
        assert_eq!(a.next, None);
        // 1.2 Mbit/s: only the middle layer fits.
        let a = allocate(1_200_000, 1_200_000, 64_000, &[camera(None)]);
        assert_eq!(a.layers, [1]);
        assert_eq!(a.next, Some(1_564_000));
        // 300 kbit/s: the lowest, even if it did not fit.
        assert_eq!(allocate(300_000, 300_000, 64_000, &[camera(None)]).layers, [0]);
        assert_eq!(allocate(10_000, 10_000, 64_000, &[camera(None)]).layers, [0]);
    }

    #[test]
    fn a_layer_being_received_stays_while_it_fits_the_whole_estimate() {
        // 1.6 Mbit/s: a new subscriber gets the middle layer (1.5 M is above 85 %)...
        assert_eq!(allocate(1_600_000, 1_600_000, 0, &[camera(None)]).layers, [1]);
        // ...but one already on the top layer keeps it.
        assert_eq!(allocate(1_600_000, 1_600_000, 0, &[camera(Some(2))]).layers, [2]);
        // Below the top layer's rate it falls.
        assert_eq!(allocate(1_400_000, 1_400_000, 0, &[camera(Some(2))]).layers, [1]);
        // Far below, it falls all the way.
        assert_eq!(allocate(200_000, 200_000, 0, &[camera(Some(2))]).layers, [0]);
    }

    #[test]
    fn several_tracks_share_the_estimate_a_step_at_a_time() {
        // 2 Mbit/s for three cameras: all middle (1.5 M), none can take the top layer.
        let a = allocate(2_000_000, 2_000_000, 0, &[camera(None), camera(None), camera(None)]);
        assert_eq!(a.layers, [1, 1, 1]);
        assert_eq!(a.used, 1_500_000);
        assert_eq!(a.desired, 4_500_000);
        assert_eq!(a.next, Some(2_500_000));
        // 4 Mbit/s (3.4 M budget): one camera gets the top layer.
        assert_eq!(allocate(4_000_000, 4_000_000, 0, &[camera(None), camera(None), camera(None)]).layers, [2, 1, 1]);
        // Falling takes the most expensive layer down first.
        let a = allocate(1_300_000, 1_300_000, 0, &[camera(Some(2)), camera(Some(1)), camera(Some(0))]);
        assert_eq!(a.layers, [1, 1, 0]);
    }

    #[test]
    fn upgrades_wait_for_a_sustained_estimate_and_falls_do_not() {
        // A probe reads 2 Mbit/s but the estimate was 600 kbit/s a moment ago: no upgrade.
        assert_eq!(allocate(2_000_000, 600_000, 0, &[camera(Some(1))]).layers, [1]);
        // Sustained, it pays for the top layer.
        assert_eq!(allocate(2_000_000, 2_000_000, 0, &[camera(Some(1))]).layers, [2]);
        // Falling follows the current estimate whatever it was before.
        assert_eq!(allocate(400_000, 2_000_000, 0, &[camera(Some(2))]).layers, [0]);
    }

    #[test]
    fn tracks_without_layers_or_with_one_take_what_they_take() {
        let single = Track { rates: vec![800_000], current: None };
        let silent = Track { rates: vec![], current: None };
        let a = allocate(1_000_000, 1_000_000, 0, &[single.clone(), silent, camera(None)]);
        assert_eq!(a.layers, [0, 0, 0]);
        assert_eq!(a.used, 950_000);
        assert_eq!(a.desired, 2_300_000);
        let a = allocate(3_000_000, 3_000_000, 0, &[single, camera(None)]);
        assert_eq!(a.layers, [0, 2]);
    }
}
