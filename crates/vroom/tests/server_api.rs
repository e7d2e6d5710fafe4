//! The server API (`/v2/apps/me/**` and its alias `/v2/vicollo-apps/me/**`) against a real
//! server over HTTP; also restart persistence and the operational endpoints.

mod common;

use common::*;
use reqwest::Url;
use serde_json::{Value, json};

// ---- app ------------------------------------------------------------------------------

#[tokio::test]
async fn app_info_is_served_under_both_prefixes() {
    let ts = TestServer::start().await;
    let app = ts.server_api().get("").await.expect(200);
    assert_eq!(app["id"], ts.app.id);
    assert_eq!(app["state"], "ACTIVE");
    assert_eq!(app["name"], "test-app");
    assert_eq!(app["defaultRtmpOutputMode"], "CMAF");
    assert_utc(&app["createdAt"]);
    assert_utc(&app["lastModifiedAt"]);
    assert!(app.get("apiKey").is_none() && app.get("apiSecret").is_none(), "credentials leaked: {app}");
    let alias = ts.server_api_at(VICOLLO_PREFIX).get("").await.expect(200);
    assert_eq!(alias, app);
    ts.stop().await;
}

#[tokio::test]
async fn both_prefixes_share_the_same_data() {
    let ts = TestServer::start().await;
    let (apps, vicollo) = (ts.server_api(), ts.server_api_at(VICOLLO_PREFIX));
    let m = create_member(&vicollo, json!({"appUserId": "shared"})).await;
    assert_eq!(apps.get("/members/shared").await.expect(200), m);
    let room = create_room(&apps, json!({"title": "r"})).await;
    assert_eq!(vicollo.get(&format!("/video-rooms/{}", id_of(&room))).await.expect(200), room);
    vicollo.delete("/members/shared").await.expect_no_content();
    apps.get("/members/shared").await.expect_error(404, "MEMBER_NOT_FOUND");
}

// ---- members --------------------------------------------------------------------------

async fn member_upsert_create_update_and_null_clearing(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    let full = json!({
        "appUserId": "alice",
        "appUserName": "Alice",
        "appUserProfileImgUrl": "https://img.example/alice.png",
        "email": "alice@example.com",
        "country": "KR",
        "lang": "ko",
        "customType": "vip",
        "customData": {"team": "blue", "level": "3"},
    });
    let created = api.post("/members", full.clone()).await.expect(201);
    assert!(created["id"].is_i64(), "numeric id: {created}");
    assert_eq!(created["state"], "ACTIVE");
    for field in
        ["appUserId", "appUserName", "appUserProfileImgUrl", "email", "country", "lang", "customType", "customData"]
    {
        assert_eq!(created[field], full[field], "{field}: {created}");
    }
    assert_eq!(created["app"], json!({"id": ts.app.id, "name": "test-app"}));
    assert_utc(&created["createdAt"]);
    assert_utc(&created["lastModifiedAt"]);

    // Same body again: nothing to create, 200 with the same member.
    let same = api.post("/members", full.clone()).await.expect(200);
    assert_eq!(same["id"], created["id"]);
    assert_eq!(same["email"], "alice@example.com");

    // Absent fields are unchanged; a given one changes.
    tick().await;
    let updated = api.post("/members", json!({"appUserId": "alice", "email": "new@example.com"})).await.expect(200);
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["email"], "new@example.com");
    for field in ["appUserName", "appUserProfileImgUrl", "country", "lang", "customType", "customData"] {
        assert_eq!(updated[field], full[field], "{field} must be unchanged: {updated}");
    }
    assert_eq!(updated["createdAt"], created["createdAt"]);
    assert_ne!(updated["lastModifiedAt"], created["lastModifiedAt"]);

    // Explicit null clears.
    let cleared = api
        .post("/members", json!({"appUserId": "alice", "appUserName": null, "customData": null, "country": null}))
        .await
        .expect(200);
    assert_eq!(cleared["appUserName"], Value::Null);
    assert_eq!(cleared["customData"], Value::Null);
    assert_eq!(cleared["country"], Value::Null);
    assert_eq!(cleared["email"], "new@example.com");
    assert_eq!(cleared["lang"], "ko");
    assert!(cleared.as_object().unwrap().contains_key("appUserName"), "cleared fields are present as null");

    // The stored member is what the last response said.
    assert_eq!(api.get("/members/alice").await.expect(200), cleared);

    // Aliases screenName / profileImgUrl.
    let aliased = api
        .post(
            "/members",
            json!({"appUserId": "alice", "screenName": "Ally", "profileImgUrl": "https://img.example/a2"}),
        )
        .await
        .expect(200);
    assert_eq!(aliased["appUserName"], "Ally");
    assert_eq!(aliased["appUserProfileImgUrl"], "https://img.example/a2");
    let bob = api.post("/members", json!({"appUserId": "bob", "screenName": "Bob"})).await.expect(201);
    assert_eq!(bob["appUserName"], "Bob");
    // A new member without profile fields has them all as null.
    let bare = api.post("/members", json!({"appUserId": "bare"})).await.expect(201);
    for field in ["appUserName", "appUserProfileImgUrl", "email", "country", "lang", "customType", "customData"] {
        assert!(bare.as_object().unwrap().contains_key(field), "{field} missing: {bare}");
        assert_eq!(bare[field], Value::Null, "{field}: {bare}");
    }
}

#[tokio::test]
async fn member_upsert_create_update_and_null_clearing_apps() {
    member_upsert_create_update_and_null_clearing(APPS_PREFIX).await;
}

#[tokio::test]
async fn member_upsert_create_update_and_null_clearing_vicollo() {
    member_upsert_create_update_and_null_clearing(VICOLLO_PREFIX).await;
}

async fn member_get_patch_404(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    let m = create_member(&api, json!({"appUserId": "carol", "appUserName": "Carol", "lang": "en"})).await;
    assert_eq!(api.get("/members/carol").await.expect(200), m);
    api.get("/members/nobody").await.expect_error(404, "MEMBER_NOT_FOUND");

    tick().await;
    let patched = api
        .patch("/members/carol", json!({"email": "c@example.com", "lang": null, "profileImgUrl": "https://i/c"}))
        .await
        .expect(200);
    assert_eq!(patched["id"], m["id"]);
    assert_eq!(patched["appUserId"], "carol");
    assert_eq!(patched["appUserName"], "Carol", "absent field unchanged");
    assert_eq!(patched["email"], "c@example.com");
    assert_eq!(patched["lang"], Value::Null, "null clears");
    assert_eq!(patched["appUserProfileImgUrl"], "https://i/c");
    assert_ne!(patched["lastModifiedAt"], m["lastModifiedAt"]);
    assert_eq!(api.get("/members/carol").await.expect(200), patched);

    // The path names the member; an appUserId in the body does not rename it.
    let same = api.patch("/members/carol", json!({"appUserId": "renamed", "country": "FR"})).await.expect(200);
    assert_eq!(same["appUserId"], "carol");
    assert_eq!(same["country"], "FR");
    api.get("/members/renamed").await.expect_error(404, "MEMBER_NOT_FOUND");

    api.patch("/members/nobody", json!({"email": "x@example.com"})).await.expect_error(404, "MEMBER_NOT_FOUND");
    // PATCH does not create.
    api.get("/members/nobody").await.expect_error(404, "MEMBER_NOT_FOUND");
}

#[tokio::test]
async fn member_get_patch_and_404_apps() {
    member_get_patch_404(APPS_PREFIX).await;
}

#[tokio::test]
async fn member_get_patch_and_404_vicollo() {
    member_get_patch_404(VICOLLO_PREFIX).await;
}

#[tokio::test]
async fn concurrent_upserts_of_one_new_member_create_it_once() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move {
                api.post("/members", json!({"appUserId": "racer", "lang": format!("l{}", i % 2)})).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let resp = t.await.unwrap();
        statuses.push(resp.status);
        ids.insert(resp.json()["id"].as_i64().expect("a member"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 201), "{statuses:?}");
    assert_eq!(ids.len(), 1, "one member: {ids:?}");
    assert_page(&api.get("/members?appUserId=racer").await.expect(200), 0, 20, 1);
}

#[tokio::test]
async fn every_app_has_the_builtin_admin_member() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let admin = api.get("/members/admin").await.expect(200);
    assert_eq!(admin["appUserId"], "admin");
    assert_eq!(admin["app"]["id"], ts.app.id);
    let page = api.get("/members").await.expect(200);
    let content = assert_page(&page, 0, 20, 1);
    assert_eq!(content[0]["appUserId"], "admin");
}

async fn member_list_filters_sorts_and_pages(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    // Created in this order; names chosen for the substring filter.
    let people =
        [("m-c", "Alice Smith"), ("m-a", "BOB SMITH"), ("m-e", "carol"), ("m-b", "Dave smithson"), ("m-d", "Eve")];
    for (id, name) in people {
        create_member(&api, json!({"appUserId": id, "appUserName": name})).await;
        tick().await;
    }

    // Unfiltered: the five plus the built-in admin, newest first by default.
    let all = api.get("/members").await.expect(200);
    let content = assert_page(&all, 0, 20, 6);
    assert_eq!(field_of(&content, "appUserId"), ["m-d", "m-b", "m-e", "m-a", "m-c", "admin"]);

    // appUserId: exact.
    let one = api.get("/members?appUserId=m-e").await.expect(200);
    assert_eq!(field_of(&assert_page(&one, 0, 20, 1), "appUserId"), ["m-e"]);
    let none = api.get("/members?appUserId=m-").await.expect(200);
    assert_page(&none, 0, 20, 0);

    // appUserName: case-insensitive substring.
    let smiths = api.get("/members?appUserName=sMiTh&sortBy=APP_USER_ID_ASC").await.expect(200);
    assert_eq!(field_of(&assert_page(&smiths, 0, 20, 3), "appUserId"), ["m-a", "m-b", "m-c"]);
    let both = api.get("/members?appUserName=smith&appUserId=m-a").await.expect(200);
    assert_eq!(field_of(&assert_page(&both, 0, 20, 1), "appUserId"), ["m-a"]);

    // Every sort order (admin, created with the app, is left out of the comparison).
    let sorted = |sort: &'static str| {
        let api = api.clone();
        async move {
            let page =
                api.get(&format!("/members?appUserId=&appUserName=&sortBy={sort}&pageSize=100")).await.expect(200);
            let content = assert_page(&page, 0, 100, 6);
            field_of(&content, "appUserId").into_iter().filter(|id| id != "admin").collect::<Vec<_>>()
        }
    };
    assert_eq!(sorted("CREATED_AT_ASC").await, ["m-c", "m-a", "m-e", "m-b", "m-d"]);
    assert_eq!(sorted("CREATED_AT_DESC").await, ["m-d", "m-b", "m-e", "m-a", "m-c"]);
    assert_eq!(sorted("APP_USER_ID_ASC").await, ["m-a", "m-b", "m-c", "m-d", "m-e"]);
    assert_eq!(sorted("APP_USER_ID_DESC").await, ["m-e", "m-d", "m-c", "m-b", "m-a"]);
    // Touch m-a, then m-e: the last-modified order differs from the creation order.
    tick().await;
    api.patch("/members/m-a", json!({"lang": "en"})).await.expect(200);
    tick().await;
    api.post("/members", json!({"appUserId": "m-e", "lang": "fr"})).await.expect(200);
    assert_eq!(sorted("LAST_MODIFIED_AT_ASC").await, ["m-c", "m-b", "m-d", "m-a", "m-e"]);
    assert_eq!(sorted("LAST_MODIFIED_AT_DESC").await, ["m-e", "m-a", "m-d", "m-b", "m-c"]);
    // The creation order is not affected by updates.
    assert_eq!(sorted("CREATED_AT_ASC").await, ["m-c", "m-a", "m-e", "m-b", "m-d"]);

    // Pagination over the six members (admin included), two per page.
    let mut seen = Vec::new();
    for (page, expected_ids) in [(1, 2), (2, 2), (3, 2)] {
        let v = api.get(&format!("/members?sortBy=APP_USER_ID_ASC&pageSize=2&page={page}")).await.expect(200);
        let content = assert_page(&v, page - 1, 2, 6);
        assert_eq!(content.len(), expected_ids);
        seen.extend(field_of(&content, "appUserId"));
    }
    assert_eq!(seen, ["admin", "m-a", "m-b", "m-c", "m-d", "m-e"]);
    // page=1 is number 0 and first; the last page is last; past the end is empty.
    let first = api.get("/members?page=1&pageSize=4").await.expect(200);
    assert_eq!(first["number"], 0);
    assert_eq!((first["first"].as_bool(), first["last"].as_bool()), (Some(true), Some(false)));
    let last = api.get("/members?page=2&pageSize=4").await.expect(200);
    assert_page(&last, 1, 4, 6);
    assert_eq!(
        (last["first"].as_bool(), last["last"].as_bool(), last["numberOfElements"].as_u64()),
        (Some(false), Some(true), Some(2))
    );
    let past = api.get("/members?page=9&pageSize=4").await.expect(200);
    assert_page(&past, 8, 4, 6);
    assert_eq!(past["content"], json!([]));
    assert_eq!(past["empty"], true);
    // Default page size 20, max 100.
    assert_page(&api.get("/members?page=1").await.expect(200), 0, 20, 6);
    assert_page(&api.get("/members?pageSize=100").await.expect(200), 0, 100, 6);
    // A filter that matches nothing: empty first page, zero pages.
    let nothing = api.get("/members?appUserName=zzz").await.expect(200);
    assert_page(&nothing, 0, 20, 0);
    assert_eq!(nothing["totalPages"], 0);
    assert_eq!(
        (nothing["first"].as_bool(), nothing["last"].as_bool(), nothing["empty"].as_bool()),
        (Some(true), Some(true), Some(true))
    );
    // An exact multiple of the page size.
    let exact = api.get("/members?pageSize=3&page=2").await.expect(200);
    assert_page(&exact, 1, 3, 6);
    assert_eq!(exact["totalPages"], 2);
    assert_eq!(exact["last"], true);
}

#[tokio::test]
async fn member_list_filters_sorts_and_pages_apps() {
    member_list_filters_sorts_and_pages(APPS_PREFIX).await;
}

#[tokio::test]
async fn member_list_filters_sorts_and_pages_vicollo() {
    member_list_filters_sorts_and_pages(VICOLLO_PREFIX).await;
}

async fn member_delete_single_and_comma_list(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    let a = login(&api, "del-a", json!({})).await;
    let b = login(&api, "del-b", json!({})).await;
    let c = login(&api, "del-c", json!({})).await;
    let keep = login(&api, "keep", json!({})).await;
    for l in [&a, &b, &c, &keep] {
        ts.member_api(&l.access).get("").await.expect(200);
    }

    api.delete("/members/del-a").await.expect_no_content();
    api.get("/members/del-a").await.expect_error(404, "MEMBER_NOT_FOUND");
    api.delete("/members/del-b,del-c").await.expect_no_content();
    api.get("/members/del-b").await.expect_error(404, "MEMBER_NOT_FOUND");
    api.get("/members/del-c").await.expect_error(404, "MEMBER_NOT_FOUND");
    let remaining = api.get("/members?sortBy=APP_USER_ID_ASC").await.expect(200);
    assert_eq!(field_of(&assert_page(&remaining, 0, 20, 2), "appUserId"), ["admin", "keep"]);

    // Deleting again, or someone unknown: 404.
    api.delete("/members/del-a").await.expect_error(404, "MEMBER_NOT_FOUND");
    api.delete("/members/nobody").await.expect_error(404, "MEMBER_NOT_FOUND");
    api.patch("/members/del-a", json!({"email": "x@example.com"})).await.expect_error(404, "MEMBER_NOT_FOUND");

    // The deleted members' tokens stop working; the others' do not.
    for l in [&a, &b, &c] {
        ts.member_api(&l.access).get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
        ts.member_api(&l.access).get("/video-rooms").await.expect_error(401, "INVALID_ACCESS_TOKEN");
        ts.anon()
            .post("/v2/members/refresh-token", json!({"refreshToken": l.refresh}))
            .await
            .expect_error(401, "INVALID_REFRESH_TOKEN");
    }
    ts.member_api(&keep.access).get("").await.expect(200);

    // The id can be used again: a new member.
    let again = api.post("/members", json!({"appUserId": "del-a"})).await.expect(201);
    assert_ne!(again["id"], a.member["id"]);
    // The old token does not come back to life with the new member.
    ts.member_api(&a.access).get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
}

#[tokio::test]
async fn member_delete_single_and_comma_list_apps() {
    member_delete_single_and_comma_list(APPS_PREFIX).await;
}

#[tokio::test]
async fn member_delete_single_and_comma_list_vicollo() {
    member_delete_single_and_comma_list(VICOLLO_PREFIX).await;
}

async fn login_creates_and_updates(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    let resp = api
        .post("/members/login", json!({"appUserId": "dana", "appUserName": "Dana", "customData": {"k": "v"}}))
        .await
        .expect(200);
    let keys: Vec<_> = resp.as_object().unwrap().keys().cloned().collect();
    for k in ["accessToken", "refreshToken", "member"] {
        assert!(keys.contains(&k.to_owned()), "{k} missing: {resp}");
    }
    let member = &resp["member"];
    assert_eq!(member["appUserId"], "dana");
    assert_eq!(member["appUserName"], "Dana");
    assert_eq!(member["customData"], json!({"k": "v"}));
    // Login created the member.
    assert_eq!(api.get("/members/dana").await.expect(200), *member);

    // The access token: JWT HS256 with the documented claims and a 24 h lifetime.
    let access = resp["accessToken"].as_str().unwrap();
    assert_eq!(jwt_header(access)["alg"], "HS256");
    let claims = jwt_payload(access);
    assert_eq!(claims["iss"], "vroom");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()), "jti: {claims}");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 86_400);
    assert_eq!(
        claims["claims"],
        json!({"appId": ts.app.id, "type": "MEMBER", "appUserId": "dana", "memberId": member["id"]})
    );
    let me = ts.member_api(access).get("").await.expect(200);
    assert_eq!(me["id"], member["id"]);
    let refresh = resp["refreshToken"].as_str().unwrap();
    assert!(refresh.len() >= 32 && refresh.split('.').count() == 1, "refresh token is opaque: {refresh}");

    // Logging in again: same member, profile updated from the body, new tokens.
    let again = login(&api, "dana", json!({"screenName": "Dana D"})).await;
    assert_eq!(again.member["id"], member["id"]);
    assert_eq!(again.member["appUserName"], "Dana D");
    assert_eq!(again.member["customData"], json!({"k": "v"}), "absent field unchanged");
    assert_ne!(again.access, access);
    assert_ne!(again.refresh, refresh);
    // Both sessions work.
    ts.member_api(access).get("").await.expect(200);
    ts.member_api(&again.access).get("").await.expect(200);
}

#[tokio::test]
async fn login_creates_member_and_issues_tokens_apps() {
    login_creates_and_updates(APPS_PREFIX).await;
}

#[tokio::test]
async fn login_creates_member_and_issues_tokens_vicollo() {
    login_creates_and_updates(VICOLLO_PREFIX).await;
}

// ---- video rooms ----------------------------------------------------------------------

async fn room_create_get_patch_delete(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);

    // Defaults: owner admin, created by the app.
    let admin = api.get("/members/admin").await.expect(200);
    let room = api.post("/video-rooms", json!({})).await.expect(201);
    assert!(room["id"].is_i64());
    assert!(room["uuid"].as_str().is_some_and(|u| u.len() >= 32), "uuid: {room}");
    assert_eq!(room["state"], "ACTIVE");
    assert_eq!(room["type"], "VIDEO_CONFERENCE");
    assert_eq!(room["videoRoomState"], "SCHEDULED");
    assert_eq!(room["accessLevel"], "PUBLIC");
    assert_eq!(room["app"], json!({"id": ts.app.id, "name": "test-app"}));
    assert_eq!(
        room["member"],
        json!({"id": admin["id"], "appUserId": "admin", "appUserName": null, "appUserProfileImgUrl": null})
    );
    assert_eq!(room["creatorType"], "APP");
    assert_eq!(room["creatorId"], ts.app.id);
    assert_eq!(
        room["policy"],
        json!({"hasPassword": false, "manuallyApproval": false, "canAutoRoomCompositeRecording": false})
    );
    for field in [
        "title",
        "description",
        "customType",
        "customData",
        "scheduledAt",
        "liveStartedAt",
        "liveEndedAt",
        "viewOptions",
    ] {
        assert!(room.as_object().unwrap().contains_key(field), "{field} missing: {room}");
        assert_eq!(room[field], Value::Null, "{field}: {room}");
    }
    assert_eq!(room["lastSessionNo"], 0);
    assert_utc(&room["createdAt"]);
    assert_utc(&room["lastModifiedAt"]);
    assert!(room.get("password").is_none());

    // A full body, owned by a member.
    let owner =
        create_member(&api, json!({"appUserId": "owner", "appUserName": "Owner", "profileImgUrl": "https://i/o"}))
            .await;
    let full = api
        .post(
            "/video-rooms",
            json!({
                "appUserId": "owner",
                "type": "VIDEO_CONFERENCE",
                "title": "Weekly",
                "description": "sync",
                "accessLevel": "MEMBER",
                "scheduledAt": "2030-01-01T09:00:00+09:00",
                "customType": "meeting",
                "customData": {"a": "1"},
                "password": "pw",
                "manuallyApproval": true,
                "canAutoRoomCompositeRecording": true,
                "viewOptions": {"layout": {"grid": [1, 2]}, "dark": true},
            }),
        )
        .await
        .expect(201);
    assert_eq!(
        full["member"],
        json!({"id": owner["id"], "appUserId": "owner", "appUserName": "Owner", "appUserProfileImgUrl": "https://i/o"})
    );
    assert_eq!(full["creatorType"], "APP");
    assert_eq!(full["title"], "Weekly");
    assert_eq!(full["description"], "sync");
    assert_eq!(full["accessLevel"], "MEMBER");
    assert_utc(&full["scheduledAt"]);
    assert!(full["scheduledAt"].as_str().unwrap().starts_with("2030-01-01T00:00:00"), "normalized to UTC: {full}");
    assert_eq!(full["customType"], "meeting");
    assert_eq!(full["customData"], json!({"a": "1"}));
    assert_eq!(
        full["policy"],
        json!({"hasPassword": true, "manuallyApproval": true, "canAutoRoomCompositeRecording": true})
    );
    assert_eq!(full["viewOptions"], json!({"layout": {"grid": [1, 2]}, "dark": true}));
    assert!(!full.to_string().contains("\"pw\""), "the password is never returned: {full}");
    assert_ne!(full["uuid"], room["uuid"]);

    // Unknown owner.
    api.post("/video-rooms", json!({"appUserId": "ghost"})).await.expect_error(404, "MEMBER_NOT_FOUND");

    // Get by id and by uuid.
    let id = id_of(&full);
    let uuid = full["uuid"].as_str().unwrap().to_owned();
    assert_eq!(api.get(&format!("/video-rooms/{id}")).await.expect(200), full);
    assert_eq!(api.get(&format!("/video-rooms/uuid/{uuid}")).await.expect(200), full);
    api.get("/video-rooms/999999").await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    api.get("/video-rooms/uuid/00000000-0000-4000-8000-000000000000").await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    let not_numeric = api.get("/video-rooms/abc").await;
    assert_eq!(not_numeric.status, 404, "{not_numeric:?}");
    assert_error_envelope(&not_numeric);

    // Patch: given fields change, absent ones stay, null clears, password "" removes it.
    tick().await;
    let patched = api
        .patch(&format!("/video-rooms/{id}"), json!({"title": "Weekly 2", "description": null, "password": ""}))
        .await
        .expect(200);
    assert_eq!(patched["title"], "Weekly 2");
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["customData"], json!({"a": "1"}));
    assert_eq!(patched["accessLevel"], "MEMBER");
    assert_eq!(patched["policy"]["hasPassword"], false);
    assert_eq!(patched["policy"]["manuallyApproval"], true);
    assert_eq!(patched["createdAt"], full["createdAt"]);
    assert_ne!(patched["lastModifiedAt"], full["lastModifiedAt"]);
    assert_eq!(patched["uuid"], full["uuid"]);
    assert_eq!(patched["member"], full["member"], "patch does not change the owner");
    let patched = api
        .patch(
            &format!("/video-rooms/{id}"),
            json!({"password": "again", "accessLevel": "PRIVATE", "scheduledAt": null, "viewOptions": {"x": 1}, "manuallyApproval": false}),
        )
        .await
        .expect(200);
    assert_eq!(patched["policy"]["hasPassword"], true);
    assert_eq!(patched["policy"]["manuallyApproval"], false);
    assert_eq!(patched["accessLevel"], "PRIVATE");
    assert_eq!(patched["scheduledAt"], Value::Null);
    assert_eq!(patched["viewOptions"], json!({"x": 1}));
    let patched = api.patch(&format!("/video-rooms/{id}"), json!({"password": null})).await.expect(200);
    assert_eq!(patched["policy"]["hasPassword"], false, "null removes the password");
    assert_eq!(api.get(&format!("/video-rooms/{id}")).await.expect(200), patched);
    api.patch("/video-rooms/999999", json!({"title": "x"})).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");

    // Delete: 204, then gone.
    api.delete(&format!("/video-rooms/{id}")).await.expect_no_content();
    api.get(&format!("/video-rooms/{id}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    api.get(&format!("/video-rooms/uuid/{uuid}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    api.delete(&format!("/video-rooms/{id}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    api.patch(&format!("/video-rooms/{id}"), json!({"title": "x"})).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    // The other room is untouched.
    api.get(&format!("/video-rooms/{}", id_of(&room))).await.expect(200);
}

#[tokio::test]
async fn room_create_get_patch_delete_apps() {
    room_create_get_patch_delete(APPS_PREFIX).await;
}

#[tokio::test]
async fn room_create_get_patch_delete_vicollo() {
    room_create_get_patch_delete(VICOLLO_PREFIX).await;
}

async fn room_list_filters_sorts_and_pages(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    create_member(&api, json!({"appUserId": "ann"})).await;
    create_member(&api, json!({"appUserId": "ben"})).await;
    // (title, owner, accessLevel)
    let specs = [
        ("Daily Standup", Some("ann"), "PUBLIC"),
        ("Design review", Some("ben"), "MEMBER"),
        ("Secret plans", Some("ann"), "PRIVATE"),
        ("STANDUP retro", None, "PUBLIC"),
        ("Board", Some("ben"), "PRIVATE"),
    ];
    let mut rooms = Vec::new();
    for (title, owner, level) in specs {
        let mut body = json!({"title": title, "accessLevel": level});
        if let Some(owner) = owner {
            body["appUserId"] = json!(owner);
        }
        rooms.push(create_room(&api, body).await);
        tick().await;
    }
    let ids: Vec<i64> = rooms.iter().map(id_of).collect();
    api.post_empty(&format!("/video-rooms/{}/end", ids[1])).await.expect(200);
    api.post_empty(&format!("/video-rooms/{}/cancel", ids[4])).await.expect(200);

    let list = |query: &str| {
        let api = api.clone();
        let query = query.to_owned();
        async move { api.get(&format!("/video-rooms{query}")).await.expect(200) }
    };
    let titles = |page: &Value, total: u64| field_of(&assert_page(page, 0, 20, total), "title");

    // Everything, newest first.
    assert_eq!(
        titles(&list("").await, 5),
        ["Board", "STANDUP retro", "Secret plans", "Design review", "Daily Standup"]
    );
    // Owner.
    assert_eq!(titles(&list("?appUserId=ann").await, 2), ["Secret plans", "Daily Standup"]);
    assert_eq!(titles(&list("?appUserId=admin").await, 1), ["STANDUP retro"]);
    assert_eq!(titles(&list("?appUserId=nobody").await, 0), Vec::<String>::new());
    // Keyword: case-insensitive substring of the title.
    assert_eq!(titles(&list("?keyword=standup").await, 2), ["STANDUP retro", "Daily Standup"]);
    assert_eq!(titles(&list("?keyword=ReT").await, 2), ["STANDUP retro", "Secret plans"]);
    // State.
    assert_eq!(titles(&list("?videoRoomState=ENDED").await, 1), ["Design review"]);
    assert_eq!(titles(&list("?videoRoomState=CANCELLED").await, 1), ["Board"]);
    assert_eq!(titles(&list("?videoRoomState=SCHEDULED").await, 3), ["STANDUP retro", "Secret plans", "Daily Standup"]);
    assert_eq!(titles(&list("?videoRoomState=LIVE").await, 0), Vec::<String>::new());
    // Type.
    assert_eq!(titles(&list("?type=VIDEO_CONFERENCE").await, 5).len(), 5);
    assert_eq!(titles(&list("?type=BROADCAST_RTMP").await, 0), Vec::<String>::new());
    // Access level (the server API sees PRIVATE rooms of every member).
    assert_eq!(titles(&list("?accessLevel=PRIVATE").await, 2), ["Board", "Secret plans"]);
    assert_eq!(titles(&list("?accessLevel=MEMBER").await, 1), ["Design review"]);
    assert_eq!(titles(&list("?accessLevel=PUBLIC").await, 2), ["STANDUP retro", "Daily Standup"]);
    // Combined.
    assert_eq!(titles(&list("?appUserId=ann&accessLevel=PUBLIC&keyword=daily").await, 1), ["Daily Standup"]);
    assert_eq!(titles(&list("?appUserId=ben&videoRoomState=SCHEDULED").await, 0), Vec::<String>::new());

    // Sort orders; the end/cancel above modified rooms 1 and 4 (in that order).
    assert_eq!(
        titles(&list("?sortBy=CREATED_AT_ASC").await, 5),
        ["Daily Standup", "Design review", "Secret plans", "STANDUP retro", "Board"]
    );
    assert_eq!(
        titles(&list("?sortBy=CREATED_AT_DESC").await, 5),
        ["Board", "STANDUP retro", "Secret plans", "Design review", "Daily Standup"]
    );
    tick().await;
    api.patch(&format!("/video-rooms/{}", ids[0]), json!({"description": "touched"})).await.expect(200);
    assert_eq!(
        titles(&list("?sortBy=LAST_MODIFIED_AT_ASC").await, 5),
        ["Secret plans", "STANDUP retro", "Design review", "Board", "Daily Standup"]
    );
    assert_eq!(
        titles(&list("?sortBy=LAST_MODIFIED_AT_DESC").await, 5),
        ["Daily Standup", "Board", "Design review", "STANDUP retro", "Secret plans"]
    );

    // Pages.
    let p1 = list("?sortBy=CREATED_AT_ASC&pageSize=2&page=1").await;
    assert_eq!(field_of(&assert_page(&p1, 0, 2, 5), "title"), ["Daily Standup", "Design review"]);
    let p3 = list("?sortBy=CREATED_AT_ASC&pageSize=2&page=3").await;
    assert_eq!(field_of(&assert_page(&p3, 2, 2, 5), "title"), ["Board"]);
    assert_eq!(p3["last"], true);
    assert_eq!(p3["totalPages"], 3);
    let p4 = list("?sortBy=CREATED_AT_ASC&pageSize=2&page=4").await;
    assert_page(&p4, 3, 2, 5);
    assert_eq!(p4["empty"], true);
    let filtered_pages = list("?keyword=standup&pageSize=1&page=2").await;
    assert_eq!(field_of(&assert_page(&filtered_pages, 1, 1, 2), "title"), ["Daily Standup"]);
}

#[tokio::test]
async fn room_list_filters_sorts_and_pages_apps() {
    room_list_filters_sorts_and_pages(APPS_PREFIX).await;
}

#[tokio::test]
async fn room_list_filters_sorts_and_pages_vicollo() {
    room_list_filters_sorts_and_pages(VICOLLO_PREFIX).await;
}

#[tokio::test]
async fn room_list_of_an_app_without_rooms_is_an_empty_page() {
    let ts = TestServer::start().await;
    let page = ts.server_api().get("/video-rooms").await.expect(200);
    assert_page(&page, 0, 20, 0);
    assert_eq!(
        (page["totalPages"].as_u64(), page["first"].as_bool(), page["last"].as_bool(), page["empty"].as_bool()),
        (Some(0), Some(true), Some(true), Some(true))
    );
}

async fn end_and_cancel_transitions(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    create_member(&api, json!({"appUserId": "eve"})).await;

    // Cancel a scheduled room; then it can neither be ended nor joined.
    let r1 = id_of(&create_room(&api, json!({"title": "to cancel"})).await);
    let cancelled = api.post_empty(&format!("/video-rooms/{r1}/cancel")).await.expect(200);
    assert_eq!(cancelled["videoRoomState"], "CANCELLED");
    assert_eq!(cancelled["id"], r1);
    assert_eq!(api.get(&format!("/video-rooms/{r1}")).await.expect(200)["videoRoomState"], "CANCELLED");
    api.post_empty(&format!("/video-rooms/{r1}/end")).await.expect_error(409, "INVALID_VIDEO_ROOM_STATE_TRANSITION");
    assert_eq!(api.get(&format!("/video-rooms/{r1}")).await.expect(200)["videoRoomState"], "CANCELLED");
    api.post(&format!("/video-rooms/{r1}/members/eve/web-rtc-tokens"), json!({}))
        .await
        .expect_error(409, "VIDEO_ROOM_ENDED");

    // End a scheduled room; then it can't be cancelled nor joined.
    let r2 = id_of(&create_room(&api, json!({"title": "to end"})).await);
    let ended = api.post_empty(&format!("/video-rooms/{r2}/end")).await.expect(200);
    assert_eq!(ended["videoRoomState"], "ENDED");
    assert_utc(&ended["liveEndedAt"]);
    api.post_empty(&format!("/video-rooms/{r2}/cancel")).await.expect_error(409, "INVALID_VIDEO_ROOM_STATE_TRANSITION");
    assert_eq!(api.get(&format!("/video-rooms/{r2}")).await.expect(200)["videoRoomState"], "ENDED");
    api.post(&format!("/video-rooms/{r2}/members/eve/web-rtc-tokens"), json!({}))
        .await
        .expect_error(409, "VIDEO_ROOM_ENDED");
    api.post_empty(&format!("/video-rooms/{r2}/members/eve/web-rtc-tokens"))
        .await
        .expect_error(409, "VIDEO_ROOM_ENDED");

    // Unknown rooms.
    api.post_empty("/video-rooms/999999/end").await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    api.post_empty("/video-rooms/999999/cancel").await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");

    // An ended room can still be read and deleted.
    api.delete(&format!("/video-rooms/{r2}")).await.expect_no_content();
}

#[tokio::test]
async fn end_and_cancel_transitions_apps() {
    end_and_cancel_transitions(APPS_PREFIX).await;
}

#[tokio::test]
async fn end_and_cancel_transitions_vicollo() {
    end_and_cancel_transitions(VICOLLO_PREFIX).await;
}

async fn server_web_rtc_tokens(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    let owner = create_member(&api, json!({"appUserId": "olga", "appUserName": "Olga"})).await;
    let guest = create_member(&api, json!({"appUserId": "gus", "profileImgUrl": "https://i/gus"})).await;
    let room = create_room(&api, json!({"appUserId": "olga", "password": "hunter2", "accessLevel": "PRIVATE"})).await;
    let id = id_of(&room);
    let path = |who: &str| format!("/video-rooms/{id}/members/{who}/web-rtc-tokens");

    // The password is not checked for the trusted app, and PRIVATE does not matter either.
    let creds = api.post(&path("gus"), json!({"customData": {"seat": "7"}})).await.expect(201);
    assert_eq!(creds.as_object().unwrap().len(), 2, "exactly {{webRtcServerUrl, webRtcToken}}: {creds}");
    assert_eq!(creds["webRtcServerUrl"], ts.ws_url());
    let claims = verify_media_token(creds["webRtcToken"].as_str().unwrap());
    assert_eq!(claims["iss"], MEDIA_KEY);
    assert_eq!(claims["sub"], "gus");
    assert_eq!(claims["name"], "gus", "no appUserName: the name is the appUserId");
    assert_eq!(claims["video"]["room"], room["uuid"]);
    for grant in ["roomJoin", "canPublish", "canSubscribe", "canPublishData"] {
        assert_eq!(claims["video"][grant], true, "{grant}: {claims}");
    }
    assert_ne!(claims["video"]["hidden"], true);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(), 6 * 3600);
    let metadata: Value =
        serde_json::from_str(claims["metadata"].as_str().expect("metadata is a JSON string")).unwrap();
    assert_eq!(
        metadata,
        json!({
            "memberId": guest["id"], "appUserId": "gus", "appUserName": null,
            "appUserProfileImgUrl": "https://i/gus", "videoRoomId": id, "channelMemberType": "MEMBER",
            "customData": {"seat": "7"},
        })
    );

    // Wrong password given: still fine for the app. No body at all: fine.
    api.post(&path("gus"), json!({"password": "wrong"})).await.expect(201);
    let bare = api.post_empty(&path("olga")).await.expect(201);
    let claims = verify_media_token(bare["webRtcToken"].as_str().unwrap());
    assert_eq!(claims["name"], "Olga");
    let metadata: Value = serde_json::from_str(claims["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(metadata["channelMemberType"], "OPERATOR");
    assert_eq!(metadata["memberId"], owner["id"]);
    assert_eq!(metadata["customData"], Value::Null);

    api.post(&path("ghost"), json!({})).await.expect_error(404, "MEMBER_NOT_FOUND");
    api.post("/video-rooms/999999/members/gus/web-rtc-tokens", json!({}))
        .await
        .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
}

#[tokio::test]
async fn server_web_rtc_tokens_apps() {
    server_web_rtc_tokens(APPS_PREFIX).await;
}

#[tokio::test]
async fn server_web_rtc_tokens_vicollo() {
    server_web_rtc_tokens(VICOLLO_PREFIX).await;
}

#[tokio::test]
async fn media_token_is_signed_with_the_media_secret_only() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let room = id_of(&create_room(&api, json!({})).await);
    let creds = api.post(&format!("/video-rooms/{room}/members/admin/web-rtc-tokens"), json!({})).await.expect(201);
    let token = creds["webRtcToken"].as_str().unwrap();
    assert_eq!(jwt_header(token)["alg"], "HS256");
    assert!(verify_media_token_with(token, "some-other-secret").is_err());
    let claims = verify_media_token(token);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let nbf = claims["nbf"].as_i64().unwrap();
    assert!((now - 60..=now + 5).contains(&nbf), "nbf is now: {nbf} vs {now}");
}

#[tokio::test]
async fn media_url_and_key_follow_the_configuration() {
    let ts =
        TestServer::start_with(|c| vroom::ServeConfig { media_url: Some("wss://media.example.com".into()), ..c }).await;
    let api = ts.server_api();
    let room = id_of(&create_room(&api, json!({})).await);
    let creds = api.post(&format!("/video-rooms/{room}/members/admin/web-rtc-tokens"), json!({})).await.expect(201);
    assert_eq!(creds["webRtcServerUrl"], "wss://media.example.com");

    // Without configured media keys, a key/secret pair is generated once and kept.
    let mut ts =
        TestServer::start_with(|c| vroom::ServeConfig { media_api_key: None, media_api_secret: None, ..c }).await;
    let issuer = |ts: &TestServer| {
        let api = ts.server_api();
        async move {
            let room = id_of(&create_room(&api, json!({})).await);
            let creds =
                api.post(&format!("/video-rooms/{room}/members/admin/web-rtc-tokens"), json!({})).await.expect(201);
            let token = creds["webRtcToken"].as_str().unwrap().to_owned();
            assert!(verify_media_token_with(&token, MEDIA_SECRET).is_err(), "not the test secret");
            jwt_payload(&token)["iss"].as_str().unwrap().to_owned()
        }
    };
    let before = issuer(&ts).await;
    assert_ne!(before, MEDIA_KEY);
    assert!(!before.is_empty());
    ts.restart().await;
    assert_eq!(issuer(&ts).await, before, "the generated media key survives a restart");
}

async fn embed_url(prefix: &str) {
    let ts = TestServer::start().await;
    let api = ts.server_api_at(prefix);
    create_member(&api, json!({"appUserId": "viv", "appUserName": "Viv"})).await;
    let room = create_room(&api, json!({"title": "embed"})).await;
    let id = id_of(&room);
    let uuid = room["uuid"].as_str().unwrap();

    let resp = api
        .post(
            &format!("/video-rooms/{id}/members/viv/embed-url"),
            json!({"displayName": "Viv & Co / 1", "isObserver": true, "drawLayoutType": "GRID", "drawLayoutPosition": "TOP"}),
        )
        .await
        .expect(200);
    assert_eq!(resp.as_object().unwrap().len(), 1, "{resp}");
    let url = Url::parse(resp["videoRoomEmbedUrl"].as_str().expect("videoRoomEmbedUrl")).expect("a URL");
    let expected_prefix = format!("{}/vicollo-apps/{}/rooms/join/{uuid}", ts.base, ts.app.id);
    assert_eq!(
        format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ) + url.path(),
        expected_prefix
    );
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query.get("isObserver").map(String::as_str), Some("true"));
    assert_eq!(query.get("drawLayoutType").map(String::as_str), Some("GRID"));
    assert_eq!(query.get("drawLayoutPosition").map(String::as_str), Some("TOP"));
    assert_eq!(query.get("displayName").map(String::as_str), Some("Viv & Co / 1"));

    // key = base64(JSON login response) of that member; its access token works.
    use base64::Engine;
    let key = query.get("key").expect("key parameter");
    let decoded = base64::engine::general_purpose::STANDARD.decode(key).expect("key is base64");
    let login: Value = serde_json::from_slice(&decoded).expect("key is a JSON login response");
    assert_eq!(login["member"]["appUserId"], "viv");
    assert_eq!(login["member"]["appUserName"], "Viv");
    let access = login["accessToken"].as_str().expect("accessToken");
    assert!(login["refreshToken"].as_str().is_some_and(|r| !r.is_empty()));
    let me = ts.member_api(access).get("").await.expect(200);
    assert_eq!(me["appUserId"], "viv");
    // And its refresh token is a real one.
    ts.anon().post("/v2/members/refresh-token", json!({"refreshToken": login["refreshToken"]})).await.expect(200);

    // The `observer` alias; no options at all.
    let aliased =
        api.post(&format!("/video-rooms/{id}/members/viv/embed-url"), json!({"observer": true})).await.expect(200);
    let url = Url::parse(aliased["videoRoomEmbedUrl"].as_str().unwrap()).unwrap();
    assert!(url.query_pairs().any(|(k, v)| k == "isObserver" && v == "true"), "{url}");
    let plain = api.post_empty(&format!("/video-rooms/{id}/members/viv/embed-url")).await.expect(200);
    let url = Url::parse(plain["videoRoomEmbedUrl"].as_str().unwrap()).unwrap();
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(keys, ["key"]);

    api.post(&format!("/video-rooms/{id}/members/ghost/embed-url"), json!({}))
        .await
        .expect_error(404, "MEMBER_NOT_FOUND");
    api.post("/video-rooms/999999/members/viv/embed-url", json!({})).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
}

#[tokio::test]
async fn embed_url_apps() {
    embed_url(APPS_PREFIX).await;
}

#[tokio::test]
async fn embed_url_vicollo() {
    embed_url(VICOLLO_PREFIX).await;
}

#[tokio::test]
async fn unsupported_room_type_is_rejected() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    api.post("/video-rooms", json!({"type": "BROADCAST_RTMP"})).await.expect_error(400, "UNSUPPORTED_VIDEO_ROOM_TYPE");
    let id = id_of(&create_room(&api, json!({})).await);
    api.patch(&format!("/video-rooms/{id}"), json!({"type": "BROADCAST_RTMP"}))
        .await
        .expect_error(400, "UNSUPPORTED_VIDEO_ROOM_TYPE");
    assert_page(&api.get("/video-rooms").await.expect(200), 0, 20, 1);
}

// ---- persistence ----------------------------------------------------------------------

#[tokio::test]
async fn everything_survives_a_restart() {
    let mut ts = TestServer::start().await;
    let other = ts.new_app("other").await;
    ts.platform().ensure_dev_app().await.unwrap();

    let api = ts.server_api();
    let alice = login(&api, "alice", json!({"appUserName": "Alice", "customData": {"k": "v"}})).await;
    let bob = create_member(&api, json!({"appUserId": "bob", "email": "bob@example.com"})).await;
    let room =
        create_room(&api, json!({"appUserId": "alice", "title": "kept", "password": "pw", "viewOptions": {"a": [1]}}))
            .await;
    let ended = create_room(&api, json!({"title": "ended"})).await;
    api.post_empty(&format!("/video-rooms/{}/end", id_of(&ended))).await.expect(200);
    let mine = create_room(&ts.member_api(&alice.access), json!({"title": "mine", "accessLevel": "PRIVATE"})).await;
    let other_member = create_member(&ts.server_api_for(&other), json!({"appUserId": "olly"})).await;
    let members_before = api.get("/members").await.expect(200);
    let rooms_before = api.get("/video-rooms").await.expect(200);

    ts.restart().await;

    let api = ts.server_api();
    assert_eq!(api.get("").await.expect(200)["id"], ts.app.id);
    assert_eq!(api.get("/members").await.expect(200), members_before);
    assert_eq!(api.get("/video-rooms").await.expect(200), rooms_before);
    assert_eq!(api.get("/members/bob").await.expect(200), bob);
    assert_eq!(api.get("/members/alice").await.expect(200), alice.member);
    assert_eq!(api.get(&format!("/video-rooms/{}", id_of(&room))).await.expect(200), room);
    assert_eq!(api.get(&format!("/video-rooms/uuid/{}", room["uuid"].as_str().unwrap())).await.expect(200), room);
    assert_eq!(ts.server_api_for(&other).get("/members/olly").await.expect(200), other_member);
    ts.anon().basic("devkey", "devsecret").get("/v2/apps/me").await.expect(200);

    // Tokens minted before the restart still work.
    let alice_api = ts.member_api(&alice.access);
    let me = alice_api.get("").await.expect(200);
    assert_eq!(me["id"], alice.member["id"]);
    assert_eq!(alice_api.get(&format!("/video-rooms/{}", id_of(&mine))).await.expect(200), mine);
    let pair = ts.anon().post("/v2/members/refresh-token", json!({"refreshToken": alice.refresh})).await.expect(200);
    ts.member_api(pair["accessToken"].as_str().unwrap()).get("").await.expect(200);

    // The room password and lifecycle state are kept.
    let bob_token = login(&api, "bob", json!({})).await;
    let bob_api = ts.member_api(&bob_token.access);
    bob_api
        .post(&format!("/video-rooms/{}/web-rtc-tokens", id_of(&room)), json!({"password": "nope"}))
        .await
        .expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");
    bob_api.post(&format!("/video-rooms/{}/web-rtc-tokens", id_of(&room)), json!({"password": "pw"})).await.expect(201);
    bob_api
        .post(&format!("/video-rooms/{}/web-rtc-tokens", id_of(&ended)), json!({}))
        .await
        .expect_error(409, "VIDEO_ROOM_ENDED");
    bob_api.get(&format!("/video-rooms/{}", id_of(&mine))).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");

    // New writes after the restart get fresh ids.
    let newer = create_room(&api, json!({})).await;
    assert!(id_of(&newer) > id_of(&mine));
    ts.stop().await;
}

// ---- operational endpoints ------------------------------------------------------------

#[tokio::test]
async fn root_health_and_head() {
    let ts = TestServer::start().await;
    let anon = ts.anon();
    assert_eq!(anon.get("/").await.status, 200);
    let head = anon.head("/").await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(anon.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    create_member(&api, json!({"appUserId": "metric"})).await;
    api.get("/members/metric").await.expect(200);
    api.get("/members/absent").await.expect_error(404, "MEMBER_NOT_FOUND");
    let resp = ts.anon().get("/metrics").await;
    assert_eq!(resp.status, 200);
    let text = resp.body;
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("vroom_http_requests_total{")).collect();
    assert!(!lines.is_empty(), "no vroom_http_requests_total: {text}");
    let has = |route: &str, status: &str| {
        lines.iter().any(|l| {
            l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
                && !l.ends_with(" 0")
        })
    };
    assert!(has("/v2/apps/me/members", "201"), "{text}");
    assert!(has("/v2/apps/me/members/{appUserId}", "200"), "route label is the route template: {text}");
    assert!(has("/v2/apps/me/members/{appUserId}", "404"), "{text}");
    assert!(text.contains("vroom_http_request_duration_seconds"), "latency histogram: {text}");
}

#[tokio::test]
async fn openapi_document_describes_both_apis() {
    let ts = TestServer::start().await;
    let resp = ts.anon().get("/open-api/openapi.json").await;
    let doc = resp.expect(200);
    assert!(resp.content_type.starts_with("application/json"), "{}", resp.content_type);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi: {}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/v2/apps/me",
        "/v2/apps/me/members",
        "/v2/apps/me/members/login",
        "/v2/apps/me/video-rooms/{id}/members/{appUserId}/web-rtc-tokens",
        "/v2/vicollo-apps/me/members",
        "/v2/vicollo-apps/me/video-rooms",
        "/v2/members/me",
        "/v2/members/me/video-rooms",
        "/v2/members/refresh-token",
    ] {
        assert!(paths.contains_key(path), "{path} missing; have {:?}", paths.keys().collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn swagger_ui_is_served_locally() {
    let ts = TestServer::start().await;
    for path in [
        "/open-api/swagger-ui/",
        "/open-api/en/swagger-ui/ffc-app-server",
        "/open-api/ko/swagger-ui/ffc-app-server",
        "/open-api/en/swagger-ui/vicollo-app-server",
        "/open-api/ko/swagger-ui/vicollo-app-server",
    ] {
        let resp = ts.anon().get(path).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.body);
        assert!(resp.content_type.starts_with("text/html"), "{path}: {}", resp.content_type);
        assert!(resp.body.contains("swagger-ui"), "{path}: {}", resp.body);
        for cdn in ["unpkg.com", "cdn.jsdelivr", "cdnjs."] {
            assert!(!resp.body.contains(cdn), "{path} loads from a CDN: {}", resp.body);
        }
    }
}

#[tokio::test]
async fn the_api_reference_is_a_page_in_both_languages_rendered_from_a_local_copy() {
    let ts = TestServer::start().await;
    for lang in ["en", "ko"] {
        for name in ["ffc-app-server", "vicollo-app-server"] {
            let path = format!("/open-api/{lang}/docs/{name}");
            let resp = ts.anon().get(&path).await;
            assert_eq!(resp.status, 200, "{path}");
            assert!(resp.content_type.starts_with("text/html"), "{path}: {}", resp.content_type);
            assert!(resp.body.contains(&format!("<html lang=\"{lang}\">")), "{path}: {}", resp.body);
            assert!(resp.body.contains(&format!("/open-api/{lang}/openapi.json")), "{path}");
            let scripts: Vec<&str> = resp.body.split("src=\"").skip(1).filter_map(|s| s.split('"').next()).collect();
            assert_eq!(scripts, ["/open-api/redoc.standalone.js"], "{path}: only our own script");
            assert!(!resp.body.contains("http://") && !resp.body.contains("https://"), "{path}: another host");
        }
    }
    let script = ts.anon().get("/open-api/redoc.standalone.js").await;
    assert_eq!(script.status, 200);
    assert!(script.content_type.starts_with("text/javascript") && script.body.len() > 1_000_000);
    let ko = ts.anon().get("/open-api/ko/openapi.json").await.expect(200);
    assert_eq!(
        ko["paths"]["/v2/apps/me/members/login"]["post"]["summary"],
        "멤버를 생성 또는 수정하고 액세스 토큰과 리프레시 토큰을 발급합니다."
    );
}

#[tokio::test]
async fn unknown_paths_under_the_docs_are_json_404s() {
    let ts = TestServer::start().await;
    for path in [
        "/open-api/nope",
        "/open-api/swagger-ui/nope.js",
        "/open-api/en/swagger-ui/ffc-app-server/nope.css",
        "/open-api/en/docs/nope",
        "/open-api/xx/docs/ffc-app-server",
    ] {
        ts.anon().get(path).await.expect_error(404, "NOT_FOUND");
    }
}
