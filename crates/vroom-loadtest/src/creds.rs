//! Where tokens come from: minted here from a LiveKit API key and secret (any LiveKit
//! server), or asked from a vroom server's member API with an app's credentials (rooms
//! are created there first, since vroom only admits existing video rooms).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

/// One participant's way in.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Signalling base URL (`ws[s]://…`).
    pub url: String,
    pub token: String,
    pub room: String,
    pub identity: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VideoGrant<'a> {
    room: &'a str,
    room_join: bool,
    can_publish: bool,
    can_subscribe: bool,
    can_publish_data: bool,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    name: &'a str,
    nbf: u64,
    exp: u64,
    video: VideoGrant<'a>,
}

/// A LiveKit access token (HS256 JWT) valid for `ttl`.
pub fn mint(api_key: &str, api_secret: &str, room: &str, identity: &str, ttl: Duration) -> anyhow::Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let claims = Claims {
        iss: api_key,
        sub: identity,
        name: identity,
        nbf: now.saturating_sub(10),
        exp: now + ttl.as_secs(),
        video: VideoGrant { room, room_join: true, can_publish: true, can_subscribe: true, can_publish_data: true },
    };
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    Ok(jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(api_secret.as_bytes()))?)
}

/// The vroom member API, driven with an app's API key and secret.
pub struct VroomApp {
    http: reqwest::Client,
    base: String,
    key: String,
    secret: String,
}

impl VroomApp {
    /// `base` is the server's HTTP URL; `credentials` is `apiKey:apiSecret`.
    pub fn new(base: &str, credentials: &str) -> anyhow::Result<Self> {
        let (key, secret) = credentials
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--vroom-app needs KEY:SECRET (an app's API key and secret)"))?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self { http, base: base.trim_end_matches('/').to_owned(), key: key.into(), secret: secret.into() })
    }

    async fn call(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let response = request.send().await.map_err(|e| anyhow::anyhow!("{what}: cannot reach {}: {e}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let reason = body.get("errorMessage").and_then(Value::as_str).unwrap_or("no reason given");
            anyhow::bail!("{what} failed: HTTP {} {reason}", status.as_u16());
        }
        Ok(body)
    }

    /// Logs a member in (creating it) and returns its access token.
    pub async fn member_token(&self, app_user_id: &str) -> anyhow::Result<String> {
        let body = self
            .call(
                self.http
                    .post(format!("{}/v2/apps/me/members/login", self.base))
                    .basic_auth(&self.key, Some(&self.secret))
                    .json(&json!({"appUserId": app_user_id, "appUserName": app_user_id})),
                "member login",
            )
            .await?;
        body.get("accessToken")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("member login: no accessToken in the answer"))
    }

    /// Creates a video room owned by the member; returns its id.
    pub async fn create_room(&self, member_token: &str, title: &str) -> anyhow::Result<i64> {
        let body = self
            .call(
                self.http
                    .post(format!("{}/v2/members/me/video-rooms", self.base))
                    .bearer_auth(member_token)
                    .json(&json!({"title": title})),
                "video room creation",
            )
            .await?;
        body.get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| anyhow::anyhow!("video room creation: no id in the answer"))
    }

    /// Media credentials of a member for a room: `(webRtcServerUrl, webRtcToken)`.
    pub async fn media_ticket(&self, member_token: &str, room_id: i64) -> anyhow::Result<(String, String)> {
        let body = self
            .call(
                self.http
                    .post(format!("{}/v2/members/me/video-rooms/{room_id}/web-rtc-tokens", self.base))
                    .bearer_auth(member_token)
                    .json(&json!({})),
                "media credentials",
            )
            .await?;
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        match (field("webRtcServerUrl"), field("webRtcToken")) {
            (Some(url), Some(token)) => Ok((url, token)),
            _ => anyhow::bail!("media credentials: webRtcServerUrl/webRtcToken missing in the answer"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_carry_the_livekit_grant() {
        let token = mint("k", "s", "r1", "alice", Duration::from_secs(60)).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        let data =
            jsonwebtoken::decode::<Value>(&token, &jsonwebtoken::DecodingKey::from_secret(b"s"), &validation).unwrap();
        assert_eq!(data.claims["iss"], "k");
        assert_eq!(data.claims["sub"], "alice");
        assert_eq!(data.claims["video"]["room"], "r1");
        assert_eq!(data.claims["video"]["roomJoin"], true);
    }
}
