//! One `/rtc` WebSocket: LiveKit `SignalRequest`s in, media commands out; media events in,
//! `SignalResponse`s out. Holds no media state: the worker's events are the truth.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as lk;
use livekit_protocol::{signal_request, signal_response};
use prost::Message as _;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use vroom_media::state::{MetadataError, StateError};
use vroom_media::{
    AddTrack, Command, ConnectionQuality, JoinRequest, LayerSpec, MediaEvent, MediaHandle, MetadataUpdate, PeerRole,
    Quality, RemovedReason, SubscribeGrant, TrackKind, TrackSid,
};

use crate::convert;

/// Largest signalling message accepted (SDP of a busy connection is tens of kB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// How long the media server may take to admit a participant.
const JOIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a closing connection is drained so the client receives the close frame.
const CLOSE_DRAIN: Duration = Duration::from_secs(2);
/// WebSocket-level keepalive (browsers answer pings themselves).
const WS_PING_INTERVAL: Duration = Duration::from_secs(10);
/// Signal messages a client may send in a burst, and per second after it. A joining
/// browser sends a few dozen (candidates, offers, track announcements, settings); a
/// connection far above this is broken or hostile and would only load the media worker.
pub const RATE_BURST: f64 = 200.0;
pub const RATE_PER_SECOND: f64 = 50.0;

/// A token bucket over the messages of one connection.
#[derive(Debug, Clone)]
pub struct RateLimit {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    pub fn new(now: Instant) -> Self {
        Self { tokens: RATE_BURST, at: now }
    }

    /// Takes one message's token; false when the client exceeds the rate.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * RATE_PER_SECOND).min(RATE_BURST);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// What one client message asks for.
#[derive(Debug)]
pub enum Action {
    Media(Command),
    Reply(Box<signal_response::Message>),
    Leave,
    Ignore,
}

/// Why the connection closes the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Decodes one binary frame and decides what to do; never panics on input.
pub fn handle_request(bytes: &[u8]) -> Result<Action, CloseReason> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(CloseReason { code: close_code::SIZE, reason: "signal message too large" });
    }
    let request = lk::SignalRequest::decode(bytes)
        .map_err(|_| CloseReason { code: close_code::INVALID, reason: "invalid signal message" })?;
    let Some(message) = request.message else { return Ok(Action::Ignore) };
    Ok(match message {
        signal_request::Message::Offer(sd) => Action::Media(Command::PublisherOffer { sdp: sd.sdp, id: sd.id }),
        signal_request::Message::Answer(sd) => Action::Media(Command::SubscriberAnswer { sdp: sd.sdp }),
        signal_request::Message::Trickle(t) => match candidate_line(&t.candidate_init) {
            Some(candidate) => {
                let role = if t.target == lk::SignalTarget::Subscriber as i32 {
                    PeerRole::Subscriber
                } else {
                    PeerRole::Publisher
                };
                Action::Media(Command::Trickle { role, candidate })
            }
            None => Action::Ignore,
        },
        signal_request::Message::AddTrack(t) => {
            let kind = match lk::TrackType::try_from(t.r#type) {
                Ok(lk::TrackType::Audio) => TrackKind::Audio,
                Ok(lk::TrackType::Video) => TrackKind::Video,
                _ => return Ok(Action::Ignore),
            };
            Action::Media(Command::AddTrack(AddTrack {
                cid: t.cid,
                name: t.name,
                kind,
                source: convert::track_source(t.source),
                width: t.width,
                height: t.height,
                muted: t.muted,
                stream: t.stream,
                layers: t
                    .layers
                    .iter()
                    .take(MAX_TRACK_SIDS)
                    .filter_map(|l| {
                        let quality = quality(l.quality)?;
                        Some(LayerSpec { quality, width: l.width, height: l.height })
                    })
                    .collect(),
                // Only codecs the media server negotiates are worth remembering.
                preferred_codec: t
                    .simulcast_codecs
                    .first()
                    .map(|c| c.codec.to_ascii_lowercase())
                    .filter(|c| c == "h264" || c == "vp8"),
            }))
        }
        signal_request::Message::Mute(m) => Action::Media(Command::Mute { track_sid: m.sid.into(), muted: m.muted }),
        signal_request::Message::Subscription(s) => {
            // Clients name tracks either directly or per participant; the worker only
            // needs the track sids (they are unique in a room).
            let track_sids: Vec<TrackSid> = s
                .track_sids
                .into_iter()
                .chain(s.participant_tracks.into_iter().flat_map(|p| p.track_sids))
                .take(MAX_TRACK_SIDS)
                .map(TrackSid::from)
                .collect();
            Action::Media(Command::UpdateSubscription { track_sids, subscribe: s.subscribe })
        }
        signal_request::Message::TrackSetting(t) => {
            let requested = quality(t.quality);
            let track_sids = t.track_sids.into_iter().take(MAX_TRACK_SIDS).map(TrackSid::from).collect();
            Action::Media(Command::UpdateTrackSettings {
                track_sids,
                // Quality OFF means "send nothing", like `disabled`.
                disabled: t.disabled || requested.is_none(),
                quality: requested.unwrap_or(Quality::High),
                width: t.width,
                height: t.height,
            })
        }
        signal_request::Message::SubscriptionPermission(p) => {
            // Both a sid and an identity may name the participant; keeping each as its own
            // grant lets either match.
            let grants = (!p.all_participants).then(|| {
                p.track_permissions
                    .into_iter()
                    .take(MAX_TRACK_SIDS)
                    .flat_map(|t| {
                        let track_sids: Vec<TrackSid> =
                            t.track_sids.into_iter().take(MAX_TRACK_SIDS).map(TrackSid::from).collect();
                        [t.participant_sid, t.participant_identity].into_iter().filter(|who| !who.is_empty()).map(
                            move |participant| SubscribeGrant {
                                participant,
                                all_tracks: t.all_tracks,
                                track_sids: track_sids.clone(),
                            },
                        )
                    })
                    .collect()
            });
            Action::Media(Command::SetSubscribePermission(grants))
        }
        signal_request::Message::UpdateMetadata(m) => Action::Media(Command::UpdateMetadata(MetadataUpdate {
            name: m.name,
            metadata: m.metadata,
            // Sorted, so a request is applied the same way whatever its map's order.
            attributes: m.attributes.into_iter().take(MAX_TRACK_SIDS).collect::<BTreeMap<_, _>>().into_iter().collect(),
            request_id: m.request_id,
        })),
        signal_request::Message::Leave(_) => Action::Leave,
        signal_request::Message::Ping(_) => Action::Reply(Box::new(signal_response::Message::Pong(now_ms()))),
        signal_request::Message::PingReq(p) => Action::Reply(Box::new(signal_response::Message::PongResp(lk::Pong {
            last_ping_timestamp: p.timestamp,
            timestamp: now_ms(),
        }))),
        other => {
            debug!(message = ?std::mem::discriminant(&other), "signal request not handled yet");
            Action::Ignore
        }
    })
}

/// Most track sids taken from one request (a room has a few dozen tracks; more would only
/// make the worker's lookups slow).
const MAX_TRACK_SIDS: usize = 64;

/// A LiveKit `VideoQuality`; `None` for OFF.
fn quality(value: i32) -> Option<Quality> {
    match lk::VideoQuality::try_from(value) {
        Ok(lk::VideoQuality::Low) => Some(Quality::Low),
        Ok(lk::VideoQuality::Medium) => Some(Quality::Medium),
        Ok(lk::VideoQuality::Off) => None,
        _ => Some(Quality::High),
    }
}

/// The `candidate` line of a JSON `RTCIceCandidateInit`.
fn candidate_line(init: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(init).ok()?;
    let line = value.get("candidate")?.as_str()?;
    (!line.is_empty()).then(|| line.to_owned())
}

/// Turns a media event into the message for the client.
pub fn response_for(event: MediaEvent, node_id: &str) -> signal_response::Message {
    match event {
        MediaEvent::Joined(info) => signal_response::Message::Join(convert::join_response(&info, node_id)),
        MediaEvent::PublisherAnswer { sdp, id } => signal_response::Message::Answer(lk::SessionDescription {
            r#type: "answer".into(),
            sdp,
            id,
            ..Default::default()
        }),
        MediaEvent::SubscriberOffer { sdp, id } => signal_response::Message::Offer(lk::SessionDescription {
            r#type: "offer".into(),
            sdp,
            id,
            ..Default::default()
        }),
        MediaEvent::TrackPublished { cid, track } => {
            signal_response::Message::TrackPublished(lk::TrackPublishedResponse {
                cid,
                track: Some(convert::track_info(&track)),
            })
        }
        MediaEvent::TrackRefused { cid, reason } => {
            use lk::request_response::{Reason, Request};
            let code = match reason {
                StateError::UnknownParticipant => Reason::NotFound,
                StateError::NotAllowed => Reason::NotAllowed,
                StateError::TooManyTracks => Reason::LimitExceeded,
            };
            signal_response::Message::RequestResponse(lk::RequestResponse {
                request_id: 0,
                reason: code as i32,
                message: reason.to_string(),
                request: Some(Request::AddTrack(lk::AddTrackRequest { cid, ..Default::default() })),
            })
        }
        MediaEvent::MetadataRefused { update, reason } => {
            use lk::request_response::{Reason, Request};
            let code = match reason {
                MetadataError::UnknownParticipant => Reason::NotFound,
                MetadataError::NotAllowed | MetadataError::ServerFields(_) => Reason::NotAllowed,
                MetadataError::TooLarge(_) => Reason::LimitExceeded,
            };
            signal_response::Message::RequestResponse(lk::RequestResponse {
                request_id: update.request_id,
                reason: code as i32,
                message: reason.to_string(),
                request: Some(Request::UpdateMetadata(lk::UpdateParticipantMetadata {
                    name: update.name,
                    metadata: update.metadata,
                    attributes: update.attributes.into_iter().collect(),
                    request_id: update.request_id,
                })),
            })
        }
        MediaEvent::ParticipantsChanged(views) => signal_response::Message::Update(lk::ParticipantUpdate {
            participants: views.iter().map(convert::participant_info).collect(),
        }),
        MediaEvent::Removed(reason) => signal_response::Message::Leave(leave(disconnect_reason(reason))),
        MediaEvent::SpeakersChanged(speakers) => signal_response::Message::SpeakersChanged(lk::SpeakersChanged {
            speakers: speakers
                .into_iter()
                .map(|s| lk::SpeakerInfo { sid: s.sid.into(), level: s.level, active: s.active })
                .collect(),
        }),
        MediaEvent::SubscriptionAllowed { publisher_sid, track_sid, allowed } => {
            signal_response::Message::SubscriptionPermissionUpdate(lk::SubscriptionPermissionUpdate {
                participant_sid: publisher_sid.into(),
                track_sid: track_sid.into(),
                allowed,
            })
        }
        MediaEvent::ConnectionQuality(updates) => {
            signal_response::Message::ConnectionQuality(lk::ConnectionQualityUpdate {
                updates: updates
                    .into_iter()
                    .map(|u| lk::ConnectionQualityInfo {
                        participant_sid: u.sid.into(),
                        quality: match u.quality {
                            ConnectionQuality::Poor => lk::ConnectionQuality::Poor,
                            ConnectionQuality::Good => lk::ConnectionQuality::Good,
                            ConnectionQuality::Excellent => lk::ConnectionQuality::Excellent,
                        } as i32,
                        score: u.score,
                    })
                    .collect(),
            })
        }
    }
}

/// What a removed client is told (LiveKit has no "rejected" for room participants).
pub fn disconnect_reason(reason: RemovedReason) -> lk::DisconnectReason {
    match reason {
        RemovedReason::DuplicateIdentity => lk::DisconnectReason::DuplicateIdentity,
        RemovedReason::ServerShutdown => lk::DisconnectReason::ServerShutdown,
        RemovedReason::RoomDeleted => lk::DisconnectReason::RoomDeleted,
        RemovedReason::RoomClosed => lk::DisconnectReason::RoomClosed,
        RemovedReason::Removed | RemovedReason::Rejected => lk::DisconnectReason::ParticipantRemoved,
    }
}

fn leave(reason: lk::DisconnectReason) -> lk::LeaveRequest {
    #[allow(deprecated)]
    lk::LeaveRequest {
        can_reconnect: false,
        reason: reason as i32,
        action: lk::leave_request::Action::Disconnect as i32,
        regions: None,
    }
}

fn encode(message: signal_response::Message) -> Message {
    Message::Binary(lk::SignalResponse { message: Some(message) }.encode_to_vec().into())
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// Options of one connection: what the client passed in the query string, and the token to
/// keep refreshed.
#[derive(Clone, Default)]
pub struct ClientOptions {
    pub reconnect: bool,
    pub renew: Option<Renewal>,
}

/// The connection's token and what signs its refreshed copies.
#[derive(Clone)]
pub struct Renewal {
    pub verifier: crate::TokenVerifier,
    pub token: crate::auth::Renewable,
}

/// How long to wait before sending a refreshed token: half of what is left of the current
/// one, at least a second. Revocation needs nothing here: a member deleted, removed or whose
/// room ended is removed from the room, which ends this connection and its refreshes.
pub fn refresh_delay(now_s: i64, expires_at: i64) -> Duration {
    Duration::from_secs(((expires_at - now_s) / 2).max(1) as u64)
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Runs one signalling connection to its end.
pub async fn run(socket: WebSocket, media: MediaHandle, join: JoinRequest, options: ClientOptions, node_id: String) {
    let (mut tx, mut rx) = socket.split();
    if options.reconnect {
        // No resume: tell the client to reconnect fully.
        let mut l = leave(lk::DisconnectReason::StateMismatch);
        l.action = lk::leave_request::Action::Reconnect as i32;
        let _ = tx.send(encode(signal_response::Message::Leave(l))).await;
        let _ = tx.send(close(close_code::NORMAL, "resume is not supported")).await;
        return;
    }
    let identity = join.identity.clone();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let Ok(key) = media.join(join, events_tx) else {
        let _ = tx.send(encode(signal_response::Message::Leave(leave(lk::DisconnectReason::ServerShutdown)))).await;
        let _ = tx.send(close(close_code::AWAY, "media server unavailable")).await;
        return;
    };
    // The JoinResponse must be the first message.
    match tokio::time::timeout(JOIN_TIMEOUT, events.recv()).await {
        Ok(Some(event @ MediaEvent::Joined(_))) => {
            if tx.send(encode(response_for(event, &node_id))).await.is_err() {
                let _ = media.send(key, Command::Leave);
                return;
            }
        }
        other => {
            warn!(%identity, ?other, "join did not complete");
            let _ = media.send(key, Command::Leave);
            let _ = tx.send(close(close_code::ERROR, "join failed")).await;
            return;
        }
    }
    let mut ping = tokio::time::interval(WS_PING_INTERVAL);
    ping.tick().await;
    let renew = options.renew;
    let mut refresh_at = tokio::time::Instant::now()
        + renew.as_ref().map_or(Duration::from_secs(86_400), |r| refresh_delay(unix_now(), r.token.expires_at));
    let mut removed = false;
    let mut rate = RateLimit::new(Instant::now());
    // We closed because of what the client sent: let the close frame reach it (below).
    let mut closed_by_us = false;
    // A goodbye or an error of ours ends the participation at once; a connection that just
    // goes away leaves it to the media server's reconnect grace period.
    let mut farewell = Command::Leave;
    loop {
        tokio::select! {
            frame = rx.next() => {
                let bytes = match frame {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Text(_))) => {
                        let _ = tx.send(close(close_code::UNSUPPORTED, "text frames are not supported")).await;
                        closed_by_us = true;
                        break;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => {
                        farewell = Command::Disconnected;
                        break;
                    }
                    Some(Err(e)) => {
                        // Mostly a connection that vanished (reset, no closing handshake),
                        // sometimes an oversized frame; either way the client may come back.
                        debug!(%identity, error = %e, "signal connection error");
                        let _ = tx.send(close(close_code::POLICY, "invalid or oversized frame")).await;
                        farewell = Command::Disconnected;
                        break;
                    }
                };
                if !rate.allow(Instant::now()) {
                    // Other connections and rooms are unaffected: this one just ends.
                    info!(%identity, "closing signal connection: rate limit exceeded");
                    let _ = tx.send(close(close_code::POLICY, "signal rate limit exceeded")).await;
                    closed_by_us = true;
                    break;
                }
                match handle_request(&bytes) {
                    Ok(Action::Media(command)) => {
                        if media.send(key, command).is_err() {
                            break;
                        }
                    }
                    Ok(Action::Reply(message)) => {
                        if tx.send(encode(*message)).await.is_err() {
                            farewell = Command::Disconnected;
                            break;
                        }
                    }
                    Ok(Action::Leave) => {
                        let _ = tx.send(close(close_code::NORMAL, "bye")).await;
                        break;
                    }
                    Ok(Action::Ignore) => {}
                    Err(reason) => {
                        info!(%identity, reason = reason.reason, "closing signal connection");
                        let _ = tx.send(close(reason.code, reason.reason)).await;
                        closed_by_us = true;
                        break;
                    }
                }
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                removed = matches!(event, MediaEvent::Removed(_));
                let sent = tx.send(encode(response_for(event, &node_id))).await.is_ok();
                if removed {
                    let _ = tx.send(close(close_code::NORMAL, "removed")).await;
                    break;
                }
                if !sent {
                    farewell = Command::Disconnected;
                    break;
                }
            }
            _ = tokio::time::sleep_until(refresh_at), if renew.is_some() => {
                let Some(r) = renew.as_ref() else { continue };
                let now = unix_now();
                refresh_at = tokio::time::Instant::now() + refresh_delay(now, now + r.token.lifetime_s);
                let Some(token) = r.verifier.refresh(&r.token, now) else { continue };
                debug!(%identity, "sending a refreshed token");
                if tx.send(encode(signal_response::Message::RefreshToken(token))).await.is_err() {
                    farewell = Command::Disconnected;
                    break;
                }
            }
            _ = ping.tick() => {
                if tx.send(Message::Ping(Default::default())).await.is_err() {
                    farewell = Command::Disconnected;
                    break;
                }
            }
        }
    }
    if !removed {
        let _ = media.send(key, farewell);
    }
    if closed_by_us {
        // Dropping a socket with unread input makes the kernel reset the connection, and
        // the client may then never read our close frame and its reason. Read (and
        // discard) what is still coming until the client's close, for a bounded time.
        let _ = tokio::time::timeout(CLOSE_DRAIN, async {
            while let Some(Ok(frame)) = rx.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    debug!(%identity, "signalling connection ended");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's numbers, as numbers: 256 KiB per message, 50 messages/s, bursts of 200.
    #[test]
    fn signalling_limits_are_the_documented_ones() {
        assert_eq!(MAX_MESSAGE_BYTES, 262_144);
        assert_eq!((RATE_PER_SECOND, RATE_BURST), (50.0, 200.0));
    }

    fn req(message: signal_request::Message) -> Vec<u8> {
        lk::SignalRequest { message: Some(message) }.encode_to_vec()
    }

    #[test]
    fn a_refused_add_track_answers_with_the_reason_and_the_clients_track_id() {
        let event = MediaEvent::TrackRefused { cid: "cam-1".into(), reason: StateError::TooManyTracks };
        let signal_response::Message::RequestResponse(r) = response_for(event, "node") else {
            panic!("a RequestResponse expected")
        };
        assert_eq!(r.reason, lk::request_response::Reason::LimitExceeded as i32);
        assert_eq!(r.message, "too many tracks");
        let Some(lk::request_response::Request::AddTrack(add)) = r.request else { panic!("the AddTrack expected") };
        assert_eq!(add.cid, "cam-1");
    }

    #[test]
    fn garbage_and_oversize_close_with_a_reason() {
        assert_eq!(handle_request(&[0xff, 0xff, 0xff, 0x01]).unwrap_err().reason, "invalid signal message");
        let big = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert_eq!(handle_request(&big).unwrap_err().code, close_code::SIZE);
        assert!(matches!(handle_request(&[]), Ok(Action::Ignore)));
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_the_sustained_rate() {
        let t0 = Instant::now();
        let mut rate = RateLimit::new(t0);
        let burst = (0..1000).take_while(|_| rate.allow(t0)).count();
        assert_eq!(burst, RATE_BURST as usize);
        assert!(!rate.allow(t0));
        let t1 = t0 + Duration::from_secs(1);
        let refilled = (0..1000).take_while(|_| rate.allow(t1)).count();
        assert_eq!(refilled, RATE_PER_SECOND as usize);
        // Long idle periods refill up to the burst only.
        let later = t1 + Duration::from_secs(3600);
        assert_eq!((0..1000).take_while(|_| rate.allow(later)).count(), RATE_BURST as usize);
    }

    #[test]
    fn subscription_and_track_settings_map_to_commands() {
        let sub = req(signal_request::Message::Subscription(lk::UpdateSubscription {
            track_sids: vec!["TR_a".into()],
            subscribe: true,
            participant_tracks: vec![lk::ParticipantTracks {
                participant_sid: "PA_x".into(),
                track_sids: vec!["TR_b".into()],
            }],
        }));
        let Ok(Action::Media(Command::UpdateSubscription { track_sids, subscribe: true })) = handle_request(&sub)
        else {
            panic!("a subscription command")
        };
        assert_eq!(track_sids, ["TR_a", "TR_b"]);
        let settings = |quality: lk::VideoQuality, disabled| {
            req(signal_request::Message::TrackSetting(lk::UpdateTrackSettings {
                track_sids: vec!["TR_a".into()],
                disabled,
                quality: quality as i32,
                width: 320,
                height: 240,
                ..Default::default()
            }))
        };
        let Ok(Action::Media(Command::UpdateTrackSettings {
            disabled: false, quality: Quality::Low, width: 320, ..
        })) = handle_request(&settings(lk::VideoQuality::Low, false))
        else {
            panic!("track settings")
        };
        assert!(matches!(
            handle_request(&settings(lk::VideoQuality::Off, false)),
            Ok(Action::Media(Command::UpdateTrackSettings { disabled: true, .. }))
        ));
        assert!(matches!(
            handle_request(&settings(lk::VideoQuality::High, true)),
            Ok(Action::Media(Command::UpdateTrackSettings { disabled: true, quality: Quality::High, .. }))
        ));
    }

    #[test]
    fn pings_are_answered_in_milliseconds() {
        let Ok(Action::Reply(reply)) =
            handle_request(&req(signal_request::Message::PingReq(lk::Ping { timestamp: 42, rtt: 0 })))
        else {
            panic!("a reply expected")
        };
        let signal_response::Message::PongResp(p) = *reply else { panic!("pong_resp expected") };
        assert_eq!(p.last_ping_timestamp, 42);
        assert!((p.timestamp - now_ms()).abs() < 10_000);
        let Ok(Action::Reply(reply)) = handle_request(&req(signal_request::Message::Ping(1))) else {
            panic!("a reply expected")
        };
        assert!(matches!(*reply, signal_response::Message::Pong(_)));
    }

    #[test]
    fn requests_map_to_media_commands() {
        let offer = req(signal_request::Message::Offer(lk::SessionDescription {
            r#type: "offer".into(),
            sdp: "v=0".into(),
            id: 7,
            ..Default::default()
        }));
        assert!(matches!(handle_request(&offer), Ok(Action::Media(Command::PublisherOffer { id: 7, .. }))));
        let trickle = req(signal_request::Message::Trickle(lk::TrickleRequest {
            candidate_init: r#"{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}"#.into(),
            target: lk::SignalTarget::Subscriber as i32,
            ..Default::default()
        }));
        assert!(matches!(
            handle_request(&trickle),
            Ok(Action::Media(Command::Trickle { role: PeerRole::Subscriber, .. }))
        ));
        let bad_trickle = req(signal_request::Message::Trickle(lk::TrickleRequest {
            candidate_init: "not json".into(),
            ..Default::default()
        }));
        assert!(matches!(handle_request(&bad_trickle), Ok(Action::Ignore)));
        let add = req(signal_request::Message::AddTrack(lk::AddTrackRequest {
            cid: "c".into(),
            r#type: lk::TrackType::Video as i32,
            source: lk::TrackSource::Camera as i32,
            ..Default::default()
        }));
        let Ok(Action::Media(Command::AddTrack(t))) = handle_request(&add) else { panic!("add track expected") };
        assert_eq!((t.cid.as_str(), t.kind), ("c", TrackKind::Video));
        let data_type = req(signal_request::Message::AddTrack(lk::AddTrackRequest {
            r#type: lk::TrackType::Data as i32,
            ..Default::default()
        }));
        assert!(matches!(handle_request(&data_type), Ok(Action::Ignore)));
        assert!(matches!(handle_request(&req(signal_request::Message::Leave(Default::default()))), Ok(Action::Leave)));
    }
}
