//! The platform and the media server together, through real LiveKit signalling on
//! loopback (a protobuf WebSocket client; no media): presence reports drive sessions and
//! JOINED/LEFT events, ending/deleting a room and deleting a member kick participants with
//! a reason, and manual approval (waiting participants listed, approved live, rejected).

mod common;

use std::time::Duration;

use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as lk;
use livekit_protocol::{signal_request, signal_response};
use prost::Message as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A LiveKit signalling client that joined a room.
struct Client {
    ws: Ws,
    join: lk::JoinResponse,
}

impl Client {
    async fn connect(creds: &Value) -> Self {
        let url = format!(
            "{}/rtc?access_token={}&auto_subscribe=1&sdk=js&protocol=15",
            creds["webRtcServerUrl"].as_str().unwrap(),
            creds["webRtcToken"].as_str().unwrap()
        );
        let mut ws = tokio_tungstenite::connect_async(url).await.expect("websocket upgrade").0;
        let Some(signal_response::Message::Join(join)) = next(&mut ws).await else { panic!("join response first") };
        Self { ws, join }
    }

    fn sid(&self) -> String {
        self.join.participant.as_ref().unwrap().sid.clone()
    }

    fn permission(&self) -> lk::ParticipantPermission {
        self.join.participant.as_ref().unwrap().permission.clone().unwrap()
    }

    /// Reads until `pick` returns something (None at a close or after 5 s).
    async fn until<T>(&mut self, mut pick: impl FnMut(&signal_response::Message) -> Option<T>) -> Option<T> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let message = tokio::time::timeout_at(deadline, next(&mut self.ws)).await.ok()??;
            if let Some(found) = pick(&message) {
                return Some(found);
            }
        }
    }

    async fn leave_reason(&mut self) -> Option<i32> {
        self.until(|m| match m {
            signal_response::Message::Leave(l) => Some(l.reason),
            _ => None,
        })
        .await
    }

    async fn leave(mut self) {
        let request = lk::SignalRequest { message: Some(signal_request::Message::Leave(Default::default())) };
        self.ws.send(Message::Binary(request.encode_to_vec().into())).await.unwrap();
        let _ = self.ws.close(None).await;
    }
}

/// The next signal response; `None` when the connection closes.
async fn next(ws: &mut Ws) -> Option<signal_response::Message> {
    loop {
        match ws.next().await? {
            Ok(Message::Binary(b)) => return lk::SignalResponse::decode(b.as_ref()).ok()?.message,
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn events_of(server: &TestServer, room_id: i64) -> Vec<Value> {
    let page = server.server_api().get(&format!("/events?videoRoomId={room_id}&pageSize=100")).await.expect(200);
    page["content"].as_array().unwrap().clone()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

async fn setup(server: &TestServer, room_body: Value) -> (Value, i64) {
    let api = server.server_api();
    for (id, name) in [("owner", "Olga"), ("guest", "Gus"), ("other", "Otto")] {
        api.post("/members", json!({"appUserId": id, "appUserName": name})).await.expect(201);
    }
    let mut body = room_body;
    body["appUserId"] = json!("owner");
    let room = api.post("/video-rooms", body).await.expect(201);
    let id = room["id"].as_i64().unwrap();
    (room, id)
}

async fn creds(server: &TestServer, room_id: i64, user: &str) -> Value {
    server
        .server_api()
        .post(&format!("/video-rooms/{room_id}/members/{user}/web-rtc-tokens"), json!({}))
        .await
        .expect(201)
}

#[tokio::test]
async fn presence_from_real_signalling_drives_sessions_and_events() {
    let server = TestServer::start().await;
    let (_, id) = setup(&server, json!({"title": "Presence"})).await;
    let owner = Client::connect(&creds(&server, id, "owner").await).await;
    let guest = Client::connect(&creds(&server, id, "guest").await).await;
    let (owner_sid, guest_sid) = (owner.sid(), guest.sid());
    let room = until("LIVE", async || {
        let r = server.server_api().get(&format!("/video-rooms/{id}")).await.expect(200);
        (r["videoRoomState"] == "LIVE").then_some(r)
    })
    .await;
    assert_eq!(room["lastSessionNo"], 1);
    let live = server.server_api().get(&format!("/video-rooms/{id}/participants")).await.expect(200);
    let who: Vec<&str> = live.as_array().unwrap().iter().map(|p| p["appUserId"].as_str().unwrap()).collect();
    assert_eq!(who, ["owner", "guest"]);
    assert_eq!(live[0]["channelMemberType"], "OPERATOR");
    assert_eq!((live[1]["waiting"].as_bool(), live[1]["appUserName"].as_str()), (Some(false), Some("Gus")));

    guest.leave().await;
    owner.leave().await;
    let events = until("two LEFT events", async || {
        let e = events_of(&server, id).await;
        (of_type(&e, "VIDEO_ROOM_PARTICIPANT_LEFT").len() == 2).then_some(e)
    })
    .await;
    let joined = of_type(&events, "VIDEO_ROOM_PARTICIPANT_JOINED");
    let left = of_type(&events, "VIDEO_ROOM_PARTICIPANT_LEFT");
    assert_eq!(joined.len(), 2);
    let sids =
        |v: &[&Value]| v.iter().map(|e| e["data"]["participantSid"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(sids(&joined), [owner_sid.clone(), guest_sid.clone()]);
    assert_eq!(sids(&left), [guest_sid, owner_sid]);
    assert!(left.iter().all(|e| e["data"]["leaveReason"] == "LEFT" && e["data"]["videoRoom"]["sessionNo"] == 1));
    let room = server.server_api().get(&format!("/video-rooms/{id}")).await.expect(200);
    assert_eq!(room["videoRoomState"], "LIVE_INACTIVE");
    server.stop().await;
}

#[tokio::test]
async fn ending_deleting_and_member_deletion_kick_with_a_reason() {
    let server = TestServer::start().await;
    let api = server.server_api();
    let (_, id) = setup(&server, json!({"title": "Kicks"})).await;
    let mut owner = Client::connect(&creds(&server, id, "owner").await).await;
    let mut guest = Client::connect(&creds(&server, id, "guest").await).await;
    let other_creds = creds(&server, id, "other").await;
    let mut other = Client::connect(&other_creds).await;
    until("LIVE", async || {
        let r = api.get(&format!("/video-rooms/{id}")).await.expect(200);
        (r["videoRoomState"] == "LIVE").then_some(())
    })
    .await;

    // Deleting a member removes it from the live room.
    api.delete("/members/other").await.expect_no_content();
    assert_eq!(other.leave_reason().await, Some(lk::DisconnectReason::ParticipantRemoved as i32));
    // Its media token is still unexpired, but the member is gone: it cannot come back.
    let validate = format!(
        "{}/rtc/validate?access_token={}",
        other_creds["webRtcServerUrl"].as_str().unwrap().replacen("ws://", "http://", 1),
        other_creds["webRtcToken"].as_str().unwrap()
    );
    let refused = reqwest::get(&validate).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("member no longer exists"));

    // Ending the room removes everyone, then media credentials are refused.
    let ended = api.post_empty(&format!("/video-rooms/{id}/end")).await.expect(200);
    assert_eq!(ended["videoRoomState"], "ENDED");
    assert_eq!(owner.leave_reason().await, Some(lk::DisconnectReason::RoomClosed as i32));
    assert_eq!(guest.leave_reason().await, Some(lk::DisconnectReason::RoomClosed as i32));
    api.post(&format!("/video-rooms/{id}/members/guest/web-rtc-tokens"), json!({}))
        .await
        .expect_error(409, "VIDEO_ROOM_ENDED");
    let events = until("three LEFT events", async || {
        let e = events_of(&server, id).await;
        (of_type(&e, "VIDEO_ROOM_PARTICIPANT_LEFT").len() == 3).then_some(e)
    })
    .await;
    let reasons: Vec<&str> = of_type(&events, "VIDEO_ROOM_PARTICIPANT_LEFT")
        .iter()
        .map(|e| e["data"]["leaveReason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["REMOVED", "ROOM_CLOSED", "ROOM_CLOSED"]);
    assert_eq!(api.get(&format!("/video-rooms/{id}")).await.expect(200)["videoRoomState"], "ENDED");

    // Deleting a live room removes its participants too.
    let room2 = api.post("/video-rooms", json!({"title": "Deleted", "appUserId": "owner"})).await.expect(201);
    let id2 = room2["id"].as_i64().unwrap();
    let mut owner2 = Client::connect(&creds(&server, id2, "owner").await).await;
    api.delete(&format!("/video-rooms/{id2}")).await.expect_no_content();
    assert_eq!(owner2.leave_reason().await, Some(lk::DisconnectReason::RoomDeleted as i32));
    server.stop().await;
}

#[tokio::test]
async fn manual_approval_waits_then_approves_live_or_rejects() {
    let server = TestServer::start().await;
    let api = server.server_api();
    let (_, id) = setup(&server, json!({"title": "Lobby", "manuallyApproval": true})).await;
    let login = |user: &'static str| {
        let api = api.clone();
        async move {
            api.post("/members/login", json!({"appUserId": user})).await.expect(200)["accessToken"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (owner_token, guest_token, other_token) = (login("owner").await, login("guest").await, login("other").await);
    let member_creds = async |token: &str| {
        server.member_api(token).post(&format!("/video-rooms/{id}/web-rtc-tokens"), json!({})).await.expect(201)
    };
    let mut owner = Client::connect(&member_creds(&owner_token).await).await;
    assert!(owner.permission().can_publish, "the owner needs no approval");
    let mut guest = Client::connect(&member_creds(&guest_token).await).await;
    let p = guest.permission();
    assert!(!p.can_publish && !p.can_subscribe && !p.can_publish_data && p.hidden, "the guest waits: {p:?}");
    assert!(owner.join.other_participants.is_empty());

    // The owner lists the room; the guest is waiting. Other members may not manage it.
    let owner_api = server.member_api(&owner_token);
    let path = format!("/video-rooms/{id}/participants");
    let live = owner_api.get(&path).await.expect(200);
    let guest_row = live.as_array().unwrap().iter().find(|p| p["appUserId"] == "guest").expect("guest listed").clone();
    assert_eq!((guest_row["waiting"].as_bool(), guest_row["hidden"].as_bool()), (Some(true), Some(true)));
    let other_api = server.member_api(&other_token);
    other_api.get(&path).await.expect_error(403, "ACCESS_DENIED");
    other_api.post_empty(&format!("{path}/guest/approve")).await.expect_error(403, "ACCESS_DENIED");
    owner_api.post_empty(&format!("{path}/nobody/approve")).await.expect_error(404, "NOT_FOUND");

    // Approval: the guest's own update carries the new permission; the owner now sees it.
    let approved = owner_api.post_empty(&format!("{path}/guest/approve")).await.expect(200);
    assert_eq!((approved["waiting"].as_bool(), approved["canPublish"].as_bool()), (Some(false), Some(true)));
    let update = guest
        .until(|m| match m {
            signal_response::Message::Update(u) => u.participants.iter().find(|p| p.identity == "guest").cloned(),
            _ => None,
        })
        .await
        .expect("the guest is told");
    let p = update.permission.unwrap();
    assert!(p.can_publish && p.can_subscribe && p.can_publish_data && !p.hidden);
    assert!(update.version > guest.join.participant.as_ref().unwrap().version);
    let seen = owner
        .until(|m| match m {
            signal_response::Message::Update(u) => u.participants.iter().any(|p| p.identity == "guest").then_some(()),
            _ => None,
        })
        .await;
    assert!(seen.is_some(), "the owner sees the approved guest");
    // Approving again changes nothing.
    owner_api.post_empty(&format!("{path}/guest/approve")).await.expect(200);

    // Rejection (server API this time) removes the participant with a reason.
    let mut other = Client::connect(&member_creds(&other_token).await).await;
    assert!(other.permission().hidden);
    let rejected = api.post_empty(&format!("/video-rooms/{id}/participants/other/reject")).await.expect(200);
    assert_eq!(rejected["waiting"], true);
    assert_eq!(other.leave_reason().await, Some(lk::DisconnectReason::ParticipantRemoved as i32));
    let events = until("the rejected participant's LEFT", async || {
        let e = events_of(&server, id).await;
        e.iter()
            .any(|e| e["type"] == "VIDEO_ROOM_PARTICIPANT_LEFT" && e["data"]["leaveReason"] == "REJECTED")
            .then_some(e)
    })
    .await;
    let waiting_join = events
        .iter()
        .find(|e| e["type"] == "VIDEO_ROOM_PARTICIPANT_JOINED" && e["data"]["appUser"]["appUserId"] == "other")
        .expect("the waiting participant's JOINED");
    assert_eq!(waiting_join["data"]["hidden"], true);
    server.stop().await;
}
