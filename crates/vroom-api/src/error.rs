//! The single mapping from errors to responses: `{errorCode, errorMessage}` with the
//! status the contract gives the code.

use axum::Json;
use axum::http::StatusCode;
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

#[derive(Debug)]
pub struct ApiError(pub Error);

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Error::new(code, message))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Error { code, message, source } = self.0;
        if code == ErrorCode::InternalServerError {
            tracing::error!(error = ?source, "internal error");
        }
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(ErrorBody { error_code: code.as_str().to_owned(), error_message: message })).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
