//! Use cases of webhook registration, the event log and the delivery log.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::event::EventType;
use crate::input;
use crate::model::{AppRef, Page, PageRequest, VideoRoomId};
use crate::service::Platform;
use crate::store::EventFilter;
use crate::time;
use crate::token;
use crate::webhook::{CallbackApi, WebhookDelivery};

/// Body of `PUT /callback-api`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackApiInput {
    /// An http(s) URL that receives the events.
    pub url: String,
    /// Basic-auth user sent with every event (optional).
    #[serde(default)]
    pub access_id: Option<String>,
    /// Basic-auth password sent with every event (optional).
    #[serde(default)]
    pub access_password: Option<String>,
}

/// The registration as returned; `signingSecret` only by `PUT`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackApiView {
    pub url: String,
    pub access_id: Option<String>,
    pub has_access_password: bool,
    /// Key of the `X-Vroom-Signature` HMAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

impl CallbackApiView {
    fn of(c: &CallbackApi, with_secret: bool) -> Self {
        Self {
            url: c.url.clone(),
            access_id: c.access_id.clone(),
            has_access_password: c.access_password.is_some(),
            signing_secret: with_secret.then(|| c.signing_secret.clone()),
        }
    }
}

/// Query of the event log.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub video_room_id: Option<VideoRoomId>,
    pub after_seq: Option<i64>,
    pub event_type: Option<EventType>,
}

/// Longest accepted receiver URL, in bytes.
pub const URL_MAX: usize = 2048;

/// What a receiver URL must match, whole: http(s), a host name of letter-initial labels or a
/// dotted IPv4 address (a bare number is refused: URL parsers take `http://1` for 0.0.0.1),
/// an optional port 1–65535, a path and a query of URL characters (no fragment, no user
/// info). The OpenAPI document states the same pattern, so what the schema admits and what
/// the server accepts are one rule.
pub const CALLBACK_URL_PATTERN: &str = concat!(
    r"^https?://",
    r"([A-Za-z][A-Za-z0-9-]*(\.[A-Za-z][A-Za-z0-9-]*)*",
    r"|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})",
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?",
    r"(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?",
    r"(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$",
);

fn valid_callback_url(raw: &str) -> Result<url::Url> {
    static PATTERN: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(CALLBACK_URL_PATTERN).expect("CALLBACK_URL_PATTERN compiles"));
    if raw.len() > URL_MAX || !PATTERN.is_match(raw) {
        return Err(Error::invalid_body(format!(
            "url must be an http(s) URL with a host name or IPv4 address, an optional port and path, of at most {URL_MAX} characters"
        )));
    }
    url::Url::parse(raw).map_err(|e| Error::invalid_body(format!("url is not a valid URL: {e}")))
}

impl Platform {
    pub async fn put_callback_api(&self, app: &AppRef, body: &CallbackApiInput) -> Result<CallbackApiView> {
        let url = valid_callback_url(&body.url)?;
        let non_empty = |v: &Option<String>| v.as_ref().filter(|s| !s.is_empty()).cloned();
        let callback = CallbackApi {
            app_id: app.id,
            url: url.to_string(),
            access_id: non_empty(&body.access_id),
            access_password: non_empty(&body.access_password),
            signing_secret: format!("whsec_{}", token::random_secret()),
        };
        for (name, v) in [("accessId", &callback.access_id), ("accessPassword", &callback.access_password)] {
            if v.as_ref().is_some_and(|s| s.chars().count() > input::TEXT_MAX) {
                return Err(Error::invalid_body(format!("{name} is too long")));
            }
        }
        let stored = self.store.put_callback_api(&callback, time::now()).await?;
        Ok(CallbackApiView::of(&stored, true))
    }

    pub async fn get_callback_api(&self, app: &AppRef) -> Result<CallbackApiView> {
        let c = self.store.callback_api(app.id).await?.ok_or_else(no_callback)?;
        Ok(CallbackApiView::of(&c, false))
    }

    pub async fn delete_callback_api(&self, app: &AppRef) -> Result<()> {
        if self.store.delete_callback_api(app.id).await? { Ok(()) } else { Err(no_callback()) }
    }

    pub async fn list_events(
        &self,
        app: &AppRef,
        q: &EventQuery,
        page: PageRequest,
    ) -> Result<Page<serde_json::Value>> {
        let filter = EventFilter { video_room_id: q.video_room_id, after_seq: q.after_seq, event_type: q.event_type };
        self.store.list_events(app.id, &filter, page).await
    }

    pub async fn list_deliveries(&self, app: &AppRef, page: PageRequest) -> Result<Page<WebhookDelivery>> {
        self.store.list_deliveries(app.id, page).await
    }

    pub async fn redeliver(&self, app: &AppRef, event_id: &str) -> Result<WebhookDelivery> {
        if self.store.callback_api(app.id).await?.is_none() {
            return Err(no_callback());
        }
        self.store
            .redeliver(app.id, event_id, time::now())
            .await?
            .ok_or_else(|| Error::new(ErrorCode::EventNotFound, format!("no event '{event_id}'")))
    }
}

fn no_callback() -> Error {
    Error::new(ErrorCode::CallbackApiNotFound, "no callback API is registered for this app")
}

#[cfg(test)]
mod tests {
    use super::valid_callback_url;

    #[test]
    fn receiver_urls_follow_the_documented_pattern() {
        for ok in [
            "http://localhost:9",
            "https://hooks.example.com/vroom/events?token=a%20b&x=1",
            "https://example.com/a/b",
            "http://10.0.0.5:8080/hook",
            "https://a-b.example:65535",
        ] {
            assert!(valid_callback_url(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "http://1",
            "http://0x7f",
            "http://256.1.1.1",
            "http://example.com:0",
            "http://example.com:65536",
            "ftp://example.com",
            " http://example.com",
            "http://example.com\n",
            "http://exa mple.com",
            "http://[::1]/",
            "http://example.com/a b",
            "http://user@example.com",
        ] {
            assert!(valid_callback_url(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("http://example.com/{}", "a".repeat(super::URL_MAX));
        assert!(valid_callback_url(&long).is_err());
    }
}
