//! The OpenAPI 3.1 document (generated from the handlers, then made exact by
//! [`contract`]), in English and Korean, with a human-readable reference (Redoc) and Swagger
//! UI, both served by vroom itself from vendored copies: the docs render offline.

mod contract;
mod examples;
mod ko;
mod reference;

use axum::Router;
use axum::routing::get;
use serde::Serialize;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::state::AppState;
use crate::{member_api, server_api, webhooks_api};

pub const OPENAPI_PATH: &str = "/open-api/openapi.json";
pub const SWAGGER_UI_PATH: &str = "/open-api/swagger-ui";

/// A page (Spring-Data shape; `number` is the 0-based page index). Documentation only:
/// `vroom_platform::model::Page` serializes to this.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageOf<T: ToSchema> {
    content: Vec<T>,
    total_pages: u64,
    total_elements: u64,
    number_of_elements: u64,
    number: u64,
    size: u32,
    first: bool,
    last: bool,
    empty: bool,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme("appCredentials", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
        components.add_security_scheme(
            "memberToken",
            SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vroom platform API",
        description = "FlipFlop Cloud-compatible server API (`/v2/apps/me`, identical under `/v2/vicollo-apps/me`) \
                       and member API (`/v2/members/me`). Errors are `{errorCode, errorMessage}`; times are RFC 3339 UTC."
    ),
    paths(
        server_api::app_info, server_api::upsert_member, server_api::list_members, server_api::get_member,
        server_api::patch_member, server_api::delete_members, server_api::login, server_api::create_room,
        server_api::list_rooms, server_api::get_room, server_api::get_room_by_uuid, server_api::patch_room,
        server_api::delete_room, server_api::end_room, server_api::cancel_room, server_api::web_rtc_tokens,
        server_api::embed_url, server_api::list_sessions, server_api::list_participants,
        member_api::me, member_api::create_room, member_api::list_rooms, member_api::get_room,
        member_api::get_room_by_uuid, member_api::patch_room, member_api::delete_room, member_api::web_rtc_tokens,
        server_api::live_participants, server_api::approve_participant, server_api::reject_participant,
        member_api::refresh_token, member_api::list_sessions, member_api::list_participants,
        member_api::live_participants, member_api::approve_participant, member_api::reject_participant,
        server_api::patch_app, server_api::remove_participant, member_api::end_room, member_api::remove_participant,
        webhooks_api::put_callback, webhooks_api::get_callback, webhooks_api::delete_callback,
        webhooks_api::list_events, webhooks_api::list_deliveries, webhooks_api::redeliver,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "server-api", description = "For the customer's backend: HTTP Basic apiKey:apiSecret"),
        (name = "member-api", description = "For client SDKs: Bearer member access token"),
        (name = "webhooks", description = "Webhook receiver, event log and delivery log (server API)"),
    )
)]
struct ApiDoc;

/// The document as served: a JSON value, because the contract rules are applied to it after
/// utoipa generated it from the handlers.
pub type Doc = Value;

/// The languages the reference is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ko,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }
}

/// The document in a language, with the `/v2/vicollo-apps/me` alias of every server-API
/// path.
pub fn document(lang: Lang) -> Doc {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    name_operations(&mut doc);
    rename_schemas(&mut doc);
    contract::apply(&mut doc);
    examples::apply(&mut doc);
    add_aliases(&mut doc);
    localized(doc, lang)
}

/// The English document in `lang`.
fn localized(mut doc: Doc, lang: Lang) -> Doc {
    if lang == Lang::Ko {
        ko::apply(&mut doc);
    }
    doc
}

/// Operation ids unique across both APIs (the member API's get a `member_` prefix), and a
/// summary on every operation (the first line of its doc comment, or one made here).
fn name_operations(doc: &mut Doc) {
    for (_, path, op) in operations_mut(doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        if path.starts_with("/v2/members") {
            op.insert("operationId".into(), json!(format!("member_{id}")));
        }
        if !op.contains_key("summary") {
            let summary = match id.as_str() {
                "get_room" => "One room, by id.",
                "get_room_by_uuid" => "One room, by uuid.",
                "patch_room" => "Updates a room (absent fields unchanged, `null` clears).",
                "delete_room" => "Deletes a room.",
                _ => "",
            };
            op.insert("summary".into(), json!(summary));
        }
    }
}

/// Every operation of the document: `(method, path, operation)`.
fn operations_mut(doc: &mut Doc) -> impl Iterator<Item = (&str, &str, &mut Map<String, Value>)> {
    doc["paths"].as_object_mut().into_iter().flat_map(|paths| {
        paths.iter_mut().flat_map(|(path, item)| {
            item.as_object_mut().into_iter().flat_map(move |item| {
                item.iter_mut()
                    .filter_map(move |(method, op)| Some((method.as_str(), path.as_str(), op.as_object_mut()?)))
            })
        })
    })
}

/// [`operations_mut`], read-only (for the tests).
#[cfg(test)]
fn operations(doc: &Doc) -> impl Iterator<Item = (&str, &str, &Map<String, Value>)> {
    doc["paths"].as_object().into_iter().flat_map(|paths| {
        paths.iter().flat_map(|(path, item)| {
            item.as_object().into_iter().flat_map(move |item| {
                item.iter().filter_map(move |(method, op)| Some((method.as_str(), path.as_str(), op.as_object()?)))
            })
        })
    })
}

/// Schema names as the contract says them: `CustomData` rather than the Rust map type, and
/// plain integers inline.
fn rename_schemas(doc: &mut Doc) {
    let schemas = doc["components"]["schemas"].as_object_mut().expect("components.schemas");
    if let Some(map) = schemas.remove("BTreeMap") {
        schemas.insert("CustomData".into(), map);
    }
    schemas.remove("i64");
    rewrite_refs(doc, &mut |schema| match schema.get("$ref").and_then(Value::as_str) {
        Some("#/components/schemas/BTreeMap") => {
            schema.insert("$ref".into(), json!("#/components/schemas/CustomData"));
        }
        Some("#/components/schemas/i64") => {
            schema.remove("$ref");
            schema.insert("type".into(), json!("integer"));
            schema.insert("format".into(), json!("int64"));
        }
        _ => {}
    });
}

/// Calls `f` on every object of the document that holds a `$ref`.
fn rewrite_refs(v: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    match v {
        Value::Object(map) if map.contains_key("$ref") => f(map),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite_refs(v, f)),
        Value::Array(a) => a.iter_mut().for_each(|v| rewrite_refs(v, f)),
        _ => {}
    }
}

fn add_aliases(doc: &mut Doc) {
    let paths = doc["paths"].as_object_mut().expect("paths");
    let aliases: Vec<(String, Value)> = paths
        .iter()
        .filter_map(|(path, item)| {
            let rest = path.strip_prefix("/v2/apps/me")?;
            let mut item = item.clone();
            for op in item.as_object_mut().into_iter().flat_map(|i| i.values_mut()) {
                let id = op["operationId"].as_str().unwrap_or_default();
                op["operationId"] = json!(format!("{id}_vicollo_alias"));
                op["tags"] = json!(["server-api (vicollo alias)"]);
            }
            Some((format!("/v2/vicollo-apps/me{rest}"), item))
        })
        .collect();
    paths.extend(aliases);
}

pub fn routes() -> Router<AppState> {
    // Built once; each language is the English document translated.
    let en = document(Lang::En);
    let docs: Arc<[(Lang, Bytes)]> = Lang::ALL
        .iter()
        .map(|&lang| (lang, Bytes::from(serde_json::to_vec(&localized(en.clone(), lang)).expect("document JSON"))))
        .collect();
    let json_of = move |lang: Lang| {
        let body = docs.iter().find(|(l, _)| *l == lang).map(|(_, b)| b.clone()).unwrap_or_default();
        move || {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }
    };
    let mut router =
        Router::new().route(OPENAPI_PATH, get(json_of(Lang::En))).route(reference::SCRIPT_PATH, get(reference::script));
    for lang in Lang::ALL {
        router = router.route(&format!("/open-api/{}/openapi.json", lang.code()), get(json_of(lang)));
        // The FlipFlop-style documentation paths: the reference, or the document itself for
        // a client that asks for JSON.
        for name in ["ffc-app-server", "vicollo-app-server"] {
            let json = json_of(lang);
            router = router.route(
                &format!("/open-api/{}/docs/{name}", lang.code()),
                get(move |headers: HeaderMap| async move {
                    if reference::wants_json(&headers) { json().await.into_response() } else { reference::page(lang) }
                }),
            );
            router = router.merge(swagger_ui(format!("/open-api/{}/swagger-ui/{name}", lang.code()), lang));
        }
    }
    router.merge(swagger_ui(SWAGGER_UI_PATH.to_owned(), Lang::En))
}

fn swagger_ui(path: String, lang: Lang) -> SwaggerUi {
    // No validator badge: it would call a public service and break offline use.
    let url = match lang {
        Lang::En => OPENAPI_PATH.to_owned(),
        Lang::Ko => "/open-api/ko/openapi.json".to_owned(),
    };
    SwaggerUi::new(path).config(Config::from(url).validator_url("none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_korean_summary() {
        assert_eq!(ko::missing(&document(Lang::En)), Vec::<String>::new());
        let ko = document(Lang::Ko);
        assert_eq!(ko["paths"]["/v2/apps/me"]["get"]["summary"], "인증된 앱 정보를 조회합니다.");
    }

    #[test]
    fn operation_ids_are_unique_and_every_response_is_described() {
        let doc = document(Lang::En);
        let mut ids: Vec<&str> = operations(&doc).map(|(_, _, op)| op["operationId"].as_str().unwrap()).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate operation ids");
        for (method, path, op) in operations(&doc) {
            for (status, r) in op["responses"].as_object().unwrap() {
                assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{status} of {method} {path}");
            }
        }
    }

    #[test]
    fn refusals_are_documented_on_every_operation_they_can_come_from() {
        let doc = document(Lang::En);
        for (method, path, op) in operations(&doc) {
            let has = |status: &str| op["responses"].get(status).is_some();
            assert!(has("429"), "429 on {method} {path}");
            if op.get("security").is_some() {
                assert!(has("401"), "401 on {method} {path}");
            }
            if op.get("requestBody").is_some() {
                assert!(has("400") && has("413") && has("408"), "body refusals on {method} {path}");
            }
            if path.contains('{') {
                assert!(has("404"), "404 on {method} {path}");
            }
        }
    }

    #[test]
    fn bodies_are_required_only_when_their_schema_requires_fields() {
        let doc = document(Lang::En);
        let body = |method: &str, path: &str| doc["paths"][path][method]["requestBody"].clone();
        assert_eq!(body("post", "/v2/apps/me/video-rooms")["required"], false);
        assert_eq!(body("patch", "/v2/apps/me/video-rooms/{id}")["required"], false);
        assert_eq!(body("post", "/v2/members/me/video-rooms/{id}/web-rtc-tokens")["required"], false);
        assert_eq!(body("post", "/v2/apps/me/members")["required"], true);
        assert_eq!(body("post", "/v2/members/refresh-token")["required"], true);
        let upsert = &doc["components"]["schemas"]["MemberUpsertInput"];
        assert_eq!(upsert["required"], json!(["appUserId"]));
        assert!(upsert["properties"]["appUserId"]["pattern"].is_string());
    }
}
