//! Request bodies and list queries as clients send them, and their validation into domain
//! changes. Unknown fields are ignored (clients of the hosted service send extra ones);
//! wrong types are rejected by deserialization before this code runs.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};
use crate::model::*;
use crate::time;

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

pub const APP_USER_ID_MAX: usize = 128;
pub const CUSTOM_TYPE_MAX: usize = 50;
pub const CUSTOM_DATA_MAX_ITEMS: usize = 50;
pub const CUSTOM_DATA_KEY_MAX: usize = 50;
pub const CUSTOM_DATA_VALUE_MAX: usize = 1000;
/// [vroom] Bound on free-text fields that have no documented limit.
pub const TEXT_MAX: usize = 2048;
/// [vroom] Bound on a room password.
pub const PASSWORD_MAX: usize = 128;
/// `viewOptions` is stored and sent back inside rooms, events and webhooks: bounded so that
/// every document it ends up in stays small and shallow enough to read back.
pub const VIEW_OPTIONS_MAX_BYTES: usize = 16 * 1024;
pub const VIEW_OPTIONS_MAX_DEPTH: usize = 16;

/// Body of member upsert (`POST /members`, `POST /members/login`) and patch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberInput {
    /// Required on upsert and login; ignored on patch (the path names the member).
    #[serde(default)]
    pub app_user_id: Option<String>,
    #[serde(default, alias = "screenName", deserialize_with = "nullable")]
    pub app_user_name: Option<Option<String>>,
    #[serde(default, alias = "profileImgUrl", deserialize_with = "nullable")]
    pub app_user_profile_img_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub lang: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub custom_type: Option<Option<String>>,
    /// An object of string values.
    #[serde(default, deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_data: Option<Option<Value>>,
}

impl MemberInput {
    /// The validated changes (not the id).
    pub fn changes(&self) -> Result<MemberChanges> {
        Ok(MemberChanges {
            app_user_name: text("appUserName", &self.app_user_name, TEXT_MAX)?,
            app_user_profile_img_url: text("appUserProfileImgUrl", &self.app_user_profile_img_url, TEXT_MAX)?,
            email: text("email", &self.email, TEXT_MAX)?,
            country: text("country", &self.country, TEXT_MAX)?,
            lang: text("lang", &self.lang, TEXT_MAX)?,
            custom_type: custom_type(&self.custom_type)?,
            custom_data: custom_data(&self.custom_data)?,
        })
    }
}

/// Body of room create and patch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoRoomInput {
    /// Owner of a room created through the server API (default: the app's `admin` member).
    #[serde(default)]
    pub app_user_id: Option<String>,
    #[serde(default, rename = "type")]
    pub room_type: Option<VideoRoomType>,
    #[serde(default, deserialize_with = "nullable")]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    #[serde(default)]
    pub access_level: Option<AccessLevel>,
    /// RFC 3339 timestamp.
    #[serde(default, deserialize_with = "nullable")]
    pub scheduled_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub custom_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_data: Option<Option<Value>>,
    /// An empty string or `null` removes the password.
    #[serde(default, deserialize_with = "nullable")]
    pub password: Option<Option<String>>,
    #[serde(default)]
    pub manually_approval: Option<bool>,
    #[serde(default)]
    pub can_auto_room_composite_recording: Option<bool>,
    /// Any JSON object, stored and returned as is.
    #[serde(default, deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub view_options: Option<Option<Value>>,
}

impl VideoRoomInput {
    /// The validated changes and, separately, the new plain-text password (hashed by the
    /// caller outside any transaction): `None` unchanged, `Some(None)` removed.
    pub fn changes(&self) -> Result<(VideoRoomChanges, Option<Option<String>>)> {
        if self.room_type == Some(VideoRoomType::BroadcastRtmp) {
            return Err(Error::new(ErrorCode::UnsupportedVideoRoomType, "only VIDEO_CONFERENCE rooms are supported"));
        }
        let scheduled_at = match &self.scheduled_at {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => {
                Some(Some(time::parse(raw).map_err(|e| Error::invalid_body(format!("scheduledAt: {e}")))?))
            }
        };
        let view_options = match &self.view_options {
            Some(Some(v)) if !v.is_object() => {
                return Err(Error::invalid_body("viewOptions must be a JSON object"));
            }
            Some(Some(v)) if depth(v) > VIEW_OPTIONS_MAX_DEPTH => {
                return Err(Error::invalid_body(format!(
                    "viewOptions nests deeper than {VIEW_OPTIONS_MAX_DEPTH} levels"
                )));
            }
            Some(Some(v)) if v.to_string().len() > VIEW_OPTIONS_MAX_BYTES => {
                return Err(Error::invalid_body(format!(
                    "viewOptions is larger than {VIEW_OPTIONS_MAX_BYTES} bytes as JSON"
                )));
            }
            other => other.clone(),
        };
        let password = match &self.password {
            None => None,
            Some(None) => Some(None),
            Some(Some(p)) if p.is_empty() => Some(None),
            Some(Some(p)) if p.chars().count() > PASSWORD_MAX => {
                return Err(Error::invalid_body(format!("password is longer than {PASSWORD_MAX} characters")));
            }
            Some(Some(p)) => Some(Some(p.clone())),
        };
        let changes = VideoRoomChanges {
            room_type: self.room_type,
            title: text("title", &self.title, TEXT_MAX)?,
            description: text("description", &self.description, TEXT_MAX)?,
            access_level: self.access_level,
            scheduled_at,
            custom_type: custom_type(&self.custom_type)?,
            custom_data: custom_data(&self.custom_data)?,
            password_hash: None,
            manually_approval: self.manually_approval,
            can_auto_room_composite_recording: self.can_auto_room_composite_recording,
            view_options,
        };
        Ok((changes, password))
    }
}

/// Body of the media-credential requests.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcTokenInput {
    #[serde(default)]
    pub password: Option<String>,
    /// vroom extension: the grant an observer embed URL carries in its `key`; with it the
    /// member joins hidden and subscribe-only.
    #[serde(default)]
    pub observer_grant: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_data: Option<Value>,
}

impl WebRtcTokenInput {
    /// The custom data to put in the token's metadata, validated like a member's.
    pub fn validated_custom_data(&self) -> Result<Option<CustomData>> {
        if self.password.as_ref().is_some_and(|p| p.chars().count() > PASSWORD_MAX) {
            return Err(Error::invalid_body(format!("password is longer than {PASSWORD_MAX} characters")));
        }
        self.custom_data.as_ref().map(parse_custom_data).transpose()
    }
}

/// Body of `PATCH /v2/apps/me` (vroom extension): the app's own settings.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppSettingsInput {
    /// Sites that may frame the meeting page: CSP `frame-ancestors` sources such as
    /// `https://app.example.com`, `https://*.example.com`, `'self'`; `null` lets any site
    /// embed it (the default), `[]` none. Absent: unchanged.
    #[serde(default, deserialize_with = "nullable")]
    pub embed_frame_ancestors: Option<Option<Vec<String>>>,
}

/// At most this many `frame-ancestors` sources per app.
pub const FRAME_ANCESTORS_MAX: usize = 32;

impl AppSettingsInput {
    /// Each source must be one CSP source expression that a header can carry as is.
    pub fn validate(&self) -> Result<()> {
        let Some(Some(sources)) = &self.embed_frame_ancestors else { return Ok(()) };
        if sources.len() > FRAME_ANCESTORS_MAX {
            return Err(Error::invalid_body(format!(
                "embedFrameAncestors holds at most {FRAME_ANCESTORS_MAX} sources"
            )));
        }
        for source in sources {
            if !frame_ancestor_source(source) {
                return Err(Error::invalid_body(format!(
                    "embedFrameAncestors: {source:?} is not a source such as https://app.example.com, \
                     https://*.example.com, https: or 'self'"
                )));
            }
        }
        Ok(())
    }
}

/// `'self'`, a scheme (`https:`), or `scheme://host[:port]` where host may start with `*.`.
fn frame_ancestor_source(s: &str) -> bool {
    if s == "'self'" {
        return true;
    }
    if let Some(scheme) = s.strip_suffix(':') {
        return matches!(scheme, "https" | "http");
    }
    let Some((scheme, authority)) = s.split_once("://") else { return false };
    if !matches!(scheme, "https" | "http") || authority.is_empty() || authority.len() > 253 {
        return false;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host_ok = !host.is_empty()
        && host
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let port_ok =
        port.is_none_or(|p| p == "*" || (!p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit())));
    host_ok && port_ok
}

/// Body of the embed-URL request.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedUrlInput {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, alias = "observer")]
    pub is_observer: Option<bool>,
    #[serde(default)]
    pub draw_layout_type: Option<String>,
    #[serde(default)]
    pub draw_layout_position: Option<String>,
}

impl EmbedUrlInput {
    /// Every field ends up in the URL: bounded like other free text.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("displayName", &self.display_name),
            ("drawLayoutType", &self.draw_layout_type),
            ("drawLayoutPosition", &self.draw_layout_position),
        ] {
            text(field, &Some(v.clone()), TEXT_MAX)?;
        }
        Ok(())
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshTokenInput {
    pub refresh_token: String,
}

/// Validates an `appUserId`: 1–128 characters of `[A-Za-z0-9_.@-]`.
pub fn app_user_id(raw: Option<&str>) -> Result<String> {
    let id = raw.unwrap_or_default();
    if id.is_empty() {
        return Err(Error::new(ErrorCode::EmptyAppUserId, "appUserId is required"));
    }
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-');
    if id.len() > APP_USER_ID_MAX || !id.chars().all(valid_char) {
        return Err(Error::new(
            ErrorCode::InvalidAppUserIdFormat,
            format!("appUserId must be 1-{APP_USER_ID_MAX} characters of A-Z a-z 0-9 _ . @ -"),
        ));
    }
    Ok(id.to_owned())
}

fn text(field: &str, v: &Option<Option<String>>, max: usize) -> Result<Option<Option<String>>> {
    if let Some(Some(s)) = v
        && s.chars().count() > max
    {
        return Err(Error::invalid_body(format!("{field} is longer than {max} characters")));
    }
    Ok(v.clone())
}

/// Nesting depth of objects and arrays (a scalar is 0, `{}` is 1).
fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn custom_type(v: &Option<Option<String>>) -> Result<Option<Option<String>>> {
    if let Some(Some(s)) = v
        && s.chars().count() > CUSTOM_TYPE_MAX
    {
        return Err(Error::new(
            ErrorCode::CustomTypeSizeUpperLimitExceeded,
            format!("customType is longer than {CUSTOM_TYPE_MAX} characters"),
        ));
    }
    Ok(v.clone())
}

fn custom_data(v: &Option<Option<Value>>) -> Result<Option<Option<CustomData>>> {
    match v {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(value)) => Ok(Some(Some(parse_custom_data(value)?))),
    }
}

/// Validates a `customData` object: string values only, within the documented limits.
pub fn parse_custom_data(value: &Value) -> Result<CustomData> {
    let Value::Object(map) = value else {
        return Err(Error::invalid_body("customData must be a JSON object of string values"));
    };
    if map.len() > CUSTOM_DATA_MAX_ITEMS {
        return Err(Error::new(
            ErrorCode::CustomDataItemCountUpperLimitExceeded,
            format!("customData has more than {CUSTOM_DATA_MAX_ITEMS} items"),
        ));
    }
    let mut out = CustomData::new();
    for (k, v) in map {
        if k.chars().count() > CUSTOM_DATA_KEY_MAX {
            return Err(Error::new(
                ErrorCode::CustomDataItemNameSizeUpperLimitExceeded,
                format!("customData key is longer than {CUSTOM_DATA_KEY_MAX} characters"),
            ));
        }
        let Value::String(s) = v else {
            return Err(Error::invalid_body(format!("customData.{k} must be a string")));
        };
        if s.chars().count() > CUSTOM_DATA_VALUE_MAX {
            return Err(Error::new(
                ErrorCode::CustomDataItemValueSizeUpperLimitExceeded,
                format!("customData.{k} is longer than {CUSTOM_DATA_VALUE_MAX} characters"),
            ));
        }
        out.insert(k.clone(), s.clone());
    }
    Ok(out)
}

/// Validates the 1-based `page` and `pageSize` query parameters.
pub fn page_request(page: Option<i64>, page_size: Option<i64>) -> Result<PageRequest> {
    let page = page.unwrap_or(1);
    let size = page_size.unwrap_or(i64::from(PageRequest::DEFAULT_SIZE));
    if page < 1 || page > i64::from(u32::MAX) {
        return Err(Error::invalid_query("page must be a positive integer (1-based)"));
    }
    if size < 1 || size > i64::from(PageRequest::MAX_SIZE) {
        return Err(Error::invalid_query(format!("pageSize must be between 1 and {}", PageRequest::MAX_SIZE)));
    }
    Ok(PageRequest { page: page as u32, size: size as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn app_user_id_rules() {
        assert_eq!(app_user_id(Some("a.b_c@d-1")).unwrap(), "a.b_c@d-1");
        assert_eq!(app_user_id(None).unwrap_err().code, ErrorCode::EmptyAppUserId);
        assert_eq!(app_user_id(Some("")).unwrap_err().code, ErrorCode::EmptyAppUserId);
        assert_eq!(app_user_id(Some("a b")).unwrap_err().code, ErrorCode::InvalidAppUserIdFormat);
        assert_eq!(app_user_id(Some("é")).unwrap_err().code, ErrorCode::InvalidAppUserIdFormat);
        assert!(app_user_id(Some(&"x".repeat(128))).is_ok());
        assert_eq!(app_user_id(Some(&"x".repeat(129))).unwrap_err().code, ErrorCode::InvalidAppUserIdFormat);
    }

    #[test]
    fn absent_null_and_value_are_distinct() {
        let input: MemberInput =
            serde_json::from_value(json!({"appUserId":"a","email":null,"screenName":"N"})).unwrap();
        let c = input.changes().unwrap();
        assert_eq!(c.email, Some(None));
        assert_eq!(c.app_user_name, Some(Some("N".into())));
        assert_eq!(c.country, None);
    }

    #[test]
    fn view_options_are_bounded_in_depth_and_size() {
        let nested = |levels: usize| {
            let mut v = json!({});
            for _ in 1..levels {
                v = json!({ "a": v });
            }
            v
        };
        let changes = |v: Value| VideoRoomInput { view_options: Some(Some(v)), ..Default::default() }.changes();
        assert!(changes(nested(VIEW_OPTIONS_MAX_DEPTH)).is_ok());
        assert_eq!(changes(nested(VIEW_OPTIONS_MAX_DEPTH + 1)).unwrap_err().code, ErrorCode::InvalidHttpMessageBody);
        assert!(changes(json!({ "k": "v".repeat(VIEW_OPTIONS_MAX_BYTES - 20) })).is_ok());
        assert_eq!(
            changes(json!({ "k": "v".repeat(VIEW_OPTIONS_MAX_BYTES) })).unwrap_err().code,
            ErrorCode::InvalidHttpMessageBody
        );
    }

    #[test]
    fn custom_data_limits() {
        let code = |v: Value| parse_custom_data(&v).unwrap_err().code;
        assert_eq!(code(json!({"a": 1})), ErrorCode::InvalidHttpMessageBody);
        assert_eq!(code(json!([1])), ErrorCode::InvalidHttpMessageBody);
        assert_eq!(code(json!({"k".repeat(51): "v"})), ErrorCode::CustomDataItemNameSizeUpperLimitExceeded);
        assert_eq!(code(json!({"k": "v".repeat(1001)})), ErrorCode::CustomDataItemValueSizeUpperLimitExceeded);
        let many: serde_json::Map<String, Value> = (0..51).map(|i| (i.to_string(), json!("v"))).collect();
        assert_eq!(code(Value::Object(many)), ErrorCode::CustomDataItemCountUpperLimitExceeded);
        assert_eq!(parse_custom_data(&json!({"k": "v"})).unwrap().len(), 1);
    }

    #[test]
    fn page_bounds() {
        assert_eq!(page_request(None, None).unwrap(), PageRequest { page: 1, size: 20 });
        assert!(page_request(Some(0), None).is_err());
        assert!(page_request(None, Some(101)).is_err());
        assert!(page_request(None, Some(0)).is_err());
        assert_eq!(page_request(Some(3), Some(100)).unwrap().offset(), 200);
    }

    #[test]
    fn room_type_and_password_rules() {
        let input: VideoRoomInput = serde_json::from_value(json!({"type":"BROADCAST_RTMP"})).unwrap();
        assert_eq!(input.changes().unwrap_err().code, ErrorCode::UnsupportedVideoRoomType);
        assert!(serde_json::from_value::<VideoRoomInput>(json!({"type":"NOPE"})).is_err());
        let input: VideoRoomInput = serde_json::from_value(json!({"password":""})).unwrap();
        assert_eq!(input.changes().unwrap().1, Some(None));
        let input: VideoRoomInput = serde_json::from_value(json!({"scheduledAt":"2026-01-01T09:00:00+09:00"})).unwrap();
        let at = input.changes().unwrap().0.scheduled_at.unwrap().unwrap();
        assert_eq!(time::format(&at), "2026-01-01T00:00:00.000Z");
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            // Whatever JSON arrives, validation answers with a client error, never a panic.
            #[test]
            fn arbitrary_member_bodies_never_panic(s in ".{0,200}") {
                if let Ok(input) = serde_json::from_str::<MemberInput>(&s) {
                    let _ = input.changes();
                    let _ = app_user_id(input.app_user_id.as_deref());
                }
            }

            #[test]
            fn app_user_id_accepts_exactly_the_alphabet(s in "[A-Za-z0-9_.@-]{1,128}") {
                prop_assert!(app_user_id(Some(&s)).is_ok());
            }
        }
    }
}
