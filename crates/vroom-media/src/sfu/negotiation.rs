//! SDP both ways and what it changes: the publisher's offers (publications appear and go),
//! the subscriber offers the server makes for subscriptions, and opening or closing the
//! outlets that feed a subscriber's media sections.

use std::time::Instant;

use str0m::Candidate;
use str0m::bwe::Bitrate;
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, Mid, Rid};
use tracing::{debug, info, warn};

use super::connections::{PeerRef, drive};
use super::{Forward, Sfu, Sink};
use crate::codec;
use crate::codec_preference;
use crate::model::*;
use crate::peer::{self, media_kind, track_kind};
use crate::state::SubscriptionState;

/// The SDP extension for transport-wide sequence numbers (what the estimate is built on).
const TWCC_EXTENSION: &str = "transport-wide-cc";

/// A media section a publisher's offer added.
pub(super) struct AddedMedia {
    pub mid: Mid,
    pub kind: MediaKind,
    pub rids: Vec<Rid>,
}

impl Sfu {
    pub(super) fn publisher_offer(
        &mut self,
        now: Instant,
        key: ParticipantKey,
        sdp: &str,
        id: u32,
        sink: &mut impl Sink,
    ) {
        let Some(c) = self.connections.get_mut(&key) else { return };
        let offer = match SdpOffer::from_sdp_string(sdp) {
            Ok(offer) => offer,
            Err(e) => {
                warn!(?key, error = %e, "unparsable publisher offer");
                return;
            }
        };
        let answer = match c.publisher.rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => Some(answer.to_sdp_string()),
            Err(e) => {
                warn!(?key, error = %e, "publisher offer refused");
                None
            }
        };
        let at = PeerRef { owner: key, role: PeerRole::Publisher };
        drive(now, at, &mut c.publisher, &mut self.events, sink);
        if let Some(answer) = answer {
            let answer = self.honour_codec_preferences(key, sdp, answer);
            sink.event(key, MediaEvent::PublisherAnswer { sdp: answer, id });
        }
    }

    /// Puts H.264 first in the answer's sections of tracks published with `videoCodec:
    /// 'h264'` ([`codec_preference`]): the browser sends the answer's first codec.
    fn honour_codec_preferences(&self, key: ParticipantKey, offer: &str, answer: String) -> String {
        let Some(participant) = self.rooms.participant(key) else { return answer };
        let wants_h264 = |track: &str| {
            participant.publications.iter().any(|p| p.cid == track && p.preferred_codec.as_deref() == Some("h264"))
        };
        let mids: Vec<String> = codec_preference::section_tracks(offer)
            .into_iter()
            .filter(|(_, track)| wants_h264(track))
            .map(|(mid, _)| mid)
            .collect();
        if mids.is_empty() {
            return answer;
        }
        codec_preference::prefer_codec(&answer, &mids, "H264")
    }

    pub(super) fn subscriber_answer(&mut self, now: Instant, key: ParticipantKey, sdp: &str, sink: &mut impl Sink) {
        let Some(c) = self.connections.get_mut(&key) else { return };
        let Some(pending) = c.pending_offer.take() else {
            debug!(?key, "subscriber answer without an offer");
            return;
        };
        // A client that gives no transport-wide feedback never gets an estimate, and str0m
        // would pace it at the starting rate for good: unpace it, and let its layers follow
        // its settings and loss only.
        // (An answer without media, to an offer of data channels only, says nothing yet.)
        let has_media = sdp.contains("\nm=audio") || sdp.contains("\nm=video");
        if self.bwe_start.is_some() && has_media && !sdp.contains(TWCC_EXTENSION) && !c.downlink.without_bwe {
            c.downlink.without_bwe = true;
            c.downlink.paced = false;
            debug!(?key, "subscriber gives no transport-wide feedback: no bandwidth estimation");
            c.subscriber.rtc.bwe().reset(Bitrate::gbps(10));
        }
        let accepted = match SdpAnswer::from_sdp_string(sdp) {
            Ok(answer) => c.subscriber.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let at = PeerRef { owner: key, role: PeerRole::Subscriber };
        drive(now, at, &mut c.subscriber, &mut self.events, sink);
        let Some(participant) = self.rooms.participant_mut(key) else { return };
        if let Err(e) = accepted {
            warn!(?key, error = %e, "subscriber answer refused; renegotiating");
            for s in &mut participant.subscriptions {
                s.state = match s.state {
                    SubscriptionState::Negotiating(_) => SubscriptionState::ToOpen,
                    SubscriptionState::Stopping(mid) => SubscriptionState::ToStop(mid),
                    other => other,
                };
            }
        } else {
            let mut opened = Vec::new();
            participant.subscriptions.retain_mut(|s| match s.state {
                SubscriptionState::Negotiating(mid) => {
                    s.state = SubscriptionState::Open(mid);
                    opened.push((s.publisher, s.track_sid.clone(), mid, s.settings));
                    true
                }
                SubscriptionState::Stopping(_) => false,
                _ => true,
            });
            for (publisher, track_sid, out_mid, settings) in opened {
                self.open_output(publisher, &track_sid, key, out_mid, settings);
            }
        }
        self.negotiate(now, key, sink);
    }

    /// The forward of one of `publisher`'s published tracks: (publisher, its media section).
    pub(super) fn source_of(&self, publisher: ParticipantKey, track_sid: &TrackSid) -> Option<(ParticipantKey, Mid)> {
        let publication = self.rooms.participant(publisher)?.publications.iter().find(|t| t.sid == track_sid)?;
        Some((publisher, publication.media.as_ref()?.mid))
    }

    pub(super) fn forward_of(&mut self, publisher: ParticipantKey, track_sid: &TrackSid) -> Option<&mut Forward> {
        let source = self.source_of(publisher, track_sid)?;
        self.forwards.get_mut(&source)
    }

    /// Starts writing a publisher's track into a subscriber's media section. The first
    /// frame it gets asks the publisher for a keyframe (the outlet starts at one).
    fn open_output(
        &mut self,
        publisher: ParticipantKey,
        track_sid: &TrackSid,
        subscriber: ParticipantKey,
        out_mid: Mid,
        settings: TrackSettings,
    ) {
        let Some(source) = self.source_of(publisher, track_sid) else { return };
        let Some(forward) = self.forwards.get_mut(&source) else { return };
        let Some(c) = self.connections.get_mut(&subscriber) else { return };
        forward.add((subscriber, out_mid), settings, c.downlink.link_cap.cap());
        // Start small: the next allocation raises it if the estimate pays.
        if self.bwe_start.is_some() && !c.downlink.without_bwe {
            forward.set_bwe_cap((subscriber, out_mid), Quality::Low);
        }
        c.feeds.insert(out_mid, source);
    }

    /// A subscriber's new settings for a track it receives, applied to its outlet.
    pub(super) fn apply_settings(
        &mut self,
        subscriber: ParticipantKey,
        publisher: ParticipantKey,
        track_sid: &TrackSid,
        settings: TrackSettings,
    ) {
        let open = self.rooms.participant(subscriber).and_then(|p| {
            p.subscriptions.iter().find_map(|s| match s.state {
                SubscriptionState::Open(mid) if s.track_sid == track_sid => Some(mid),
                _ => None,
            })
        });
        let (Some(out_mid), Some(forward)) = (open, self.forward_of(publisher, track_sid)) else { return };
        forward.set_settings((subscriber, out_mid), settings);
    }

    /// Stops feeding the media sections of `key`'s subscriptions that are being removed
    /// (at once, not when the renegotiation completes: the client no longer wants them).
    fn close_stopped_outputs(&mut self, key: ParticipantKey) {
        let Some(c) = self.connections.get_mut(&key) else { return };
        let Some(participant) = self.rooms.participant(key) else { return };
        for s in &participant.subscriptions {
            let (SubscriptionState::ToStop(mid) | SubscriptionState::Stopping(mid)) = s.state else { continue };
            let Some(source) = c.feeds.remove(&mid) else { continue };
            if let Some(forward) = self.forwards.get_mut(&source) {
                forward.remove_where(|t| *t == (key, mid));
            }
        }
    }

    pub(super) fn trickle(
        &mut self,
        now: Instant,
        key: ParticipantKey,
        role: PeerRole,
        candidate: &str,
        sink: &mut impl Sink,
    ) {
        let Some(c) = self.connections.get_mut(&key) else { return };
        let peer = c.peer_mut(role);
        match Candidate::from_sdp_string(candidate) {
            Ok(candidate) => peer.rtc.add_remote_candidate(candidate),
            // mDNS (.local) candidates cannot be resolved here; ICE-lite learns the address
            // from the client's checks (peer-reflexive), so skipping them is harmless.
            Err(e) => debug!(?key, error = %e, "ignoring remote candidate"),
        }
        // str0m's rule: drain after every change (a new candidate can be checked at once).
        drive(now, PeerRef { owner: key, role }, peer, &mut self.events, sink);
    }

    /// Makes a subscriber offer if subscriptions changed and no offer is outstanding (the
    /// answer handler calls this again, so changes made meanwhile are not lost).
    pub(super) fn negotiate(&mut self, now: Instant, key: ParticipantKey, sink: &mut impl Sink) {
        self.close_stopped_outputs(key);
        let Some(c) = self.connections.get_mut(&key) else { return };
        if c.pending_offer.is_some() {
            return;
        }
        let Some(participant) = self.rooms.participant(key) else { return };
        let wanted: Vec<(usize, TrackKind, String, TrackSid)> = participant
            .subscriptions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state == SubscriptionState::ToOpen)
            .filter_map(|(i, s)| {
                let publisher = self.rooms.participant(s.publisher)?;
                Some((i, s.kind, format!("{}|{}", publisher.sid, s.track_sid), s.track_sid.clone()))
            })
            .collect();
        let Some(participant) = self.rooms.participant_mut(key) else { return };
        let mut api = c.subscriber.rtc.sdp_api();
        if c.offers_sent == 0 {
            peer::add_data_channels(&mut api);
        }
        for (index, kind, stream_id, track_id) in wanted {
            let mid =
                api.add_media(media_kind(kind), Direction::SendOnly, Some(stream_id), Some(track_id.into()), None);
            participant.subscriptions[index].state = SubscriptionState::Negotiating(mid);
        }
        for s in &mut participant.subscriptions {
            if let SubscriptionState::ToStop(mid) = s.state {
                api.stop_media(mid);
                s.state = SubscriptionState::Stopping(mid);
            }
        }
        if !api.has_changes() {
            return;
        }
        let Some((offer, pending)) = api.apply() else { return };
        c.pending_offer = Some(pending);
        c.offers_sent += 1;
        sink.event(key, MediaEvent::SubscriberOffer { sdp: offer.to_sdp_string(), id: c.offers_sent });
        let at = PeerRef { owner: key, role: PeerRole::Subscriber };
        drive(now, at, &mut c.subscriber, &mut self.events, sink);
    }

    /// The publisher's offer added a media section: bind it to the announced track, start
    /// its forward, and offer it to the subscribers.
    pub(super) fn media_added(&mut self, now: Instant, owner: ParticipantKey, added: AddedMedia, sink: &mut impl Sink) {
        let AddedMedia { mid, kind, rids } = added;
        let Some(c) = self.connections.get(&owner) else { return };
        let msid_track = c.publisher.rtc.media(mid).map(|m| m.track_id().to_owned());
        // A track published with `videoCodec: 'h264'` is sent in H.264 whatever the offer's
        // order (see `honour_codec_preferences`).
        let prefers_h264 = self.rooms.participant(owner).is_some_and(|p| {
            p.publications.iter().any(|t| {
                t.media.is_none()
                    && Some(t.cid.as_str()) == msid_track.as_deref()
                    && t.preferred_codec.as_deref() == Some("h264")
            })
        });
        let mime = match kind {
            MediaKind::Video => codec::video_mime(&c.publisher.rtc, mid, prefers_h264),
            MediaKind::Audio => "audio/opus",
        };
        let track_kind = track_kind(kind);
        let Some((sid, effects)) =
            self.rooms.media_added(owner, mid, track_kind, msid_track.as_deref().unwrap_or(""), mime, rids.clone())
        else {
            warn!(?owner, %mid, "media section without an announced track; ignored");
            return;
        };
        info!(?owner, track = %sid, %mid, ?rids, "track published");
        let mut forward = Forward::new(track_kind, rids);
        let muted = self
            .rooms
            .participant(owner)
            .and_then(|p| p.publications.iter().find(|t| t.sid == sid))
            .is_some_and(|t| t.muted);
        forward.set_muted(muted);
        self.forwards.insert((owner, mid), forward);
        self.apply(now, effects, sink);
    }

    /// The publisher renegotiated a media section: turning inactive is how LiveKit clients
    /// unpublish (there is no signalling message for it); receiving again on a section
    /// without a track is a new publication reusing the transceiver.
    pub(super) fn media_changed(
        &mut self,
        now: Instant,
        owner: ParticipantKey,
        mid: Mid,
        direction: Direction,
        sink: &mut impl Sink,
    ) {
        let bound = self.rooms.participant(owner).is_some_and(|p| p.publication_by_mid(mid).is_some());
        match direction {
            Direction::Inactive | Direction::SendOnly if bound => {
                let Some((sid, effects)) = self.rooms.unpublish(owner, mid) else { return };
                info!(?owner, track = %sid, %mid, "track unpublished");
                self.forwards.remove(&(owner, mid));
                for c in self.connections.values_mut() {
                    c.feeds.retain(|_, source| *source != (owner, mid));
                }
                self.apply(now, effects, sink);
            }
            Direction::RecvOnly | Direction::SendRecv if !bound => {
                let Some(media) = self.connections.get(&owner).and_then(|c| c.publisher.rtc.media(mid)) else {
                    return;
                };
                let kind = media.kind();
                let rids = match media.rids_rx() {
                    str0m::media::Rids::Specific(rids) => rids.clone(),
                    _ => Vec::new(),
                };
                self.media_added(now, owner, AddedMedia { mid, kind, rids }, sink);
            }
            _ => {}
        }
    }
}
