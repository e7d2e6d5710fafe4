//! The signalling join flow over a real WebSocket on loopback: validate answers, the v1
//! fallback 404s, the JoinResponse, the first subscriber offer, ping/pong, AddTrack,
//! participant updates, duplicate identities and bad frames.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use livekit_protocol as lk;
use livekit_protocol::{signal_request, signal_response};
use prost::Message as _;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use vroom_signal::{RoomGate, RoomRefusal, SignalState, TokenVerifier};

const KEY: &str = "mk";
const SECRET: &str = "ms";

struct Gate;

#[async_trait::async_trait]
impl RoomGate for Gate {
    async fn admit(&self, room: &str, _identity: &str) -> Result<(), RoomRefusal> {
        match room {
            "room-1" | "room-2" => Ok(()),
            "ended" => Err(RoomRefusal::Closed("the video room has ended".into())),
            _ => Err(RoomRefusal::NotFound),
        }
    }
}

async fn serve() -> SocketAddr {
    serve_media().await.0
}

/// A signalling server on loopback and a handle on its media workers (two: `room-1` and
/// `room-2` live on different ones).
async fn serve_media() -> (SocketAddr, vroom_media::MediaHandle) {
    let media = vroom_media::start_workers(vroom_media::WorkerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        node_ip: "127.0.0.1".parse().unwrap(),
        workers: 2,
    })
    .unwrap();
    assert_ne!(media.worker_for("room-1"), media.worker_for("room-2"));
    let state = SignalState {
        verifier: TokenVerifier::new(KEY, SECRET),
        media: media.clone(),
        gate: Arc::new(Gate),
        node_id: "test".into(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, vroom_signal::router(state)).await });
    (addr, media)
}

fn token(identity: &str, room: &str) -> String {
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    let claims = json!({
        "iss": KEY, "sub": identity, "name": identity.to_uppercase(), "exp": exp,
        "metadata": format!("{{\"appUserId\":\"{identity}\"}}"),
        "video": {"room": room, "roomJoin": true, "canPublish": true, "canSubscribe": true, "canPublishData": true}
    });
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr, identity: &str) -> Ws {
    connect_to(addr, identity, "room-1").await
}

async fn connect_to(addr: SocketAddr, identity: &str, room: &str) -> Ws {
    let url = format!("ws://{addr}/rtc?access_token={}&auto_subscribe=1&sdk=js&protocol=15", token(identity, room));
    tokio_tungstenite::connect_async(url).await.expect("websocket upgrade").0
}

/// The next signal response (skipping WebSocket control frames), with a deadline.
async fn next(ws: &mut Ws) -> signal_response::Message {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message in time");
        match frame.expect("open stream").expect("frame") {
            Message::Binary(b) => {
                return lk::SignalResponse::decode(b.as_ref()).unwrap().message.expect("a message");
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, message: signal_request::Message) {
    ws.send(Message::Binary(lk::SignalRequest { message: Some(message) }.encode_to_vec().into())).await.unwrap();
}

#[tokio::test]
async fn validate_and_v1_fallback_answers() {
    let addr = serve().await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let r = http.get(format!("http://{addr}{path}")).send().await.unwrap();
            let cors = r.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), cors, r.text().await.unwrap())
        }
    };
    let (status, cors, body) = get(format!("/rtc/validate?access_token={}", token("a", "room-1"))).await;
    assert_eq!((status, cors.as_deref(), body.as_str()), (200, Some("*"), "success"));
    let (status, _, body) = get("/rtc/validate".into()).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = get(format!("/rtc/validate?access_token={}", token("a", "nope"))).await;
    assert_eq!((status, body.as_str()), (404, "requested room does not exist"));
    let (status, _, body) = get(format!("/rtc/validate?access_token={}", token("a", "ended"))).await;
    assert_eq!((status, body.as_str()), (403, "the video room has ended"));
    let (status, cors, _) = get(format!("/rtc/v1/validate?access_token={}", token("a", "room-1"))).await;
    assert_eq!((status, cors.as_deref()), (404, Some("*")));
    // The v1 upgrade is refused with a plain 404, the status native SDKs fall back on.
    let err = tokio_tungstenite::connect_async(format!("ws://{addr}/rtc/v1?access_token=x")).await.unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status().as_u16(), 404),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
    // A bad token is refused before the upgrade.
    let err = tokio_tungstenite::connect_async(format!("ws://{addr}/rtc?access_token=bad")).await.unwrap_err();
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status().as_u16() == 401));
}

#[tokio::test]
async fn join_response_offer_ping_and_updates() {
    let addr = serve().await;
    let mut alice = connect(addr, "alice").await;
    let signal_response::Message::Join(join) = next(&mut alice).await else { panic!("join first") };
    let me = join.participant.as_ref().unwrap();
    assert!(me.sid.starts_with("PA_"));
    assert_eq!((me.identity.as_str(), me.name.as_str()), ("alice", "ALICE"));
    assert_eq!(me.metadata, "{\"appUserId\":\"alice\"}");
    assert!(me.permission.as_ref().unwrap().can_publish);
    let room = join.room.as_ref().unwrap();
    assert!(room.sid.starts_with("RM_"));
    assert_eq!(room.name, "room-1");
    assert!(!join.server_version.is_empty() && !join.server_info.as_ref().unwrap().version.is_empty());
    assert!(join.server_info.as_ref().unwrap().protocol >= 14);
    assert!(join.subscriber_primary);
    assert_eq!((join.ping_interval, join.ping_timeout), (5, 15));
    assert_eq!(join.client_configuration.as_ref().unwrap().resume_connection, lk::ClientConfigSetting::Disabled as i32);
    let mimes: Vec<_> = join.enabled_publish_codecs.iter().map(|c| c.mime.as_str()).collect();
    assert_eq!(mimes, ["audio/opus", "video/VP8", "video/H264"]);
    assert!(join.other_participants.is_empty());

    // The server offers the subscriber connection right away, with its data channels.
    let signal_response::Message::Offer(offer) = next(&mut alice).await else { panic!("subscriber offer") };
    assert!(offer.sdp.contains("m=application"), "{}", offer.sdp);
    assert!(offer.sdp.contains("a=ice-lite"));
    assert!(offer.sdp.contains("127.0.0.1"), "host candidate on the node IP");
    assert_eq!(offer.id, 1);

    send(&mut alice, signal_request::Message::PingReq(lk::Ping { timestamp: 1234, rtt: 0 })).await;
    let signal_response::Message::PongResp(pong) = next(&mut alice).await else { panic!("pong_resp") };
    assert_eq!(pong.last_ping_timestamp, 1234);
    send(&mut alice, signal_request::Message::Ping(99)).await;
    assert!(matches!(next(&mut alice).await, signal_response::Message::Pong(_)));

    send(
        &mut alice,
        signal_request::Message::AddTrack(lk::AddTrackRequest {
            cid: "cam-1".into(),
            r#type: lk::TrackType::Video as i32,
            source: lk::TrackSource::Camera as i32,
            width: 640,
            height: 480,
            ..Default::default()
        }),
    )
    .await;
    let signal_response::Message::TrackPublished(published) = next(&mut alice).await else { panic!("track_published") };
    assert_eq!(published.cid, "cam-1");
    assert!(published.track.unwrap().sid.starts_with("TR_"));

    // Bob joins: he sees Alice; Alice is told about Bob.
    let mut bob = connect(addr, "bob").await;
    let signal_response::Message::Join(join) = next(&mut bob).await else { panic!("join first") };
    assert_eq!(join.other_participants.len(), 1);
    assert_eq!(join.other_participants[0].identity, "alice");
    let signal_response::Message::Update(update) = next(&mut alice).await else { panic!("update") };
    assert_eq!(update.participants[0].identity, "bob");

    // Bob connects again with the same identity: the old session is told to leave.
    let mut bob2 = connect(addr, "bob").await;
    assert!(matches!(next(&mut bob2).await, signal_response::Message::Join(_)));
    loop {
        match next(&mut bob).await {
            signal_response::Message::Leave(leave) => {
                assert_eq!(leave.reason, lk::DisconnectReason::DuplicateIdentity as i32);
                break;
            }
            signal_response::Message::Offer(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Alice sees the old Bob disconnect and the new one join.
    let mut states = Vec::new();
    while states.len() < 2 {
        if let signal_response::Message::Update(u) = next(&mut alice).await {
            states.extend(u.participants.iter().map(|p| (p.identity.clone(), p.state)));
        }
    }
    assert!(states.contains(&("bob".into(), lk::participant_info::State::Disconnected as i32)));
    assert!(states.contains(&("bob".into(), lk::participant_info::State::Joined as i32)));

    // Garbage: the connection is closed with a reason, the server keeps serving others.
    alice.send(Message::Binary(vec![0xff, 0xff, 0xff, 0x07].into())).await.unwrap();
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), alice.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.reason.as_str(), "invalid signal message");
    send(&mut bob2, signal_request::Message::Ping(1)).await;
    loop {
        if let signal_response::Message::Pong(_) = next(&mut bob2).await {
            break;
        }
    }
}

/// Updates seen by `ws` until `identity` shows up in `state`, within `within`.
async fn wait_for_state(ws: &mut Ws, identity: &str, state: lk::participant_info::State, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let Ok(frame) = tokio::time::timeout_at(deadline, ws.next()).await else { return false };
        let Some(Ok(Message::Binary(b))) = frame else { continue };
        let Some(signal_response::Message::Update(u)) = lk::SignalResponse::decode(b.as_ref()).unwrap().message else {
            continue;
        };
        if u.participants.iter().any(|p| p.identity == identity && p.state == state as i32) {
            return true;
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_stays_for_the_grace_period_and_presence_is_reported_once() {
    use lk::participant_info::State;
    use vroom_media::{LeaveCause, Presence};
    let (addr, media) = serve_media().await;
    let (reports, mut presence) = tokio::sync::mpsc::unbounded_channel();
    media.report_presence(reports).unwrap();
    media.set_reconnect_grace(Duration::from_millis(1500)).unwrap();
    let mut alice = connect(addr, "alice").await;
    assert!(matches!(next(&mut alice).await, signal_response::Message::Join(_)));
    let mut bob = connect(addr, "bob").await;
    assert!(matches!(next(&mut bob).await, signal_response::Message::Join(_)));
    assert!(wait_for_state(&mut alice, "bob", State::Joined, Duration::from_secs(5)).await);

    // Bob's connection vanishes without a LeaveRequest: he stays during the grace period…
    drop(bob);
    assert!(!wait_for_state(&mut alice, "bob", State::Disconnected, Duration::from_millis(700)).await);
    // …and is removed when it expires.
    assert!(wait_for_state(&mut alice, "bob", State::Disconnected, Duration::from_secs(5)).await);

    // Alice says goodbye: removed at once.
    send(&mut alice, signal_request::Message::Leave(Default::default())).await;
    let mut trail = Vec::new();
    while trail.len() < 4 {
        let report = tokio::time::timeout(Duration::from_secs(5), presence.recv()).await.expect("a report in time");
        trail.push(match report.expect("reports") {
            Presence::Joined { identity, .. } => format!("joined {identity}"),
            Presence::Left { cause: LeaveCause::ConnectionLost, .. } => "lost".to_owned(),
            Presence::Left { cause: LeaveCause::ClientLeft, .. } => "left".to_owned(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(trail, ["joined alice", "joined bob", "lost", "left"]);
    assert!(tokio::time::timeout(Duration::from_millis(300), presence.recv()).await.is_err(), "nothing more");
}

/// The close frame `ws` receives next (other messages skipped).
async fn close_frame(ws: &mut Ws) -> tokio_tungstenite::tungstenite::protocol::CloseFrame {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(frame))) => return frame.expect("a close frame"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// `ws` still gets answers: a ping is ponged.
async fn answers_pings(ws: &mut Ws) {
    send(ws, signal_request::Message::Ping(1)).await;
    loop {
        if let signal_response::Message::Pong(_) = next(ws).await {
            return;
        }
    }
}

#[tokio::test]
async fn floods_and_oversized_messages_close_that_connection_only() {
    let addr = serve().await;
    let mut other_room = connect_to(addr, "carol", "room-2").await;
    let signal_response::Message::Join(_) = next(&mut other_room).await else { panic!("join first") };
    let mut same_room = connect(addr, "dave").await;
    let signal_response::Message::Join(_) = next(&mut same_room).await else { panic!("join first") };

    // A flood of (valid) messages: the connection is closed with a reason, at the limit.
    let mut flooder = connect(addr, "mallory").await;
    let signal_response::Message::Join(_) = next(&mut flooder).await else { panic!("join first") };
    let ping =
        Message::Binary(lk::SignalRequest { message: Some(signal_request::Message::Ping(1)) }.encode_to_vec().into());
    for _ in 0..(vroom_signal::connection::RATE_BURST as usize + 100) {
        if flooder.send(ping.clone()).await.is_err() {
            break;
        }
    }
    let close = close_frame(&mut flooder).await;
    assert_eq!((u16::from(close.code), close.reason.as_str()), (1008, "signal rate limit exceeded"));
    // The flooder is gone from its room; the others are served.
    assert!(
        wait_for_state(&mut same_room, "mallory", lk::participant_info::State::Disconnected, Duration::from_secs(5))
            .await
    );
    answers_pings(&mut other_room).await;
    answers_pings(&mut same_room).await;

    // A message over the size limit closes its connection with a reason.
    let mut big = connect(addr, "trudy").await;
    let signal_response::Message::Join(_) = next(&mut big).await else { panic!("join first") };
    let huge = vec![0u8; vroom_signal::connection::MAX_MESSAGE_BYTES + 1];
    let _ = big.send(Message::Binary(huge.into())).await;
    let close = close_frame(&mut big).await;
    // The WebSocket layer refuses the frame before it is decoded; the close says why.
    assert_eq!((u16::from(close.code), close.reason.as_str()), (1008, "invalid or oversized frame"));
    answers_pings(&mut other_room).await;
}

/// A connection is sent a refreshed token (LiveKit `RefreshToken`) halfway through what is
/// left of its token: the same grant, valid for the same lifetime from now, which the server
/// itself accepts; a token without `nbf`/`iat` (no known lifetime) is never refreshed.
#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    let addr = serve().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = json!({
        "iss": KEY, "sub": "renewed", "name": "Renewed", "nbf": now, "exp": now + 4,
        "metadata": "{\"appUserId\":\"renewed\"}",
        "video": {"room": "room-1", "roomJoin": true, "canPublish": false, "hidden": true}
    });
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes()))
            .unwrap();
    let url = format!("ws://{addr}/rtc?access_token={token}&auto_subscribe=1&sdk=js&protocol=15");
    let mut ws = tokio_tungstenite::connect_async(url).await.expect("websocket upgrade").0;
    // Halfway through the 4 s left: well before the token expires.
    let refreshed = tokio::time::timeout(Duration::from_secs(4), async {
        loop {
            if let signal_response::Message::RefreshToken(t) = next(&mut ws).await {
                return t;
            }
        }
    })
    .await
    .expect("a RefreshToken before the token expires");
    let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    let decoded: serde_json::Value =
        jsonwebtoken::decode(&refreshed, &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()), &validation)
            .expect("signed with the API secret")
            .claims;
    for field in ["iss", "sub", "name", "metadata", "video"] {
        assert_eq!(decoded[field], claims[field], "{field} carried over");
    }
    let (nbf, exp) = (decoded["nbf"].as_i64().unwrap(), decoded["exp"].as_i64().unwrap());
    assert!(nbf > now && exp - nbf == 4, "valid from the refresh for the same 4 s: nbf {nbf}, exp {exp}");
    let join = TokenVerifier::new(KEY, SECRET).verify(&refreshed).expect("the server accepts it");
    assert!(join.permission.hidden && !join.permission.can_publish);

    // Without nbf or iat there is no lifetime to renew: nothing comes within 3 s.
    let mut plain = connect(addr, "plain").await;
    let waited = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let signal_response::Message::RefreshToken(_) = next(&mut plain).await {
                return;
            }
        }
    })
    .await;
    assert!(waited.is_err(), "no RefreshToken for a token without a lifetime");
}
