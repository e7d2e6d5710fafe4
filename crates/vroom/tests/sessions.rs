//! Room lifecycle, sessions and attendance as the media server reports presence, with the
//! JOINED/LEFT events they write. Presence is reported here through the platform's media
//! hooks directly; the browser tests cover the same path from real clients.

mod common;

use std::time::Duration;

use base64::Engine;
use common::TestServer;
use serde_json::{Value, json};
use vroom_platform::session::{ParticipantJoin, leave_reason};
use vroom_platform::time;

/// Media credentials for `user` in `room` through the server API; returns the token's claims.
async fn token_claims(server: &TestServer, room_id: i64, user: &str, custom: Value) -> Value {
    let creds = server
        .server_api()
        .post(&format!("/video-rooms/{room_id}/members/{user}/web-rtc-tokens"), json!({"customData": custom}))
        .await
        .expect(201);
    let token = creds["webRtcToken"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn join(server: &TestServer, room: &Value, user: &str, sid: &str) {
    let claims = token_claims(server, room["id"].as_i64().unwrap(), user, json!({"seat": "3"})).await;
    let join = ParticipantJoin {
        room_uuid: room["uuid"].as_str().unwrap().to_owned(),
        participant_sid: sid.to_owned(),
        identity: user.to_owned(),
        name: claims["name"].as_str().unwrap().to_owned(),
        metadata: claims["metadata"].as_str().unwrap().to_owned(),
        hidden: false,
        at: time::now(),
    };
    server.platform().participant_joined(&join).await.unwrap().expect("room exists");
}

async fn leave(server: &TestServer, sid: &str) {
    server.platform().participant_left(sid, leave_reason::LEFT, time::now()).await.unwrap();
}

async fn room_state(server: &TestServer, id: i64) -> Value {
    server.server_api().get(&format!("/video-rooms/{id}")).await.expect(200)
}

async fn room_events(server: &TestServer, id: i64) -> Vec<Value> {
    let page = server.server_api().get(&format!("/events?videoRoomId={id}&pageSize=100")).await.expect(200);
    page["content"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sessions_follow_presence_and_emit_joined_and_left() {
    let server = TestServer::start().await;
    let api = server.server_api();
    api.post("/members", json!({"appUserId": "owner", "appUserName": "Olga"})).await.expect(201);
    api.post("/members", json!({"appUserId": "guest", "appUserName": "Gus"})).await.expect(201);
    let room = api.post("/video-rooms", json!({"title": "Weekly", "appUserId": "owner"})).await.expect(201);
    let id = room["id"].as_i64().unwrap();
    assert_eq!(room["videoRoomState"], "SCHEDULED");

    join(&server, &room, "owner", "PA_o1").await;
    let live = room_state(&server, id).await;
    assert_eq!((live["videoRoomState"].as_str(), live["lastSessionNo"].as_i64()), (Some("LIVE"), Some(1)));
    assert!(live["liveStartedAt"].is_string());
    join(&server, &room, "guest", "PA_g1").await;
    leave(&server, "PA_o1").await;
    assert_eq!(room_state(&server, id).await["videoRoomState"], "LIVE", "one participant is still in");
    leave(&server, "PA_g1").await;
    let idle = room_state(&server, id).await;
    assert_eq!(idle["videoRoomState"], "LIVE_INACTIVE");
    assert!(idle["liveEndedAt"].is_string());
    leave(&server, "PA_g1").await; // a repeated report changes nothing
    leave(&server, "PA_unknown").await; // a LEFT is never written without its JOINED

    join(&server, &room, "guest", "PA_g2").await;
    let again = room_state(&server, id).await;
    assert_eq!((again["videoRoomState"].as_str(), again["lastSessionNo"].as_i64()), (Some("LIVE"), Some(2)));
    leave(&server, "PA_g2").await;

    let events = room_events(&server, id).await;
    let summary: Vec<(String, String, i64)> = events
        .iter()
        .skip(1) // VIDEO_ROOM_SCHEDULED
        .map(|e| {
            (
                e["type"].as_str().unwrap().trim_start_matches("VIDEO_ROOM_PARTICIPANT_").to_owned(),
                e["data"]["appUser"]["appUserId"].as_str().unwrap().to_owned(),
                e["data"]["videoRoom"]["sessionNo"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("JOINED", "owner", 1),
        ("JOINED", "guest", 1),
        ("LEFT", "owner", 1),
        ("LEFT", "guest", 1),
        ("JOINED", "guest", 2),
        ("LEFT", "guest", 2),
    ];
    assert_eq!(summary, expected.map(|(a, b, c)| (a.to_owned(), b.to_owned(), c)));
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>(), "per-room seq is gapless and increasing");

    // Every specified field of the JOINED payload.
    let joined = &events[1]["data"];
    assert_eq!(
        joined["videoRoom"],
        json!({"id": id, "state": "ACTIVE", "videoRoomState": "LIVE", "type": "VIDEO_CONFERENCE", "title": "Weekly", "channelId": id.to_string(), "sessionNo": 1})
    );
    assert_eq!(
        joined["appUser"],
        json!({"appUserId": "owner", "appUserName": "Olga", "channelMemberType": "OPERATOR", "customData": {"seat": "3"}})
    );
    assert!(joined["joinedAt"].as_str().unwrap().ends_with('Z'));
    let guest_joined = &events[2]["data"]["appUser"];
    assert_eq!(guest_joined["channelMemberType"], "MEMBER");
    let left = &events[3]["data"];
    assert!(left["leftAt"].as_str().unwrap().ends_with('Z'));
    assert!(left.get("joinedAt").is_none());
    assert_eq!(events[4]["data"]["videoRoom"]["videoRoomState"], "LIVE_INACTIVE", "state after the last leave");

    // Sessions and attendance.
    let sessions = api.get(&format!("/video-rooms/{id}/sessions")).await.expect(200);
    assert_eq!(sessions["totalElements"], 2);
    assert_eq!(sessions["content"][0]["sessionNo"], 2, "newest first");
    assert_eq!(sessions["content"][1]["participantCount"], 2);
    assert_eq!(sessions["content"][1]["endReason"], "EMPTY");
    let people = api.get(&format!("/video-rooms/{id}/sessions/1/participants")).await.expect(200);
    let people = people.as_array().unwrap();
    assert_eq!(people.len(), 2);
    assert_eq!(people[0]["appUserId"], "owner");
    assert_eq!(people[0]["leaveReason"], "LEFT");
    assert!(people[0]["leftAt"].is_string());
    api.get(&format!("/video-rooms/{id}/sessions/3/participants")).await.expect_error(404, "NOT_FOUND");
    server.stop().await;
}

#[tokio::test]
async fn only_the_owner_member_sees_attendance() {
    let server = TestServer::start().await;
    let api = server.server_api();
    let owner = api.post("/members/login", json!({"appUserId": "owner"})).await.expect(200);
    let other = api.post("/members/login", json!({"appUserId": "other"})).await.expect(200);
    let owner_api = server.member_api(owner["accessToken"].as_str().unwrap());
    let other_api = server.member_api(other["accessToken"].as_str().unwrap());
    let room = owner_api.post("/video-rooms", json!({"title": "Mine"})).await.expect(201);
    let id = room["id"].as_i64().unwrap();
    join(&server, &room, "other", "PA_x").await;
    let mine = owner_api.get(&format!("/video-rooms/{id}/sessions")).await.expect(200);
    assert_eq!(mine["totalElements"], 1);
    owner_api.get(&format!("/video-rooms/{id}/sessions/1/participants")).await.expect(200);
    other_api.get(&format!("/video-rooms/{id}/sessions")).await.expect_error(403, "ACCESS_DENIED");
    other_api.get(&format!("/video-rooms/{id}/sessions/1/participants")).await.expect_error(403, "ACCESS_DENIED");
    server.stop().await;
}

#[tokio::test]
async fn a_restart_closes_what_the_previous_run_left_open() {
    let mut server = TestServer::start().await;
    let api = server.server_api();
    api.post("/members", json!({"appUserId": "u1"})).await.expect(201);
    let room = api.post("/video-rooms", json!({"title": "R"})).await.expect(201);
    let id = room["id"].as_i64().unwrap();
    join(&server, &room, "u1", "PA_r1").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Joined well within one heartbeat interval (5 s) of the stop: the stop itself must be
    // recorded, or the session would be closed before it began.
    let stop_requested = time::now();
    server.restart().await;
    let restarted = time::now();

    let after = room_state(&server, id).await;
    assert_eq!(after["videoRoomState"], "LIVE_INACTIVE", "no room stays LIVE across a restart");
    let events = room_events(&server, id).await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "VIDEO_ROOM_PARTICIPANT_LEFT");
    assert_eq!(last["data"]["leaveReason"], "SERVER_RESTART");
    let people = server.server_api().get(&format!("/video-rooms/{id}/sessions/1/participants")).await.expect(200);
    assert_eq!(people[0]["leaveReason"], "SERVER_RESTART");
    let sessions = server.server_api().get(&format!("/video-rooms/{id}/sessions")).await.expect(200);
    assert_eq!(sessions["content"][0]["endReason"], "SERVER_RESTART");

    // The times: closed as of the graceful stop, never before the join or after the restart.
    let (joined, left) = (at(&people[0]["joinedAt"]), at(&people[0]["leftAt"]));
    assert!(joined <= left, "left {left} before joining {joined}");
    assert!(left >= stop_requested, "left {left} before the stop {stop_requested}");
    assert!(left <= restarted, "left {left} after the restart {restarted}");
    let (started, ended) = (at(&sessions["content"][0]["startedAt"]), at(&sessions["content"][0]["endedAt"]));
    assert!(started <= ended, "session ended {ended} before it started {started}");
    assert_eq!(ended, left, "the session ends when its last participant left");
    assert_eq!(at(&last["data"]["leftAt"]), left, "the LEFT event has the attendance's time");
    server.stop().await;
}

/// A run that crashed (no heartbeat at its stop) right after a join: the last heartbeat is
/// older than the join, yet attendance and the session never go backwards.
#[tokio::test]
async fn a_stale_heartbeat_never_closes_a_session_before_it_began() {
    let server = TestServer::start().await;
    let api = server.server_api();
    api.post("/members", json!({"appUserId": "u1"})).await.expect(201);
    let room = api.post("/video-rooms", json!({"title": "R"})).await.expect(201);
    let id = room["id"].as_i64().unwrap();
    join(&server, &room, "u1", "PA_c1").await;
    // What the next start does with a heartbeat from 4 s before the join.
    let last_heartbeat = time::from_millis(time::now().timestamp_millis() - 4000);
    assert_eq!(server.platform().close_stale_sessions(last_heartbeat).await.unwrap(), 1);

    let people = api.get(&format!("/video-rooms/{id}/sessions/1/participants")).await.expect(200);
    let (joined, left) = (at(&people[0]["joinedAt"]), at(&people[0]["leftAt"]));
    assert_eq!(left, joined, "clamped to the join");
    let sessions = api.get(&format!("/video-rooms/{id}/sessions")).await.expect(200);
    let (started, ended) = (at(&sessions["content"][0]["startedAt"]), at(&sessions["content"][0]["endedAt"]));
    assert!(started <= ended, "session ended {ended} before it started {started}");
    let left_event = room_events(&server, id).await.pop().unwrap();
    assert_eq!(left_event["type"], "VIDEO_ROOM_PARTICIPANT_LEFT");
    assert_eq!(at(&left_event["data"]["leftAt"]), joined);
    let state = room_state(&server, id).await;
    assert!(at(&state["liveEndedAt"]) >= at(&state["liveStartedAt"]), "room {state}");
    server.stop().await;
}

fn at(v: &Value) -> time::Timestamp {
    time::parse(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}
