//! The member API (`/v2/members/me/**`, `/v2/members/refresh-token`) against a real server
//! over HTTP: exact status codes, visibility rules, room passwords, media tokens and
//! refresh-token rotation.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn me_returns_the_authenticated_member() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let l = login(
        &api,
        "mia",
        json!({"appUserName": "Mia", "email": "mia@example.com", "country": "DE", "customData": {"x": "y"}}),
    )
    .await;
    let me = ts.member_api(&l.access).get("").await.expect(200);
    assert_eq!(me, l.member);
    assert_eq!(me["appUserId"], "mia");
    assert_eq!(me["state"], "ACTIVE");
    assert_eq!(me["app"], json!({"id": ts.app.id, "name": "test-app"}));
    // It reflects later profile changes.
    api.patch("/members/mia", json!({"appUserName": "Mia M"})).await.expect(200);
    assert_eq!(ts.member_api(&l.access).get("").await.expect(200)["appUserName"], "Mia M");
    api.post("/members", json!({"appUserId": "mia", "email": "new@example.com"})).await.expect(200);
    assert_eq!(ts.member_api(&l.access).get("").await.expect(200)["email"], "new@example.com");
}

#[tokio::test]
async fn create_room_as_member() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let l = login(&api, "max", json!({"appUserName": "Max"})).await;
    create_member(&api, json!({"appUserId": "other"})).await;
    let me = ts.member_api(&l.access);

    let room = me.post("/video-rooms", json!({})).await.expect(201);
    assert_eq!(room["creatorType"], "MEMBER");
    assert_eq!(room["creatorId"], l.member["id"]);
    assert_eq!(
        room["member"],
        json!({"id": l.member["id"], "appUserId": "max", "appUserName": "Max", "appUserProfileImgUrl": null})
    );
    assert_eq!(room["type"], "VIDEO_CONFERENCE");
    assert_eq!(room["videoRoomState"], "SCHEDULED");
    assert_eq!(room["accessLevel"], "PUBLIC");
    assert_eq!(room["app"]["id"], ts.app.id);

    // The owner is always the caller, whatever the body says.
    let room2 = me
        .post("/video-rooms", json!({"appUserId": "other", "title": "T", "accessLevel": "PRIVATE", "password": "p"}))
        .await
        .expect(201);
    assert_eq!(room2["member"]["appUserId"], "max");
    assert_eq!(room2["title"], "T");
    assert_eq!(room2["accessLevel"], "PRIVATE");
    assert_eq!(room2["policy"]["hasPassword"], true);
    // The server API sees it.
    assert_eq!(api.get(&format!("/video-rooms/{}", id_of(&room2))).await.expect(200), room2);
}

/// alice and bob are members of one app; returns (alice token, bob token, rooms by name).
async fn visibility_fixture(ts: &TestServer) -> (String, String, std::collections::HashMap<&'static str, Value>) {
    let api = ts.server_api();
    let alice = login(&api, "alice", json!({})).await;
    let bob = login(&api, "bob", json!({})).await;
    let (a, b) = (ts.member_api(&alice.access), ts.member_api(&bob.access));
    let mut rooms = std::collections::HashMap::new();
    rooms.insert("alice-public", create_room(&a, json!({"title": "alice-public", "accessLevel": "PUBLIC"})).await);
    rooms.insert("alice-member", create_room(&a, json!({"title": "alice-member", "accessLevel": "MEMBER"})).await);
    rooms.insert("alice-private", create_room(&a, json!({"title": "alice-private", "accessLevel": "PRIVATE"})).await);
    rooms.insert("bob-private", create_room(&b, json!({"title": "bob-private", "accessLevel": "PRIVATE"})).await);
    rooms.insert("admin-public", create_room(&api, json!({"title": "admin-public"})).await);
    rooms.insert("admin-private", create_room(&api, json!({"title": "admin-private", "accessLevel": "PRIVATE"})).await);
    (alice.access, bob.access, rooms)
}

#[tokio::test]
async fn list_shows_own_rooms_and_public_and_member_rooms_of_others() {
    let ts = TestServer::start().await;
    let (_alice, bob, _rooms) = visibility_fixture(&ts).await;
    let b = ts.member_api(&bob);

    let page = b.get("/video-rooms?sortBy=CREATED_AT_ASC").await.expect(200);
    let titles = field_of(&assert_page(&page, 0, 20, 4), "title");
    assert_eq!(titles, ["alice-public", "alice-member", "bob-private", "admin-public"]);

    // The server API's filters apply on top of visibility.
    let private = b.get("/video-rooms?accessLevel=PRIVATE").await.expect(200);
    assert_eq!(field_of(&assert_page(&private, 0, 20, 1), "title"), ["bob-private"]);
    let of_alice = b.get("/video-rooms?appUserId=alice&sortBy=CREATED_AT_DESC").await.expect(200);
    assert_eq!(field_of(&assert_page(&of_alice, 0, 20, 2), "title"), ["alice-member", "alice-public"]);
    let keyword = b.get("/video-rooms?keyword=PRIVATE").await.expect(200);
    assert_eq!(field_of(&assert_page(&keyword, 0, 20, 1), "title"), ["bob-private"]);
    let paged = b.get("/video-rooms?sortBy=CREATED_AT_ASC&pageSize=3&page=2").await.expect(200);
    assert_eq!(field_of(&assert_page(&paged, 1, 3, 4), "title"), ["admin-public"]);
    assert_eq!(paged["last"], true);
    let empty = b.get("/video-rooms?videoRoomState=ENDED").await.expect(200);
    assert_page(&empty, 0, 20, 0);

    // The server API sees all six.
    assert_page(&ts.server_api().get("/video-rooms").await.expect(200), 0, 20, 6);
}

#[tokio::test]
async fn rooms_of_others_are_readable_only_when_visible() {
    let ts = TestServer::start().await;
    let (_alice, bob, rooms) = visibility_fixture(&ts).await;
    let b = ts.member_api(&bob);
    for name in ["alice-public", "alice-member", "admin-public", "bob-private"] {
        let room = &rooms[name];
        assert_eq!(b.get(&format!("/video-rooms/{}", id_of(room))).await.expect(200), *room, "{name}");
        assert_eq!(b.get(&format!("/video-rooms/uuid/{}", room["uuid"].as_str().unwrap())).await.expect(200), *room);
    }
    for name in ["alice-private", "admin-private"] {
        let room = &rooms[name];
        b.get(&format!("/video-rooms/{}", id_of(room))).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
        b.get(&format!("/video-rooms/uuid/{}", room["uuid"].as_str().unwrap()))
            .await
            .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
        // Invisible rooms are not found for writes either (no existence leak).
        b.patch(&format!("/video-rooms/{}", id_of(room)), json!({"title": "x"}))
            .await
            .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
        b.delete(&format!("/video-rooms/{}", id_of(room))).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
        b.post(&format!("/video-rooms/{}/web-rtc-tokens", id_of(room)), json!({}))
            .await
            .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    }
    b.get("/video-rooms/999999").await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    b.get("/video-rooms/uuid/nope").await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
}

#[tokio::test]
async fn only_the_owner_may_patch_or_delete() {
    let ts = TestServer::start().await;
    let (alice, bob, rooms) = visibility_fixture(&ts).await;
    let (a, b) = (ts.member_api(&alice), ts.member_api(&bob));
    for name in ["alice-public", "alice-member", "admin-public"] {
        let id = id_of(&rooms[name]);
        b.patch(&format!("/video-rooms/{id}"), json!({"title": "hijacked"})).await.expect_error(403, "ACCESS_DENIED");
        b.delete(&format!("/video-rooms/{id}")).await.expect_error(403, "ACCESS_DENIED");
        // Nothing changed.
        assert_eq!(ts.server_api().get(&format!("/video-rooms/{id}")).await.expect(200), rooms[name], "{name}");
    }

    // The owner patches (200) and deletes (200, not 204).
    let id = id_of(&rooms["alice-public"]);
    tick().await;
    let patched = a
        .patch(
            &format!("/video-rooms/{id}"),
            json!({"title": "renamed", "accessLevel": "MEMBER", "customData": {"k": "v"}}),
        )
        .await
        .expect(200);
    assert_eq!(patched["title"], "renamed");
    assert_eq!(patched["accessLevel"], "MEMBER");
    assert_eq!(patched["customData"], json!({"k": "v"}));
    assert_eq!(patched["member"]["appUserId"], "alice");
    assert_ne!(patched["lastModifiedAt"], rooms["alice-public"]["lastModifiedAt"]);
    // Making it PRIVATE hides it from bob.
    a.patch(&format!("/video-rooms/{id}"), json!({"accessLevel": "PRIVATE"})).await.expect(200);
    b.get(&format!("/video-rooms/{id}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");

    let deleted = a.delete(&format!("/video-rooms/{id}")).await;
    assert_eq!(deleted.status, 200, "member DELETE answers 200: {deleted:?}");
    a.get(&format!("/video-rooms/{id}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    a.delete(&format!("/video-rooms/{id}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    a.patch(&format!("/video-rooms/{id}"), json!({"title": "x"})).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    ts.server_api().get(&format!("/video-rooms/{id}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");

    // bob deletes his own PRIVATE room: 200.
    let bob_room = id_of(&rooms["bob-private"]);
    assert_eq!(b.delete(&format!("/video-rooms/{bob_room}")).await.status, 200);
    assert_page(&b.get("/video-rooms").await.expect(200), 0, 20, 2);
}

#[tokio::test]
async fn web_rtc_tokens_check_the_room_password() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let alice = login(&api, "alice", json!({})).await;
    let bob = login(&api, "bob", json!({})).await;
    let (a, b) = (ts.member_api(&alice.access), ts.member_api(&bob.access));
    let locked = id_of(&create_room(&a, json!({"title": "locked", "password": "s3cret"})).await);
    let path = format!("/video-rooms/{locked}/web-rtc-tokens");

    // The owner is exempt.
    a.post_empty(&path).await.expect(201);
    a.post(&path, json!({"password": "wrong"})).await.expect(201);
    // Others need the right password.
    b.post_empty(&path).await.expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");
    b.post(&path, json!({})).await.expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");
    b.post(&path, json!({"password": null})).await.expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");
    b.post(&path, json!({"password": ""})).await.expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");
    b.post(&path, json!({"password": "S3CRET"})).await.expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");
    let creds = b.post(&path, json!({"password": "s3cret"})).await.expect(201);
    assert_eq!(creds["webRtcServerUrl"], ts.ws_url());
    assert!(creds["webRtcToken"].as_str().is_some_and(|t| t.split('.').count() == 3));

    // After the password changes, the old one no longer works; after removal, none is needed.
    a.patch(&format!("/video-rooms/{locked}"), json!({"password": "n3w"})).await.expect(200);
    b.post(&path, json!({"password": "s3cret"})).await.expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");
    b.post(&path, json!({"password": "n3w"})).await.expect(201);
    a.patch(&format!("/video-rooms/{locked}"), json!({"password": ""})).await.expect(200);
    b.post_empty(&path).await.expect(201);

    // A room without a password: no body needed; a stray password is ignored.
    let open = id_of(&create_room(&a, json!({})).await);
    b.post_empty(&format!("/video-rooms/{open}/web-rtc-tokens")).await.expect(201);
    b.post(&format!("/video-rooms/{open}/web-rtc-tokens"), json!({"password": "whatever"})).await.expect(201);

    // A server-created room with a password.
    let server_room = id_of(&create_room(&api, json!({"password": "pw"})).await);
    b.post_empty(&format!("/video-rooms/{server_room}/web-rtc-tokens"))
        .await
        .expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");
    b.post(&format!("/video-rooms/{server_room}/web-rtc-tokens"), json!({"password": "pw"})).await.expect(201);
}

#[tokio::test]
async fn web_rtc_tokens_for_ended_or_cancelled_rooms_are_409() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let alice = login(&api, "alice", json!({})).await;
    let bob = login(&api, "bob", json!({})).await;
    let (a, b) = (ts.member_api(&alice.access), ts.member_api(&bob.access));
    let ended = id_of(&create_room(&a, json!({"password": "pw"})).await);
    let cancelled = id_of(&create_room(&a, json!({})).await);
    api.post_empty(&format!("/video-rooms/{ended}/end")).await.expect(200);
    api.post_empty(&format!("/video-rooms/{cancelled}/cancel")).await.expect(200);
    for id in [ended, cancelled] {
        let path = format!("/video-rooms/{id}/web-rtc-tokens");
        a.post_empty(&path).await.expect_error(409, "VIDEO_ROOM_ENDED");
        b.post(&path, json!({"password": "pw"})).await.expect_error(409, "VIDEO_ROOM_ENDED");
        // Still readable.
        assert!(
            ["ENDED", "CANCELLED"]
                .contains(&b.get(&format!("/video-rooms/{id}")).await.expect(200)["videoRoomState"].as_str().unwrap())
        );
    }
}

#[tokio::test]
async fn media_token_carries_every_claim() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let owner = login(
        &api,
        "owner.1",
        json!({"appUserName": "Owner One", "appUserProfileImgUrl": "https://img.example/o.png"}),
    )
    .await;
    let guest = login(&api, "guest@x", json!({})).await;
    let room = create_room(&ts.member_api(&owner.access), json!({"title": "claims"})).await;
    let path = format!("/video-rooms/{}/web-rtc-tokens", id_of(&room));

    let check = |creds: &Value, who: &Login, name: &str, kind: &str, custom: Value| {
        assert_eq!(creds["webRtcServerUrl"], ts.ws_url());
        let claims = verify_media_token(creds["webRtcToken"].as_str().expect("webRtcToken"));
        assert_eq!(claims["iss"], MEDIA_KEY, "{claims}");
        assert_eq!(claims["sub"], who.member["appUserId"], "{claims}");
        assert_eq!(claims["name"], name, "{claims}");
        let video = &claims["video"];
        assert_eq!(video["room"], room["uuid"], "{claims}");
        for grant in ["roomJoin", "canPublish", "canSubscribe", "canPublishData"] {
            assert_eq!(video[grant], true, "{grant}: {claims}");
        }
        assert_ne!(video["hidden"], true, "{claims}");
        let (nbf, exp) = (claims["nbf"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
        assert_eq!(exp - nbf, 6 * 60 * 60, "lifetime 6 h: {claims}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((now - 60..=now + 5).contains(&nbf), "nbf {nbf} now {now}");
        let metadata: Value = serde_json::from_str(claims["metadata"].as_str().expect("metadata is a string")).unwrap();
        assert_eq!(metadata["memberId"], who.member["id"], "{metadata}");
        assert_eq!(metadata["appUserId"], who.member["appUserId"], "{metadata}");
        assert_eq!(metadata["appUserName"], who.member["appUserName"], "{metadata}");
        assert_eq!(metadata["appUserProfileImgUrl"], who.member["appUserProfileImgUrl"], "{metadata}");
        assert_eq!(metadata["videoRoomId"], room["id"], "{metadata}");
        assert_eq!(metadata["channelMemberType"], kind, "{metadata}");
        assert_eq!(metadata["customData"], custom, "{metadata}");
        for key in [
            "memberId",
            "appUserId",
            "appUserName",
            "appUserProfileImgUrl",
            "videoRoomId",
            "channelMemberType",
            "customData",
        ] {
            assert!(metadata.as_object().unwrap().contains_key(key), "{key} missing: {metadata}");
        }
    };

    let creds = ts
        .member_api(&owner.access)
        .post(&path, json!({"customData": {"role": "host", "seat": "1"}}))
        .await
        .expect(201);
    check(&creds, &owner, "Owner One", "OPERATOR", json!({"role": "host", "seat": "1"}));

    let creds = ts.member_api(&guest.access).post(&path, json!({"customData": {"role": "guest"}})).await.expect(201);
    check(&creds, &guest, "guest@x", "MEMBER", json!({"role": "guest"}));

    let creds = ts.member_api(&guest.access).post_empty(&path).await.expect(201);
    check(&creds, &guest, "guest@x", "MEMBER", Value::Null);

    // Each request mints a new token.
    let again = ts.member_api(&guest.access).post_empty(&path).await.expect(201);
    assert_ne!(
        jwt_payload(again["webRtcToken"].as_str().unwrap())["jti"],
        jwt_payload(creds["webRtcToken"].as_str().unwrap())["jti"]
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let anon = ts.anon();
    let l = login(&api, "rita", json!({})).await;
    let other_session = login(&api, "rita", json!({})).await;

    // No auth header needed; a new pair comes back.
    let p1 = anon.post("/v2/members/refresh-token", json!({"refreshToken": l.refresh})).await.expect(200);
    let (a1, r1) = (p1["accessToken"].as_str().unwrap().to_owned(), p1["refreshToken"].as_str().unwrap().to_owned());
    assert_eq!(p1.as_object().unwrap().len(), 2, "{p1}");
    assert_ne!(r1, l.refresh);
    assert_ne!(a1, l.access);
    let me = ts.member_api(&a1).get("").await.expect(200);
    assert_eq!(me["appUserId"], "rita");
    let claims = jwt_payload(&a1);
    assert_eq!(claims["claims"]["memberId"], l.member["id"]);

    // The new refresh token rotates again.
    let p2 = anon.post("/v2/members/refresh-token", json!({"refreshToken": r1})).await.expect(200);
    let r2 = p2["refreshToken"].as_str().unwrap().to_owned();
    ts.member_api(p2["accessToken"].as_str().unwrap()).get("").await.expect(200);

    // Reusing a spent token: 401, and the whole family is revoked, newest token included.
    anon.post("/v2/members/refresh-token", json!({"refreshToken": l.refresh}))
        .await
        .expect_error(401, "INVALID_REFRESH_TOKEN");
    anon.post("/v2/members/refresh-token", json!({"refreshToken": r2}))
        .await
        .expect_error(401, "INVALID_REFRESH_TOKEN");
    anon.post("/v2/members/refresh-token", json!({"refreshToken": r1}))
        .await
        .expect_error(401, "INVALID_REFRESH_TOKEN");

    // Another login's family is unaffected.
    let other =
        anon.post("/v2/members/refresh-token", json!({"refreshToken": other_session.refresh})).await.expect(200);
    ts.member_api(other["accessToken"].as_str().unwrap()).get("").await.expect(200);

    // Unknown tokens.
    anon.post("/v2/members/refresh-token", json!({"refreshToken": "not-a-token"}))
        .await
        .expect_error(401, "INVALID_REFRESH_TOKEN");
    anon.post("/v2/members/refresh-token", json!({"refreshToken": ""}))
        .await
        .expect_error(401, "INVALID_REFRESH_TOKEN");
    // An access token is not a refresh token.
    anon.post("/v2/members/refresh-token", json!({"refreshToken": l.access}))
        .await
        .expect_error(401, "INVALID_REFRESH_TOKEN");
    // A missing field is a malformed body.
    anon.post("/v2/members/refresh-token", json!({})).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_have_a_single_winner() {
    let ts = TestServer::start().await;
    let l = login(&ts.server_api(), "racer", json!({})).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let anon = ts.anon();
            let token = l.refresh.clone();
            tokio::spawn(async move { anon.post("/v2/members/refresh-token", json!({"refreshToken": token})).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let resp = t.await.unwrap();
        if resp.status == 200 {
            ok += 1;
        } else {
            resp.expect_error(401, "INVALID_REFRESH_TOKEN");
        }
    }
    assert_eq!(ok, 1, "a refresh token is single use");
}

#[tokio::test]
async fn refresh_token_works_with_an_authorization_header_too() {
    // SDKs may send their (possibly expired) access token along; the refresh still works.
    let ts = TestServer::start().await;
    let l = login(&ts.server_api(), "sam", json!({})).await;
    let pair = ts
        .anon()
        .bearer(&l.access)
        .post("/v2/members/refresh-token", json!({"refreshToken": l.refresh}))
        .await
        .expect(200);
    assert!(pair["accessToken"].is_string() && pair["refreshToken"].is_string());
}
