//! The OpenAPI 3.1 document (generated from the handlers) and Swagger UI, served by vroom
//! itself from a copy vendored at build time: the docs render offline.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, ResponseBuilder};
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

/// Every operation of the server and member APIs may answer 429 (see `crate::ratelimit`):
/// documented here once rather than on each of the dozens of handlers, so none is missed.
struct TooManyRequests;

impl Modify for TooManyRequests {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let response = ResponseBuilder::new()
            .description("TOO_MANY_REQUESTS: a rate limit of the caller or of its address was exceeded")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1))))
                    .description(Some("seconds to wait before retrying"))
                    .build(),
            )
            .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
            .build();
        for item in api.paths.paths.values_mut() {
            for op in operations(item) {
                op.responses.responses.insert("429".to_owned(), response.clone().into());
            }
        }
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
        webhooks_api::put_callback, webhooks_api::get_callback, webhooks_api::delete_callback,
        webhooks_api::list_events, webhooks_api::list_deliveries, webhooks_api::redeliver,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&SecuritySchemes, &TooManyRequests),
    tags(
        (name = "server-api", description = "For the customer's backend: HTTP Basic apiKey:apiSecret"),
        (name = "member-api", description = "For client SDKs: Bearer member access token"),
        (name = "webhooks", description = "Webhook receiver, event log and delivery log (server API)"),
    )
)]
struct ApiDoc;

/// The document, with the `/v2/vicollo-apps/me` alias of every server-API path.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let aliases: Vec<_> = api
        .paths
        .paths
        .iter()
        .filter_map(|(path, item)| {
            let rest = path.strip_prefix("/v2/apps/me")?;
            let mut item = item.clone();
            for op in operations(&mut item) {
                op.operation_id = op.operation_id.take().map(|id| format!("{id}_vicollo_alias"));
                op.tags = Some(vec!["server-api (vicollo alias)".to_owned()]);
            }
            Some((format!("/v2/vicollo-apps/me{rest}"), item))
        })
        .collect();
    api.paths.paths.extend(aliases);
    api
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
        .into_iter()
        .filter_map(Option::as_mut)
}

pub fn routes() -> Router<AppState> {
    let doc = openapi();
    let json = move || {
        let doc = doc.clone();
        async move { Json(doc) }
    };
    let mut router = Router::new().route(OPENAPI_PATH, get(json.clone()));
    // The FlipFlop-style documentation paths serve the same document and UI.
    for (lang, name) in
        [("en", "ffc-app-server"), ("en", "vicollo-app-server"), ("ko", "ffc-app-server"), ("ko", "vicollo-app-server")]
    {
        router = router.route(&format!("/open-api/{lang}/docs/{name}"), get(json.clone()));
        router = router.merge(swagger_ui(format!("/open-api/{lang}/swagger-ui/{name}")));
    }
    router.merge(swagger_ui(SWAGGER_UI_PATH.to_owned()))
}

fn swagger_ui(path: String) -> SwaggerUi {
    // No validator badge: it would call a public service and break offline use.
    SwaggerUi::new(path).config(Config::from(OPENAPI_PATH).validator_url("none"))
}
