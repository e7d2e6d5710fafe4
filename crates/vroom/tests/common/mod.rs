//! Shared helpers of the HTTP integration tests: a real server on an ephemeral port with a
//! temporary data directory, a small HTTP client with Basic/Bearer auth, and assertions for
//! the contract's error envelope and page shape.

#![allow(dead_code)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use vroom::{RunningServer, ServeConfig};
use vroom_platform::Platform;

/// Media API key/secret every test server is configured with, so tests can verify the
/// media tokens it mints.
pub const MEDIA_KEY: &str = "test-media-key";
pub const MEDIA_SECRET: &str = "test-media-secret-0123456789abcdef0123456789";

pub const APPS_PREFIX: &str = "/v2/apps/me";
pub const VICOLLO_PREFIX: &str = "/v2/vicollo-apps/me";

/// An app's credentials, as a customer's backend holds them.
#[derive(Clone, Debug)]
pub struct AppCreds {
    pub id: i64,
    pub name: String,
    pub key: String,
    pub secret: String,
}

/// A vroom server running in this process, on its own temporary data directory.
pub struct TestServer {
    server: Option<RunningServer>,
    pub dir: TempDir,
    pub config: ServeConfig,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// An app created at start-up.
    pub app: AppCreds,
}

impl TestServer {
    /// A server with the test media key/secret and default settings.
    pub async fn start() -> Self {
        Self::start_with(|c| c).await
    }

    /// A server whose configuration `adjust` may change (data dir and media keys are set).
    pub async fn start_with(adjust: impl FnOnce(ServeConfig) -> ServeConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = adjust(ServeConfig {
            media_api_key: Some(MEDIA_KEY.into()),
            media_api_secret: Some(MEDIA_SECRET.into()),
            ..ServeConfig::for_data_dir(dir.path())
        });
        let server = vroom::start(&config).await.expect("server starts");
        let base = format!("http://{}", server.addr);
        let (app, secret) = server.platform.create_app("test-app").await.expect("create app");
        let app = AppCreds { id: app.id, name: app.name, key: app.api_key, secret };
        Self { server: Some(server), dir, config, base, app }
    }

    pub fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("server running")
    }

    pub fn platform(&self) -> &Platform {
        &self.running().platform
    }

    /// Creates another app on this server.
    pub async fn new_app(&self, name: &str) -> AppCreds {
        let (app, secret) = self.platform().create_app(name).await.expect("create app");
        AppCreds { id: app.id, name: app.name, key: app.api_key, secret }
    }

    /// The `ws://` form of the server URL (the default `webRtcServerUrl`).
    pub fn ws_url(&self) -> String {
        self.base.replacen("http://", "ws://", 1)
    }

    /// A client without credentials and without a path prefix.
    pub fn anon(&self) -> Api {
        Api::new(&self.base)
    }

    /// The server API of the start-up app under `/v2/apps/me`.
    pub fn server_api(&self) -> Api {
        self.server_api_at(APPS_PREFIX)
    }

    /// The server API of the start-up app under the given prefix.
    pub fn server_api_at(&self, prefix: &str) -> Api {
        self.server_api_for(&self.app).prefix(prefix)
    }

    /// The server API (`/v2/apps/me`) of another app.
    pub fn server_api_for(&self, app: &AppCreds) -> Api {
        self.anon().basic(&app.key, &app.secret).prefix(APPS_PREFIX)
    }

    /// The member API (`/v2/members/me`) with a Bearer access token.
    pub fn member_api(&self, access_token: &str) -> Api {
        self.anon().bearer(access_token).prefix("/v2/members/me")
    }

    /// Stops the server (graceful shutdown, database closed); the data dir is kept.
    pub async fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("clean shutdown");
        }
    }

    /// Stops the server and starts a new one on the same data directory and configuration.
    /// The port (and so `base`) changes.
    pub async fn restart(&mut self) {
        self.stop_server().await;
        let server = vroom::start(&self.config).await.expect("server restarts");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    pub async fn stop(mut self) {
        self.stop_server().await;
    }
}

/// For tests that send dozens of bad credentials from one address on purpose (to check the
/// 401s, not the limit of failed authentications, which `rate_limits.rs` covers).
pub fn without_auth_failure_limit(mut config: ServeConfig) -> ServeConfig {
    config.rate_limits.auth_failures = vroom_api::ratelimit::Limit::DISABLED;
    config
}

/// Credentials carried by an [`Api`] client.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
    /// A raw `Authorization` header value.
    Raw(String),
}

/// A small HTTP client bound to a base URL, a path prefix and credentials.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    prefix: String,
    auth: Auth,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub method: Method,
    pub url: String,
    pub status: u16,
    pub content_type: String,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    pub body: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
        Self { http, base: base.trim_end_matches('/').to_owned(), prefix: String::new(), auth: Auth::None }
    }

    pub fn prefix(&self, prefix: &str) -> Self {
        Self { prefix: prefix.to_owned(), ..self.clone() }
    }

    pub fn basic(&self, key: &str, secret: &str) -> Self {
        Self { auth: Auth::Basic(key.into(), secret.into()), ..self.clone() }
    }

    pub fn bearer(&self, token: &str) -> Self {
        Self { auth: Auth::Bearer(token.into()), ..self.clone() }
    }

    pub fn raw_auth(&self, header: &str) -> Self {
        Self { auth: Auth::Raw(header.into()), ..self.clone() }
    }

    pub fn no_auth(&self) -> Self {
        Self { auth: Auth::None, ..self.clone() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}{}", self.base, self.prefix, path)
    }

    /// Sends a request; `body` is sent as is with the given content type.
    pub async fn send(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> Resp {
        let url = self.url(path);
        let mut req = self.http.request(method.clone(), &url);
        req = match &self.auth {
            Auth::None => req,
            Auth::Basic(k, s) => req.basic_auth(k, Some(s)),
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Raw(h) => req.header(reqwest::header::AUTHORIZATION, h),
        };
        if let Some((content_type, bytes)) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, content_type).body(bytes);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let retry_after =
            resp.headers().get(reqwest::header::RETRY_AFTER).map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = resp.text().await.unwrap_or_else(|e| panic!("{method} {url}: reading body: {e}"));
        Resp { method, url, status, content_type, retry_after, body }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn head(&self, path: &str) -> Resp {
        self.send(Method::HEAD, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.json(Method::POST, path, body).await
    }

    /// A POST without any body.
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.send(Method::POST, path, None).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.json(Method::PATCH, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.json(Method::PUT, path, body).await
    }

    pub async fn json(&self, method: Method, path: &str, body: Value) -> Resp {
        self.send(method, path, Some(("application/json", serde_json::to_vec(&body).expect("json")))).await
    }

    /// Raw bytes as `application/json` (for malformed bodies).
    pub async fn raw(&self, method: Method, path: &str, bytes: impl Into<Vec<u8>>) -> Resp {
        self.send(method, path, Some(("application/json", bytes.into()))).await
    }
}

impl Resp {
    /// The body as JSON (panics with the body when it is not JSON).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} {}: body is not JSON ({e}): {:?}", self.method, self.url, self.body))
    }

    /// Asserts the status and returns the JSON body (`Null` for an empty body).
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{} {}: unexpected status; body: {}", self.method, self.url, self.body);
        if self.body.is_empty() { Value::Null } else { self.json() }
    }

    /// Asserts the documented error envelope: the status, a JSON content type, the
    /// `errorCode` and a non-empty `errorMessage`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_error(self, status, code);
    }

    /// Asserts an empty 204.
    #[track_caller]
    pub fn expect_no_content(&self) {
        assert_eq!(self.status, 204, "{} {}: unexpected status; body: {}", self.method, self.url, self.body);
        assert!(self.body.is_empty(), "{} {}: 204 with a body: {:?}", self.method, self.url, self.body);
    }
}

/// Asserts the documented error envelope `{errorCode, errorMessage}` with `status`.
#[track_caller]
pub fn assert_error(resp: &Resp, status: u16, code: &str) {
    let what = format!("{} {}", resp.method, resp.url);
    assert_eq!(resp.status, status, "{what}: unexpected status; body: {}", resp.body);
    assert_error_envelope(resp);
    let body = resp.json();
    assert_eq!(body["errorCode"], code, "{what}: unexpected errorCode; body: {}", resp.body);
}

/// Asserts that a response is a JSON error envelope (any code), never HTML or plain text.
#[track_caller]
pub fn assert_error_envelope(resp: &Resp) {
    let what = format!("{} {}", resp.method, resp.url);
    assert!(resp.status >= 400, "{what}: not an error status: {}", resp.status);
    assert!(
        resp.content_type.starts_with("application/json"),
        "{what}: error content type is {:?}; body: {}",
        resp.content_type,
        resp.body
    );
    let lower = resp.body.to_ascii_lowercase();
    assert!(!lower.contains("<html") && !lower.contains("<!doctype"), "{what}: HTML error body: {}", resp.body);
    let body: Value =
        serde_json::from_str(&resp.body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", resp.body));
    let code = body["errorCode"].as_str().unwrap_or_else(|| panic!("{what}: no errorCode: {}", resp.body));
    assert!(
        !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
        "{what}: odd errorCode {code:?}"
    );
    let message = body["errorMessage"].as_str().unwrap_or_else(|| panic!("{what}: no errorMessage: {}", resp.body));
    assert!(!message.trim().is_empty(), "{what}: empty errorMessage");
}

/// Asserts all nine Spring-Data page fields and their consistency; returns `content`.
#[track_caller]
pub fn assert_page(page: &Value, number: u64, size: u64, total_elements: u64) -> Vec<Value> {
    for field in
        ["content", "totalPages", "totalElements", "numberOfElements", "number", "size", "first", "last", "empty"]
    {
        assert!(page.get(field).is_some(), "page lacks {field}: {page}");
    }
    let content = page["content"].as_array().unwrap_or_else(|| panic!("content is not an array: {page}")).clone();
    let total_pages = total_elements.div_ceil(size);
    let expected_len = total_elements.saturating_sub(number * size).min(size);
    assert_eq!(page["number"], number, "number: {page}");
    assert_eq!(page["size"], size, "size: {page}");
    assert_eq!(page["totalElements"], total_elements, "totalElements: {page}");
    assert_eq!(page["totalPages"], total_pages, "totalPages: {page}");
    assert_eq!(content.len() as u64, expected_len, "content length: {page}");
    assert_eq!(page["numberOfElements"], expected_len, "numberOfElements: {page}");
    assert_eq!(page["first"], number == 0, "first: {page}");
    assert_eq!(page["last"], number + 1 >= total_pages, "last: {page}");
    assert_eq!(page["empty"], expected_len == 0, "empty: {page}");
    content
}

/// The values of `field` in a page's content (or an array), as strings.
pub fn field_of(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| match &v[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Asserts an RFC 3339 UTC timestamp ending in `Z`.
#[track_caller]
pub fn assert_utc(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a timestamp string: {v}"));
    assert!(s.ends_with('Z'), "timestamp not in UTC: {s}");
    assert!(s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T', "not RFC 3339: {s}");
}

/// The payload of a JWT, decoded without verification.
#[track_caller]
pub fn jwt_payload(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {token}");
    let bytes = URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_else(|e| panic!("JWT payload is not base64url ({e})"));
    serde_json::from_slice(&bytes).expect("JWT payload is JSON")
}

/// The header of a JWT, decoded without verification.
#[track_caller]
pub fn jwt_header(token: &str) -> Value {
    let head = token.split('.').next().expect("JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).expect("base64url")).expect("JSON")
}

/// Verifies a media token with the test media secret (HS256) and returns its claims.
#[track_caller]
pub fn verify_media_token(token: &str) -> Value {
    verify_media_token_with(token, MEDIA_SECRET).expect("media token verifies with the media secret")
}

pub fn verify_media_token_with(token: &str, secret: &str) -> Result<Value, jsonwebtoken::errors::Error> {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_nbf = true;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()), &validation)
        .map(|d| d.claims)
}

/// The result of `POST /members/login`.
#[derive(Debug, Clone)]
pub struct Login {
    pub access: String,
    pub refresh: String,
    pub member: Value,
}

/// Logs a member in through the server API (`api` is a server-API client); `extra` is
/// merged into the body.
pub async fn login(api: &Api, app_user_id: &str, extra: Value) -> Login {
    let mut body = json!({ "appUserId": app_user_id });
    if let Value::Object(extra) = extra {
        body.as_object_mut().unwrap().extend(extra);
    }
    let v = api.post("/members/login", body).await.expect(200);
    Login {
        access: v["accessToken"].as_str().expect("accessToken").to_owned(),
        refresh: v["refreshToken"].as_str().expect("refreshToken").to_owned(),
        member: v["member"].clone(),
    }
}

/// Creates a member through the server API, expecting 201.
pub async fn create_member(api: &Api, body: Value) -> Value {
    api.post("/members", body).await.expect(201)
}

/// Creates a room (server or member API client), expecting 201.
pub async fn create_room(api: &Api, body: Value) -> Value {
    api.post("/video-rooms", body).await.expect(201)
}

/// A room's id as a path segment.
pub fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no numeric id: {v}"))
}

/// Milliseconds of pause so that consecutive writes get distinct timestamps (stored with
/// millisecond precision).
pub async fn tick() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}
