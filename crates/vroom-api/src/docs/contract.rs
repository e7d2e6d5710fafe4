//! Makes the generated document the exact contract: what the extractors and the platform
//! validate (bounds, patterns, formats, required fields, body optionality) and every
//! status each operation answers with its error codes. utoipa derives the shapes from the
//! types; the rules that live in validation code are stated here, next to their constants,
//! so the document cannot drift from them silently (the schema fuzzer in the suite checks
//! the two against each other).

use serde_json::{Map, Value, json};
use vroom_platform::ErrorCode::{self, *};
use vroom_platform::callbacks::{CALLBACK_URL_PATTERN, URL_MAX};
use vroom_platform::input::*;
use vroom_platform::model::PageRequest;

use super::{Doc, operations_mut};

/// Applies every rule to the document (paths still only under `/v2/apps/me` and
/// `/v2/members`; the alias is added afterwards).
pub(super) fn apply(doc: &mut Doc) {
    schemas(doc);
    request_bodies(doc);
    parameters(doc);
    responses(doc);
}

fn app_user_id_pattern() -> String {
    format!("^[A-Za-z0-9_.@-]{{1,{APP_USER_ID_MAX}}}$")
}

fn nullable_text(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max})
}

fn custom_data() -> Value {
    json!({
        "type": ["object", "null"],
        "description": format!(
            "String values only: at most {CUSTOM_DATA_MAX_ITEMS} items, names of at most {CUSTOM_DATA_KEY_MAX} \
             characters, values of at most {CUSTOM_DATA_VALUE_MAX}."
        ),
        "maxProperties": CUSTOM_DATA_MAX_ITEMS,
        "propertyNames": {"maxLength": CUSTOM_DATA_KEY_MAX},
        "additionalProperties": {"type": "string", "maxLength": CUSTOM_DATA_VALUE_MAX},
    })
}

/// Sets a property's schema, keeping the description utoipa took from the doc comment.
fn set_property(doc: &mut Doc, schema: &str, property: &str, mut value: Value) {
    let props = &mut doc["components"]["schemas"][schema]["properties"];
    let old = props[property].take();
    if let (Some(desc), Some(obj)) = (old.get("description"), value.as_object_mut()) {
        obj.entry("description").or_insert_with(|| desc.clone());
    }
    props[property] = value;
}

fn schemas(doc: &mut Doc) {
    let id = app_user_id_pattern();
    // Member profile fields (upsert, login, patch).
    for field in ["appUserName", "appUserProfileImgUrl", "email", "country", "lang"] {
        set_property(doc, "MemberInput", field, nullable_text(TEXT_MAX));
    }
    set_property(doc, "MemberInput", "customType", nullable_text(CUSTOM_TYPE_MAX));
    set_property(doc, "MemberInput", "customData", custom_data());

    // Rooms (create and patch).
    for field in ["title", "description"] {
        set_property(doc, "VideoRoomInput", field, nullable_text(TEXT_MAX));
    }
    set_property(doc, "VideoRoomInput", "customType", nullable_text(CUSTOM_TYPE_MAX));
    set_property(
        doc,
        "VideoRoomInput",
        "type",
        json!({
            "type": ["string", "null"],
            "enum": ["VIDEO_CONFERENCE", null],
            "description": "`VIDEO_CONFERENCE` (the default). `BROADCAST_RTMP` rooms of the hosted service are \
                            refused with `UNSUPPORTED_VIDEO_ROOM_TYPE`.",
        }),
    );
    set_property(doc, "VideoRoomInput", "customData", custom_data());
    set_property(doc, "VideoRoomInput", "password", nullable_text(PASSWORD_MAX));
    set_property(doc, "VideoRoomInput", "scheduledAt", json!({"type": ["string", "null"], "format": "date-time"}));
    set_property(
        doc,
        "VideoRoomInput",
        "viewOptions",
        json!({
            "type": ["object", "null"],
            "description": format!(
                "Any JSON object, stored and returned as is: at most {VIEW_OPTIONS_MAX_DEPTH} levels deep and \
                 {VIEW_OPTIONS_MAX_BYTES} bytes as JSON."
            ),
        }),
    );

    set_property(doc, "WebRtcTokenInput", "password", nullable_text(PASSWORD_MAX));
    set_property(doc, "WebRtcTokenInput", "customData", custom_data());
    for field in ["displayName", "drawLayoutType", "drawLayoutPosition"] {
        set_property(doc, "EmbedUrlInput", field, nullable_text(TEXT_MAX));
    }
    set_property(
        doc,
        "CallbackApiInput",
        "url",
        json!({
            "type": "string",
            "maxLength": URL_MAX,
            // The rule the server applies (see the constant's doc).
            "pattern": CALLBACK_URL_PATTERN,
        }),
    );
    for field in ["accessId", "accessPassword"] {
        set_property(doc, "CallbackApiInput", field, nullable_text(TEXT_MAX));
    }
    set_property(
        doc,
        "AppSettingsInput",
        "embedFrameAncestors",
        json!({
            "type": ["array", "null"],
            "maxItems": FRAME_ANCESTORS_MAX,
            // One CSP source each, exactly what `AppSettingsInput::validate` accepts.
            "items": {
                "type": "string",
                "maxLength": 253,
                "pattern": "^('self'|https?:|https?://(\\*\\.)?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*(:(\\*|[0-9]{1,5}))?)$",
            },
            "description": "Sites that may frame the meeting page (CSP `frame-ancestors` sources); `null`: any site, `[]`: none.",
        }),
    );

    // One body type, three contracts: upsert and login need the id, a room created by the
    // app may name its owner, and on patch the path names the member (a body id is ignored).
    let schemas = doc["components"]["schemas"].as_object_mut().expect("components.schemas");
    let member = schemas["MemberInput"].clone();
    let mut upsert = member.clone();
    upsert["description"] = json!("A member's id and profile: absent fields are unchanged, `null` clears.");
    upsert["required"] = json!(["appUserId"]);
    upsert["properties"]["appUserId"] =
        json!({"type": "string", "pattern": id, "description": "The app's own id of the user."});
    let mut patch = member;
    patch["description"] = json!("Profile changes: absent fields are unchanged, `null` clears.");
    patch["properties"].as_object_mut().map(|p| p.remove("appUserId"));
    let room = schemas["VideoRoomInput"].clone();
    let mut create_as_app = room.clone();
    create_as_app["description"] = json!("A new room; every field is optional.");
    create_as_app["properties"]["appUserId"] = json!({
        "type": ["string", "null"],
        "pattern": id,
        "description": "The owner, an existing member (default: the app's built-in `admin` member)."
    });
    let mut room_changes = room;
    room_changes["description"] = json!("Room fields: absent fields are unchanged, `null` clears.");
    room_changes["properties"].as_object_mut().map(|p| p.remove("appUserId"));
    schemas.remove("MemberInput");
    schemas.remove("VideoRoomInput");
    schemas.insert("MemberUpsertInput".into(), upsert);
    schemas.insert("MemberPatchInput".into(), patch);
    schemas.insert("AppVideoRoomInput".into(), create_as_app);
    schemas.insert("VideoRoomInput".into(), room_changes);
}

/// Which body schema each operation takes, and whether it is required: a body is optional
/// (none reads as `{}`) unless its schema has required fields.
fn request_bodies(doc: &mut Doc) {
    let required_fields: Vec<String> = doc["components"]["schemas"]
        .as_object()
        .map(|s| {
            s.iter()
                .filter(|(_, v)| v["required"].as_array().is_some_and(|r| !r.is_empty()))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    for (method, path, op) in operations_mut(doc) {
        let Some(body) = op.get_mut("requestBody") else { continue };
        let schema = &mut body["content"]["application/json"]["schema"]["$ref"];
        let replacement = match (method, path) {
            ("post", "/v2/apps/me/members" | "/v2/apps/me/members/login") => Some("MemberUpsertInput"),
            ("patch", "/v2/apps/me/members/{appUserId}") => Some("MemberPatchInput"),
            ("post", "/v2/apps/me/video-rooms") => Some("AppVideoRoomInput"),
            _ if schema.as_str() == Some("#/components/schemas/MemberInput") => {
                unreachable!("MemberInput on {method} {path}: say which member body it takes")
            }
            _ => None,
        };
        if let Some(name) = replacement {
            *schema = json!(format!("#/components/schemas/{name}"));
        }
        let name = schema.as_str().and_then(|r| r.rsplit('/').next()).unwrap_or_default().to_owned();
        body["required"] = json!(required_fields.contains(&name));
    }
}

fn parameters(doc: &mut Doc) {
    let id = app_user_id_pattern();
    for (_, path, op) in operations_mut(doc) {
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { continue };
        for p in params {
            let (name, location) = (p["name"].as_str().unwrap_or_default(), p["in"].as_str().unwrap_or_default());
            let schema = match (location, name) {
                ("query", "page") => json!({"type": "integer", "minimum": 1, "maximum": u32::MAX, "default": 1}),
                ("query", "pageSize") => json!({
                    "type": "integer", "minimum": 1, "maximum": PageRequest::MAX_SIZE,
                    "default": PageRequest::DEFAULT_SIZE
                }),
                // One id, or several separated by commas (delete).
                ("path", "appUserId") if path.ends_with("/members/{appUserId}") => {
                    json!({"type": "string", "minLength": 1})
                }
                ("path", "appUserId") => json!({"type": "string", "pattern": id}),
                _ => continue,
            };
            p["schema"] = schema;
        }
    }
}

/// `customData` validation.
const CUSTOM_DATA: [ErrorCode; 3] = [
    CustomDataItemCountUpperLimitExceeded,
    CustomDataItemNameSizeUpperLimitExceeded,
    CustomDataItemValueSizeUpperLimitExceeded,
];
/// `customType` and `customData` validation.
const CUSTOM_FIELDS: [ErrorCode; 4] = [
    CustomTypeSizeUpperLimitExceeded,
    CustomDataItemCountUpperLimitExceeded,
    CustomDataItemNameSizeUpperLimitExceeded,
    CustomDataItemValueSizeUpperLimitExceeded,
];

/// The error codes an operation answers beyond those every operation of its kind does
/// (authentication, rate limits, unreadable bodies, query or path values).
fn specific_errors(method: &str, path: &str) -> Vec<ErrorCode> {
    let (member_api, rest) = match path.strip_prefix("/v2/apps/me") {
        Some(rest) => (false, rest),
        None => (true, path.strip_prefix("/v2/members/me").unwrap_or(path)),
    };
    let with = |codes: &[ErrorCode], group: &[ErrorCode]| [codes, group].concat();
    match (method, rest, member_api) {
        ("post", "/members" | "/members/login", false) => {
            with(&[EmptyAppUserId, InvalidAppUserIdFormat], &CUSTOM_FIELDS)
        }
        ("patch", "/members/{appUserId}", false) => with(&[MemberNotFound], &CUSTOM_FIELDS),
        ("get", "/members/{appUserId}", false) => vec![MemberNotFound],
        ("delete", "/members/{appUserId}", false) => vec![EmptyAppUserId, MemberNotFound],
        ("post", "/video-rooms", false) => {
            with(&[UnsupportedVideoRoomType, InvalidAppUserIdFormat, MemberNotFound], &CUSTOM_FIELDS)
        }
        ("post", "/video-rooms", true) => with(&[UnsupportedVideoRoomType], &CUSTOM_FIELDS),
        ("get", "/video-rooms/{id}" | "/video-rooms/uuid/{uuid}", _) => vec![VideoRoomNotFound],
        ("patch", "/video-rooms/{id}", false) => with(&[VideoRoomNotFound, UnsupportedVideoRoomType], &CUSTOM_FIELDS),
        ("patch", "/video-rooms/{id}", true) => {
            with(&[VideoRoomNotFound, AccessDenied, UnsupportedVideoRoomType], &CUSTOM_FIELDS)
        }
        ("delete", "/video-rooms/{id}", false) => vec![VideoRoomNotFound],
        ("delete", "/video-rooms/{id}", true) => vec![VideoRoomNotFound, AccessDenied],
        ("post", "/video-rooms/{id}/end", true) => {
            vec![VideoRoomNotFound, AccessDenied, InvalidVideoRoomStateTransition]
        }
        ("post", "/video-rooms/{id}/end" | "/video-rooms/{id}/cancel", _) => {
            vec![VideoRoomNotFound, InvalidVideoRoomStateTransition]
        }
        ("post", "/video-rooms/{id}/members/{appUserId}/web-rtc-tokens", false) => {
            with(&[VideoRoomNotFound, MemberNotFound, VideoRoomEnded, AccessDenied], &CUSTOM_DATA)
        }
        ("post", "/video-rooms/{id}/web-rtc-tokens", true) => {
            with(&[VideoRoomNotFound, VideoRoomPasswordMismatch, VideoRoomEnded, AccessDenied], &CUSTOM_DATA)
        }
        ("post", "/video-rooms/{id}/members/{appUserId}/embed-url", false) => {
            vec![VideoRoomNotFound, MemberNotFound, VideoRoomEnded]
        }
        ("get", "/video-rooms/{id}/sessions", false) => vec![VideoRoomNotFound],
        ("get", "/video-rooms/{id}/sessions/{sessionNo}/participants", false) => vec![VideoRoomNotFound, NotFound],
        ("get", "/video-rooms/{id}/participants", false) => vec![VideoRoomNotFound],
        ("get", "/video-rooms/{id}/sessions", true) => vec![VideoRoomNotFound, AccessDenied],
        ("get", "/video-rooms/{id}/sessions/{sessionNo}/participants", true) => {
            vec![VideoRoomNotFound, AccessDenied, NotFound]
        }
        ("get", "/video-rooms/{id}/participants", true) => vec![VideoRoomNotFound, AccessDenied],
        (
            "post",
            "/video-rooms/{id}/participants/{appUserId}/approve"
            | "/video-rooms/{id}/participants/{appUserId}/reject"
            | "/video-rooms/{id}/participants/{appUserId}/remove",
            false,
        ) => vec![VideoRoomNotFound, NotFound],
        (
            "post",
            "/video-rooms/{id}/participants/{appUserId}/approve"
            | "/video-rooms/{id}/participants/{appUserId}/reject"
            | "/video-rooms/{id}/participants/{appUserId}/remove",
            true,
        ) => vec![VideoRoomNotFound, AccessDenied, NotFound],
        ("patch", "", false) => vec![],
        ("put", "/callback-api", false) => vec![],
        ("get" | "delete", "/callback-api", false) => vec![CallbackApiNotFound],
        ("post", "/webhook-deliveries/{eventId}/redeliver", false) => vec![EventNotFound, CallbackApiNotFound],
        ("post", "/v2/members/refresh-token", true) => vec![InvalidRefreshToken],
        _ => vec![],
    }
}

/// A sample message per code, for the examples.
fn sample_message(code: ErrorCode) -> &'static str {
    match code {
        InvalidHttpMessageBody => "invalid JSON body: expected value at line 1 column 1",
        InvalidQueryParameter => "pageSize must be between 1 and 100",
        EmptyAppUserId => "appUserId is required",
        InvalidAppUserIdFormat => "appUserId must be 1-128 characters of A-Z a-z 0-9 _ . @ -",
        CustomTypeSizeUpperLimitExceeded => "customType is longer than 50 characters",
        CustomDataItemCountUpperLimitExceeded => "customData has more than 50 items",
        CustomDataItemNameSizeUpperLimitExceeded => "customData key is longer than 50 characters",
        CustomDataItemValueSizeUpperLimitExceeded => "customData.note is longer than 1000 characters",
        UnsupportedVideoRoomType => "only VIDEO_CONFERENCE rooms are supported",
        InvalidVideoRoomStateTransition => "cannot cancel a room in state LIVE",
        EmptyAppCredentials => "missing Authorization: Basic apiKey:apiSecret",
        InvalidAppCredentials => "invalid API key or secret",
        EmptyAccessToken => "missing Authorization: Bearer <accessToken>",
        InvalidAccessToken => "the access token is not valid",
        ExpiredAccessToken => "the access token has expired",
        InvalidRefreshToken => "the refresh token is not valid or was already used",
        AccessDenied => "only the room's owner may do this",
        VideoRoomPasswordMismatch => "wrong or missing video room password",
        MemberNotFound => "no member with appUserId alice",
        VideoRoomNotFound => "no such video room",
        NotFound => "no such resource",
        CallbackApiNotFound => "no callback API is registered",
        EventNotFound => "no such event",
        VideoRoomEnded => "the video room has ended or was cancelled",
        PayloadTooLarge => "the request body is larger than 1 MiB",
        RequestTimeout => "the request body did not arrive in time",
        TooManyRequests => "too many requests: retry after the time in Retry-After",
        _ => "see errorCode",
    }
}

fn error_response(codes: &[ErrorCode]) -> Value {
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    let examples: Map<String, Value> = codes
        .iter()
        .map(|c| {
            (c.as_str().to_owned(), json!({"value": {"errorCode": c.as_str(), "errorMessage": sample_message(*c)}}))
        })
        .collect();
    json!({
        "description": names.join(", "),
        "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorBody"},
            "examples": examples,
        }},
    })
}

/// Every status of every operation: the success statuses utoipa took from the handlers,
/// and the refusals from the rules below, each listing its error codes.
fn responses(doc: &mut Doc) {
    for (method, path, op) in operations_mut(doc) {
        let mut codes: Vec<ErrorCode> = Vec::new();
        match op.get("security").and_then(|s| s[0].as_object()).and_then(|s| s.keys().next()).map(String::as_str) {
            Some("appCredentials") => codes.extend([EmptyAppCredentials, InvalidAppCredentials]),
            Some("memberToken") => codes.extend([EmptyAccessToken, InvalidAccessToken, ExpiredAccessToken]),
            _ => {}
        }
        let params = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        if params.iter().any(|p| p["in"] == "query") {
            codes.push(InvalidQueryParameter);
        }
        if op.contains_key("requestBody") {
            codes.extend([InvalidHttpMessageBody, PayloadTooLarge, RequestTimeout]);
        }
        codes.extend(specific_errors(method, path));
        // A path value of the wrong shape (a non-numeric id) names nothing.
        if params.iter().any(|p| p["in"] == "path") {
            codes.push(NotFound);
        }
        codes.push(TooManyRequests);
        let mut seen = Vec::new();
        codes.retain(|c| {
            !seen.contains(c) && {
                seen.push(*c);
                true
            }
        });

        let responses = op.entry("responses").or_insert_with(|| json!({}));
        let responses = responses.as_object_mut().expect("responses");
        for (status, response) in responses.iter_mut() {
            if response.get("description").is_none() {
                response["description"] = json!(match status.as_str() {
                    "200" => "OK",
                    "201" => "Created",
                    "204" => "No Content",
                    _ => "",
                });
            }
        }
        let mut statuses: Vec<u16> = codes.iter().map(|c| c.http_status()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        for status in statuses {
            let of_status: Vec<ErrorCode> = codes.iter().copied().filter(|c| c.http_status() == status).collect();
            let mut response = error_response(&of_status);
            if status == 429 {
                response["headers"] = json!({"Retry-After": {
                    "description": "seconds to wait before retrying",
                    "schema": {"type": "integer", "minimum": 1},
                }});
                response["description"] =
                    json!("TOO_MANY_REQUESTS: a rate limit of the caller or of its address was exceeded");
            }
            responses.insert(status.to_string(), response);
        }
    }
}
