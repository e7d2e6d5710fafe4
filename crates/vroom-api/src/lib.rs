//! # vroom-api
//!
//! The HTTP surface of vroom: the server API, the member API, the OpenAPI document and
//! Swagger UI, the prebuilt meeting UI's files and pages, health and Prometheus metrics; authentication extractors and the one place
//! where errors become `{errorCode, errorMessage}` responses.
//!
//! It must not hold business rules: handlers parse, call `vroom_platform::Platform`, and
//! shape the response.

pub mod docs;
pub mod error;
pub mod extract;
pub mod member_api;
pub mod metrics;
pub mod ratelimit;
pub mod serve;
pub mod server_api;
pub mod state;
pub mod web_ui;
pub mod webhooks_api;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;
use vroom_platform::{ErrorCode, Platform};

use crate::error::ApiError;
pub use crate::state::AppState;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// State with default rate limits.
pub fn app_state(platform: Arc<Platform>) -> AppState {
    AppState { platform, metrics: Arc::default(), limits: Arc::default() }
}

/// [`app_state`] with metrics that also render counters kept outside this crate, and the
/// given rate limits.
pub fn app_state_with(
    platform: Arc<Platform>,
    metrics: metrics::HttpMetrics,
    limits: ratelimit::RateLimitConfig,
) -> AppState {
    AppState { platform, metrics: Arc::new(metrics), limits: Arc::new(ratelimit::RateLimits::new(limits)) }
}

/// The complete HTTP router (extra routers, such as signalling, are merged by the caller).
pub fn router(state: AppState) -> Router {
    let server = server_api::routes();
    Router::new()
        .route("/", get(root).head(root))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics::render))
        .nest("/v2/apps/me", server.clone())
        .nest("/v2/vicollo-apps/me", server)
        .merge(member_api::routes())
        .merge(docs::routes())
        .merge(web_ui::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(envelope_bare_errors))
        // The member API is called from browsers on other origins; tokens, not cookies,
        // authenticate, so any origin may call it.
        .layer(CorsLayer::permissive())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// LiveKit clients probe `/` before connecting.
async fn root() -> &'static str {
    "vroom\n"
}

async fn health() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

/// Refusals made by layers and routers that are not ours (Swagger UI's files, tower's
/// limits) come without a body: they get the contract's envelope, like every other error.
async fn envelope_bare_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || response.headers().contains_key(CONTENT_TYPE) {
        return response;
    }
    let code = error::code_for_status(status.as_u16());
    let reason = status.canonical_reason().unwrap_or("refused").to_lowercase();
    let mut enveloped = ApiError::new(code, reason).into_response();
    // Keep what the original answer told the client (Allow, Retry-After, CORS).
    for (name, value) in response.headers() {
        enveloped.headers_mut().entry(name).or_insert(value.clone());
    }
    enveloped
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::UnsupportedHttpMethod, "this method is not supported on this path")
}
