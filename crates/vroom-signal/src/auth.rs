//! LiveKit access tokens: where they are found, how they are verified, what they grant.
//!
//! Tokens are HS256 JWTs whose `iss` is the media API key. The claims are read leniently
//! (every field optional, LiveKit's grant defaults applied) so tokens minted by LiveKit's
//! own server SDKs work as well as vroom's.

use axum::http::{HeaderMap, StatusCode, header};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::Deserialize;
use vroom_media::{JoinRequest, MediaPermission};

/// Longest identity or room name accepted.
const MAX_NAME: usize = 256;
/// Largest metadata (and attributes, all together) accepted from a token.
const MAX_METADATA: usize = 64 * 1024;
/// Most attributes accepted from a token.
const MAX_ATTRIBUTES: usize = 64;

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Claims {
    iss: String,
    sub: String,
    name: String,
    metadata: String,
    attributes: std::collections::BTreeMap<String, String>,
    video: Option<VideoGrant>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct VideoGrant {
    room: String,
    room_join: bool,
    can_publish: Option<bool>,
    can_subscribe: Option<bool>,
    can_publish_data: Option<bool>,
    can_update_own_metadata: bool,
    hidden: bool,
}

/// A refusal, as an HTTP status and a plain-text reason (what `/rtc/validate` returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: StatusCode,
    pub reason: String,
}

impl Refused {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self { status, reason: reason.into() }
    }
}

/// Verifies tokens against one API key and secret, and signs their refreshed copies.
#[derive(Clone)]
pub struct TokenVerifier {
    api_key: String,
    key: DecodingKey,
    signing: EncodingKey,
}

/// A verified token's claims, to sign again with a later expiry ([`TokenVerifier::refresh`]).
#[derive(Debug, Clone)]
pub struct Renewable {
    claims: serde_json::Map<String, serde_json::Value>,
    /// How long each copy is valid (the original's `exp` − `nbf`, or − `iat`), seconds.
    pub lifetime_s: i64,
    /// When the original expires (Unix seconds).
    pub expires_at: i64,
}

impl TokenVerifier {
    pub fn new(api_key: &str, api_secret: &str) -> Self {
        Self {
            api_key: api_key.to_owned(),
            key: DecodingKey::from_secret(api_secret.as_bytes()),
            signing: EncodingKey::from_secret(api_secret.as_bytes()),
        }
    }

    fn validation() -> Validation {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 60;
        validation.set_required_spec_claims(&["exp"]);
        validation
    }

    /// The claims of a token [`TokenVerifier::verify`] accepted, kept whole (fields vroom
    /// does not read included), so that a refreshed copy grants exactly the same.
    pub fn renewable(&self, token: &str) -> Option<Renewable> {
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &self.key, &Self::validation()).ok()?;
        let serde_json::Value::Object(claims) = data.claims else { return None };
        let expires_at = claims.get("exp")?.as_i64()?;
        let from = claims.get("nbf").or_else(|| claims.get("iat")).and_then(serde_json::Value::as_i64);
        let lifetime_s = from.map_or(0, |from| expires_at - from);
        (lifetime_s > 0).then_some(Renewable { claims, lifetime_s, expires_at })
    }

    /// The same grant signed again, valid from `now` (Unix seconds) for its lifetime.
    pub fn refresh(&self, token: &Renewable, now: i64) -> Option<String> {
        let mut claims = token.claims.clone();
        let exp = now + token.lifetime_s;
        claims.insert("exp".into(), exp.into());
        claims.insert("nbf".into(), now.into());
        if claims.contains_key("iat") {
            claims.insert("iat".into(), now.into());
        }
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.signing).ok()
    }

    /// Checks the token and turns its grant into a join request (without client options).
    pub fn verify(&self, token: &str) -> Result<JoinRequest, Refused> {
        let validation = Self::validation();
        let claims = match jsonwebtoken::decode::<Claims>(token, &self.key, &validation) {
            Ok(data) => data.claims,
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                return Err(Refused::new(StatusCode::UNAUTHORIZED, "invalid authorization token: token is expired"));
            }
            Err(_) => return Err(Refused::new(StatusCode::UNAUTHORIZED, "invalid authorization token")),
        };
        if claims.iss != self.api_key {
            return Err(Refused::new(StatusCode::UNAUTHORIZED, "invalid API key"));
        }
        let grant = claims.video.unwrap_or_default();
        if !grant.room_join {
            return Err(Refused::new(StatusCode::UNAUTHORIZED, "permissions denied"));
        }
        if claims.sub.is_empty() || claims.sub.len() > MAX_NAME {
            return Err(Refused::new(StatusCode::BAD_REQUEST, "identity is missing or too long"));
        }
        if grant.room.is_empty() || grant.room.len() > MAX_NAME {
            return Err(Refused::new(StatusCode::BAD_REQUEST, "room name is missing or too long"));
        }
        if claims.metadata.len() > MAX_METADATA {
            return Err(Refused::new(StatusCode::BAD_REQUEST, "metadata is too large"));
        }
        if claims.attributes.len() > MAX_ATTRIBUTES
            || claims.attributes.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > MAX_METADATA
        {
            return Err(Refused::new(StatusCode::BAD_REQUEST, "attributes are too large"));
        }
        let can_publish = grant.can_publish.unwrap_or(true);
        Ok(JoinRequest {
            room: grant.room.into(),
            identity: claims.sub,
            name: claims.name,
            metadata: claims.metadata,
            permission: MediaPermission {
                can_publish,
                can_subscribe: grant.can_subscribe.unwrap_or(true),
                can_publish_data: grant.can_publish_data.unwrap_or(can_publish),
                hidden: grant.hidden,
            },
            auto_subscribe: true,
            can_update_metadata: grant.can_update_own_metadata,
            attributes: claims.attributes,
        })
    }
}

/// The token of a request: the `access_token` query parameter or an `Authorization: Bearer`
/// header (native SDKs use the header).
pub fn find_token<'a>(query: Option<&'a str>, headers: &'a HeaderMap) -> Result<&'a str, Refused> {
    if let Some(token) = query.filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        Some(Ok(value)) => value
            .strip_prefix("Bearer ")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Refused::new(StatusCode::UNAUTHORIZED, "invalid authorization header")),
        Some(Err(_)) => Err(Refused::new(StatusCode::UNAUTHORIZED, "invalid authorization header")),
        None => Err(Refused::new(StatusCode::UNAUTHORIZED, "no authorization token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;
    use std::time::Duration;
    use vroom_platform::token::{MediaTokenClaims, TokenKeys, VideoGrant};

    fn now() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }

    fn sign(claims: serde_json::Value, secret: &str) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes()))
            .unwrap()
    }

    #[test]
    fn tokens_minted_by_the_platform_verify() {
        let keys = TokenKeys::new("member", "mk", "ms", Duration::from_secs(60));
        let token = keys
            .mint_media_token(&MediaTokenClaims {
                iss: "mk".into(),
                sub: "alice".into(),
                name: "Alice".into(),
                nbf: now(),
                exp: now() + 60,
                jti: "j".into(),
                video: VideoGrant {
                    room: "room-uuid".into(),
                    room_join: true,
                    can_publish: true,
                    can_subscribe: true,
                    can_publish_data: true,
                    hidden: false,
                    can_update_own_metadata: true,
                },
                metadata: "{\"memberId\":1}".into(),
            })
            .unwrap();
        let join = TokenVerifier::new("mk", "ms").verify(&token).unwrap();
        assert_eq!((join.room.as_str(), join.identity.as_str(), join.name.as_str()), ("room-uuid", "alice", "Alice"));
        assert_eq!(join.metadata, "{\"memberId\":1}");
        assert!(join.permission.can_publish && join.permission.can_subscribe && !join.permission.hidden);
        assert!(join.can_update_metadata, "vroom's tokens let members update their own metadata");
    }

    #[test]
    fn grant_defaults_follow_livekit() {
        let t = sign(
            json!({"iss": "mk", "sub": "a", "exp": now() + 60, "video": {"roomJoin": true, "room": "r", "canPublish": false}}),
            "ms",
        );
        let join = TokenVerifier::new("mk", "ms").verify(&t).unwrap();
        let p = join.permission;
        assert!(!p.can_publish && p.can_subscribe && !p.can_publish_data);
        assert!(!join.can_update_metadata && join.attributes.is_empty());
        let t = sign(
            json!({"iss": "mk", "sub": "a", "exp": now() + 60, "attributes": {"desk": "7"},
                   "video": {"roomJoin": true, "room": "r", "canUpdateOwnMetadata": true}}),
            "ms",
        );
        let join = TokenVerifier::new("mk", "ms").verify(&t).unwrap();
        assert!(join.can_update_metadata);
        assert_eq!(join.attributes.get("desk").map(String::as_str), Some("7"));
    }

    #[test]
    fn bad_tokens_are_refused_with_a_reason() {
        let v = TokenVerifier::new("mk", "ms");
        let status = |t: &str| v.verify(t).unwrap_err();
        assert_eq!(status("garbage").status, StatusCode::UNAUTHORIZED);
        let other_secret =
            sign(json!({"iss": "mk", "sub": "a", "exp": now() + 60, "video": {"roomJoin": true, "room": "r"}}), "x");
        assert_eq!(status(&other_secret).reason, "invalid authorization token");
        let expired =
            sign(json!({"iss": "mk", "sub": "a", "exp": now() - 3600, "video": {"roomJoin": true, "room": "r"}}), "ms");
        assert!(status(&expired).reason.contains("expired"));
        let no_exp = sign(json!({"iss": "mk", "sub": "a", "video": {"roomJoin": true, "room": "r"}}), "ms");
        assert_eq!(status(&no_exp).status, StatusCode::UNAUTHORIZED);
        let wrong_key = sign(
            json!({"iss": "other", "sub": "a", "exp": now() + 60, "video": {"roomJoin": true, "room": "r"}}),
            "ms",
        );
        assert_eq!(status(&wrong_key).reason, "invalid API key");
        let no_join = sign(json!({"iss": "mk", "sub": "a", "exp": now() + 60, "video": {"room": "r"}}), "ms");
        assert_eq!(status(&no_join).reason, "permissions denied");
        let no_identity = sign(json!({"iss": "mk", "exp": now() + 60, "video": {"roomJoin": true, "room": "r"}}), "ms");
        assert_eq!(status(&no_identity).status, StatusCode::BAD_REQUEST);
        let no_room = sign(json!({"iss": "mk", "sub": "a", "exp": now() + 60, "video": {"roomJoin": true}}), "ms");
        assert_eq!(status(&no_room).status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn token_comes_from_query_or_bearer_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(find_token(Some("q"), &headers).unwrap(), "q");
        assert!(find_token(None, &headers).is_err());
        headers.insert(header::AUTHORIZATION, "Bearer h".parse().unwrap());
        assert_eq!(find_token(None, &headers).unwrap(), "h");
        headers.insert(header::AUTHORIZATION, "Basic h".parse().unwrap());
        assert_eq!(find_token(None, &headers).unwrap_err().status, StatusCode::UNAUTHORIZED);
    }
}
