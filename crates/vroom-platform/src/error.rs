//! The one error type of the platform: a stable machine-readable code plus a human message.
//! The API layer maps each [`ErrorCode`] to an HTTP status in one place.

use std::fmt;

/// Error codes of the public contract (`spec/02-platform-api.md`); the spellings are part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidHttpMessageBody,
    UnsupportedHttpMethod,
    EmptyAppUserId,
    InvalidAppUserIdFormat,
    CustomTypeSizeUpperLimitExceeded,
    CustomDataItemCountUpperLimitExceeded,
    CustomDataItemNameSizeUpperLimitExceeded,
    CustomDataItemValueSizeUpperLimitExceeded,
    InvalidQueryParameter,
    UnsupportedVideoRoomType,
    InvalidVideoRoomStateTransition,
    EmptyAppCredentials,
    InvalidAppCredentials,
    EmptyAccessToken,
    InvalidAccessToken,
    ExpiredAccessToken,
    InvalidRefreshToken,
    AccessDenied,
    VideoRoomPasswordMismatch,
    AppNotFound,
    MemberNotFound,
    VideoRoomNotFound,
    NotFound,
    CallbackApiNotFound,
    EventNotFound,
    VideoRoomEnded,
    PayloadTooLarge,
    /// The request was not valid HTTP (refused by the HTTP layer before routing).
    MalformedHttpRequest,
    RequestTimeout,
    UriTooLong,
    RequestHeaderFieldsTooLarge,
    TooManyConnections,
    TooManyRequests,
    InternalServerError,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidHttpMessageBody => "INVALID_HTTP_MESSAGE_BODY",
            UnsupportedHttpMethod => "UNSUPPORTED_HTTP_METHOD",
            EmptyAppUserId => "EMPTY_APP_USER_ID",
            InvalidAppUserIdFormat => "INVALID_APP_USER_ID_FORMAT",
            CustomTypeSizeUpperLimitExceeded => "CUSTOM_TYPE_SIZE_UPPER_LIMIT_EXCEEDED",
            CustomDataItemCountUpperLimitExceeded => "CUSTOM_DATA_ITEM_COUNT_UPPER_LIMIT_EXCEEDED",
            CustomDataItemNameSizeUpperLimitExceeded => "CUSTOM_DATA_ITEM_NAME_SIZE_UPPER_LIMIT_EXCEEDED",
            CustomDataItemValueSizeUpperLimitExceeded => "CUSTOM_DATA_ITEM_VALUE_SIZE_UPPER_LIMIT_EXCEEDED",
            InvalidQueryParameter => "INVALID_QUERY_PARAMETER",
            UnsupportedVideoRoomType => "UNSUPPORTED_VIDEO_ROOM_TYPE",
            InvalidVideoRoomStateTransition => "INVALID_VIDEO_ROOM_STATE_TRANSITION",
            EmptyAppCredentials => "EMPTY_APP_CREDENTIALS",
            InvalidAppCredentials => "INVALID_APP_CREDENTIALS",
            EmptyAccessToken => "EMPTY_ACCESS_TOKEN",
            InvalidAccessToken => "INVALID_ACCESS_TOKEN",
            ExpiredAccessToken => "EXPIRED_ACCESS_TOKEN",
            InvalidRefreshToken => "INVALID_REFRESH_TOKEN",
            AccessDenied => "ACCESS_DENIED",
            VideoRoomPasswordMismatch => "VIDEO_ROOM_PASSWORD_MISMATCH",
            AppNotFound => "APP_NOT_FOUND",
            MemberNotFound => "MEMBER_NOT_FOUND",
            VideoRoomNotFound => "VIDEO_ROOM_NOT_FOUND",
            NotFound => "NOT_FOUND",
            CallbackApiNotFound => "CALLBACK_API_NOT_FOUND",
            EventNotFound => "EVENT_NOT_FOUND",
            VideoRoomEnded => "VIDEO_ROOM_ENDED",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            MalformedHttpRequest => "MALFORMED_HTTP_REQUEST",
            RequestTimeout => "REQUEST_TIMEOUT",
            UriTooLong => "URI_TOO_LONG",
            RequestHeaderFieldsTooLarge => "REQUEST_HEADER_FIELDS_TOO_LARGE",
            TooManyConnections => "TOO_MANY_CONNECTIONS",
            TooManyRequests => "TOO_MANY_REQUESTS",
            InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The HTTP status that goes with the code. Kept here, next to the codes, so the
    /// contract table lives in one place; the API crate only converts the number.
    pub const fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            EmptyAppCredentials
            | InvalidAppCredentials
            | EmptyAccessToken
            | InvalidAccessToken
            | ExpiredAccessToken
            | InvalidRefreshToken => 401,
            AccessDenied | VideoRoomPasswordMismatch => 403,
            AppNotFound | MemberNotFound | VideoRoomNotFound | NotFound | CallbackApiNotFound | EventNotFound => 404,
            VideoRoomEnded | InvalidVideoRoomStateTransition => 409,
            RequestTimeout => 408,
            PayloadTooLarge => 413,
            UriTooLong => 414,
            RequestHeaderFieldsTooLarge => 431,
            TooManyRequests | TooManyConnections => 429,
            InternalServerError => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform error: what went wrong, for the caller (`code`, `message`), and for the
/// operator (`source`, logged but never sent).
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), source: None }
    }

    /// A failure of the storage layer or another internal component. The message shown to
    /// clients is generic; the cause is kept for the logs.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            code: ErrorCode::InternalServerError,
            message: "internal server error".into(),
            source: Some(source.into()),
        }
    }

    pub fn member_not_found(app_user_id: &str) -> Self {
        Self::new(ErrorCode::MemberNotFound, format!("member '{app_user_id}' not found"))
    }

    pub fn room_not_found() -> Self {
        Self::new(ErrorCode::VideoRoomNotFound, "video room not found")
    }

    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidQueryParameter, message)
    }

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidHttpMessageBody, message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
