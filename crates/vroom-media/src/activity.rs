//! Room activity computed from what the server sees, pure: active speakers from the RTP
//! audio-level header extension (RFC 6464) and connection quality from loss and RTT.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::model::{ConnectionQuality, ParticipantKey};

/// How often speaker changes are reported at most (a window of audio levels per update).
pub const SPEAKER_INTERVAL: Duration = Duration::from_millis(500);
/// A packet at least this loud (in dBov, 0 = full scale) counts as speech. LiveKit's
/// server uses a similar threshold; background noise sits well below it.
const LOUD_DBOV: i8 = -45;
/// Share of a window's packets that must be loud for its participant to be speaking, so
/// a single click does not make a speaker.
const ACTIVE_PERCENT: u32 = 30;
/// A speaker's level is re-reported only when it moved at least this much (0..1 scale).
const LEVEL_STEP: f32 = 0.05;

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    packets: u32,
    loud: u32,
    /// Sum of the loud packets' linear amplitudes.
    amplitude: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Reported {
    level: f32,
    active: bool,
}

/// A change of one participant's speaking state or level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeakerChange {
    pub key: ParticipantKey,
    pub level: f32,
    pub active: bool,
}

/// Audio levels per participant, turned into speaker changes once per [`SPEAKER_INTERVAL`].
#[derive(Debug, Default)]
pub struct Speakers {
    windows: HashMap<ParticipantKey, Window>,
    reported: HashMap<ParticipantKey, Reported>,
    next_update: Option<Instant>,
}

impl Speakers {
    /// One audio packet of `key` with the extension's level (`-dBov`, 0..=127, as str0m
    /// gives it: 0 loudest, -127 silence).
    pub fn observe(&mut self, key: ParticipantKey, level: i8) {
        let w = self.windows.entry(key).or_default();
        w.packets += 1;
        if level >= LOUD_DBOV {
            w.loud += 1;
            w.amplitude += 10f32.powf(f32::from(level) / 20.0);
        }
    }

    /// Nobody's audio level kept.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.reported.is_empty()
    }

    pub fn forget(&mut self, key: ParticipantKey) {
        self.windows.remove(&key);
        self.reported.remove(&key);
    }

    /// At most once per interval: the participants whose speaking state or level changed
    /// since the last report (an empty list when nothing did).
    pub fn update(&mut self, now: Instant) -> Vec<SpeakerChange> {
        if self.next_update.is_some_and(|t| now < t) {
            return Vec::new();
        }
        self.next_update = Some(now + SPEAKER_INTERVAL);
        let mut changes = Vec::new();
        let keys: Vec<ParticipantKey> = self.windows.keys().chain(self.reported.keys()).copied().collect();
        for key in keys {
            if changes.iter().any(|c: &SpeakerChange| c.key == key) {
                continue;
            }
            let w = self.windows.get(&key).copied().unwrap_or_default();
            let active = w.packets > 0 && w.loud * 100 >= w.packets * ACTIVE_PERCENT;
            let level = if active { (w.amplitude / w.loud as f32).clamp(0.0, 1.0) } else { 0.0 };
            let before = self.reported.get(&key).copied().unwrap_or(Reported { level: 0.0, active: false });
            if active != before.active || (active && (level - before.level).abs() >= LEVEL_STEP) {
                changes.push(SpeakerChange { key, level, active });
                self.reported.insert(key, Reported { level, active });
            }
            if !active {
                self.reported.remove(&key);
            }
        }
        self.windows.clear();
        changes
    }
}

/// How often connection quality is reported.
pub const QUALITY_INTERVAL: Duration = Duration::from_secs(2);

/// Connection quality from the packet loss (0..1) and round-trip time the server measured,
/// through a simplified E-model (ITU-T G.107) mapped to a MOS score of 1..5: latency and
/// loss lower the rating; loss weighs more.
pub fn connection_quality(loss: f32, rtt: Option<Duration>) -> (ConnectionQuality, f32) {
    let loss_percent = (loss * 100.0).clamp(0.0, 100.0);
    let one_way_ms = rtt.map_or(0.0, |r| r.as_secs_f32() * 500.0) + 10.0;
    let delay_penalty = if one_way_ms < 160.0 { one_way_ms / 40.0 } else { (one_way_ms - 120.0) / 10.0 };
    let r = (93.2 - delay_penalty - 2.5 * loss_percent).clamp(0.0, 100.0);
    let mos = (1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 5.0);
    let quality = if mos >= 4.1 {
        ConnectionQuality::Excellent
    } else if mos >= 3.6 {
        ConnectionQuality::Good
    } else {
        ConnectionQuality::Poor
    };
    (quality, mos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ParticipantKey = ParticipantKey(1);
    const B: ParticipantKey = ParticipantKey(2);

    fn feed(s: &mut Speakers, key: ParticipantKey, level: i8, n: usize) {
        for _ in 0..n {
            s.observe(key, level);
        }
    }

    #[test]
    fn speakers_are_reported_as_deltas_at_most_every_interval() {
        let t0 = Instant::now();
        let mut s = Speakers::default();
        feed(&mut s, A, -10, 25);
        feed(&mut s, B, -127, 25);
        let changes = s.update(t0);
        assert_eq!(changes.len(), 1, "only the speaker: {changes:?}");
        assert!(changes[0].active && changes[0].key == A);
        assert!((changes[0].level - 10f32.powf(-0.5)).abs() < 0.01);
        // Within the interval nothing is reported, whatever arrives.
        feed(&mut s, B, -5, 25);
        assert!(s.update(t0 + Duration::from_millis(100)).is_empty());
        assert_eq!(s.next_update, Some(t0 + SPEAKER_INTERVAL));
        // Next window: A keeps talking at the same level (no change), B starts.
        feed(&mut s, A, -10, 25);
        let changes = s.update(t0 + SPEAKER_INTERVAL);
        assert_eq!(changes.iter().map(|c| (c.key, c.active)).collect::<Vec<_>>(), [(B, true)]);
        // A falls silent (no packets, e.g. muted), B's occasional clicks are not speech.
        feed(&mut s, B, -127, 20);
        feed(&mut s, B, -5, 2);
        let mut changes = s.update(t0 + SPEAKER_INTERVAL * 2);
        changes.sort_by_key(|c| c.key);
        assert_eq!(
            changes.iter().map(|c| (c.key, c.active, c.level)).collect::<Vec<_>>(),
            [(A, false, 0.0), (B, false, 0.0)]
        );
        assert!(s.update(t0 + SPEAKER_INTERVAL * 3).is_empty(), "silence stays unreported");
        feed(&mut s, A, -10, 10);
        s.forget(A);
        assert!(s.update(t0 + SPEAKER_INTERVAL * 4).is_empty());
    }

    #[test]
    fn quality_falls_with_loss_and_delay_and_is_never_lost() {
        let ms = Duration::from_millis;
        assert_eq!(connection_quality(0.0, None).0, ConnectionQuality::Excellent);
        assert_eq!(connection_quality(0.01, Some(ms(40))).0, ConnectionQuality::Excellent);
        assert_eq!(connection_quality(0.05, Some(ms(40))).0, ConnectionQuality::Good);
        assert_eq!(connection_quality(0.0, Some(ms(900))).0, ConnectionQuality::Poor);
        assert_eq!(connection_quality(0.2, Some(ms(40))).0, ConnectionQuality::Poor);
        let (q, score) = connection_quality(1.0, Some(ms(5000)));
        assert_eq!((q, score), (ConnectionQuality::Poor, 1.0));
        assert!(connection_quality(0.0, None).1 > connection_quality(0.02, None).1);
    }
}
