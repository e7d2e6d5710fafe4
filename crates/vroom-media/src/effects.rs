//! What a state transition of [`crate::state::Rooms`] asks of the SFU: work the plain state
//! cannot do itself (peer connections, signalling), returned as a value so that the rules
//! and their consequences are tested without either.

use crate::model::{ParticipantKey, ParticipantSid, TrackSettings, TrackSid};

/// Work a state transition asks of the SFU, which the state cannot do itself (peer
/// connections, signalling). A transition returns its [`Effects`] in the order they must
/// happen; [`crate::sfu::Sfu`] carries them out, and tests assert on them.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Everyone who sees `participant` gets its new snapshot, and so does it when `to_self`.
    Announce { participant: ParticipantKey, to_self: bool },
    /// The publication's forward stops (muted) or resumes sending.
    Mute { publisher: ParticipantKey, track_sid: TrackSid, muted: bool },
    /// `subscriber` learns whether it may have one of a publisher's tracks.
    TellAllowed { subscriber: ParticipantKey, publisher_sid: ParticipantSid, track_sid: TrackSid, allowed: bool },
    /// The outlet feeding `subscriber` with one of `publisher`'s tracks takes new settings.
    Settings { subscriber: ParticipantKey, publisher: ParticipantKey, track_sid: TrackSid, settings: TrackSettings },
    /// `subscriber`'s subscriptions changed: the SFU offers it the change.
    Renegotiate(ParticipantKey),
}

/// The effects of one transition, in order, each at most once.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct Effects(pub(crate) Vec<Effect>);

impl Effects {
    pub(crate) fn push(&mut self, effect: Effect) {
        if !self.0.contains(&effect) {
            self.0.push(effect);
        }
    }

    pub(crate) fn announce(&mut self, participant: ParticipantKey, to_self: bool) {
        self.push(Effect::Announce { participant, to_self });
    }

    pub(crate) fn tell_allowed(
        &mut self,
        subscriber: ParticipantKey,
        publisher_sid: &ParticipantSid,
        track_sid: &TrackSid,
        allowed: bool,
    ) {
        let (publisher_sid, track_sid) = (publisher_sid.clone(), track_sid.clone());
        self.push(Effect::TellAllowed { subscriber, publisher_sid, track_sid, allowed });
    }

    pub(crate) fn renegotiate(&mut self, subscriber: ParticipantKey) {
        self.push(Effect::Renegotiate(subscriber));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The participants told to renegotiate, in order.
    pub fn renegotiations(&self) -> Vec<ParticipantKey> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Effect::Renegotiate(k) => Some(*k),
                _ => None,
            })
            .collect()
    }

    /// The `(subscriber, track sid, allowed)` of each permission the subscribers are told.
    pub fn allowed(&self) -> Vec<(ParticipantKey, TrackSid, bool)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Effect::TellAllowed { subscriber, track_sid, allowed, .. } => {
                    Some((*subscriber, track_sid.clone(), *allowed))
                }
                _ => None,
            })
            .collect()
    }
}

impl IntoIterator for Effects {
    type Item = Effect;
    type IntoIter = std::vec::IntoIter<Effect>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
