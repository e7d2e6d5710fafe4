//! Who receives a frame of one published track, decided per frame and per subscriber.
//!
//! A [`Fanout`] is one published track as forwarded: whether the publisher muted it, and one
//! [`Outlet`] per subscriber with that subscriber's simulcast [`LayerSelector`] and its
//! `UpdateTrackSettings` (disabled, best quality). Pure: the caller passes the frame's
//! layer and whether it is a keyframe, and gets told which outlets to write it to and
//! which keyframes to ask the publisher for.

use std::time::{Duration, Instant};

use str0m::media::Rid;

use crate::layer::LayerSelector;
use crate::model::{TrackKind, TrackSettings};

/// Least time between keyframe requests caused by packet loss on the publisher's side.
const LOSS_KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);

/// One subscriber's media section fed by the track.
#[derive(Debug)]
pub struct Outlet<T> {
    pub target: T,
    pub settings: TrackSettings,
    layers: LayerSelector,
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
    last_loss_request: Option<Instant>,
}

impl<T: Copy + PartialEq> Fanout<T> {
    pub fn new(kind: TrackKind, rids: Vec<Rid>) -> Self {
        Self { kind, muted: false, probe: LayerSelector::new(rids), outlets: Vec::new(), last_loss_request: None }
    }

    pub fn outlets(&self) -> &[Outlet<T>] {
        &self.outlets
    }

    /// Starts feeding `target`; the first frames it gets start with a keyframe.
    pub fn add(&mut self, target: T, settings: TrackSettings) {
        let mut layers = self.probe.fresh_copy();
        layers.set_max(settings.max_quality);
        self.outlets.push(Outlet { target, settings, layers });
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
            }
            outlet.settings = settings;
            outlet.layers.set_max(settings.max_quality);
        }
    }

    /// Mutes or unmutes the track. Unmuting video makes every subscriber wait for a
    /// keyframe (the encoder may have been stopped); the next frame requests it.
    pub fn set_muted(&mut self, muted: bool) {
        if self.muted == muted {
            return;
        }
        self.muted = muted;
        if self.kind == TrackKind::Video {
            for outlet in &mut self.outlets {
                outlet.layers.reset();
            }
        }
    }

    pub fn muted(&self) -> bool {
        self.muted
    }

    /// Decides for one frame of layer `rid`: calls `send` with each outlet that gets it and
    /// returns the keyframes to ask the publisher for. `contiguous` is false when packets
    /// before this frame were lost (the forwarded picture is then broken until a keyframe).
    pub fn on_frame(
        &mut self,
        now: Instant,
        rid: Option<Rid>,
        keyframe: bool,
        contiguous: bool,
        mut send: impl FnMut(T),
    ) -> KeyframeRequests {
        let mut requests = KeyframeRequests::default();
        if self.kind == TrackKind::Video {
            self.probe.on_frame(now, rid, keyframe);
        }
        if self.muted {
            return requests;
        }
        let mut forwarded = false;
        for outlet in self.outlets.iter_mut().filter(|o| !o.settings.disabled) {
            let pass = match self.kind {
                TrackKind::Audio => true,
                TrackKind::Video => {
                    let decision = outlet.layers.on_frame(now, rid, keyframe);
                    if let Some(layer) = decision.request_keyframe {
                        requests.push(layer);
                    }
                    decision.forward
                }
            };
            if pass {
                forwarded = true;
                send(outlet.target);
            }
        }
        if self.kind == TrackKind::Video
            && forwarded
            && !contiguous
            && self.last_loss_request.is_none_or(|t| now.duration_since(t) >= LOSS_KEYFRAME_INTERVAL)
        {
            self.last_loss_request = Some(now);
            requests.push(rid);
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
    use super::*;
    use crate::model::Quality;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    /// The outlets a frame went to.
    fn frame(f: &mut Fanout<u8>, now: Instant, rid: Option<Rid>, key: bool) -> Vec<u8> {
        let mut to = Vec::new();
        f.on_frame(now, rid, key, true, |t| to.push(t));
        to
    }

    const ON: TrackSettings = TrackSettings { disabled: false, max_quality: Quality::High };

    #[test]
    fn muted_tracks_are_not_forwarded_and_video_resumes_at_a_keyframe() {
        let t0 = Instant::now();
        let mut audio = Fanout::new(TrackKind::Audio, vec![]);
        audio.add(1u8, ON);
        audio.add(2, ON);
        assert_eq!(frame(&mut audio, t0, None, false), [1, 2]);
        audio.set_muted(true);
        assert!(frame(&mut audio, ms(t0, 20), None, false).is_empty());
        audio.set_muted(false);
        assert_eq!(frame(&mut audio, ms(t0, 40), None, false), [1, 2]);

        let mut video = Fanout::new(TrackKind::Video, vec![]);
        video.add(1u8, ON);
        assert_eq!(frame(&mut video, t0, None, true), [1]);
        video.set_muted(true);
        assert!(video.muted());
        assert!(frame(&mut video, ms(t0, 30), None, true).is_empty());
        video.set_muted(false);
        let mut to = Vec::new();
        let requests = video.on_frame(ms(t0, 600), None, false, true, |t| to.push(t));
        assert!(to.is_empty(), "no delta frame after unmuting");
        assert_eq!(requests.iter().collect::<Vec<_>>(), [None], "a keyframe is requested");
        assert_eq!(frame(&mut video, ms(t0, 630), None, true), [1]);
    }

    #[test]
    fn disabled_outlets_get_nothing_and_each_subscriber_has_its_layer() {
        let t0 = Instant::now();
        let (q, h) = (Rid::from("q"), Rid::from("h"));
        let mut f = Fanout::new(TrackKind::Video, vec![q, h]);
        f.add(1u8, ON);
        f.add(2, TrackSettings { disabled: false, max_quality: Quality::Low });
        f.add(3, TrackSettings { disabled: true, max_quality: Quality::High });
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
    fn loss_requests_a_keyframe_at_most_every_interval() {
        let t0 = Instant::now();
        let mut f = Fanout::new(TrackKind::Video, vec![]);
        f.add(1u8, ON);
        frame(&mut f, t0, None, true);
        let lossy = |f: &mut Fanout<u8>, at| f.on_frame(at, None, false, false, |_| {}).iter().count();
        assert_eq!(lossy(&mut f, ms(t0, 10)), 1);
        assert_eq!(lossy(&mut f, ms(t0, 20)), 0);
        assert_eq!(lossy(&mut f, ms(t0, 600)), 1);
    }
}
