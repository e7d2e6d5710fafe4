//! Extractors whose rejections are contract errors instead of axum's plain-text ones.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use serde::de::DeserializeOwned;
use vroom_platform::model::{App, AppRef, Member};
use vroom_platform::{ErrorCode, Platform};

use crate::error::ApiError;
use crate::metrics::LimitedApi;
use crate::ratelimit;
use crate::state::AppState;

/// A JSON body. A missing body (no bytes) deserializes from `{}` so that endpoints whose
/// body is optional accept none.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than 1 MiB")
            } else if timed_out(&rejection) {
                ApiError::new(ErrorCode::RequestTimeout, "the request body did not arrive in time")
            } else {
                ApiError::new(ErrorCode::InvalidHttpMessageBody, format!("cannot read the request body: {rejection}"))
            }
        })?;
        let bytes: &[u8] = if is_blank(&bytes) { b"{}" } else { &bytes };
        // Every body of the contract is a JSON object. Without this check serde would also
        // accept an array as a struct (fields by position), e.g. `["alice"]` as an upsert.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(ApiError::new(ErrorCode::InvalidHttpMessageBody, "the request body must be a JSON object"));
        }
        // What is accepted is stored and later sent inside larger documents (events,
        // webhooks): bounded here, once for every free-form field, so that nothing accepted
        // can be too deep to read back.
        if json_depth(bytes) > MAX_BODY_DEPTH {
            return Err(ApiError::new(
                ErrorCode::InvalidHttpMessageBody,
                format!("the request body nests deeper than {MAX_BODY_DEPTH} levels"),
            ));
        }
        serde_json::from_slice(bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::new(ErrorCode::InvalidHttpMessageBody, format!("invalid JSON body: {e}")))
    }
}

/// Whether there is no body at all, which counts as `{}` (clients send bodyless requests
/// where every field is optional). A body of only whitespace is not JSON: refused, like any
/// other body that is not a JSON object (schemathesis ST201 found `" "` accepted, and before
/// that a lone form feed).
fn is_blank(bytes: &[u8]) -> bool {
    bytes.is_empty()
}

/// Deepest nesting of objects and arrays accepted in a request body (the body itself is
/// level 1). serde_json reads up to 128 levels; documents that embed a stored value (an
/// event wraps a room in four more) must stay well under that.
pub const MAX_BODY_DEPTH: usize = 32;

/// Nesting depth of the JSON text's objects and arrays, brackets inside strings ignored.
/// Counted on the bytes so a deep body costs nothing to refuse.
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Whether reading a body failed because its time ran out (`RequestBodyTimeoutLayer`).
fn timed_out(rejection: &axum::extract::rejection::BytesRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(e) = source {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Query parameters; any malformed value is `INVALID_QUERY_PARAMETER`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::new(ErrorCode::InvalidQueryParameter, e.body_text()))
    }
}

/// Path parameters; a value of the wrong shape (e.g. a non-numeric id) names nothing that
/// exists, so it is a 404 of the given kind.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::new(ErrorCode::NotFound, format!("no such resource: {}", e.body_text())))
    }
}

fn authorization(parts: &Parts) -> Option<&str> {
    parts.headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or_default().trim())
}

/// The app authenticated by HTTP Basic `apiKey:apiSecret` (server API).
pub struct AuthApp(pub App);

impl AuthApp {
    pub fn app_ref(&self) -> AppRef {
        self.0.as_ref()
    }
}

impl FromRequestParts<AppState> for AuthApp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let parts = &*parts;
        let app = ratelimit::authenticate(state, ratelimit::client_ip(parts), LimitedApi::Server, async {
            let invalid = || ApiError::new(ErrorCode::InvalidAppCredentials, "expected HTTP Basic apiKey:apiSecret");
            let header = authorization(parts).filter(|h| !h.is_empty()).ok_or_else(|| {
                ApiError::new(ErrorCode::EmptyAppCredentials, "missing Authorization: Basic apiKey:apiSecret")
            })?;
            let (scheme, encoded) = header.split_once(' ').ok_or_else(invalid)?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(invalid());
            }
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
            let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
            let (key, secret) = decoded.split_once(':').ok_or_else(invalid)?;
            Ok(platform(state).authenticate_app(key, secret).await?)
        })
        .await?;
        ratelimit::app_request(state, app.id)?;
        Ok(AuthApp(app))
    }
}

/// The member authenticated by `Authorization: Bearer <accessToken>` (member API).
pub struct AuthMember(pub Member);

impl FromRequestParts<AppState> for AuthMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let parts = &*parts;
        let member = ratelimit::authenticate(state, ratelimit::client_ip(parts), LimitedApi::Member, async {
            let header = authorization(parts).filter(|h| !h.is_empty()).ok_or_else(|| {
                ApiError::new(ErrorCode::EmptyAccessToken, "missing Authorization: Bearer <accessToken>")
            })?;
            let token = match header.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                    token.trim()
                }
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidAccessToken,
                        "expected Authorization: Bearer <accessToken>",
                    ));
                }
            };
            Ok(platform(state).authenticate_member(token).await?)
        })
        .await?;
        ratelimit::member_request(state, member.id)?;
        Ok(AuthMember(member))
    }
}

fn platform(state: &AppState) -> &Platform {
    &state.platform
}

#[cfg(test)]
mod tests {
    use super::{is_blank, json_depth};

    #[test]
    fn only_an_empty_body_is_no_body() {
        assert!(is_blank(b""));
        assert!(!is_blank(b" "), "whitespace alone is not a JSON document");
        assert!(!is_blank(b" \t\r\n"));
        assert!(!is_blank(b"\x0c"));
        assert!(!is_blank(b" {}"));
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(json_depth(b"{}"), 1);
        assert_eq!(json_depth(br#"{"a":[{"b":1}],"c":{}}"#), 3);
        assert_eq!(json_depth(br#"{"a":"[[[[{{{{","b":"\"[[["}"#), 1);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(json_depth(deep.as_bytes()), 200);
    }
}
