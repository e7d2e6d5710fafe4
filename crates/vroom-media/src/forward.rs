//! Who receives a packet of one published track, decided per packet and per subscriber.
//!
//! A [`Fanout`] is one published track as forwarded: whether the publisher muted it, and one
//! [`Outlet`] per subscriber with that subscriber's simulcast [`LayerSelector`], its
//! `UpdateTrackSettings` (disabled, best quality) and its [`Rewriter`]. Pure: the caller
//! passes the packet's layer and whether it starts a frame / a keyframe, and gets each
//! outlet to write it to (with the rewriter already told whether a new run of packets
//! starts) and the keyframes to ask the publisher for. Layers switch only where a frame
//! starts, so a subscriber never gets half a frame of one layer followed by another.

use std::time::Instant;

use str0m::media::{Pt, Rid};
use str0m::rtp::Ssrc;

use crate::allocation::Track;
use crate::layer::LayerSelector;
use crate::model::{Quality, TrackKind, TrackSettings};
use crate::rewrite::Rewriter;

/// One subscriber's media section fed by the track.
#[derive(Debug)]
pub struct Outlet<T> {
    pub target: T,
    pub settings: TrackSettings,
    layers: LayerSelector,
    pub rewriter: Rewriter,
    /// The subscriber's payload type for the track's codec, once looked up.
    pub payload_type: Option<Pt>,
    /// The SSRC of the subscriber's sending stream, once looked up (a hash lookup instead
    /// of a search by mid per packet).
    pub tx_ssrc: Option<Ssrc>,
    /// The best quality the subscriber's link takes ([`crate::congestion`]).
    link_cap: Quality,
    /// The quality its share of the bandwidth estimate pays for ([`crate::allocation`]).
    bwe_cap: Quality,
}

impl<T> Outlet<T> {
    #[cfg(test)]
    pub fn link_cap(&self) -> Quality {
        self.link_cap
    }

    #[cfg(test)]
    pub fn bwe_cap(&self) -> Quality {
        self.bwe_cap
    }

    /// The best quality the subscriber asked for and its link takes, before the bandwidth
    /// estimate has its say.
    fn wanted(&self) -> Quality {
        self.settings.max_quality.min(self.link_cap)
    }

    fn apply_caps(&mut self) {
        self.layers.set_max(self.wanted().min(self.bwe_cap));
    }
}

/// The least a simulcast layer is taken to cost, as a multiple of the layer below (each has
/// four times the pixels; encoders give it two to three times the bits).
const LAYER_COST_RATIO: u64 = 2;

/// How many rate updates in a row without a packet make a layer count as not sent.
const IDLE_INTERVALS: u32 = 3;

/// The measured rate of one incoming layer.
#[derive(Debug, Clone, Copy, Default)]
struct LayerRate {
    /// Bytes since the last update.
    bytes: u64,
    /// Smoothed rate, bit/s (0: not being sent).
    rate: u64,
    idle: u32,
}

/// Keyframe requests for the publisher, at most one per layer per frame.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeyframeRequests {
    layers: [Option<Option<Rid>>; 4],
}

impl KeyframeRequests {
    fn push(&mut self, rid: Option<Rid>) {
        if self.layers.contains(&Some(rid)) {
            return;
        }
        if let Some(slot) = self.layers.iter_mut().find(|s| s.is_none()) {
            *slot = Some(rid);
        }
    }

    /// The layers to ask a keyframe for (`None` = the only layer).
    pub fn iter(&self) -> impl Iterator<Item = Option<Rid>> + '_ {
        self.layers.iter().flatten().copied()
    }
}

#[derive(Debug)]
pub struct Fanout<T> {
    pub kind: TrackKind,
    /// The publisher muted the track: nothing is forwarded.
    muted: bool,
    /// Sees every frame, so a new outlet knows which layers are being sent.
    probe: LayerSelector,
    outlets: Vec<Outlet<T>>,
    /// Simulcast rids, lowest first (empty: one layer), and the newest RTP timestamp seen on
    /// each layer (for codecs whose packets do not mark a frame start).
    rids: Vec<Rid>,
    newest_timestamps: Vec<Option<u32>>,
    /// The highest sequence number seen on each layer.
    newest_seqs: Vec<Option<u64>>,
    /// What each layer brings in, for sharing a subscriber's bandwidth estimate.
    rates: Vec<LayerRate>,
    rates_at: Option<Instant>,
}

impl<T: Copy + PartialEq> Fanout<T> {
    pub fn new(kind: TrackKind, rids: Vec<Rid>) -> Self {
        let n = rids.len().max(1);
        let newest_timestamps = vec![None; n];
        let newest_seqs = vec![None; n];
        Self {
            kind,
            muted: false,
            probe: LayerSelector::new(rids.clone()),
            outlets: Vec::new(),
            rids,
            newest_timestamps,
            newest_seqs,
            rates: vec![LayerRate::default(); n],
            rates_at: None,
        }
    }

    pub fn outlets(&self) -> &[Outlet<T>] {
        &self.outlets
    }

    /// Starts feeding `target` at no better than `link_cap`; the first frames it gets start
    /// with a keyframe.
    pub fn add(&mut self, target: T, settings: TrackSettings, link_cap: Quality) {
        let clock_rate = match self.kind {
            TrackKind::Audio => 48_000,
            TrackKind::Video => 90_000,
        };
        let mut outlet = Outlet {
            target,
            settings,
            layers: self.probe.fresh_copy(),
            rewriter: Rewriter::new(clock_rate),
            payload_type: None,
            tx_ssrc: None,
            link_cap,
            bwe_cap: Quality::High,
        };
        outlet.apply_caps();
        self.outlets.push(outlet);
    }

    pub fn remove_where(&mut self, mut gone: impl FnMut(&T) -> bool) {
        self.outlets.retain(|o| !gone(&o.target));
    }

    /// Applies a subscriber's new settings. Re-enabling waits for a keyframe, since the
    /// subscriber's decoder missed everything in between.
    pub fn set_settings(&mut self, target: T, settings: TrackSettings) {
        for outlet in self.outlets.iter_mut().filter(|o| o.target == target) {
            if settings.disabled && !outlet.settings.disabled {
                outlet.layers.reset();
                outlet.rewriter.break_epoch();
            }
            outlet.settings = settings;
            outlet.apply_caps();
        }
    }

    /// The index of layer `rid` in the per-layer vectors (`None`: the only layer).
    fn layer_index(&self, rid: Option<Rid>) -> Option<usize> {
        match rid {
            Some(r) => self.rids.iter().position(|x| *x == r),
            None => Some(0),
        }
    }

    /// Whether a packet of layer `rid` is the newest of its layer so far (not a late or
    /// retransmitted one). A switch must not start at a late keyframe start: the packets that
    /// followed it were already dropped, and the subscriber could never repair the gap.
    pub fn in_order(&mut self, rid: Option<Rid>, seq: u64) -> bool {
        let Some(newest) = self.layer_index(rid).and_then(|i| self.newest_seqs.get_mut(i)) else { return false };
        let newer = newest.is_none_or(|n| seq > n);
        if newer {
            *newest = Some(seq);
        }
        newer
    }

    /// Whether a packet of layer `rid` with this RTP timestamp begins a frame: its timestamp
    /// is newer than any seen on the layer (a reordered packet of an older frame is not).
    pub fn starts_frame(&mut self, rid: Option<Rid>, timestamp: u32) -> bool {
        let Some(newest) = self.layer_index(rid).and_then(|i| self.newest_timestamps.get_mut(i)) else { return false };
        let newer = newest.is_none_or(|n| (timestamp.wrapping_sub(n) as i32) > 0);
        if newer {
            *newest = Some(timestamp);
        }
        newer
    }

    /// Caps what `target` gets at what its link takes; the switch happens at a keyframe.
    pub fn set_link_cap(&mut self, target: T, cap: Quality) {
        for outlet in self.outlets.iter_mut().filter(|o| o.target == target) {
            outlet.link_cap = cap;
            outlet.apply_caps();
        }
    }

    /// Caps what `target` gets at what its share of the bandwidth estimate pays for.
    pub fn set_bwe_cap(&mut self, target: T, cap: Quality) {
        for outlet in self.outlets.iter_mut().filter(|o| o.target == target) {
            if outlet.bwe_cap != cap {
                outlet.bwe_cap = cap;
                outlet.apply_caps();
            }
        }
    }

    /// Counts an incoming packet of layer `rid` (its payload size) towards the layer's rate.
    pub fn count(&mut self, rid: Option<Rid>, bytes: usize) {
        if let Some(rate) = self.layer_index(rid).and_then(|i| self.rates.get_mut(i)) {
            rate.bytes += bytes as u64;
        }
    }

    /// Turns the bytes counted since the last call into smoothed layer rates. A layer
    /// without a packet for `IDLE_INTERVALS` calls is not being sent (rate 0).
    pub fn update_rates(&mut self, now: Instant) {
        let Some(since) = self.rates_at.replace(now) else { return };
        let secs = now.duration_since(since).as_secs_f64();
        if secs <= 0.0 {
            return;
        }
        for r in &mut self.rates {
            let measured = (r.bytes as f64 * 8.0 / secs) as u64;
            r.bytes = 0;
            if measured == 0 {
                r.idle += 1;
                if r.idle >= IDLE_INTERVALS {
                    r.rate = 0;
                }
                continue;
            }
            r.idle = 0;
            // Keyframes make single intervals spiky; smooth, but follow a new layer at once.
            r.rate = if r.rate == 0 { measured } else { (r.rate * 3 + measured) / 4 };
        }
    }

    /// The rate of the whole track (every layer), bit/s.
    pub fn total_rate(&self) -> u64 {
        self.rates.iter().map(|r| r.rate).sum()
    }

    /// What outlet `index` could take, for [`crate::allocation`]: the rates of the layers
    /// being sent that it may get, lowest first, the qualities they are, and which of them it
    /// receives now. `None` if it takes nothing (disabled, or the track is muted).
    pub fn demand(&self, index: usize) -> Option<(Track, Vec<Quality>)> {
        let outlet = self.outlets.get(index)?;
        if self.muted || outlet.settings.disabled {
            return None;
        }
        let current = outlet.layers.current();
        let mut track = Track { rates: Vec::new(), current: None };
        let mut qualities = Vec::new();
        for (i, r) in self.rates.iter().enumerate() {
            let rid = self.rids.get(i).copied();
            let quality = rid.map_or(Quality::High, |r| Quality::of_rid(&r));
            if r.rate == 0 || (rid.is_some() && quality > outlet.wanted()) {
                continue;
            }
            if current == Some(rid) {
                track.current = Some(track.rates.len());
            }
            // A layer the encoder just started (or is ramping up) measures low; a better
            // layer costs at least twice the one below it, so the allocation never takes a
            // ramping 720p layer for cheaper than the 360p one.
            let floor = track.rates.last().map_or(0, |below| below * LAYER_COST_RATIO);
            track.rates.push(r.rate.max(floor));
            qualities.push(quality);
        }
        Some((track, qualities))
    }

    /// Mutes or unmutes the track. Unmuting video makes every subscriber wait for a
    /// keyframe (the encoder may have been stopped); the next frame requests it.
    pub fn set_muted(&mut self, muted: bool) {
        if self.muted == muted {
            return;
        }
        self.muted = muted;
        for outlet in &mut self.outlets {
            outlet.rewriter.break_epoch();
            if self.kind == TrackKind::Video {
                outlet.layers.reset();
            }
        }
    }

    pub fn muted(&self) -> bool {
        self.muted
    }

    /// Decides for one packet of layer `rid`: calls `send` with each outlet that gets it
    /// (its rewriter already starts a new epoch if the packet begins a switch) and returns
    /// the keyframes to ask the publisher for. `frame_start` tells whether the packet is the
    /// first of a video frame, `keyframe` whether that frame is a keyframe.
    pub fn on_packet(
        &mut self,
        now: Instant,
        rid: Option<Rid>,
        frame_start: bool,
        keyframe: bool,
        mut send: impl FnMut(&mut Outlet<T>),
    ) -> KeyframeRequests {
        let mut requests = KeyframeRequests::default();
        let video = self.kind == TrackKind::Video;
        if video && frame_start {
            self.probe.on_frame(now, rid, keyframe);
        }
        if self.muted {
            return requests;
        }
        for outlet in self.outlets.iter_mut().filter(|o| !o.settings.disabled) {
            let pass = if !video {
                true
            } else if frame_start {
                let before = outlet.layers.current();
                let decision = outlet.layers.on_frame(now, rid, keyframe);
                if let Some(layer) = decision.request_keyframe {
                    requests.push(layer);
                }
                if decision.forward && before != outlet.layers.current() {
                    outlet.rewriter.break_epoch();
                }
                decision.forward
            } else {
                outlet.layers.current() == Some(rid)
            };
            if pass {
                send(outlet);
            }
        }
        requests
    }

    /// The layer forwarded to `target`, for relaying its keyframe requests upstream.
    pub fn current_layer(&self, target: T) -> Option<Option<Rid>> {
        self.outlets.iter().find(|o| o.target == target).and_then(|o| o.layers.current())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Quality;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    /// The outlets the first packet of a frame went to.
    fn frame(f: &mut Fanout<u8>, now: Instant, rid: Option<Rid>, key: bool) -> Vec<u8> {
        let mut to = Vec::new();
        f.on_packet(now, rid, true, key, |o| to.push(o.target));
        to
    }

    const ON: TrackSettings = TrackSettings { disabled: false, max_quality: Quality::High };

    #[test]
    fn layer_rates_are_measured_and_offered_within_each_subscribers_wishes() {
        let t0 = Instant::now();
        let [q, h, f]: [Rid; 3] = ["q", "h", "f"].map(Rid::from);
        let mut video = Fanout::new(TrackKind::Video, vec![q, h, f]);
        video.add(1u8, ON, Quality::High);
        video.add(2, TrackSettings { disabled: false, max_quality: Quality::Medium }, Quality::High);
        video.add(3, TrackSettings { disabled: true, max_quality: Quality::High }, Quality::High);
        video.update_rates(t0);
        // One second: 20 kB on q, 60 kB on h, 100 kB on f (160, 480, 800 kbit/s).
        for (rid, bytes) in [(q, 20_000), (h, 60_000), (f, 100_000)] {
            for _ in 0..10 {
                video.count(Some(rid), bytes / 10);
            }
        }
        video.update_rates(ms(t0, 1000));
        assert_eq!(video.total_rate(), 1_440_000);
        let (track, qualities) = video.demand(0).expect("subscribed");
        assert_eq!(track.rates, [160_000, 480_000, 960_000], "f costs at least twice h");
        assert_eq!(qualities, [Quality::Low, Quality::Medium, Quality::High]);
        assert_eq!(track.current, None, "nothing forwarded yet");
        let (track, qualities) = video.demand(1).expect("subscribed");
        assert_eq!((track.rates, qualities), (vec![160_000, 480_000], vec![Quality::Low, Quality::Medium]));
        assert!(video.demand(2).is_none(), "disabled: takes nothing");
        // The loss cap narrows what is offered too; the bandwidth cap does not (it is the answer).
        video.set_link_cap(1, Quality::Low);
        video.set_bwe_cap(1, Quality::Low);
        assert_eq!(video.demand(0).unwrap().0.rates, [160_000]);
        video.set_bwe_cap(2, Quality::Low);
        assert_eq!(video.demand(1).unwrap().0.rates, [160_000, 480_000]);
        // f stops: after three quiet updates it is no longer offered; the others are smoothed.
        for i in 2..5 {
            video.count(Some(q), 20_000);
            video.count(Some(h), 60_000);
            video.update_rates(ms(t0, 1000 * i));
        }
        video.set_link_cap(1, Quality::High);
        assert_eq!(video.demand(0).unwrap().0.rates, [160_000, 480_000]);
    }

    #[test]
    fn muted_tracks_are_not_forwarded_and_video_resumes_at_a_keyframe() {
        let t0 = Instant::now();
        let mut audio = Fanout::new(TrackKind::Audio, vec![]);
        audio.add(1u8, ON, Quality::High);
        audio.add(2, ON, Quality::High);
        assert_eq!(frame(&mut audio, t0, None, false), [1, 2]);
        audio.set_muted(true);
        assert!(frame(&mut audio, ms(t0, 20), None, false).is_empty());
        audio.set_muted(false);
        assert_eq!(frame(&mut audio, ms(t0, 40), None, false), [1, 2]);

        let mut video = Fanout::new(TrackKind::Video, vec![]);
        video.add(1u8, ON, Quality::High);
        assert_eq!(frame(&mut video, t0, None, true), [1]);
        video.set_muted(true);
        assert!(video.muted());
        assert!(frame(&mut video, ms(t0, 30), None, true).is_empty());
        video.set_muted(false);
        let mut to = Vec::new();
        let requests = video.on_packet(ms(t0, 600), None, true, false, |o| to.push(o.target));
        assert!(to.is_empty(), "no delta frame after unmuting");
        assert_eq!(requests.iter().collect::<Vec<_>>(), [None], "a keyframe is requested");
        assert_eq!(frame(&mut video, ms(t0, 630), None, true), [1]);
    }

    #[test]
    fn disabled_outlets_get_nothing_and_each_subscriber_has_its_layer() {
        let t0 = Instant::now();
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut f = Fanout::new(TrackKind::Video, vec![q, h]);
        f.add(1u8, ON, Quality::High);
        f.add(2, TrackSettings { disabled: false, max_quality: Quality::Low }, Quality::High);
        f.add(3, TrackSettings { disabled: true, max_quality: Quality::High }, Quality::High);
        assert_eq!(frame(&mut f, t0, Some(q), true), [1, 2], "q is all there is yet");
        assert_eq!(frame(&mut f, ms(t0, 10), Some(h), true), [1]);
        assert_eq!(frame(&mut f, ms(t0, 20), Some(q), false), [2]);
        assert_eq!(frame(&mut f, ms(t0, 30), Some(h), false), [1]);
        assert_eq!(f.current_layer(1), Some(Some(h)));
        assert_eq!(f.current_layer(2), Some(Some(q)));
        assert_eq!(f.current_layer(3), None);
        // 3 is enabled at low quality, 1 disabled.
        f.set_settings(3, TrackSettings { disabled: false, max_quality: Quality::Low });
        f.set_settings(1, TrackSettings { disabled: true, max_quality: Quality::High });
        assert_eq!(frame(&mut f, ms(t0, 40), Some(q), true), [2, 3]);
        assert!(frame(&mut f, ms(t0, 50), Some(h), true).is_empty());
        f.remove_where(|t| *t == 2);
        assert_eq!(frame(&mut f, ms(t0, 60), Some(q), false), [3]);
        assert_eq!(f.outlets().len(), 2);
    }

    #[test]
    fn packets_inside_a_frame_follow_the_layer_chosen_at_its_start_and_switches_stay_continuous() {
        use crate::rewrite::{Incoming, Vp8Ids};
        let t0 = Instant::now();
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut f = Fanout::new(TrackKind::Video, vec![q, h]);
        f.add(1u8, ON, Quality::High);
        // Sends a packet; returns the outgoing sequence number if outlet 1 got it.
        let packet = |f: &mut Fanout<u8>, at: u64, rid: Rid, start: bool, key: bool, seq: u64| {
            let mut out = None;
            f.on_packet(ms(t0, at), Some(rid), start, key, |o| {
                let incoming = Incoming { seq, timestamp: at as u32 * 90, vp8: Vp8Ids::default() };
                out = o.rewriter.rewrite(ms(t0, at), incoming).map(|p| p.seq);
            });
            out
        };
        assert_eq!(packet(&mut f, 0, q, true, true, 100), Some(100), "q keyframe starts the outlet");
        assert_eq!(packet(&mut f, 1, q, false, false, 101), Some(101));
        // A keyframe of h starts while q is mid-frame: h is switched to at its first packet.
        assert_eq!(packet(&mut f, 2, h, true, true, 7_000), Some(102));
        assert_eq!(packet(&mut f, 3, q, false, false, 102), None, "the rest of q's frame is dropped");
        assert_eq!(packet(&mut f, 4, h, false, false, 7_001), Some(103));
        assert_eq!(packet(&mut f, 5, q, true, true, 103), None, "q is no longer forwarded");
        assert_eq!(packet(&mut f, 6, h, true, false, 7_002), Some(104));
        assert_eq!(f.current_layer(1), Some(Some(h)));
    }

    #[test]
    fn a_link_cap_moves_the_subscriber_down_at_a_keyframe_and_new_outlets_start_capped() {
        let t0 = Instant::now();
        let (q, h, f) = (Rid::from("q"), Rid::from("h"), Rid::from("f"));
        let mut fanout = Fanout::new(TrackKind::Video, vec![q, h, f]);
        fanout.add(1u8, ON, Quality::High);
        for rid in [q, h, f] {
            frame(&mut fanout, t0, Some(rid), true);
        }
        assert_eq!(fanout.current_layer(1), Some(Some(f)));
        fanout.set_link_cap(1, Quality::Medium);
        assert_eq!(frame(&mut fanout, ms(t0, 33), Some(f), false), [1], "f continues until h has a keyframe");
        assert!(frame(&mut fanout, ms(t0, 34), Some(h), false).is_empty());
        assert_eq!(frame(&mut fanout, ms(t0, 66), Some(h), true), [1], "switched down at h's keyframe");
        assert!(frame(&mut fanout, ms(t0, 67), Some(f), true).is_empty(), "f is above the cap");
        // A subscriber whose link is already known to be poor starts at the low layer, and
        // its settings cannot lift it above the cap.
        fanout.add(2, ON, Quality::Low);
        assert_eq!(frame(&mut fanout, ms(t0, 100), Some(q), true), [2]);
        assert_eq!(frame(&mut fanout, ms(t0, 101), Some(h), true), [1]);
        fanout.set_link_cap(2, Quality::High);
        assert_eq!(frame(&mut fanout, ms(t0, 133), Some(f), true), [2], "lifted: up at f's keyframe");
    }

    #[test]
    fn a_newer_timestamp_starts_a_frame_and_reordered_packets_do_not() {
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut f: Fanout<u8> = Fanout::new(TrackKind::Video, vec![q, h]);
        assert!(f.starts_frame(Some(q), 1_000));
        assert!(!f.starts_frame(Some(q), 1_000), "same frame");
        assert!(f.starts_frame(Some(h), 1_000), "layers are tracked apart");
        assert!(f.starts_frame(Some(q), 4_000));
        assert!(!f.starts_frame(Some(q), 1_000), "a late packet of the previous frame");
        assert!(!f.starts_frame(Some(q), 2_000_u32.wrapping_sub(5_000)), "older across the wrap");
        assert!(!f.starts_frame(Some(Rid::from("x")), 9_000), "unknown layer");
        let mut wrap: Fanout<u8> = Fanout::new(TrackKind::Video, vec![]);
        assert!(wrap.starts_frame(None, u32::MAX - 100));
        assert!(wrap.starts_frame(None, 2_900), "newer across the wrap");
    }

    #[test]
    fn only_the_newest_packet_of_a_layer_is_in_order() {
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut f: Fanout<u8> = Fanout::new(TrackKind::Video, vec![q, h]);
        assert!(f.in_order(Some(q), 10));
        assert!(f.in_order(Some(q), 12));
        assert!(!f.in_order(Some(q), 11), "late (a retransmission)");
        assert!(!f.in_order(Some(q), 12), "a duplicate");
        assert!(f.in_order(Some(h), 5), "layers are apart");
        assert!(!f.in_order(Some(Rid::from("x")), 99));
    }
}
