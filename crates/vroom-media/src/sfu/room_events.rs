//! What a room's participants learn from the SFU besides media: participant snapshots,
//! active speakers, connection quality, and data packets relayed between them.

use std::collections::HashMap;
use std::time::Instant;

use str0m::channel::ChannelData;
use tracing::debug;

use super::connections::{PeerRef, drive};
use super::{Sfu, Sink};
use crate::activity;
use crate::data;
use crate::model::*;

impl Sfu {
    /// Sends `key`'s current snapshot to the others of its room (and to itself).
    pub(super) fn broadcast(&mut self, key: ParticipantKey, include_self: bool, sink: &mut impl Sink) {
        let Some(view) = self.rooms.participant(key).map(|p| p.view()) else { return };
        for k in self.rooms.audience(key) {
            sink.event(k, MediaEvent::ParticipantsChanged(vec![view.clone()]));
        }
        if include_self {
            sink.event(key, MediaEvent::ParticipantsChanged(vec![view]));
        }
    }

    /// Sends speaker changes to the rooms concerned (throttled by [`activity::Speakers`]).
    /// Hidden participants are never reported.
    pub(super) fn report_speakers(&mut self, now: Instant, sink: &mut impl Sink) {
        let changes = self.speakers.update(now);
        let mut by_room: HashMap<&str, Vec<SpeakerView>> = HashMap::new();
        for change in &changes {
            let Some(p) = self.rooms.participant(change.key).filter(|p| !p.permission.hidden) else { continue };
            by_room.entry(p.room.as_str()).or_default().push(SpeakerView {
                sid: p.sid.clone(),
                level: change.level,
                active: change.active,
            });
        }
        for (room, speakers) in by_room {
            for key in self.rooms.members(room) {
                sink.event(key, MediaEvent::SpeakersChanged(speakers.clone()));
            }
        }
    }

    /// Every [`activity::QUALITY_INTERVAL`], tells each participant the connection quality
    /// of everyone in its room it can see (itself included) that the server has measured.
    pub(super) fn report_quality(&mut self, now: Instant, sink: &mut impl Sink) {
        if self.next_quality_update.is_some_and(|t| now < t) {
            return;
        }
        self.next_quality_update = Some(now + activity::QUALITY_INTERVAL);
        let mut rooms: HashMap<&str, Vec<(ParticipantKey, bool, QualityView)>> = HashMap::new();
        for (key, c) in &self.connections {
            let links = [c.publisher.link, c.subscriber.link];
            if links.iter().all(Option::is_none) {
                continue;
            }
            let loss = links.iter().flatten().map(|l| l.loss).fold(0.0, f32::max);
            let rtt = links.iter().flatten().filter_map(|l| l.rtt).max();
            let Some(p) = self.rooms.participant(*key) else { continue };
            let (quality, score) = activity::connection_quality(loss, rtt);
            let view = QualityView { sid: p.sid.clone(), quality, score };
            rooms.entry(p.room.as_str()).or_default().push((*key, p.permission.hidden, view));
        }
        for (room, measured) in rooms {
            for key in self.rooms.members(room) {
                let updates: Vec<QualityView> =
                    measured.iter().filter(|(k, hidden, _)| *k == key || !hidden).map(|(_, _, v)| v.clone()).collect();
                sink.event(key, MediaEvent::ConnectionQuality(updates));
            }
        }
    }

    /// A data packet arrived on one of `from`'s channels: relayed to the others it is for,
    /// on their subscriber connection's channel of the same kind.
    pub(super) fn data_received(&mut self, now: Instant, from: PeerRef, data: ChannelData, sink: &mut impl Sink) {
        let owner = from.owner;
        let Some(c) = self.connections.get(&owner) else { return };
        let Some(kind) = c.peer(from.role).channels.kind_of(data.id) else { return };
        let Some(sender) = self.rooms.participant_mut(owner) else { return };
        let who = data::Sender {
            sid: sender.sid.as_str(),
            identity: &sender.identity,
            hidden: sender.permission.hidden,
            can_publish_data: sender.permission.can_publish_data,
        };
        let routed = match data::route(&data.data, kind, who, &mut sender.last_data_sequence) {
            Ok(routed) => routed,
            Err(e) => {
                debug!(?owner, error = %e, "data packet dropped");
                return;
            }
        };
        let recipients: Vec<ParticipantKey> = self
            .rooms
            .others(owner)
            // Whoever may not subscribe (e.g. waits for approval) receives no room data either.
            .filter(|p| p.permission.can_subscribe)
            .filter(|p| routed.destinations.is_empty() || routed.destinations.contains(&p.identity))
            .map(|p| p.key)
            .collect();
        for key in recipients {
            let Some(c) = self.connections.get_mut(&key) else { continue };
            let Some(channel) = c.subscriber.channels.get(kind) else {
                debug!(?key, "data dropped: recipient channel not open");
                continue;
            };
            if let Some(mut ch) = c.subscriber.rtc.channel(channel)
                && let Err(e) = ch.write(true, &routed.bytes)
            {
                debug!(?key, error = %e, "data write failed");
            }
            let at = PeerRef { owner: key, role: PeerRole::Subscriber };
            drive(now, at, &mut c.subscriber, &mut self.events, sink);
        }
    }
}
