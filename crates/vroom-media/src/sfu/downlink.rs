//! Each subscriber's downlink: its bandwidth estimate shared among the video it receives
//! ([`crate::allocation`]) and the layer caps its reported loss sets
//! ([`crate::congestion`]), applied to the outlets that feed it.

use std::collections::HashMap;
use std::time::Instant;

use str0m::bwe::Bitrate;
use str0m::media::Mid;
use tracing::{debug, info};

use super::connections::{PeerRef, drive};
use super::{Sfu, Sink};
use crate::allocation;
use crate::estimator::{ALLOCATION_INTERVAL, pad_target};
use crate::model::*;

/// A video track a subscriber receives: its forward, its outlet and the quality of each
/// layer in its [`allocation::Track`] rates.
struct Video {
    source: (ParticipantKey, Mid),
    target: (ParticipantKey, Mid),
    qualities: Vec<Quality>,
}

/// What one subscriber receives, as the allocation weighs it.
#[derive(Default)]
struct Demand {
    audio: u64,
    videos: Vec<(Video, allocation::Track)>,
}

impl Sfu {
    /// Shares each subscriber's bandwidth estimate among the video it receives, every
    /// [`ALLOCATION_INTERVAL`], and tells its estimator what rate to sustain and what to
    /// probe for.
    pub(super) fn allocate_bandwidth(&mut self, now: Instant, sink: &mut impl Sink) {
        if self.next_allocation.is_some_and(|t| now < t) {
            return;
        }
        self.next_allocation = Some(now + ALLOCATION_INTERVAL);
        let mut demands: HashMap<ParticipantKey, Demand> = HashMap::new();
        for (source, forward) in &mut self.forwards {
            forward.update_rates(now);
            for (i, outlet) in forward.outlets().iter().enumerate() {
                let subscriber = outlet.target.0;
                if self.connections.get(&subscriber).is_none_or(|c| c.downlink.estimate.is_none()) {
                    continue;
                }
                let Some((track, qualities)) = forward.demand(i) else { continue };
                let demand = demands.entry(subscriber).or_default();
                match forward.kind {
                    TrackKind::Audio => demand.audio += forward.total_rate(),
                    TrackKind::Video => {
                        demand.videos.push((Video { source: *source, target: outlet.target, qualities }, track));
                    }
                }
            }
        }
        // Every estimated subscriber, those left without video too: what it was told to
        // sustain (and pad up to) must follow what it still receives.
        for (&subscriber, c) in &mut self.connections {
            let Some(e) = c.downlink.estimate.as_mut() else { continue };
            let mut demand = demands.remove(&subscriber).unwrap_or_default();
            let estimate = e.bps();
            // An upgrade must be paid for by what the link has *carried* for a while: padding
            // up to the next layer's rate (below) tests the link first, and a link that cannot
            // take it shows delay, which brings the estimate down before the switch. An
            // estimate nothing has tested (a probe that slipped through a policer's burst
            // allowance reads high for seconds) buys nothing.
            let sustained = e.sustained(now);
            // The same order every time (the map's is not), so a tie between tracks is always
            // settled the same way and no upgrade moves from one track to another.
            demand.videos.sort_by_key(|(v, _)| (v.target, v.source));
            let (videos, tracks): (Vec<Video>, Vec<allocation::Track>) = demand.videos.into_iter().unzip();
            let shares = allocation::allocate(estimate, sustained, demand.audio, &tracks);
            // An upgrade is wanted that the estimate does not pay for, and the estimate has not
            // moved for a while: the estimator is stuck (after loss it can hold a value long
            // after the link cleared, and in that state it does not probe). Restarting it from
            // the same value makes it probe above it at once.
            let wants_more = shares.next.is_some_and(|n| n as f64 > estimate as f64 * allocation::UPGRADE_SHARE);
            let restart = e.restart_if_stalled(now, wants_more);
            // While a better layer is wanted, pad up to what its upgrade needs, with a
            // margin (str0m caps padding at the estimate): that is the test `sustained`
            // counts on, and a busy link gives probes and delay a true reading.
            let minimum = pad_target(&shares);
            e.set_sustain_target(minimum);
            c.downlink.paced = shares.paces(estimate);
            let at = PeerRef { owner: subscriber, role: PeerRole::Subscriber };
            debug!(peer = ?at, estimate, used = shares.used, desired = shares.desired, layers = ?shares.layers, ?tracks, "bandwidth allocation");
            for (video, layer) in videos.iter().zip(&shares.layers) {
                // A track with no layer measured yet keeps its cap until one is.
                let Some(&cap) = video.qualities.get(*layer) else { continue };
                if let Some(forward) = self.forwards.get_mut(&video.source) {
                    forward.set_bwe_cap(video.target, cap);
                }
            }
            let rtc = &mut c.subscriber.rtc;
            if restart {
                debug!(peer = ?at, estimate, "bandwidth estimate stalled below demand: probing again");
                rtc.bwe().reset(Bitrate::bps(estimate));
            }
            rtc.bwe().set_bitrate(Bitrate::bps(minimum), Bitrate::bps(shares.desired.max(minimum)));
            drive(now, at, &mut c.subscriber, &mut self.events, sink);
        }
    }

    /// A subscriber's link reported `loss` on what we send it: maybe change its layer cap.
    pub(super) fn link_loss(&mut self, subscriber: ParticipantKey, now: Instant, loss: f32) {
        let Some(c) = self.connections.get_mut(&subscriber) else { return };
        let Some(cap) = c.downlink.link_cap.on_loss(now, loss) else { return };
        info!(?subscriber, loss, ?cap, "subscriber link: video layer cap changed");
        for (&out_mid, source) in &c.feeds {
            if let Some(forward) = self.forwards.get_mut(source) {
                forward.set_link_cap((subscriber, out_mid), cap);
            }
        }
    }
}
