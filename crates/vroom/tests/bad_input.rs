//! Bad input of every kind gets the documented `{errorCode, errorMessage}` JSON and status —
//! never a 500, never HTML — and app isolation: nothing of one app is visible, changeable
//! or deletable with another app's credentials or its members' tokens.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use vroom::ServeConfig;

/// A started server with a member `alice` (token), a member `bob` (token) and a room owned
/// by alice.
struct Fixture {
    ts: TestServer,
    alice: Login,
    bob: Login,
    room: i64,
}

async fn fixture() -> Fixture {
    fixture_with(|c| c).await
}

async fn fixture_with(adjust: impl FnOnce(ServeConfig) -> ServeConfig) -> Fixture {
    let ts = TestServer::start_with(adjust).await;
    let api = ts.server_api();
    let alice = login(&api, "alice", json!({})).await;
    let bob = login(&api, "bob", json!({})).await;
    let room = id_of(&create_room(&ts.member_api(&alice.access), json!({"title": "r"})).await);
    Fixture { ts, alice, bob, room }
}

impl Fixture {
    /// Every endpoint that takes a JSON body: (client, method, path).
    fn body_endpoints(&self) -> Vec<(Api, Method, String)> {
        let server = self.ts.server_api();
        let alias = self.ts.server_api_at(VICOLLO_PREFIX);
        let member = self.ts.member_api(&self.alice.access);
        let anon = self.ts.anon();
        let r = self.room;
        vec![
            (server.clone(), Method::POST, "/members".into()),
            (alias.clone(), Method::POST, "/members".into()),
            (server.clone(), Method::PATCH, "/members/alice".into()),
            (server.clone(), Method::POST, "/members/login".into()),
            (server.clone(), Method::POST, "/video-rooms".into()),
            (alias.clone(), Method::POST, "/video-rooms".into()),
            (server.clone(), Method::PATCH, format!("/video-rooms/{r}")),
            (server.clone(), Method::POST, format!("/video-rooms/{r}/members/alice/web-rtc-tokens")),
            (server.clone(), Method::POST, format!("/video-rooms/{r}/members/alice/embed-url")),
            (member.clone(), Method::POST, "/video-rooms".into()),
            (member.clone(), Method::PATCH, format!("/video-rooms/{r}")),
            (member.clone(), Method::POST, format!("/video-rooms/{r}/web-rtc-tokens")),
            (anon, Method::POST, "/v2/members/refresh-token".into()),
        ]
    }
}

// ---- bodies ---------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_invalid_http_message_body() {
    let f = fixture().await;
    let bodies: [&[u8]; 7] = [
        b"{",
        b"{\"appUserId\": \"x\",}",
        b"{appUserId: 'x'}",
        b"not json at all",
        b"{\"appUserId\": \"x\"} trailing",
        b"\xff\xfe{\x00}",
        b"{\"title\": \"unterminated}",
    ];
    for (api, method, path) in f.body_endpoints() {
        for body in bodies {
            api.raw(method.clone(), &path, body.to_vec()).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
        }
    }
}

#[tokio::test]
async fn wrong_json_types_are_invalid_http_message_body() {
    let f = fixture().await;
    let (server, member) = (f.ts.server_api(), f.ts.member_api(&f.alice.access));
    let r = f.room;
    let cases: Vec<(&Api, Method, String, Value)> = vec![
        (&server, Method::POST, "/members".into(), json!({"appUserId": 123})),
        (&server, Method::POST, "/members".into(), json!({"appUserId": ["a"]})),
        (&server, Method::POST, "/members".into(), json!({"appUserId": "a", "appUserName": 5})),
        (&server, Method::POST, "/members".into(), json!({"appUserId": "a", "email": true})),
        (&server, Method::POST, "/members".into(), json!({"appUserId": "a", "customData": "str"})),
        (&server, Method::POST, "/members".into(), json!({"appUserId": "a", "customData": ["a", "b"]})),
        (&server, Method::POST, "/members".into(), json!({"appUserId": "a", "customType": 7})),
        (&server, Method::POST, "/members".into(), json!(["appUserId", "a"])),
        (&server, Method::POST, "/members".into(), json!("appUserId")),
        (&server, Method::POST, "/members".into(), json!(null)),
        (&server, Method::POST, "/members".into(), json!(42)),
        (&server, Method::POST, "/members/login".into(), json!({"appUserId": {"id": "a"}})),
        (&server, Method::PATCH, "/members/alice".into(), json!({"lang": 1})),
        (&server, Method::POST, "/video-rooms".into(), json!({"title": 5})),
        (&server, Method::POST, "/video-rooms".into(), json!({"manuallyApproval": "yes"})),
        (&server, Method::POST, "/video-rooms".into(), json!({"canAutoRoomCompositeRecording": 1})),
        (&server, Method::POST, "/video-rooms".into(), json!({"scheduledAt": "tomorrow"})),
        (&server, Method::POST, "/video-rooms".into(), json!({"scheduledAt": 1_700_000_000})),
        (&server, Method::POST, "/video-rooms".into(), json!({"scheduledAt": "2030-01-01 09:00"})),
        (&server, Method::POST, "/video-rooms".into(), json!({"viewOptions": 5})),
        (&server, Method::POST, "/video-rooms".into(), json!({"viewOptions": "grid"})),
        (&server, Method::POST, "/video-rooms".into(), json!({"viewOptions": [1]})),
        (&server, Method::POST, "/video-rooms".into(), json!({"password": 1234})),
        (&server, Method::POST, "/video-rooms".into(), json!({"appUserId": 1})),
        (&server, Method::POST, "/video-rooms".into(), json!({"accessLevel": 1})),
        (&server, Method::PATCH, format!("/video-rooms/{r}"), json!({"description": {"a": 1}})),
        (&server, Method::POST, format!("/video-rooms/{r}/members/alice/web-rtc-tokens"), json!({"customData": "x"})),
        (&server, Method::POST, format!("/video-rooms/{r}/members/alice/web-rtc-tokens"), json!({"password": 5})),
        (&server, Method::POST, format!("/video-rooms/{r}/members/alice/embed-url"), json!({"isObserver": "yes"})),
        (&server, Method::POST, format!("/video-rooms/{r}/members/alice/embed-url"), json!({"displayName": 3})),
        (&member, Method::POST, "/video-rooms".into(), json!({"title": ["x"]})),
        (&member, Method::PATCH, format!("/video-rooms/{r}"), json!({"manuallyApproval": "false"})),
        (&member, Method::POST, format!("/video-rooms/{r}/web-rtc-tokens"), json!({"password": false})),
        (&member, Method::POST, format!("/video-rooms/{r}/web-rtc-tokens"), json!({"customData": 1})),
    ];
    for (api, method, path, body) in cases {
        let resp = api.json(method, &path, body.clone()).await;
        assert_eq!(resp.status, 400, "{body}: {resp:?}");
        resp.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
    }
    f.ts.anon()
        .post("/v2/members/refresh-token", json!({"refreshToken": 5}))
        .await
        .expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
    // Nothing was created or changed by the rejected requests.
    assert_page(&server.get("/video-rooms").await.expect(200), 0, 20, 1);
    assert_page(&server.get("/members").await.expect(200), 0, 20, 3);
}

#[tokio::test]
async fn unknown_enum_values_are_rejected() {
    let f = fixture().await;
    let (server, member) = (f.ts.server_api(), f.ts.member_api(&f.alice.access));
    let r = f.room;
    for body in [
        json!({"accessLevel": "SECRET"}),
        json!({"accessLevel": "public"}),
        json!({"type": "NOPE"}),
        json!({"type": "video_conference"}),
        json!({"accessLevel": ""}),
    ] {
        server.post("/video-rooms", body.clone()).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
        member.post("/video-rooms", body.clone()).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
        server.patch(&format!("/video-rooms/{r}"), body.clone()).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
        member.patch(&format!("/video-rooms/{r}"), body.clone()).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
    }
    // In queries: INVALID_QUERY_PARAMETER.
    for query in [
        "sortBy=NOPE",
        "sortBy=created_at_asc",
        "sortBy=APP_USER_ID_ASC",
        "videoRoomState=DONE",
        "type=NOPE",
        "accessLevel=SECRET",
    ] {
        server.get(&format!("/video-rooms?{query}")).await.expect_error(400, "INVALID_QUERY_PARAMETER");
        member.get(&format!("/video-rooms?{query}")).await.expect_error(400, "INVALID_QUERY_PARAMETER");
    }
    server.get("/members?sortBy=TITLE_ASC").await.expect_error(400, "INVALID_QUERY_PARAMETER");
    server.get("/members?sortBy=").await.expect_error(400, "INVALID_QUERY_PARAMETER");
    // A supported but unavailable room type has its own code.
    server
        .post("/video-rooms", json!({"type": "BROADCAST_RTMP"}))
        .await
        .expect_error(400, "UNSUPPORTED_VIDEO_ROOM_TYPE");
    member
        .post("/video-rooms", json!({"type": "BROADCAST_RTMP"}))
        .await
        .expect_error(400, "UNSUPPORTED_VIDEO_ROOM_TYPE");
    assert_page(&server.get("/video-rooms").await.expect(200), 0, 20, 1);
}

#[tokio::test]
async fn bodies_over_one_mib_are_413() {
    let f = fixture().await;
    let limit = 1 << 20;
    let padded = |total: usize| {
        let head = "{\"appUserId\":\"big\",\"unknownPadding\":\"";
        let tail = "\"}";
        let mut s = String::with_capacity(total);
        s.push_str(head);
        s.push_str(&"x".repeat(total - head.len() - tail.len()));
        s.push_str(tail);
        assert_eq!(s.len(), total);
        s.into_bytes()
    };
    let server = f.ts.server_api();
    // Exactly 1 MiB is accepted (unknown fields are ignored).
    server.raw(Method::POST, "/members", padded(limit)).await.expect(201);
    for (api, method, path) in f.body_endpoints() {
        api.raw(method, &path, padded(limit + 1)).await.expect_error(413, "PAYLOAD_TOO_LARGE");
    }
    server.raw(Method::POST, "/members", padded(5 * limit)).await.expect_error(413, "PAYLOAD_TOO_LARGE");
    // The server is fine afterwards.
    server.get("/members/big").await.expect(200);
}

// ---- queries --------------------------------------------------------------------------

#[tokio::test]
async fn page_parameters_out_of_range_are_400() {
    let f = fixture().await;
    let (server, member) = (f.ts.server_api(), f.ts.member_api(&f.alice.access));
    for path in ["/members", "/video-rooms"] {
        server.get(&format!("{path}?pageSize=100")).await.expect(200);
        for query in [
            "pageSize=101",
            "pageSize=1000",
            "pageSize=0",
            "pageSize=-1",
            "page=0",
            "page=-3",
            "page=abc",
            "pageSize=1.5",
            "page=99999999999999999999",
        ] {
            server.get(&format!("{path}?{query}")).await.expect_error(400, "INVALID_QUERY_PARAMETER");
        }
    }
    member.get("/video-rooms?pageSize=100").await.expect(200);
    member.get("/video-rooms?pageSize=101").await.expect_error(400, "INVALID_QUERY_PARAMETER");
    member.get("/video-rooms?page=0").await.expect_error(400, "INVALID_QUERY_PARAMETER");
    f.ts.server_api_at(VICOLLO_PREFIX).get("/members?pageSize=101").await.expect_error(400, "INVALID_QUERY_PARAMETER");
}

// ---- validation limits ----------------------------------------------------------------

#[tokio::test]
async fn invalid_app_user_ids_are_rejected() {
    let f = fixture().await;
    let server = f.ts.server_api();
    let long = "x".repeat(129);
    for path in ["/members", "/members/login"] {
        for bad in ["a b", " alice", "alice ", "a/b", "a:b", "a,b", "ü", "명", "a\tb", long.as_str()] {
            server.post(path, json!({"appUserId": bad})).await.expect_error(400, "INVALID_APP_USER_ID_FORMAT");
        }
        server.post(path, json!({"appUserId": ""})).await.expect_error(400, "EMPTY_APP_USER_ID");
        server.post(path, json!({"appUserId": null})).await.expect_error(400, "EMPTY_APP_USER_ID");
        server.post(path, json!({"appUserName": "no id"})).await.expect_error(400, "EMPTY_APP_USER_ID");
        server.post_empty(path).await.expect_error(400, "EMPTY_APP_USER_ID");
    }
    // The limits themselves are fine.
    let max = "A".repeat(128);
    server.post("/members", json!({"appUserId": max})).await.expect(201);
    server.post("/members", json!({"appUserId": "a.B_c@d-9"})).await.expect(201);
    // The owner of a room created through the server API is validated too.
    server.post("/video-rooms", json!({"appUserId": "a b"})).await.expect_error(400, "INVALID_APP_USER_ID_FORMAT");
    server.post("/video-rooms", json!({"appUserId": long})).await.expect_error(400, "INVALID_APP_USER_ID_FORMAT");
    // Nothing invalid was stored: admin, alice, bob and the two valid ones.
    assert_page(&server.get("/members").await.expect(200), 0, 20, 5);
}

#[tokio::test]
async fn custom_type_over_50_chars_is_rejected() {
    let f = fixture().await;
    let (server, member) = (f.ts.server_api(), f.ts.member_api(&f.alice.access));
    let r = f.room;
    let (ok, bad) = ("t".repeat(50), "t".repeat(51));
    let code = "CUSTOM_TYPE_SIZE_UPPER_LIMIT_EXCEEDED";
    server.post("/members", json!({"appUserId": "ct", "customType": bad})).await.expect_error(400, code);
    server.post("/members/login", json!({"appUserId": "ct", "customType": bad})).await.expect_error(400, code);
    server.patch("/members/alice", json!({"customType": bad})).await.expect_error(400, code);
    server.post("/video-rooms", json!({"customType": bad})).await.expect_error(400, code);
    server.patch(&format!("/video-rooms/{r}"), json!({"customType": bad})).await.expect_error(400, code);
    member.post("/video-rooms", json!({"customType": bad})).await.expect_error(400, code);
    member.patch(&format!("/video-rooms/{r}"), json!({"customType": bad})).await.expect_error(400, code);
    // Multi-byte characters count as characters.
    let wide = "é".repeat(50);
    assert_eq!(
        server.post("/members", json!({"appUserId": "ct", "customType": wide})).await.expect(201)["customType"],
        wide
    );
    assert_eq!(
        member.patch(&format!("/video-rooms/{r}"), json!({"customType": ok})).await.expect(200)["customType"],
        ok
    );
}

#[tokio::test]
async fn custom_data_limits_are_enforced() {
    let f = fixture().await;
    let (server, member) = (f.ts.server_api(), f.ts.member_api(&f.alice.access));
    let r = f.room;
    let items = |n: usize| Value::Object((0..n).map(|i| (format!("k{i}"), json!("v"))).collect());
    let cases = [
        (items(51), 400, "CUSTOM_DATA_ITEM_COUNT_UPPER_LIMIT_EXCEEDED"),
        (json!({"k".repeat(51): "v"}), 400, "CUSTOM_DATA_ITEM_NAME_SIZE_UPPER_LIMIT_EXCEEDED"),
        (json!({"k": "v".repeat(1001)}), 400, "CUSTOM_DATA_ITEM_VALUE_SIZE_UPPER_LIMIT_EXCEEDED"),
        (json!({"k": 1}), 400, "INVALID_HTTP_MESSAGE_BODY"),
        (json!({"k": true}), 400, "INVALID_HTTP_MESSAGE_BODY"),
        (json!({"k": null}), 400, "INVALID_HTTP_MESSAGE_BODY"),
        (json!({"k": {"nested": "v"}}), 400, "INVALID_HTTP_MESSAGE_BODY"),
        (json!({"k": ["v"]}), 400, "INVALID_HTTP_MESSAGE_BODY"),
    ];
    for (data, status, code) in cases {
        let targets: Vec<(&Api, Method, String, Value)> = vec![
            (&server, Method::POST, "/members".into(), json!({"appUserId": "cd", "customData": data})),
            (&server, Method::POST, "/members/login".into(), json!({"appUserId": "cd", "customData": data})),
            (&server, Method::PATCH, "/members/alice".into(), json!({"customData": data})),
            (&server, Method::POST, "/video-rooms".into(), json!({"customData": data})),
            (&server, Method::PATCH, format!("/video-rooms/{r}"), json!({"customData": data})),
            (
                &server,
                Method::POST,
                format!("/video-rooms/{r}/members/bob/web-rtc-tokens"),
                json!({"customData": data}),
            ),
            (&member, Method::POST, "/video-rooms".into(), json!({"customData": data})),
            (&member, Method::PATCH, format!("/video-rooms/{r}"), json!({"customData": data})),
            (&member, Method::POST, format!("/video-rooms/{r}/web-rtc-tokens"), json!({"customData": data})),
        ];
        for (api, method, path, body) in targets {
            api.json(method, &path, body).await.expect_error(status, code);
        }
    }
    // The limits themselves are accepted.
    let mut max = serde_json::Map::new();
    for i in 0..49 {
        max.insert(format!("k{i}"), json!("v"));
    }
    max.insert("k".repeat(50), json!("v".repeat(1000)));
    let max = Value::Object(max);
    assert_eq!(
        server.post("/members", json!({"appUserId": "cd", "customData": max})).await.expect(201)["customData"],
        max
    );
    assert_eq!(
        member.patch(&format!("/video-rooms/{r}"), json!({"customData": max})).await.expect(200)["customData"],
        max
    );
    member.post(&format!("/video-rooms/{r}/web-rtc-tokens"), json!({"customData": max})).await.expect(201);
    assert_eq!(
        server.post("/members", json!({"appUserId": "cd0", "customData": {}})).await.expect(201)["customData"],
        json!({})
    );
}

// ---- authentication -------------------------------------------------------------------

#[tokio::test]
async fn missing_and_garbage_access_tokens_are_401() {
    let f = fixture_with(without_auth_failure_limit).await;
    let anon = f.ts.anon().prefix("/v2/members/me");
    let r = f.room;
    let requests = |api: Api| async move {
        vec![
            api.get("").await,
            api.get("/video-rooms").await,
            api.post("/video-rooms", json!({})).await,
            api.get(&format!("/video-rooms/{r}")).await,
            api.patch(&format!("/video-rooms/{r}"), json!({"title": "x"})).await,
            api.delete(&format!("/video-rooms/{r}")).await,
            api.post(&format!("/video-rooms/{r}/web-rtc-tokens"), json!({})).await,
        ]
    };
    for resp in requests(anon.clone()).await {
        resp.expect_error(401, "EMPTY_ACCESS_TOKEN");
    }
    // A token signed with another key, an unsigned one, a truncated one, nonsense.
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &jwt_payload(&f.alice.access),
        &jsonwebtoken::EncodingKey::from_secret(b"not the server's key"),
    )
    .unwrap();
    let parts: Vec<&str> = f.alice.access.split('.').collect();
    use base64::Engine;
    let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let truncated = &f.alice.access[..f.alice.access.len() - 5];
    let mut tampered_claims = jwt_payload(&f.alice.access);
    tampered_claims["claims"]["memberId"] = f.bob.member["id"].clone();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tampered_claims.to_string()),
        parts[2]
    );
    for token in [forged.as_str(), unsigned.as_str(), truncated, tampered.as_str(), "garbage", "a.b.c"] {
        for resp in requests(anon.bearer(token)).await {
            resp.expect_error(401, "INVALID_ACCESS_TOKEN");
        }
    }
    for header in ["Token abc", "Bearer", "bearer  ", "Basic"] {
        let resp = anon.raw_auth(header).get("").await;
        assert_eq!(resp.status, 401, "{header:?}: {resp:?}");
        assert_error_envelope(&resp);
    }
    // A refresh token is not an access token.
    anon.bearer(&f.alice.refresh).get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    // A token of another server (another signing key) is rejected.
    let other = TestServer::start().await;
    let foreign = login(&other.server_api(), "alice", json!({})).await;
    anon.bearer(&foreign.access).get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    // Nothing was deleted or changed meanwhile.
    let room = f.ts.server_api().get(&format!("/video-rooms/{r}")).await.expect(200);
    assert_eq!(room["title"], "r");
}

#[tokio::test]
async fn expired_access_tokens_are_401_expired() {
    let ts = TestServer::start_with(|c| vroom::ServeConfig { access_token_ttl: Duration::from_secs(1), ..c }).await;
    let api = ts.server_api();
    let l = login(&api, "ella", json!({})).await;
    let claims = jwt_payload(&l.access);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let me = ts.member_api(&l.access);
    me.get("").await.expect_error(401, "EXPIRED_ACCESS_TOKEN");
    me.get("/video-rooms").await.expect_error(401, "EXPIRED_ACCESS_TOKEN");
    me.post("/video-rooms", json!({})).await.expect_error(401, "EXPIRED_ACCESS_TOKEN");
    // The refresh token still gets a fresh access token.
    let pair = ts.anon().post("/v2/members/refresh-token", json!({"refreshToken": l.refresh})).await.expect(200);
    ts.member_api(pair["accessToken"].as_str().unwrap()).get("").await.expect(200);
}

#[tokio::test]
async fn deleted_members_tokens_are_401() {
    let f = fixture().await;
    let server = f.ts.server_api();
    server.delete("/members/alice").await.expect_no_content();
    let a = f.ts.member_api(&f.alice.access);
    a.get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    a.post("/video-rooms", json!({})).await.expect_error(401, "INVALID_ACCESS_TOKEN");
    a.post(&format!("/video-rooms/{}/web-rtc-tokens", f.room), json!({}))
        .await
        .expect_error(401, "INVALID_ACCESS_TOKEN");
    f.ts.anon()
        .post("/v2/members/refresh-token", json!({"refreshToken": f.alice.refresh}))
        .await
        .expect_error(401, "INVALID_REFRESH_TOKEN");
    // Logging the same appUserId in again makes a new member; the old token stays dead.
    let again = login(&server, "alice", json!({})).await;
    assert_ne!(again.member["id"], f.alice.member["id"]);
    a.get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    f.ts.member_api(&again.access).get("").await.expect(200);
    // Others are unaffected.
    f.ts.member_api(&f.bob.access).get("").await.expect(200);
}

#[tokio::test]
async fn a_member_token_on_the_server_api_is_401() {
    let f = fixture().await;
    let with_token = f.ts.anon().bearer(&f.alice.access);
    for prefix in [APPS_PREFIX, VICOLLO_PREFIX] {
        let api = with_token.prefix(prefix);
        api.get("").await.expect_error(401, "INVALID_APP_CREDENTIALS");
        api.get("/members").await.expect_error(401, "INVALID_APP_CREDENTIALS");
        api.post("/members", json!({"appUserId": "x"})).await.expect_error(401, "INVALID_APP_CREDENTIALS");
        api.post("/members/login", json!({"appUserId": "x"})).await.expect_error(401, "INVALID_APP_CREDENTIALS");
        api.delete("/members/bob").await.expect_error(401, "INVALID_APP_CREDENTIALS");
        api.get("/video-rooms").await.expect_error(401, "INVALID_APP_CREDENTIALS");
        api.delete(&format!("/video-rooms/{}", f.room)).await.expect_error(401, "INVALID_APP_CREDENTIALS");
        api.post_empty(&format!("/video-rooms/{}/end", f.room)).await.expect_error(401, "INVALID_APP_CREDENTIALS");
    }
    let server = f.ts.server_api();
    server.get("/members/bob").await.expect(200);
    server.get("/members/x").await.expect_error(404, "MEMBER_NOT_FOUND");
    assert_eq!(server.get(&format!("/video-rooms/{}", f.room)).await.expect(200)["videoRoomState"], "SCHEDULED");
}

#[tokio::test]
async fn basic_credentials_on_the_member_api_are_401() {
    let f = fixture().await;
    let api = f.ts.anon().basic(&f.ts.app.key, &f.ts.app.secret).prefix("/v2/members/me");
    api.get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    api.get("/video-rooms").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    api.post("/video-rooms", json!({})).await.expect_error(401, "INVALID_ACCESS_TOKEN");
    api.delete(&format!("/video-rooms/{}", f.room)).await.expect_error(401, "INVALID_ACCESS_TOKEN");
    api.post(&format!("/video-rooms/{}/web-rtc-tokens", f.room), json!({}))
        .await
        .expect_error(401, "INVALID_ACCESS_TOKEN");
    f.ts.server_api().get(&format!("/video-rooms/{}", f.room)).await.expect(200);
}

#[tokio::test]
async fn missing_or_wrong_app_credentials_are_401() {
    let ts = TestServer::start_with(without_auth_failure_limit).await;
    let other = ts.new_app("other").await;
    let anon = ts.anon();
    for prefix in [APPS_PREFIX, VICOLLO_PREFIX] {
        let api = anon.prefix(prefix);
        api.get("").await.expect_error(401, "EMPTY_APP_CREDENTIALS");
        api.get("/members").await.expect_error(401, "EMPTY_APP_CREDENTIALS");
        api.post("/members", json!({"appUserId": "x"})).await.expect_error(401, "EMPTY_APP_CREDENTIALS");
        api.post("/video-rooms", json!({})).await.expect_error(401, "EMPTY_APP_CREDENTIALS");

        let wrong = [
            api.basic(&ts.app.key, "wrong-secret"),
            api.basic(&ts.app.key, ""),
            api.basic(&ts.app.key, &other.secret),
            api.basic("no-such-key", &ts.app.secret),
            api.basic("", ""),
            api.raw_auth("Basic !!!not-base64!!!"),
            api.raw_auth(&format!("Basic {}", {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(ts.app.key.as_bytes())
            })),
            api.raw_auth("Bearer something"),
            api.raw_auth("Digest abc"),
        ];
        for api in wrong {
            api.get("").await.expect_error(401, "INVALID_APP_CREDENTIALS");
            api.post("/members", json!({"appUserId": "x"})).await.expect_error(401, "INVALID_APP_CREDENTIALS");
        }
    }
    // Nothing was created.
    ts.server_api().get("/members/x").await.expect_error(404, "MEMBER_NOT_FOUND");
    // The right credentials work (sanity check of the above).
    ts.server_api().get("").await.expect(200);
    ts.server_api_for(&other).get("").await.expect(200);
}

// ---- paths and methods ----------------------------------------------------------------

#[tokio::test]
async fn unknown_paths_are_404_not_found() {
    let f = fixture().await;
    let anon = f.ts.anon();
    let server = anon.basic(&f.ts.app.key, &f.ts.app.secret);
    let member = anon.bearer(&f.alice.access);
    for path in
        ["/nope", "/v1/apps/me", "/v2", "/v2/apps", "/v2/apps/you", "/v2/members", "/open-api/nope.json", "/%FF%FE"]
    {
        anon.get(path).await.expect_error(404, "NOT_FOUND");
        server.get(path).await.expect_error(404, "NOT_FOUND");
    }
    for path in [
        "/v2/apps/me/nope",
        "/v2/vicollo-apps/me/nope",
        "/v2/apps/me/members/alice/extra",
        "/v2/apps/me/video-rooms/1/members",
        "/v2/apps/me/video-rooms/1/members/alice/nope",
    ] {
        server.get(path).await.expect_error(404, "NOT_FOUND");
        server.post(path, json!({})).await.expect_error(404, "NOT_FOUND");
    }
    for path in ["/v2/members/me/nope", "/v2/members/me/video-rooms/1/nope", "/v2/members/you"] {
        member.get(path).await.expect_error(404, "NOT_FOUND");
    }
    // A non-numeric room id names nothing.
    for resp in [
        server.get("/v2/apps/me/video-rooms/abc").await,
        server.get("/v2/apps/me/video-rooms/uuid").await,
        server.patch("/v2/apps/me/video-rooms/abc", json!({})).await,
        server.post_empty("/v2/apps/me/video-rooms/1.5/end").await,
        member.get("/v2/members/me/video-rooms/abc").await,
        member.delete("/v2/members/me/video-rooms/-").await,
    ] {
        assert_eq!(resp.status, 404, "{resp:?}");
        assert_error_envelope(&resp);
    }
}

#[tokio::test]
async fn unsupported_methods_are_400() {
    let f = fixture().await;
    let anon = f.ts.anon();
    let server = anon.basic(&f.ts.app.key, &f.ts.app.secret);
    let member = anon.bearer(&f.alice.access);
    let r = f.room;
    let cases: Vec<(&Api, Method, String)> = vec![
        (&server, Method::PUT, "/v2/apps/me/members".into()),
        (&server, Method::DELETE, "/v2/apps/me/members".into()),
        (&server, Method::POST, "/v2/apps/me".into()),
        (&server, Method::PUT, "/v2/apps/me/members/alice".into()),
        (&server, Method::POST, "/v2/apps/me/members/alice".into()),
        (&server, Method::GET, "/v2/apps/me/members/login".into()),
        (&server, Method::PUT, "/v2/apps/me/video-rooms".into()),
        (&server, Method::PUT, format!("/v2/apps/me/video-rooms/{r}")),
        (&server, Method::GET, format!("/v2/apps/me/video-rooms/{r}/end")),
        (&server, Method::DELETE, format!("/v2/apps/me/video-rooms/{r}/cancel")),
        (&server, Method::GET, format!("/v2/apps/me/video-rooms/{r}/members/alice/web-rtc-tokens")),
        (&server, Method::GET, format!("/v2/apps/me/video-rooms/{r}/members/alice/embed-url")),
        (&server, Method::PATCH, "/v2/vicollo-apps/me/members".into()),
        (&server, Method::DELETE, "/v2/vicollo-apps/me/video-rooms".into()),
        (&member, Method::DELETE, "/v2/members/me".into()),
        (&member, Method::POST, "/v2/members/me".into()),
        (&member, Method::PUT, "/v2/members/me/video-rooms".into()),
        (&member, Method::POST, format!("/v2/members/me/video-rooms/{r}")),
        (&member, Method::GET, format!("/v2/members/me/video-rooms/{r}/web-rtc-tokens")),
        (&anon, Method::GET, "/v2/members/refresh-token".into()),
        (&anon, Method::POST, "/healthz".into()),
        (&anon, Method::DELETE, "/open-api/openapi.json".into()),
    ];
    for (api, method, path) in cases {
        api.send(method, &path, Some(("application/json", b"{}".to_vec())))
            .await
            .expect_error(400, "UNSUPPORTED_HTTP_METHOD");
    }
    // Nothing was changed by them.
    let room = f.ts.server_api().get(&format!("/video-rooms/{r}")).await.expect(200);
    assert_eq!(room["videoRoomState"], "SCHEDULED");
    f.ts.server_api().get("/members/alice").await.expect(200);
}

/// Whatever arrives at a write endpoint is never a 500 or HTML. A body that is not a JSON
/// object (not JSON at all, a scalar, an array, a byte-order mark, nesting past the bound) is
/// a 400 with the error envelope on every endpoint. An object is judged by the endpoint's
/// schema: fields it does not know are ignored (as FlipFlop Cloud does), so `{"title":1e400}`
/// is a valid member update; what it is refused with is a documented client error.
#[tokio::test]
async fn garbage_bodies_never_cause_a_server_error() {
    // Hundreds of requests from one member: its rate limit is not what is tested here.
    let f = fixture_with(|mut c| {
        c.rate_limits.member = vroom_api::ratelimit::Limit::DISABLED;
        c
    })
    .await;
    let mut not_objects: Vec<Vec<u8>> =
        ["null", "true", "0", "-1e999", "\"\"", "[]", "[{}]", "\u{feff}{}", "{", "{\"a\":}"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
    not_objects.push(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes());
    not_objects.push(format!("{{\"viewOptions\":{}1{}}}", "{\"a\":".repeat(200), "}".repeat(200)).into_bytes());
    not_objects.push(vec![0u8; 64]);
    let objects: Vec<&str> = vec![
        "",
        " ",
        "{}",
        "{\"\":\"\"}",
        "{\"appUserId\":\"\\u0000\"}",
        "{\"appUserId\":\"\\ud800\"}",
        "{\"customData\":{\"\":\"\"}}",
        "{\"scheduledAt\":\"9999-99-99T99:99:99Z\"}",
        "{\"scheduledAt\":\"+275760-09-13T00:00:00Z\"}",
        "{\"password\":\"\\u0000\"}",
        "{\"viewOptions\":{}}",
        "{\"appUserId\":\"x\",\"appUserId\":\"y\"}",
        "{\"title\":1e400}",
    ];
    for (api, method, path) in f.body_endpoints() {
        for body in &not_objects {
            let resp = api.raw(method.clone(), &path, body.clone()).await;
            assert_eq!(resp.status, 400, "{method} {path} {:?}: {resp:?}", String::from_utf8_lossy(body));
            assert_error_envelope(&resp);
        }
        for body in &objects {
            let resp = api.raw(method.clone(), &path, body.as_bytes().to_vec()).await;
            assert!(resp.status < 500, "{method} {path} {body:?}: {resp:?}");
            if resp.status >= 400 {
                assert!((400..500).contains(&resp.status));
                assert_error_envelope(&resp);
            } else if resp.status != 204 {
                assert!(resp.json().is_object(), "{method} {path} {body:?}: a JSON answer: {resp:?}");
            }
        }
    }
    f.ts.server_api().get("").await.expect(200);
}

// ---- app isolation --------------------------------------------------------------------

#[tokio::test]
async fn app_b_credentials_see_nothing_of_app_a() {
    let ts = TestServer::start().await;
    let b_app = ts.new_app("app-b").await;
    let a = ts.server_api();
    let b = ts.server_api_for(&b_app);
    let b_alias = b.prefix(VICOLLO_PREFIX);

    let alice = create_member(&a, json!({"appUserId": "alice", "appUserName": "Alice"})).await;
    let room = create_room(&a, json!({"appUserId": "alice", "title": "A's room", "password": "pw"})).await;
    let admin_room = create_room(&a, json!({"title": "A's admin room"})).await;
    let (id, uuid) = (id_of(&room), room["uuid"].as_str().unwrap().to_owned());

    for b in [&b, &b_alias] {
        assert_eq!(b.get("").await.expect(200)["name"], "app-b");
        // Members.
        b.get("/members/alice").await.expect_error(404, "MEMBER_NOT_FOUND");
        let members = b.get("/members").await.expect(200);
        assert_eq!(field_of(&assert_page(&members, 0, 20, 1), "appUserId"), ["admin"], "only B's admin");
        assert_page(&b.get("/members?appUserName=alice").await.expect(200), 0, 20, 0);
        b.patch("/members/alice", json!({"appUserName": "pwned"})).await.expect_error(404, "MEMBER_NOT_FOUND");
        b.delete("/members/alice").await.expect_error(404, "MEMBER_NOT_FOUND");
        // Rooms, by id and by uuid.
        for rid in [id, id_of(&admin_room)] {
            b.get(&format!("/video-rooms/{rid}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            b.patch(&format!("/video-rooms/{rid}"), json!({"title": "pwned"}))
                .await
                .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            b.post_empty(&format!("/video-rooms/{rid}/end")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            b.post_empty(&format!("/video-rooms/{rid}/cancel")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            b.post(&format!("/video-rooms/{rid}/members/admin/web-rtc-tokens"), json!({}))
                .await
                .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            b.post(&format!("/video-rooms/{rid}/members/admin/embed-url"), json!({}))
                .await
                .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            b.delete(&format!("/video-rooms/{rid}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
        }
        b.get(&format!("/video-rooms/uuid/{uuid}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
        assert_page(&b.get("/video-rooms").await.expect(200), 0, 20, 0);
        assert_page(&b.get("/video-rooms?appUserId=alice").await.expect(200), 0, 20, 0);
        // A's member cannot own B's rooms.
        b.post("/video-rooms", json!({"appUserId": "alice"})).await.expect_error(404, "MEMBER_NOT_FOUND");
    }

    // B creating its own "alice" makes a distinct member; A's is untouched.
    let b_alice = b.post("/members", json!({"appUserId": "alice", "appUserName": "B Alice"})).await.expect(201);
    assert_ne!(b_alice["id"], alice["id"]);
    assert_eq!(b_alice["app"]["id"], b_app.id);
    // B's room with B's alice: A's room id space does not leak.
    let b_room = create_room(&b, json!({"appUserId": "alice"})).await;
    b.post(&format!("/video-rooms/{id}/members/alice/web-rtc-tokens"), json!({}))
        .await
        .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    a.get(&format!("/video-rooms/{}", id_of(&b_room))).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");

    // Everything of A is intact.
    assert_eq!(a.get("/members/alice").await.expect(200), alice);
    assert_eq!(a.get(&format!("/video-rooms/{id}")).await.expect(200), room);
    assert_eq!(a.get(&format!("/video-rooms/uuid/{uuid}")).await.expect(200), room);
    assert_eq!(a.get(&format!("/video-rooms/{}", id_of(&admin_room))).await.expect(200), admin_room);
    assert_page(&a.get("/video-rooms").await.expect(200), 0, 20, 2);
}

#[tokio::test]
async fn app_b_member_tokens_see_nothing_of_app_a() {
    let ts = TestServer::start().await;
    let b_app = ts.new_app("app-b").await;
    let a = ts.server_api();
    let b = ts.server_api_for(&b_app);

    let a_alice = login(&a, "alice", json!({})).await;
    let a_alice_api = ts.member_api(&a_alice.access);
    let public = create_room(&a_alice_api, json!({"title": "A public", "accessLevel": "PUBLIC"})).await;
    let member_room = create_room(&a_alice_api, json!({"title": "A member", "accessLevel": "MEMBER"})).await;
    let server_room = create_room(&a, json!({"title": "A server"})).await;

    // B's member with the same appUserId, and another.
    let b_alice = login(&b, "alice", json!({})).await;
    let b_bob = login(&b, "bob", json!({})).await;
    assert_ne!(b_alice.member["id"], a_alice.member["id"]);
    for token in [&b_alice.access, &b_bob.access] {
        let m = ts.member_api(token);
        assert_eq!(m.get("").await.expect(200)["app"]["id"], b_app.id);
        assert_page(&m.get("/video-rooms").await.expect(200), 0, 20, 0);
        for room in [&public, &member_room, &server_room] {
            let rid = id_of(room);
            m.get(&format!("/video-rooms/{rid}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            m.get(&format!("/video-rooms/uuid/{}", room["uuid"].as_str().unwrap()))
                .await
                .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            m.patch(&format!("/video-rooms/{rid}"), json!({"title": "pwned"}))
                .await
                .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            m.delete(&format!("/video-rooms/{rid}")).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
            m.post(&format!("/video-rooms/{rid}/web-rtc-tokens"), json!({}))
                .await
                .expect_error(404, "VIDEO_ROOM_NOT_FOUND");
        }
    }
    // A room B's alice creates belongs to B, invisible to A's members and A's server API.
    let b_room = create_room(&ts.member_api(&b_alice.access), json!({"title": "B room"})).await;
    assert_eq!(b_room["app"]["id"], b_app.id);
    a_alice_api.get(&format!("/video-rooms/{}", id_of(&b_room))).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    a.get(&format!("/video-rooms/{}", id_of(&b_room))).await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    assert_eq!(field_of(&assert_page(&a_alice_api.get("/video-rooms").await.expect(200), 0, 20, 3), "title").len(), 3);
    // B's member tokens are not app credentials for B either.
    ts.anon()
        .bearer(&b_alice.access)
        .prefix(APPS_PREFIX)
        .get("/members")
        .await
        .expect_error(401, "INVALID_APP_CREDENTIALS");

    // Everything of A is intact.
    for room in [&public, &member_room, &server_room] {
        assert_eq!(a.get(&format!("/video-rooms/{}", id_of(room))).await.expect(200), *room);
    }
    // Deleting B's alice does not affect A's alice.
    b.delete("/members/alice").await.expect_no_content();
    ts.member_api(&b_alice.access).get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    a_alice_api.get("").await.expect(200);
}
