//! An example for every request and response body, keyed by schema name; a page of a
//! schema reuses the schema's own example. The suite checks each one against its schema.

use serde_json::{Value, json};

use super::Doc;

const AT: &str = "2026-12-03T09:00:00.000Z";

fn app_ref() -> Value {
    json!({"id": 1, "name": "acme"})
}

fn member() -> Value {
    json!({
        "id": 7, "state": "ACTIVE", "appUserId": "alice", "appUserName": "Alice Kim",
        "appUserProfileImgUrl": "https://example.com/alice.png", "email": "alice@example.com",
        "country": "KR", "lang": "ko", "customType": "staff", "customData": {"team": "sales"},
        "app": app_ref(), "createdAt": AT, "lastModifiedAt": AT,
    })
}

fn room() -> Value {
    json!({
        "id": 42, "uuid": "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e", "state": "ACTIVE",
        "type": "VIDEO_CONFERENCE", "videoRoomState": "SCHEDULED", "accessLevel": "MEMBER",
        "title": "Weekly sync", "description": "Status and plans", "scheduledAt": "2026-12-04T01:00:00.000Z",
        "customType": "meeting", "customData": {"project": "apollo"}, "viewOptions": {"theme": "dark"},
        "app": app_ref(),
        "member": {"id": 7, "appUserId": "alice", "appUserName": "Alice Kim", "appUserProfileImgUrl": null},
        "creatorType": "APP", "creatorId": 1,
        "policy": {"hasPassword": false, "manuallyApproval": false, "canAutoRoomCompositeRecording": false},
        "lastSessionNo": 0, "liveStartedAt": null, "liveEndedAt": null, "createdAt": AT, "lastModifiedAt": AT,
    })
}

fn live_participant() -> Value {
    json!({
        "participantSid": "PA_3kR9xQ2mZ7", "appUserId": "bob", "appUserName": "Bob Lee",
        "channelMemberType": "MEMBER", "hidden": false, "waiting": true, "canPublish": false,
        "canSubscribe": false, "customData": null, "joinedAt": AT,
    })
}

fn delivery() -> Value {
    json!({
        "eventId": "3b8f2a10-5c4d-4e6f-9a7b-8c9d0e1f2a3b", "type": "VIDEO_ROOM_PARTICIPANT_JOINED",
        "videoRoomId": 42, "seq": 3, "status": "DELIVERED", "attempts": 1, "lastStatusCode": 200,
        "lastError": null, "createdAt": AT, "lastAttemptAt": AT, "deliveredAt": AT, "nextAttemptAt": null,
    })
}

/// The example of a schema by its component name.
fn example(schema: &str) -> Option<Value> {
    let tokens = json!({"accessToken": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJl", "refreshToken": "rt_9d2f7c41b0e84a6f"});
    Some(match schema {
        // Requests.
        "MemberUpsertInput" => json!({
            "appUserId": "alice", "appUserName": "Alice Kim", "appUserProfileImgUrl": "https://example.com/alice.png",
            "email": "alice@example.com", "lang": "ko", "customType": "staff", "customData": {"team": "sales"},
        }),
        "MemberPatchInput" => json!({"appUserName": "Alice Park", "customData": {"team": "support"}}),
        "AppVideoRoomInput" => json!({
            "appUserId": "alice", "title": "Weekly sync", "accessLevel": "MEMBER",
            "scheduledAt": "2026-12-04T01:00:00Z", "customData": {"project": "apollo"},
        }),
        "VideoRoomInput" => json!({"title": "Weekly sync", "accessLevel": "MEMBER", "manuallyApproval": true}),
        "WebRtcTokenInput" => json!({"password": "open-sesame", "customData": {"seat": "12"}}),
        "AppSettingsInput" => json!({"embedFrameAncestors": ["https://app.example.com", "https://*.example.com"]}),
        "EmbedUrlInput" => json!({"displayName": "Alice", "isObserver": false}),
        "RefreshTokenInput" => json!({"refreshToken": "rt_9d2f7c41b0e84a6f"}),
        "CallbackApiInput" => {
            json!({"url": "https://backend.example.com/vroom/events", "accessId": "vroom", "accessPassword": "s3cret"})
        }
        // Responses.
        "App" => {
            json!({"id": 1, "state": "ACTIVE", "name": "acme", "defaultRtmpOutputMode": "CMAF", "createdAt": AT, "lastModifiedAt": AT,
                   "embedFrameAncestors": null})
        }
        "Member" => member(),
        "VideoRoom" => room(),
        "LoginResponse" => {
            let mut t = tokens;
            t["member"] = member();
            t
        }
        "TokenPair" => tokens,
        "RtcCredentials" => {
            json!({"webRtcServerUrl": "ws://127.0.0.1:7880", "webRtcToken": "eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6e319.c2lnbmF0dXJl"})
        }
        "EmbedUrl" => {
            json!({"videoRoomEmbedUrl": "http://127.0.0.1:7880/vicollo-apps/1/rooms/join/6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e?key=eyJhY2Nlc3NUb2tlbiI6Ii4uLiJ9&displayName=Alice"})
        }
        "RoomSession" => {
            json!({"sessionNo": 1, "startedAt": AT, "endedAt": "2026-12-03T10:00:00.000Z", "endReason": "EMPTY", "participantCount": 2})
        }
        "Participation" => json!({
            "participantSid": "PA_3kR9xQ2mZ7", "sessionNo": 1, "memberId": 7, "appUserId": "alice",
            "appUserName": "Alice Kim", "channelMemberType": "OPERATOR", "hidden": false, "customData": null,
            "joinedAt": AT, "leftAt": "2026-12-03T10:00:00.000Z", "leaveReason": "CLIENT_INITIATED",
        }),
        "LiveParticipant" => live_participant(),
        "CallbackApiView" => {
            json!({"url": "https://backend.example.com/vroom/events", "accessId": "vroom", "hasAccessPassword": true, "signingSecret": "whsec_4f6b1d8e2a9c7035"})
        }
        "WebhookDelivery" => delivery(),
        "EventEnvelope" => json!({
            "id": "3b8f2a10-5c4d-4e6f-9a7b-8c9d0e1f2a3b", "type": "VIDEO_ROOM_PARTICIPANT_JOINED", "seq": 3,
            "app": app_ref(), "createdAt": AT,
            "data": {"videoRoom": {"id": 42, "uuid": "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"}, "participant": {"appUserId": "bob"}},
        }),
        _ => return None,
    })
}

fn page_of(item: Value) -> Value {
    json!({
        "content": [item], "totalPages": 1, "totalElements": 1, "numberOfElements": 1,
        "number": 0, "size": 20, "first": true, "last": true, "empty": false,
    })
}

/// The example for a media type's schema (a `$ref`, a page of one, or an array of one).
fn for_schema(schema: &Value) -> Option<Value> {
    let name = |v: &Value| v["$ref"].as_str().and_then(|r| r.rsplit('/').next()).map(str::to_owned);
    if let Some(items) = schema.get("items") {
        return example(&name(items)?).map(|e| json!([e]));
    }
    let name = name(schema)?;
    match name.strip_prefix("PageOf_") {
        Some(item) => example(item).map(page_of),
        None => example(&name),
    }
}

/// Puts an example on every JSON request and response body that has none. Panics when a
/// body schema has no example (every test that starts a server would fail): every one must.
pub(super) fn apply(doc: &mut Doc) {
    let fill = |media: &mut Value, what: &str| {
        if media.get("example").is_none() && media.get("examples").is_none() {
            let example = for_schema(&media["schema"]).unwrap_or_else(|| panic!("no example for {what}"));
            media["example"] = example;
        }
    };
    for (method, path, op) in super::operations_mut(doc) {
        if let Some(body) = op.get_mut("requestBody") {
            fill(&mut body["content"]["application/json"], &format!("the body of {method} {path}"));
        }
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
        for (status, r) in responses.iter_mut() {
            if r.get("content").is_some() {
                fill(&mut r["content"]["application/json"], &format!("{status} of {method} {path}"));
            }
        }
    }
}
