//! Rooms, participants, publications and subscriptions as plain state.
//!
//! No sockets, no clocks, no WebRTC: every method is a state transition that the caller
//! ([`crate::sfu::Sfu`]) turns into peer-connection work and events. That keeps the rules
//! (who sees whom, who subscribes to what, what a version bump is) unit-testable.

use std::collections::{BTreeMap, HashMap};

use str0m::media::{Mid, Rid};

use crate::effects::{Effect, Effects};
use crate::ids::new_id;
use crate::model::*;

/// A track a participant announced (`AddTrack`) and, once its media section was negotiated,
/// publishes.
#[derive(Debug, Clone)]
pub struct Publication {
    pub sid: TrackSid,
    pub cid: String,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub name: String,
    pub muted: bool,
    pub width: u32,
    pub height: u32,
    pub stream: String,
    /// Announced simulcast layers (video), lowest first.
    pub layers: Vec<LayerSpec>,
    /// The video codec the client asked to publish with (lowercase), if any.
    pub preferred_codec: Option<String>,
    /// Set when the publisher's offer carried this track.
    pub media: Option<PublishedMedia>,
}

#[derive(Debug, Clone)]
pub struct PublishedMedia {
    pub mid: Mid,
    pub mime_type: &'static str,
    /// Simulcast layers, lowest first (empty without simulcast).
    pub rids: Vec<Rid>,
}

/// Negotiation state of one forwarded track on a subscriber connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Wanted, not yet in an offer.
    ToOpen,
    /// In an offer that awaits the answer.
    Negotiating(Mid),
    /// Media flows on this mid.
    Open(Mid),
    /// To be removed in the next offer.
    ToStop(Mid),
    /// Removed in an offer that awaits the answer.
    Stopping(Mid),
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub publisher: ParticipantKey,
    pub track_sid: TrackSid,
    pub kind: TrackKind,
    pub state: SubscriptionState,
    pub settings: TrackSettings,
}

impl Subscription {
    fn new(publisher: ParticipantKey, track_sid: TrackSid, kind: TrackKind) -> Self {
        Subscription {
            publisher,
            track_sid,
            kind,
            state: SubscriptionState::ToOpen,
            settings: TrackSettings::default(),
        }
    }

    /// Wanted (not on its way out).
    pub fn is_live(&self) -> bool {
        matches!(self.state, SubscriptionState::ToOpen | SubscriptionState::Negotiating(_) | SubscriptionState::Open(_))
    }

    /// Stops this subscription; false if it should be dropped at once (never offered).
    fn stop(&mut self) -> bool {
        match self.state {
            SubscriptionState::ToOpen => false,
            SubscriptionState::Negotiating(mid) | SubscriptionState::Open(mid) => {
                self.state = SubscriptionState::ToStop(mid);
                true
            }
            SubscriptionState::ToStop(_) | SubscriptionState::Stopping(_) => true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Participant {
    pub key: ParticipantKey,
    pub room: RoomName,
    pub sid: ParticipantSid,
    pub identity: String,
    pub name: String,
    pub metadata: String,
    /// The metadata the token gave: where it is a JSON object (vroom's member JSON), its
    /// fields stay as they are whatever the participant changes.
    pub token_metadata: String,
    pub attributes: BTreeMap<String, String>,
    pub can_update_metadata: bool,
    pub permission: MediaPermission,
    pub state: ParticipantState,
    pub version: u32,
    pub joined_at_ms: i64,
    pub auto_subscribe: bool,
    pub publications: Vec<Publication>,
    pub subscriptions: Vec<Subscription>,
    /// Highest reliable data sequence seen from this participant (duplicates are dropped).
    pub last_data_sequence: u32,
    /// Who may subscribe to this participant's tracks; `None`: everyone.
    pub subscribe_grants: Option<Vec<SubscribeGrant>>,
    /// Tracks of others this participant wants but may not have (yet): they are subscribed
    /// when their publisher allows it.
    pub denied: Vec<DeniedTrack>,
}

/// A track a participant wants but its publisher does not let it have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedTrack {
    pub publisher: ParticipantKey,
    pub track_sid: TrackSid,
    pub kind: TrackKind,
}

impl Participant {
    /// Records that this participant wants `publisher`'s track: a new subscription if
    /// `allowed`, else a denied entry; nothing if it already has or wants it. True if a
    /// subscription was added (a renegotiation is due).
    fn want(&mut self, publisher: ParticipantKey, track_sid: TrackSid, kind: TrackKind, allowed: bool) -> bool {
        if self.subscriptions.iter().any(|s| s.track_sid == track_sid && s.is_live())
            || self.denied.iter().any(|d| d.track_sid == track_sid)
        {
            return false;
        }
        if allowed {
            self.subscriptions.push(Subscription::new(publisher, track_sid, kind));
        } else {
            self.denied.push(DeniedTrack { publisher, track_sid, kind });
        }
        allowed
    }

    /// Stops this participant's subscriptions to `publisher`'s track `track_sid` (all its
    /// tracks with `None`) and forgets its wish for them. True if a subscription changed (a
    /// renegotiation is due).
    fn stop_subscriptions(&mut self, publisher: ParticipantKey, track_sid: Option<&TrackSid>) -> bool {
        let concerns = |p: ParticipantKey, t: &TrackSid| p == publisher && track_sid.is_none_or(|sid| t == sid);
        self.denied.retain(|d| !concerns(d.publisher, &d.track_sid));
        let before = self.subscriptions.len();
        let mut changed = false;
        self.subscriptions.retain_mut(|s| {
            if !concerns(s.publisher, &s.track_sid) {
                return true;
            }
            changed = true;
            s.stop()
        });
        changed || before != self.subscriptions.len()
    }

    /// Whether `subscriber` may subscribe to this participant's track `track_sid`.
    pub fn allows(&self, subscriber: &Participant, track_sid: &TrackSid) -> bool {
        self.subscribe_grants.as_ref().is_none_or(|grants| {
            grants.iter().any(|g| {
                (subscriber.sid == g.participant.as_str() || g.participant == subscriber.identity)
                    && (g.all_tracks || g.track_sids.iter().any(|t| t == track_sid))
            })
        })
    }

    pub fn view(&self) -> ParticipantView {
        ParticipantView {
            sid: self.sid.clone(),
            identity: self.identity.clone(),
            name: self.name.clone(),
            metadata: self.metadata.clone(),
            attributes: self.attributes.clone(),
            can_update_metadata: self.can_update_metadata,
            state: self.state,
            tracks: self.publications.iter().filter(|p| p.media.is_some()).map(Publication::view).collect(),
            version: self.version,
            joined_at_ms: self.joined_at_ms,
            permission: self.permission,
        }
    }

    pub fn publication_by_mid(&self, mid: Mid) -> Option<&Publication> {
        self.publications.iter().find(|p| p.media.as_ref().is_some_and(|m| m.mid == mid))
    }

    fn bump(&mut self) {
        self.version += 1;
    }
}

impl Publication {
    /// The quality to forward to a subscriber that displays the track at `width`×`height`:
    /// the smallest announced layer covering both, else the best.
    pub fn quality_for(&self, width: u32, height: u32) -> Quality {
        let mut layers = self.layers.clone();
        layers.sort_by_key(|l| l.quality);
        layers.iter().find(|l| l.width >= width && l.height >= height).map_or(Quality::High, |l| l.quality)
    }

    pub fn view(&self) -> TrackView {
        TrackView {
            sid: self.sid.clone(),
            kind: self.kind,
            source: self.source,
            name: self.name.clone(),
            muted: self.muted,
            width: self.width,
            height: self.height,
            mime_type: self.media.as_ref().map(|m| m.mime_type.to_owned()).unwrap_or_default(),
            mid: self.media.as_ref().map(|m| m.mid.to_string()).unwrap_or_default(),
            simulcast: self.media.as_ref().is_some_and(|m| m.rids.len() > 1),
            stream: self.stream.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Room {
    pub sid: String,
    pub name: RoomName,
    pub created_at_ms: i64,
    /// Members in join order.
    pub members: Vec<ParticipantKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("unknown participant")]
    UnknownParticipant,
    #[error("not allowed to publish")]
    NotAllowed,
    #[error("too many tracks")]
    TooManyTracks,
}

/// Why a participant's update of its own metadata was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("unknown participant")]
    UnknownParticipant,
    #[error("the token does not allow updating the participant's own metadata")]
    NotAllowed,
    #[error("the metadata must keep the fields the server set: {0}")]
    ServerFields(String),
    #[error("{0} is too large")]
    TooLarge(&'static str),
}

/// Largest name, metadata and attribute (key or value) a participant may set itself, and
/// most attributes it may have.
const MAX_NAME: usize = 256;
const MAX_METADATA: usize = 64 * 1024;
const MAX_ATTRIBUTE: usize = 4 * 1024;
const MAX_ATTRIBUTES: usize = 64;

/// Whether `metadata` keeps every field of `token_metadata` where that is a JSON object
/// (vroom's member JSON: the platform reads it back); the offending field otherwise.
fn keeps_server_fields(token_metadata: &str, metadata: &str) -> Result<(), String> {
    let Ok(serde_json::Value::Object(fixed)) = serde_json::from_str(token_metadata) else { return Ok(()) };
    let Ok(serde_json::Value::Object(new)) = serde_json::from_str(metadata) else {
        return Err("it must be a JSON object".to_owned());
    };
    match fixed.iter().find(|(k, v)| new.get(*k) != Some(v)) {
        Some((key, _)) => Err(format!("`{key}` changed or missing")),
        None => Ok(()),
    }
}

/// Most tracks one participant may announce (a client sends a handful).
pub const MAX_PUBLICATIONS: usize = 16;

/// All rooms of one media worker.
#[derive(Debug, Default)]
pub struct Rooms {
    rooms: HashMap<RoomName, Room>,
    participants: HashMap<ParticipantKey, Participant>,
}

impl Rooms {
    /// No room and no participant left (what everyone leaving must come to).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.rooms.is_empty() && self.participants.is_empty()
    }

    pub fn participant(&self, key: ParticipantKey) -> Option<&Participant> {
        self.participants.get(&key)
    }

    pub fn participant_mut(&mut self, key: ParticipantKey) -> Option<&mut Participant> {
        self.participants.get_mut(&key)
    }

    pub fn room(&self, name: &str) -> Option<&Room> {
        self.rooms.get(name)
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// The member of `room` with this identity, if any (a rejoin evicts it first).
    pub fn find_identity(&self, room: &str, identity: &str) -> Option<ParticipantKey> {
        let room = self.rooms.get(room)?;
        room.members.iter().copied().find(|k| self.participants.get(k).is_some_and(|p| p.identity == identity))
    }

    /// Adds a participant (creating the room) and subscribes it, if it auto-subscribes, to
    /// every published track of the others; it is told of those it may not have, and the
    /// others see it. The caller evicts a duplicate identity first.
    pub fn join(&mut self, key: ParticipantKey, req: JoinRequest, now_ms: i64) -> (JoinInfo, Effects) {
        let room = self.rooms.entry(req.room.clone()).or_insert_with(|| Room {
            sid: new_id("RM_"),
            name: req.room.clone(),
            created_at_ms: now_ms,
            members: Vec::new(),
        });
        room.members.push(key);
        let mut participant = Participant {
            key,
            room: req.room.clone(),
            sid: new_id("PA_"),
            identity: req.identity,
            name: req.name,
            token_metadata: req.metadata.clone(),
            metadata: req.metadata,
            attributes: req.attributes,
            can_update_metadata: req.can_update_metadata,
            permission: req.permission,
            state: ParticipantState::Joined,
            version: 1,
            joined_at_ms: now_ms,
            auto_subscribe: req.auto_subscribe,
            publications: Vec::new(),
            subscriptions: Vec::new(),
            last_data_sequence: 0,
            subscribe_grants: None,
            denied: Vec::new(),
        };
        let mut effects = Effects::default();
        let others: Vec<&Participant> =
            room.members.iter().filter(|k| **k != key).filter_map(|k| self.participants.get(k)).collect();
        if participant.auto_subscribe && participant.permission.can_subscribe {
            for other in others.iter().filter(|o| !o.permission.hidden) {
                for publication in other.publications.iter().filter(|p| p.media.is_some()) {
                    if other.allows(&participant, &publication.sid) {
                        participant.subscriptions.push(Subscription::new(
                            other.key,
                            publication.sid.clone(),
                            publication.kind,
                        ));
                    } else {
                        effects.tell_allowed(key, &other.sid, &publication.sid, false);
                        participant.denied.push(DeniedTrack {
                            publisher: other.key,
                            track_sid: publication.sid.clone(),
                            kind: publication.kind,
                        });
                    }
                }
            }
        }
        let others = others.iter().filter(|p| !p.permission.hidden).map(|p| p.view()).collect();
        let participant_view = participant.view();
        self.participants.insert(key, participant);
        effects.announce(key, false);
        (JoinInfo { room: self.room_view(req.room.as_str()), participant: participant_view, others }, effects)
    }

    /// The other participants of `key`'s room (including hidden ones).
    pub fn others(&self, key: ParticipantKey) -> impl Iterator<Item = &Participant> {
        let room = self.participants.get(&key).and_then(|p| self.rooms.get(&p.room));
        room.into_iter()
            .flat_map(|r| r.members.iter())
            .filter(move |k| **k != key)
            .filter_map(|k| self.participants.get(k))
    }

    /// Keys of the participants that should hear about changes of `key` (everyone else in
    /// the room, unless `key` is hidden).
    pub fn audience(&self, key: ParticipantKey) -> Vec<ParticipantKey> {
        match self.participants.get(&key) {
            Some(p) if !p.permission.hidden => self.others(key).map(|p| p.key).collect(),
            _ => Vec::new(),
        }
    }

    pub fn room_view(&self, name: &str) -> RoomView {
        let Some(room) = self.rooms.get(name) else {
            return RoomView {
                sid: String::new(),
                name: name.into(),
                created_at_ms: 0,
                num_participants: 0,
                num_publishers: 0,
            };
        };
        let members = room.members.iter().filter_map(|k| self.participants.get(k)).filter(|p| !p.permission.hidden);
        let (mut participants, mut publishers) = (0, 0);
        for p in members {
            participants += 1;
            if p.publications.iter().any(|t| t.media.is_some()) {
                publishers += 1;
            }
        }
        RoomView {
            sid: room.sid.clone(),
            name: room.name.clone(),
            created_at_ms: room.created_at_ms,
            num_participants: participants,
            num_publishers: publishers,
        }
    }

    /// Records an announced track; announcing the same `cid` twice returns the same track.
    pub fn add_track(&mut self, key: ParticipantKey, track: AddTrack) -> Result<TrackView, StateError> {
        let p = self.participants.get_mut(&key).ok_or(StateError::UnknownParticipant)?;
        if !p.permission.can_publish {
            return Err(StateError::NotAllowed);
        }
        if let Some(existing) = p.publications.iter().find(|t| t.cid == track.cid) {
            return Ok(existing.view());
        }
        if p.publications.len() >= MAX_PUBLICATIONS {
            return Err(StateError::TooManyTracks);
        }
        let letter = match (track.kind, track.source) {
            (TrackKind::Audio, TrackSource::ScreenShareAudio) => "As",
            (TrackKind::Audio, _) => "AM",
            (TrackKind::Video, TrackSource::ScreenShare) => "VS",
            (TrackKind::Video, _) => "VC",
        };
        let publication = Publication {
            sid: new_id(&format!("TR_{letter}")),
            cid: track.cid,
            kind: track.kind,
            source: track.source,
            name: track.name,
            muted: track.muted,
            width: track.width,
            height: track.height,
            stream: track.stream,
            layers: track.layers,
            preferred_codec: track.preferred_codec,
            media: None,
        };
        let view = publication.view();
        p.publications.push(publication);
        Ok(view)
    }

    /// The publisher's offer carried a new media section: bind it to the announced track
    /// (by msid track id = cid, else the oldest unbound track of that kind), bump the
    /// version and subscribe every auto-subscribing member it allows (the others are told
    /// they may not). Returns the track sid, or `None` when no announced track matches.
    pub fn media_added(
        &mut self,
        key: ParticipantKey,
        mid: Mid,
        kind: TrackKind,
        msid_track: &str,
        mime_type: &'static str,
        rids: Vec<Rid>,
    ) -> Option<(TrackSid, Effects)> {
        let p = self.participants.get_mut(&key)?;
        let unbound = |t: &&mut Publication| t.media.is_none() && t.kind == kind;
        let index = p
            .publications
            .iter_mut()
            .position(|t| t.media.is_none() && t.kind == kind && t.cid == msid_track)
            .or_else(|| p.publications.iter_mut().position(|t| unbound(&t)))?;
        let publication = &mut p.publications[index];
        publication.media = Some(PublishedMedia { mid, mime_type, rids });
        let sid = publication.sid.clone();
        p.bump();
        let room = p.room.clone();
        let hidden = p.permission.hidden;
        let publisher_sid = p.sid.clone();
        let (mut denied, mut subscribers) = (Effects::default(), Effects::default());
        let members = self.rooms.get(&room).map(|r| r.members.clone()).unwrap_or_default();
        for other in members.into_iter().filter(|k| *k != key) {
            let allowed = match (self.participants.get(&key), self.participants.get(&other)) {
                (Some(p), Some(o)) => p.allows(o, &sid),
                _ => continue,
            };
            let Some(o) = self.participants.get_mut(&other) else { continue };
            if hidden || !o.auto_subscribe || !o.permission.can_subscribe {
                continue;
            }
            if allowed {
                o.subscriptions.push(Subscription::new(key, sid.clone(), kind));
                subscribers.renegotiate(other);
            } else {
                o.denied.push(DeniedTrack { publisher: key, track_sid: sid.clone(), kind });
                denied.tell_allowed(other, &publisher_sid, &sid, false);
            }
        }
        denied.announce(key, false);
        denied.0.extend(subscribers);
        Some((sid, denied))
    }

    /// Marks the participant connected (its subscriber connection is up); the others see
    /// it if that changed something.
    pub fn set_active(&mut self, key: ParticipantKey) -> Effects {
        let mut effects = Effects::default();
        if let Some(p) = self.participants.get_mut(&key)
            && p.state == ParticipantState::Joined
        {
            p.state = ParticipantState::Active;
            p.bump();
            effects.announce(key, false);
        }
        effects
    }

    /// Mutes or unmutes one of `key`'s tracks; if that changed something, its forward
    /// follows and everyone (itself included) sees it.
    pub fn set_muted(&mut self, key: ParticipantKey, track_sid: &TrackSid, muted: bool) -> Effects {
        let mut effects = Effects::default();
        let Some(p) = self.participants.get_mut(&key) else { return effects };
        let Some(t) = p.publications.iter_mut().find(|t| t.sid == track_sid) else { return effects };
        if t.muted == muted {
            return effects;
        }
        t.muted = muted;
        p.bump();
        effects.push(Effect::Mute { publisher: key, track_sid: track_sid.to_owned(), muted });
        effects.announce(key, true);
        effects
    }

    /// Replaces a participant's permission (e.g. a waiting participant is approved) and
    /// bumps its version. Gaining `can_subscribe` subscribes it (when it auto-subscribes) to
    /// the others' published tracks; becoming visible lets the others subscribe to its own.
    /// Everyone who sees it (itself included) gets its new snapshot. `None` for an unknown key.
    pub fn set_permission(&mut self, key: ParticipantKey, permission: MediaPermission) -> Option<Effects> {
        let p = self.participants.get_mut(&key)?;
        let before = p.permission;
        p.permission = permission;
        p.bump();
        let room = p.room.clone();
        let members = self.rooms.get(&room).map(|r| r.members.clone()).unwrap_or_default();
        let mut effects = Effects::default();
        effects.announce(key, true);
        if !before.can_subscribe && permission.can_subscribe {
            // Everything published by the visible others, as its publisher allows.
            let offered: Vec<(ParticipantKey, TrackSid, TrackKind, bool)> = match self.participants.get(&key) {
                Some(p) if p.auto_subscribe => members
                    .iter()
                    .filter(|k| **k != key)
                    .filter_map(|k| self.participants.get(k))
                    .filter(|o| !o.permission.hidden)
                    .flat_map(|o| {
                        o.publications
                            .iter()
                            .filter(|t| t.media.is_some())
                            .map(move |t| (o.key, t.sid.clone(), t.kind, o.allows(p, &t.sid)))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if let Some(p) = self.participants.get_mut(&key)
                && offered.into_iter().fold(false, |added, (publisher, sid, kind, allowed)| {
                    p.want(publisher, sid, kind, allowed) || added
                })
            {
                effects.renegotiate(key);
            }
        }
        if before.hidden && !permission.hidden {
            let tracks: Vec<(TrackSid, TrackKind)> = self.participants[&key]
                .publications
                .iter()
                .filter(|t| t.media.is_some())
                .map(|t| (t.sid.clone(), t.kind))
                .collect();
            for other in members.iter().filter(|k| **k != key) {
                let (Some(p), Some(o)) = (self.participants.get(&key), self.participants.get(other)) else { continue };
                if tracks.is_empty() || !o.auto_subscribe || !o.permission.can_subscribe {
                    continue;
                }
                let allowed: Vec<bool> = tracks.iter().map(|(sid, _)| p.allows(o, sid)).collect();
                let Some(o) = self.participants.get_mut(other) else { continue };
                let mut added = false;
                for ((sid, kind), allowed) in tracks.iter().zip(allowed) {
                    added |= o.want(key, sid.clone(), *kind, allowed);
                }
                if added {
                    effects.renegotiate(*other);
                }
            }
        }
        Some(effects)
    }

    /// The publisher removed a track from its connection (the media section went inactive):
    /// the publication goes, the version is bumped and every subscription to it is stopped.
    /// Returns the track sid; `None` if no published track used `mid`.
    pub fn unpublish(&mut self, key: ParticipantKey, mid: Mid) -> Option<(TrackSid, Effects)> {
        let p = self.participants.get_mut(&key)?;
        let index = p.publications.iter().position(|t| t.media.as_ref().is_some_and(|m| m.mid == mid))?;
        let sid = p.publications.remove(index).sid;
        p.bump();
        let members = self.rooms.get(&p.room).map(|r| r.members.clone()).unwrap_or_default();
        let mut effects = Effects::default();
        effects.announce(key, false);
        for other in members.into_iter().filter(|k| *k != key) {
            let Some(o) = self.participants.get_mut(&other) else { continue };
            if o.stop_subscriptions(key, Some(&sid)) {
                effects.renegotiate(other);
            }
        }
        Some((sid, effects))
    }

    /// Manual subscription: subscribes `key` to (or unsubscribes it from) the published
    /// tracks of the others of its room named in `track_sids`. Unknown, own, hidden or not
    /// yet published tracks are skipped, as is subscribing without `can_subscribe`. A change
    /// renegotiates; asking for tracks it may not have tells the subscriber so.
    pub fn update_subscription(&mut self, key: ParticipantKey, track_sids: &[TrackSid], subscribe: bool) -> Effects {
        let mut effects = Effects::default();
        let Some(p) = self.participants.get(&key) else { return effects };
        if subscribe && !p.permission.can_subscribe {
            return effects;
        }
        let available: Vec<(ParticipantKey, TrackSid, TrackKind, bool)> = self
            .others(key)
            .filter(|o| !o.permission.hidden)
            .flat_map(|o| {
                o.publications
                    .iter()
                    .filter(|t| t.media.is_some())
                    .map(move |t| (o.key, t.sid.clone(), t.kind, o.allows(p, &t.sid)))
            })
            .filter(|(_, sid, _, _)| track_sids.contains(sid))
            .collect();
        let Some(p) = self.participants.get_mut(&key) else { return effects };
        let mut changed = false;
        for (publisher, sid, kind, allowed) in available {
            if !subscribe {
                p.denied.retain(|d| d.track_sid != sid);
            }
            let existing = p.subscriptions.iter().position(|s| s.track_sid == sid && s.is_live());
            match (subscribe, existing) {
                (true, None) if !allowed && !p.denied.iter().any(|d| d.track_sid == sid) => {
                    p.denied.push(DeniedTrack { publisher, track_sid: sid, kind });
                }
                (true, None) if !allowed => {}
                (true, None) => {
                    p.subscriptions.push(Subscription::new(publisher, sid, kind));
                    changed = true;
                }
                (false, Some(i)) => {
                    if !p.subscriptions[i].stop() {
                        p.subscriptions.remove(i);
                    }
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            effects.renegotiate(key);
        }
        if subscribe {
            let denied: Vec<(ParticipantKey, TrackSid)> = p
                .denied
                .iter()
                .filter(|d| track_sids.contains(&d.track_sid))
                .map(|d| (d.publisher, d.track_sid.clone()))
                .collect();
            for (publisher, track_sid) in denied {
                let Some(publisher) = self.participants.get(&publisher) else { continue };
                effects.tell_allowed(key, &publisher.sid, &track_sid, false);
            }
        }
        effects
    }

    /// Changes who may subscribe to `key`'s tracks. Subscriptions that are no longer allowed
    /// stop (and are remembered as wanted); wanted tracks that became allowed are
    /// subscribed. Each subscriber concerned is told, then renegotiates.
    pub fn set_subscribe_grants(&mut self, key: ParticipantKey, grants: Option<Vec<SubscribeGrant>>) -> Effects {
        let mut effects = Effects::default();
        let Some(p) = self.participants.get(&key) else { return effects };
        if p.permission.hidden {
            // Nobody sees or subscribes to a hidden participant: only remember the grants.
            if let Some(p) = self.participants.get_mut(&key) {
                p.subscribe_grants = grants;
            }
            return effects;
        }
        let tracks: Vec<(TrackSid, TrackKind)> =
            p.publications.iter().filter(|t| t.media.is_some()).map(|t| (t.sid.clone(), t.kind)).collect();
        let before: Vec<(ParticipantKey, TrackSid, bool)> = self
            .others(key)
            .flat_map(|o| tracks.iter().map(move |(sid, _)| (o.key, sid.clone(), p.allows(o, sid))))
            .collect();
        let Some(p) = self.participants.get_mut(&key) else { return effects };
        p.subscribe_grants = grants;
        let publisher_sid = p.sid.clone();
        let mut affected = Effects::default();
        for (other, sid, was_allowed) in before {
            let (Some(p), Some(o)) = (self.participants.get(&key), self.participants.get(&other)) else { continue };
            let allowed = p.allows(o, &sid);
            if allowed == was_allowed {
                continue;
            }
            let kind = tracks.iter().find(|(t, _)| *t == sid).map_or(TrackKind::Video, |(_, k)| *k);
            let Some(o) = self.participants.get_mut(&other) else { continue };
            // Only those who have or want the track are concerned (and told).
            if allowed {
                let Some(i) = o.denied.iter().position(|d| d.publisher == key && d.track_sid == sid) else { continue };
                o.denied.remove(i);
                o.subscriptions.push(Subscription::new(key, sid.clone(), kind));
            } else {
                let Some(i) = o.subscriptions.iter().position(|s| s.track_sid == sid && s.is_live()) else { continue };
                if !o.subscriptions[i].stop() {
                    o.subscriptions.remove(i);
                }
                o.denied.push(DeniedTrack { publisher: key, track_sid: sid.clone(), kind });
            }
            effects.tell_allowed(other, &publisher_sid, &sid, allowed);
            affected.renegotiate(other);
        }
        effects.0.extend(affected);
        effects
    }

    /// Records a subscriber's settings for tracks it subscribes to; the outlets of those
    /// that changed follow.
    pub fn set_track_settings(
        &mut self,
        key: ParticipantKey,
        track_sids: &[TrackSid],
        disabled: bool,
        quality: Quality,
        width: u32,
        height: u32,
    ) -> Effects {
        let mut effects = Effects::default();
        let Some(p) = self.participants.get(&key) else { return effects };
        let wanted: Vec<(usize, TrackSettings)> = p
            .subscriptions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_live() && track_sids.contains(&s.track_sid))
            .map(|(i, s)| {
                let publication = self
                    .participants
                    .get(&s.publisher)
                    .and_then(|o| o.publications.iter().find(|t| t.sid == s.track_sid));
                let max_quality = match publication {
                    Some(t) if width > 0 && height > 0 => t.quality_for(width, height),
                    _ => quality,
                };
                (i, TrackSettings { disabled, max_quality })
            })
            .collect();
        let Some(p) = self.participants.get_mut(&key) else { return effects };
        for (i, settings) in wanted {
            let s = &mut p.subscriptions[i];
            if s.settings != settings {
                s.settings = settings;
                let (publisher, track_sid) = (s.publisher, s.track_sid.clone());
                effects.push(Effect::Settings { subscriber: key, publisher, track_sid, settings });
            }
        }
        effects
    }

    /// The participant changes its own name, metadata or attributes (if its token allows,
    /// within limits, keeping the fields the server set in its metadata); everyone who sees
    /// it, itself included, learns of the change. Nothing changes on a refusal.
    pub fn update_metadata(&mut self, key: ParticipantKey, update: &MetadataUpdate) -> Result<Effects, MetadataError> {
        let p = self.participants.get_mut(&key).ok_or(MetadataError::UnknownParticipant)?;
        if !p.can_update_metadata {
            return Err(MetadataError::NotAllowed);
        }
        if update.name.len() > MAX_NAME {
            return Err(MetadataError::TooLarge("the name"));
        }
        if update.metadata.len() > MAX_METADATA {
            return Err(MetadataError::TooLarge("the metadata"));
        }
        if update.attributes.iter().any(|(k, v)| k.is_empty() || k.len() > MAX_ATTRIBUTE || v.len() > MAX_ATTRIBUTE) {
            return Err(MetadataError::TooLarge("an attribute"));
        }
        if !update.metadata.is_empty() {
            keeps_server_fields(&p.token_metadata, &update.metadata).map_err(MetadataError::ServerFields)?;
        }
        let mut attributes = p.attributes.clone();
        for (k, v) in &update.attributes {
            if v.is_empty() {
                attributes.remove(k);
            } else {
                attributes.insert(k.clone(), v.clone());
            }
        }
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(MetadataError::TooLarge("the set of attributes"));
        }
        let mut changed = attributes != p.attributes;
        p.attributes = attributes;
        if !update.name.is_empty() && update.name != p.name {
            p.name.clone_from(&update.name);
            changed = true;
        }
        if !update.metadata.is_empty() && update.metadata != p.metadata {
            p.metadata.clone_from(&update.metadata);
            changed = true;
        }
        let mut effects = Effects::default();
        if changed {
            p.bump();
            effects.announce(key, true);
        }
        Ok(effects)
    }

    /// Every participant of a room, hidden ones included, in join order.
    pub fn members(&self, room: &str) -> Vec<ParticipantKey> {
        self.rooms.get(room).map(|r| r.members.clone()).unwrap_or_default()
    }

    /// Removes a participant: its subscribers' subscriptions to its tracks are marked for
    /// removal (they renegotiate). Returns its final (DISCONNECTED) state. Deletes the room
    /// when it becomes empty.
    pub fn leave(&mut self, key: ParticipantKey) -> Option<(Participant, Effects)> {
        let mut gone = self.participants.remove(&key)?;
        gone.state = ParticipantState::Disconnected;
        gone.bump();
        let mut affected = Effects::default();
        if let Some(room) = self.rooms.get_mut(&gone.room) {
            room.members.retain(|k| *k != key);
            for member in &room.members {
                let Some(p) = self.participants.get_mut(member) else { continue };
                if p.stop_subscriptions(key, None) {
                    affected.renegotiate(*member);
                }
            }
            if room.members.is_empty() {
                self.rooms.remove(&gone.room);
            }
        }
        Some((gone, affected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm() -> MediaPermission {
        MediaPermission { can_publish: true, can_subscribe: true, can_publish_data: true, hidden: false }
    }

    fn req(room: &str, identity: &str) -> JoinRequest {
        JoinRequest {
            room: room.into(),
            identity: identity.into(),
            name: identity.to_uppercase(),
            metadata: "{}".into(),
            permission: perm(),
            auto_subscribe: true,
            can_update_metadata: false,
            attributes: Default::default(),
        }
    }

    fn track(cid: &str, kind: TrackKind) -> AddTrack {
        AddTrack {
            cid: cid.into(),
            name: String::new(),
            kind,
            source: if kind == TrackKind::Audio { TrackSource::Microphone } else { TrackSource::Camera },
            width: 640,
            height: 480,
            muted: false,
            stream: String::new(),
            layers: Vec::new(),
            preferred_codec: None,
        }
    }

    const A: ParticipantKey = ParticipantKey(1);
    const B: ParticipantKey = ParticipantKey(2);

    #[test]
    fn join_creates_room_and_lists_others() {
        let mut rooms = Rooms::default();
        let (a, effects) = rooms.join(A, req("r", "alice"), 10);
        assert_eq!(effects.into_iter().collect::<Vec<_>>(), [Effect::Announce { participant: A, to_self: false }]);
        assert!(a.room.sid.starts_with("RM_"));
        assert!(a.participant.sid.starts_with("PA_"));
        assert!(a.others.is_empty());
        assert_eq!(a.room.num_participants, 1);
        let (b, _) = rooms.join(B, req("r", "bob"), 20);
        assert_eq!(b.room.sid, a.room.sid);
        assert_eq!(b.others.len(), 1);
        assert_eq!(b.others[0].identity, "alice");
        assert_eq!(rooms.find_identity("r", "bob"), Some(B));
        assert_eq!(rooms.audience(A), vec![B]);
    }

    #[test]
    fn publishing_binds_by_cid_and_subscribes_others() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        let _ = rooms.join(B, req("r", "bob"), 0);
        let mic = rooms.add_track(A, track("mic", TrackKind::Audio)).unwrap();
        let cam = rooms.add_track(A, track("cam", TrackKind::Video)).unwrap();
        assert!(mic.sid.starts_with("TR_AM") && cam.sid.starts_with("TR_VC"));
        // The same cid again is the same track.
        assert_eq!(rooms.add_track(A, track("cam", TrackKind::Video)).unwrap().sid, cam.sid);
        // Not visible before media is negotiated.
        assert!(rooms.participant(A).unwrap().view().tracks.is_empty());
        let v0 = rooms.participant(A).unwrap().version;
        let (sid, effects) =
            rooms.media_added(A, Mid::from("1"), TrackKind::Video, "cam", "video/VP8", vec![]).unwrap();
        assert_eq!(sid, cam.sid);
        assert_eq!(
            effects.into_iter().collect::<Vec<_>>(),
            [Effect::Announce { participant: A, to_self: false }, Effect::Renegotiate(B)],
            "the others see the track first, then bob is offered it"
        );
        let view = rooms.participant(A).unwrap().view();
        assert_eq!(view.tracks.len(), 1);
        assert_eq!(view.tracks[0].mime_type, "video/VP8");
        assert!(view.version > v0);
        let sub = &rooms.participant(B).unwrap().subscriptions[0];
        assert_eq!(
            (sub.publisher, sub.track_sid.as_str(), sub.state),
            (A, cam.sid.as_str(), SubscriptionState::ToOpen)
        );
        // Unknown msid falls back to the oldest unbound track of the kind.
        let (sid, _) = rooms.media_added(A, Mid::from("0"), TrackKind::Audio, "zzz", "audio/opus", vec![]).unwrap();
        assert_eq!(sid, mic.sid);
        assert!(rooms.media_added(A, Mid::from("2"), TrackKind::Audio, "x", "audio/opus", vec![]).is_none());
    }

    #[test]
    fn late_joiner_subscribes_to_existing_tracks() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        rooms.add_track(A, track("cam", TrackKind::Video)).unwrap();
        let _ = rooms.media_added(A, Mid::from("0"), TrackKind::Video, "cam", "video/VP8", vec![]).unwrap();
        let (info, _) = rooms.join(B, req("r", "bob"), 0);
        assert_eq!(info.others[0].tracks.len(), 1);
        assert_eq!(info.room.num_publishers, 1);
        assert_eq!(rooms.participant(B).unwrap().subscriptions.len(), 1);
    }

    #[test]
    fn permissions_and_hidden_participants() {
        let mut rooms = Rooms::default();
        let mut watcher = req("r", "watcher");
        watcher.permission.hidden = true;
        watcher.permission.can_publish = false;
        let _ = rooms.join(A, watcher, 0);
        assert_eq!(rooms.add_track(A, track("c", TrackKind::Video)).unwrap_err(), StateError::NotAllowed);
        let (b, _) = rooms.join(B, req("r", "bob"), 0);
        assert!(b.others.is_empty(), "hidden participants are not listed");
        assert_eq!(b.room.num_participants, 1);
        assert!(rooms.audience(A).is_empty());
        assert_eq!(
            rooms.add_track(ParticipantKey(9), track("c", TrackKind::Video)).unwrap_err(),
            StateError::UnknownParticipant
        );
    }

    #[test]
    fn leave_marks_subscriptions_for_removal_and_drops_empty_rooms() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        let _ = rooms.join(B, req("r", "bob"), 0);
        rooms.add_track(A, track("cam", TrackKind::Video)).unwrap();
        let _ = rooms.media_added(A, Mid::from("0"), TrackKind::Video, "cam", "video/VP8", vec![]).unwrap();
        rooms.participant_mut(B).unwrap().subscriptions[0].state = SubscriptionState::Open(Mid::from("3"));
        let (gone, effects) = rooms.leave(A).unwrap();
        assert_eq!(gone.state, ParticipantState::Disconnected);
        assert_eq!(effects.renegotiations(), [B]);
        assert_eq!(rooms.participant(B).unwrap().subscriptions[0].state, SubscriptionState::ToStop(Mid::from("3")));
        assert!(rooms.leave(A).is_none());
        let _ = rooms.leave(B).unwrap();
        assert_eq!(rooms.room_count(), 0);
    }

    #[test]
    fn approval_makes_a_waiting_participant_visible_and_subscribing() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "owner"), 0);
        rooms.add_track(A, track("cam", TrackKind::Video)).unwrap();
        let _ = rooms.media_added(A, Mid::from("0"), TrackKind::Video, "cam", "video/VP8", vec![]).unwrap();
        let mut waiting = req("r", "guest");
        waiting.permission =
            MediaPermission { can_publish: false, can_subscribe: false, can_publish_data: false, hidden: true };
        let (info, _) = rooms.join(B, waiting, 0);
        assert_eq!(info.others.len(), 1, "the waiting participant sees the room");
        assert!(rooms.participant(B).unwrap().subscriptions.is_empty(), "but receives nothing");
        assert!(rooms.audience(B).is_empty(), "and nobody sees it");
        assert_eq!(rooms.add_track(B, track("c", TrackKind::Video)).unwrap_err(), StateError::NotAllowed);
        let v = rooms.participant(B).unwrap().version;

        let effects = rooms.set_permission(B, perm()).unwrap();
        assert_eq!(
            effects.into_iter().collect::<Vec<_>>(),
            [Effect::Announce { participant: B, to_self: true }, Effect::Renegotiate(B)]
        );
        let guest = rooms.participant(B).unwrap();
        assert!(guest.version > v);
        assert_eq!(guest.subscriptions.len(), 1);
        assert_eq!(rooms.audience(B), vec![A]);
        assert!(rooms.add_track(B, track("c", TrackKind::Video)).is_ok());
        assert_eq!(rooms.members("r"), vec![A, B]);
        assert!(rooms.set_permission(ParticipantKey(9), perm()).is_none());
    }

    #[test]
    fn mute_and_active_bump_versions_once() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        let t = rooms.add_track(A, track("mic", TrackKind::Audio)).unwrap();
        let v = rooms.participant(A).unwrap().version;
        assert_eq!(
            rooms.set_muted(A, &t.sid, true).into_iter().collect::<Vec<_>>(),
            [
                Effect::Mute { publisher: A, track_sid: t.sid.clone(), muted: true },
                Effect::Announce { participant: A, to_self: true }
            ]
        );
        assert!(rooms.set_muted(A, &t.sid, true).is_empty());
        assert_eq!(
            rooms.set_active(A).into_iter().collect::<Vec<_>>(),
            [Effect::Announce { participant: A, to_self: false }]
        );
        assert!(rooms.set_active(A).is_empty());
        assert_eq!(rooms.participant(A).unwrap().version, v + 2);
    }

    fn published(rooms: &mut Rooms, key: ParticipantKey, cid: &str, kind: TrackKind, mid: &str) -> TrackSid {
        rooms.add_track(key, track(cid, kind)).unwrap();
        let mime = if kind == TrackKind::Audio { "audio/opus" } else { "video/VP8" };
        rooms.media_added(key, Mid::from(mid), kind, cid, mime, vec![]).unwrap().0
    }

    fn states(rooms: &Rooms, key: ParticipantKey) -> Vec<(TrackSid, SubscriptionState)> {
        rooms.participant(key).unwrap().subscriptions.iter().map(|s| (s.track_sid.clone(), s.state)).collect()
    }

    #[test]
    fn unpublish_removes_the_track_and_stops_its_subscriptions() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        let _ = rooms.join(B, req("r", "bob"), 0);
        let mic = published(&mut rooms, A, "mic", TrackKind::Audio, "0");
        let cam = published(&mut rooms, A, "cam", TrackKind::Video, "1");
        // Bob's audio subscription is open, the video one not yet offered.
        rooms.participant_mut(B).unwrap().subscriptions[0].state = SubscriptionState::Open(Mid::from("5"));
        let v = rooms.participant(A).unwrap().version;

        assert!(rooms.unpublish(A, Mid::from("9")).is_none(), "no track on that mid");
        let (sid, effects) = rooms.unpublish(A, Mid::from("0")).unwrap();
        assert_eq!(
            (sid.as_str(), effects.into_iter().collect::<Vec<_>>()),
            (mic.as_str(), vec![Effect::Announce { participant: A, to_self: false }, Effect::Renegotiate(B)])
        );
        let alice = rooms.participant(A).unwrap().view();
        assert_eq!(alice.tracks.iter().map(|t| t.sid.as_str()).collect::<Vec<_>>(), [cam.as_str()]);
        assert_eq!(alice.version, v + 1);
        assert_eq!(
            states(&rooms, B),
            [(mic.clone(), SubscriptionState::ToStop(Mid::from("5"))), (cam.clone(), SubscriptionState::ToOpen)]
        );
        // A track never offered to the subscriber is simply forgotten.
        let (_, effects) = rooms.unpublish(A, Mid::from("1")).unwrap();
        assert_eq!(effects.renegotiations(), [B]);
        assert_eq!(states(&rooms, B), [(mic, SubscriptionState::ToStop(Mid::from("5")))]);
        assert!(rooms.participant(A).unwrap().view().tracks.is_empty());
    }

    #[test]
    fn manual_subscription_follows_update_subscription() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        let mut manual = req("r", "bob");
        manual.auto_subscribe = false;
        let _ = rooms.join(B, manual, 0);
        let cam = published(&mut rooms, A, "cam", TrackKind::Video, "0");
        let own = published(&mut rooms, B, "bcam", TrackKind::Video, "0");
        assert!(states(&rooms, B).is_empty(), "no automatic subscription");
        assert_eq!(states(&rooms, A).len(), 1, "alice auto-subscribes to bob");

        let renegotiates = |effects: Effects| effects == Effects(vec![Effect::Renegotiate(B)]);
        assert!(rooms.update_subscription(B, &["TR_nope".into(), own.clone()], true).is_empty(), "unknown, own");
        assert!(renegotiates(rooms.update_subscription(B, std::slice::from_ref(&cam), true)));
        assert!(rooms.update_subscription(B, std::slice::from_ref(&cam), true).is_empty(), "already subscribed");
        assert_eq!(states(&rooms, B), [(cam.clone(), SubscriptionState::ToOpen)]);
        // Unsubscribing before the offer went out forgets it; after, it is stopped.
        assert!(renegotiates(rooms.update_subscription(B, std::slice::from_ref(&cam), false)));
        assert!(states(&rooms, B).is_empty());
        let _ = rooms.update_subscription(B, std::slice::from_ref(&cam), true);
        rooms.participant_mut(B).unwrap().subscriptions[0].state = SubscriptionState::Open(Mid::from("3"));
        assert!(renegotiates(rooms.update_subscription(B, std::slice::from_ref(&cam), false)));
        assert_eq!(states(&rooms, B), [(cam.clone(), SubscriptionState::ToStop(Mid::from("3")))]);
        // Resubscribing while the old section is being removed opens a new one.
        assert!(renegotiates(rooms.update_subscription(B, std::slice::from_ref(&cam), true)));
        assert_eq!(states(&rooms, B).len(), 2);
        // Without can_subscribe nothing is subscribed.
        let mut p = perm();
        p.can_subscribe = false;
        rooms.set_permission(A, p);
        assert!(rooms.update_subscription(A, std::slice::from_ref(&own), true).is_empty());
    }

    #[test]
    fn track_settings_choose_a_quality_from_dimensions() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        let _ = rooms.join(B, req("r", "bob"), 0);
        let mut cam = track("cam", TrackKind::Video);
        cam.layers = vec![
            LayerSpec { quality: Quality::Medium, width: 640, height: 480 },
            LayerSpec { quality: Quality::Low, width: 320, height: 240 },
        ];
        rooms.add_track(A, cam).unwrap();
        let sid = rooms.media_added(A, Mid::from("0"), TrackKind::Video, "cam", "video/VP8", vec![]).unwrap().0;
        let sids = [sid.clone()];
        let settings = |s: &mut Rooms, disabled, quality, w, h| {
            let effects = s.set_track_settings(B, &sids, disabled, quality, w, h).into_iter();
            effects
                .map(|e| match e {
                    Effect::Settings { subscriber: B, publisher: A, settings, .. } => settings,
                    other => panic!("not bob's outlet settings: {other:?}"),
                })
                .collect::<Vec<_>>()
        };
        let low = TrackSettings { disabled: false, max_quality: Quality::Low };
        assert_eq!(settings(&mut rooms, false, Quality::High, 160, 120), [low]);
        assert!(settings(&mut rooms, false, Quality::High, 320, 240).is_empty(), "unchanged");
        let medium = TrackSettings { disabled: false, max_quality: Quality::Medium };
        assert_eq!(settings(&mut rooms, false, Quality::High, 400, 300), [medium]);
        let high = TrackSettings { disabled: false, max_quality: Quality::High };
        assert_eq!(settings(&mut rooms, false, Quality::Low, 1280, 720), [high], "larger than any layer");
        assert_eq!(settings(&mut rooms, false, Quality::Low, 0, 0), [low], "no dimensions: the quality counts");
        let off = TrackSettings { disabled: true, max_quality: Quality::Low };
        assert_eq!(settings(&mut rooms, true, Quality::Low, 0, 0), [off]);
        assert_eq!(rooms.participant(B).unwrap().subscriptions[0].settings, off);
        assert!(rooms.set_track_settings(A, &sids, true, Quality::Low, 0, 0).is_empty(), "not subscribed");
    }

    #[test]
    fn subscribe_grants_stop_and_restore_subscriptions_and_gate_new_ones() {
        const C: ParticipantKey = ParticipantKey(3);
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        let _ = rooms.join(B, req("r", "bob"), 0);
        let cam = published(&mut rooms, A, "cam", TrackKind::Video, "0");
        let mic = published(&mut rooms, A, "mic", TrackKind::Audio, "1");
        rooms.participant_mut(B).unwrap().subscriptions[0].state = SubscriptionState::Open(Mid::from("5"));
        let grant = |who: &str, all_tracks: bool, track_sids: Vec<TrackSid>| SubscribeGrant {
            participant: who.into(),
            all_tracks,
            track_sids,
        };
        // Alice lets only carol (by identity) have her camera: bob loses both tracks.
        let changes = rooms.set_subscribe_grants(A, Some(vec![grant("carol", false, vec![cam.clone()])]));
        assert_eq!(changes.allowed(), [(B, cam.clone(), false), (B, mic.clone(), false)]);
        assert_eq!(changes.renegotiations(), [B], "bob renegotiates once, after being told");
        assert_eq!(states(&rooms, B), [(cam.clone(), SubscriptionState::ToStop(Mid::from("5")))], "mic never offered");
        assert_eq!(rooms.participant(B).unwrap().denied.len(), 2, "bob still wants both");
        // Carol joins: she gets the camera, not the microphone.
        let _ = rooms.join(C, req("r", "carol"), 0);
        let carol = rooms.participant(C).unwrap();
        assert_eq!(states(&rooms, C), [(cam.clone(), SubscriptionState::ToOpen)]);
        assert_eq!(carol.denied.iter().map(|d| d.track_sid.clone()).collect::<Vec<_>>(), std::slice::from_ref(&mic));
        // A new track is gated the same way; manual requests for a denied track are remembered.
        let screen = published(&mut rooms, A, "screen", TrackKind::Video, "2");
        assert!(states(&rooms, C).iter().all(|(t, _)| *t != screen));
        let effects = rooms.update_subscription(B, std::slice::from_ref(&screen), true);
        assert!(effects.renegotiations().is_empty(), "nothing to negotiate");
        assert_eq!(effects.allowed(), [(B, screen.clone(), false)], "bob is told he may not");
        // Bob by sid gets everything back, each wanted track subscribed again.
        let bob_sid = rooms.participant(B).unwrap().sid.clone();
        let changes = rooms.set_subscribe_grants(A, Some(vec![grant(&bob_sid, true, vec![])])).allowed();
        assert!(changes.contains(&(B, cam.clone(), true)) && changes.contains(&(B, mic.clone(), true)));
        assert!(changes.contains(&(C, cam.clone(), false)), "carol lost the camera");
        let live: Vec<TrackSid> = rooms
            .participant(B)
            .unwrap()
            .subscriptions
            .iter()
            .filter(|s| s.is_live())
            .map(|s| s.track_sid.clone())
            .collect();
        assert_eq!(live.len(), 3, "cam, mic and screen: {live:?}");
        assert!(rooms.participant(B).unwrap().denied.is_empty());
        // Everyone allowed again: carol gets what she wanted, and nothing is left denied.
        let _ = rooms.set_subscribe_grants(A, None);
        assert!(rooms.participant(C).unwrap().denied.is_empty());
        assert_eq!(rooms.participant(C).unwrap().subscriptions.iter().filter(|s| s.is_live()).count(), 3);
        // Leaving forgets what others wanted of the leaver.
        let _ = rooms.set_subscribe_grants(A, Some(vec![]));
        assert!(!rooms.participant(C).unwrap().denied.is_empty());
        rooms.leave(A);
        assert!(rooms.participant(C).unwrap().denied.is_empty());
    }

    #[test]
    fn permission_changes_respect_grants_and_never_duplicate_subscriptions() {
        let mut rooms = Rooms::default();
        let _ = rooms.join(A, req("r", "alice"), 0);
        let cam = published(&mut rooms, A, "cam", TrackKind::Video, "0");
        let _ = rooms.set_subscribe_grants(A, Some(vec![]));
        // Bob waits for approval (no subscribing), then is approved: alice's camera stays his
        // wish, not his subscription.
        let mut waiting = req("r", "bob");
        waiting.permission.can_subscribe = false;
        let _ = rooms.join(B, waiting, 0);
        assert_eq!(rooms.set_permission(B, perm()).map(|e| e.renegotiations()), Some(vec![]), "nothing to negotiate");
        assert!(states(&rooms, B).is_empty());
        assert_eq!(rooms.participant(B).unwrap().denied.len(), 1);
        // Alice hides and shows herself twice: bob's wish is recorded once, and once allowed he
        // has one subscription.
        let mut hidden = perm();
        hidden.hidden = true;
        for _ in 0..2 {
            rooms.set_permission(A, hidden);
            rooms.set_permission(A, perm());
        }
        assert_eq!(rooms.participant(B).unwrap().denied.len(), 1);
        let _ = rooms.set_subscribe_grants(A, None);
        assert_eq!(states(&rooms, B), [(cam.clone(), SubscriptionState::ToOpen)]);
        rooms.set_permission(A, hidden);
        rooms.set_permission(A, perm());
        assert_eq!(states(&rooms, B), [(cam, SubscriptionState::ToOpen)], "no second subscription");
    }

    #[test]
    fn participants_update_their_own_metadata_keeping_the_server_fields() {
        let mut rooms = Rooms::default();
        let mut alice = req("r", "alice");
        alice.metadata = r#"{"memberId":7,"appUserId":"alice"}"#.into();
        alice.can_update_metadata = true;
        alice.attributes.insert("desk".into(), "3".into());
        let _ = rooms.join(A, alice, 0);
        let _ = rooms.join(B, req("r", "bob"), 0);
        let update = |name: &str, metadata: &str, attributes: &[(&str, &str)]| MetadataUpdate {
            name: name.into(),
            metadata: metadata.into(),
            attributes: attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            request_id: 1,
        };
        let v = rooms.participant(A).unwrap().version;
        let extended = r#"{"memberId":7,"appUserId":"alice","hand":"up"}"#;
        let effects = rooms.update_metadata(A, &update("Alice L.", extended, &[("desk", ""), ("mood", "ok")])).unwrap();
        assert_eq!(effects.into_iter().collect::<Vec<_>>(), [Effect::Announce { participant: A, to_self: true }]);
        let view = rooms.participant(A).unwrap().view();
        assert_eq!((view.name.as_str(), view.metadata.as_str(), view.version), ("Alice L.", extended, v + 1));
        assert_eq!(view.attributes.into_iter().collect::<Vec<_>>(), [("mood".to_string(), "ok".to_string())]);
        // The same again changes nothing; empty fields leave things as they are.
        assert!(rooms.update_metadata(A, &update("", "", &[])).unwrap().is_empty());
        // The server's fields stay: dropping or changing one is refused, and nothing changes.
        for bad in [r#"{"memberId":8,"appUserId":"alice"}"#, r#"{"appUserId":"alice"}"#, "not json"] {
            let refused = rooms.update_metadata(A, &update("X", bad, &[])).unwrap_err();
            assert!(matches!(refused, MetadataError::ServerFields(_)), "{bad}: {refused:?}");
        }
        assert_eq!(rooms.participant(A).unwrap().name, "Alice L.");
        let long = "x".repeat(MAX_NAME + 1);
        assert_eq!(rooms.update_metadata(A, &update(&long, "", &[])), Err(MetadataError::TooLarge("the name")));
        // Without the grant nothing is allowed; an unknown participant is not found.
        assert_eq!(rooms.update_metadata(B, &update("Bobby", "", &[])), Err(MetadataError::NotAllowed));
        assert_eq!(
            rooms.update_metadata(ParticipantKey(9), &update("", "", &[])),
            Err(MetadataError::UnknownParticipant)
        );
    }
}
