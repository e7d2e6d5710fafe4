//! The meeting UI's HTTP side: its page at the embed URL paths and its files (headers,
//! caching, compression), the app's `frame-ancestors` setting, observer embed URLs that
//! mint hidden subscribe-only media tokens, the owner's end/remove endpoints, and `/dev`.
//! What the page does in a browser is tested in `tests/browser/meeting-ui.test.mjs`.

mod common;

use base64::Engine;
use common::*;
use reqwest::header::{ACCEPT_ENCODING, HeaderMap};
use serde_json::{Value, json};
use vroom::ServeConfig;

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

async fn fetch(url: &str, gzip: bool) -> Page {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = client.get(url);
    if gzip {
        req = req.header(ACCEPT_ENCODING, "gzip");
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = if gzip { String::new() } else { resp.text().await.unwrap_or_default() };
    Page { status, headers, body }
}

fn header<'a>(page: &'a Page, name: &str) -> &'a str {
    page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The key of an embed URL, decoded: the login response (plus the observer grant).
fn key_of(embed_url: &str) -> Value {
    let url = reqwest::Url::parse(embed_url).expect("embed URL");
    let key = url.query_pairs().find(|(k, _)| k == "key").expect("key").1.into_owned();
    serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(key).expect("base64")).expect("JSON")
}

async fn embed(api: &Api, room: i64, who: &str, body: Value) -> String {
    let v = api.post(&format!("/video-rooms/{room}/members/{who}/embed-url"), body).await.expect(200);
    v["videoRoomEmbedUrl"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_embed_url_opens_the_meeting_page_with_a_strict_policy() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    create_member(&api, json!({"appUserId": "viv"})).await;
    let room = create_room(&api, json!({"title": "ui"})).await;
    let url = embed(&api, id_of(&room), "viv", json!({})).await;
    let page = fetch(&url, false).await;
    let member_page = fetch(&format!("{}/room/join/{}", ts.base, room["uuid"].as_str().unwrap()), false).await;

    if !vroom_api::web_ui::ui_built() {
        // A binary without the UI says so instead of a silent 404.
        for p in [&page, &member_page] {
            assert_eq!(p.status, 503);
            assert!(p.body.contains("not part of this build") && p.body.contains("scripts/build-ui.sh"), "{}", p.body);
        }
        return;
    }
    for p in [&page, &member_page] {
        assert_eq!(p.status, 200, "{}", p.body);
        assert!(header(p, "content-type").starts_with("text/html"));
        assert!(p.body.contains("/ui/assets/"), "the page loads its hashed bundles: {}", p.body);
        let csp = header(p, "content-security-policy");
        let media = ts.ws_url();
        let http = media.replacen("ws", "http", 1);
        assert!(csp.contains(&format!("connect-src 'self' {media} {http};")), "{csp}");
        assert!(csp.contains("script-src 'self';") && csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.ends_with("frame-ancestors *"), "any site may embed by default: {csp}");
        assert_eq!(header(p, "referrer-policy"), "no-referrer", "the URL carries a login");
        assert_eq!(header(p, "cache-control"), "no-store");
        assert!(p.headers.get("x-frame-options").is_none(), "embedding is the point");
    }

    // Every file the page names exists, is cached for good and compressed.
    let assets: Vec<&str> = page.body.split('"').filter(|s| s.starts_with("/ui/assets/")).collect();
    assert!(!assets.is_empty());
    for asset in assets {
        let plain = fetch(&format!("{}{asset}", ts.base), false).await;
        assert_eq!(plain.status, 200, "{asset}");
        assert_eq!(header(&plain, "cache-control"), "public, max-age=31536000, immutable");
        assert!(!header(&plain, "etag").is_empty());
        if asset.ends_with(".js") {
            assert!(header(&plain, "content-type").contains("javascript"), "{asset}");
            let gz = fetch(&format!("{}{asset}", ts.base), true).await;
            assert_eq!(header(&gz, "content-encoding"), "gzip", "{asset}");
        }
    }
    let missing = ts.anon().get("/ui/assets/nope-123.js").await;
    missing.expect_error(404, "NOT_FOUND");
    ts.stop().await;
}

#[tokio::test]
async fn which_sites_may_frame_the_page_is_the_apps_setting() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let app = api.get("").await.expect(200);
    assert_eq!(app["embedFrameAncestors"], Value::Null, "default: any site");

    let set = api
        .patch("", json!({"embedFrameAncestors": ["https://app.example.com", "https://*.example.org:8443", "'self'"]}))
        .await
        .expect(200);
    assert_eq!(set["embedFrameAncestors"], json!(["https://app.example.com", "https://*.example.org:8443", "'self'"]));
    assert_eq!(api.get("").await.expect(200)["embedFrameAncestors"], set["embedFrameAncestors"]);
    // An absent field changes nothing.
    assert_eq!(api.patch("", json!({})).await.expect(200)["embedFrameAncestors"], set["embedFrameAncestors"]);

    for bad in [
        json!({"embedFrameAncestors": ["https://a.example; script-src *"]}),
        json!({"embedFrameAncestors": ["*"]}),
        json!({"embedFrameAncestors": ["javascript:"]}),
        json!({"embedFrameAncestors": ["https://"]}),
        json!({"embedFrameAncestors": ["https://a..b"]}),
        json!({"embedFrameAncestors": "https://a.example"}),
        json!({"embedFrameAncestors": vec!["https://a.example"; 33]}),
        json!({"somethingElse": true}),
    ] {
        api.patch("", bad.clone()).await.expect_error(400, "INVALID_HTTP_MESSAGE_BODY");
    }
    assert_eq!(
        api.get("").await.expect(200)["embedFrameAncestors"],
        set["embedFrameAncestors"],
        "a refusal changes nothing"
    );

    if vroom_api::web_ui::ui_built() {
        create_member(&api, json!({"appUserId": "viv"})).await;
        let room = create_room(&api, json!({})).await;
        let url = embed(&api, id_of(&room), "viv", json!({})).await;
        let csp_of = |p: &Page| header(p, "content-security-policy").to_owned();
        let page = fetch(&url, false).await;
        assert!(
            csp_of(&page).ends_with("frame-ancestors https://app.example.com https://*.example.org:8443 'self'"),
            "{}",
            csp_of(&page)
        );
        let by_uuid = fetch(&format!("{}/room/join/{}", ts.base, room["uuid"].as_str().unwrap()), false).await;
        assert_eq!(csp_of(&by_uuid), csp_of(&page), "the room's app decides on both paths");

        // Another app's page is not affected; [] forbids framing; null restores the default.
        let other = ts.new_app("other").await;
        let other_page = fetch(&format!("{}/vicollo-apps/{}/rooms/join/x", ts.base, other.id), false).await;
        assert!(csp_of(&other_page).ends_with("frame-ancestors *"));
        api.patch("", json!({"embedFrameAncestors": []})).await.expect(200);
        assert!(csp_of(&fetch(&url, false).await).ends_with("frame-ancestors 'none'"));
        api.patch("", json!({"embedFrameAncestors": null})).await.expect(200);
        assert!(csp_of(&fetch(&url, false).await).ends_with("frame-ancestors *"));
    }
    ts.stop().await;
}

#[tokio::test]
async fn an_observer_embed_url_joins_hidden_and_subscribe_only() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    for who in ["owner", "viv", "eve"] {
        create_member(&api, json!({"appUserId": who})).await;
    }
    // Password and approval are the app's to waive for an observer it invited.
    let room = create_room(&api, json!({"appUserId": "owner", "password": "pw", "manuallyApproval": true})).await;
    let id = id_of(&room);

    let observer = key_of(&embed(&api, id, "viv", json!({"isObserver": true})).await);
    let grant = observer["observerGrant"].as_str().expect("an observer key carries a grant").to_owned();
    let viv = ts.member_api(observer["accessToken"].as_str().unwrap());
    let creds =
        viv.post(&format!("/video-rooms/{id}/web-rtc-tokens"), json!({"observerGrant": grant})).await.expect(201);
    let claims = verify_media_token(creds["webRtcToken"].as_str().unwrap());
    let video = &claims["video"];
    assert_eq!(video["hidden"], true, "{claims}");
    assert_eq!(video["canPublish"], false);
    assert_eq!(video["canSubscribe"], true);
    assert_eq!(video["room"], room["uuid"]);

    // A regular embed URL carries no grant, and without one viv is a waiting guest again.
    let plain = key_of(&embed(&api, id, "viv", json!({"isObserver": false})).await);
    assert!(plain.get("observerGrant").is_none(), "{plain}");
    viv.post(&format!("/video-rooms/{id}/web-rtc-tokens"), json!({"password": "pw"})).await.expect(201);
    viv.post(&format!("/video-rooms/{id}/web-rtc-tokens"), json!({}))
        .await
        .expect_error(403, "VIDEO_ROOM_PASSWORD_MISMATCH");

    // The grant is viv's, for this room: not another member's, not another room's, not forged.
    let eve = ts.member_api(&login(&api, "eve", json!({})).await.access);
    eve.post(&format!("/video-rooms/{id}/web-rtc-tokens"), json!({"observerGrant": grant}))
        .await
        .expect_error(403, "ACCESS_DENIED");
    let other = id_of(&create_room(&api, json!({"appUserId": "owner"})).await);
    viv.post(&format!("/video-rooms/{other}/web-rtc-tokens"), json!({"observerGrant": grant}))
        .await
        .expect_error(403, "ACCESS_DENIED");
    let forged = format!("{}x", &grant[..grant.len() - 1]);
    viv.post(&format!("/video-rooms/{id}/web-rtc-tokens"), json!({"observerGrant": forged}))
        .await
        .expect_error(403, "ACCESS_DENIED");
    // Nor is it a login.
    ts.member_api(&grant).get("").await.expect_error(401, "INVALID_ACCESS_TOKEN");
    ts.stop().await;
}

#[tokio::test]
async fn the_owner_ends_the_room_and_removes_participants_through_the_member_api() {
    let ts = TestServer::start().await;
    let api = ts.server_api();
    let owner = ts.member_api(&login(&api, "owner", json!({})).await.access);
    let guest = ts.member_api(&login(&api, "guest", json!({})).await.access);
    let id = id_of(&create_room(&owner, json!({"accessLevel": "PUBLIC"})).await);

    // Nobody is in the room: removing answers 404, for the owner and the app alike.
    owner.post_empty(&format!("/video-rooms/{id}/participants/guest/remove")).await.expect_error(404, "NOT_FOUND");
    api.post_empty(&format!("/video-rooms/{id}/participants/guest/remove")).await.expect_error(404, "NOT_FOUND");
    guest.post_empty(&format!("/video-rooms/{id}/participants/owner/remove")).await.expect_error(403, "ACCESS_DENIED");

    guest.post_empty(&format!("/video-rooms/{id}/end")).await.expect_error(403, "ACCESS_DENIED");
    assert_eq!(owner.get(&format!("/video-rooms/{id}")).await.expect(200)["videoRoomState"], "SCHEDULED");
    let ended = owner.post_empty(&format!("/video-rooms/{id}/end")).await.expect(200);
    assert_eq!(ended["videoRoomState"], "ENDED");
    guest.post(&format!("/video-rooms/{id}/web-rtc-tokens"), json!({})).await.expect_error(409, "VIDEO_ROOM_ENDED");
    owner.post_empty("/video-rooms/999999/end").await.expect_error(404, "VIDEO_ROOM_NOT_FOUND");
    ts.stop().await;
}

#[tokio::test]
async fn dev_mode_starts_a_meeting_with_links_for_two_members_and_an_observer() {
    let ts = TestServer::start_with(|c| ServeConfig { dev: true, ..c }).await;
    let home = fetch(&format!("{}/dev", ts.base), false).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("action=\"/dev/meetings\""), "{}", home.body);

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let started = client.post(format!("{}/dev/meetings", ts.base)).send().await.unwrap();
    assert_eq!(started.status().as_u16(), 303);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let meeting = fetch(&format!("{}{location}", ts.base), false).await;
    assert_eq!(meeting.status, 200, "{}", meeting.body);
    let links: Vec<String> = meeting
        .body
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.contains("/rooms/join/"))
        .map(|h| h.replace("&amp;", "&"))
        .collect();
    assert_eq!(links.len(), 3, "{}", meeting.body);
    let keys: Vec<Value> = links.iter().map(|l| key_of(l)).collect();
    let who: Vec<&str> = keys.iter().map(|k| k["member"]["appUserId"].as_str().unwrap()).collect();
    assert_eq!(who, ["alice", "bob", "carol"]);
    assert!(keys[2].get("observerGrant").is_some() && links[2].contains("isObserver=true"));
    // The meeting exists in the dev app, owned by alice, and every link's login works.
    let alice = ts.member_api(keys[0]["accessToken"].as_str().unwrap());
    let room_id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(alice.get(&format!("/video-rooms/{room_id}")).await.expect(200)["member"]["appUserId"], "alice");
    ts.stop().await;
}

#[tokio::test]
async fn without_dev_mode_there_is_no_dev_page() {
    let ts = TestServer::start().await;
    ts.anon().get("/dev").await.expect_error(404, "NOT_FOUND");
    ts.anon().post_empty("/dev/meetings").await.expect_error(404, "NOT_FOUND");
    ts.stop().await;
}
