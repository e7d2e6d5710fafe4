//! The single mapping from errors to responses: `{errorCode, errorMessage}` with the
//! status the contract gives the code.

use std::time::Duration;

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vroom_platform::{Error, ErrorCode};

/// The error body of every API failure.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `VIDEO_ROOM_NOT_FOUND`.
    pub error_code: String,
    pub error_message: String,
}

/// The code of a refusal that came with only a status (hyper's own answers, layers that
/// are not ours).
pub fn code_for_status(status: u16) -> ErrorCode {
    match status {
        404 => ErrorCode::NotFound,
        405 => ErrorCode::UnsupportedHttpMethod,
        408 => ErrorCode::RequestTimeout,
        413 => ErrorCode::PayloadTooLarge,
        414 => ErrorCode::UriTooLong,
        429 => ErrorCode::TooManyRequests,
        431 => ErrorCode::RequestHeaderFieldsTooLarge,
        // hyper's answer to a request in an HTTP version it does not serve.
        505 => ErrorCode::MalformedHttpRequest,
        500.. => ErrorCode::InternalServerError,
        _ => ErrorCode::MalformedHttpRequest,
    }
}

#[derive(Debug)]
pub struct ApiError(pub Error, RetryAfter);

/// Whole seconds for a `Retry-After` header (429 answers), at least 1.
#[derive(Debug, Default)]
struct RetryAfter(Option<u64>);

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::from(Error::new(code, message))
    }

    /// Adds `Retry-After`: the wait rounded up to whole seconds, never 0.
    pub fn retry_after(self, wait: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self(self.0, RetryAfter(Some(secs.max(1))))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e, RetryAfter::default())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Self(Error { code, message, source }, RetryAfter(retry_after)) = self;
        if code == ErrorCode::InternalServerError {
            tracing::error!(error = ?source, "internal error");
        }
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            (status, Json(ErrorBody { error_code: code.as_str().to_owned(), error_message: message })).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
