//! Credentials: member access tokens (JWT HS256), opaque refresh tokens, LiveKit media
//! tokens, and the random secrets behind app credentials.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode, Result};
use crate::model::{AppId, MemberId};
use crate::time::Timestamp;

pub const ISSUER: &str = "vroom";

/// A random URL-safe secret of 256 bits.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random identifier of the given number of hex characters (for API keys).
pub fn random_hex(chars: usize) -> String {
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    rand::rng().fill_bytes(&mut bytes);
    let mut s = hex::encode(bytes);
    s.truncate(chars);
    s
}

pub fn sha256(data: &str) -> [u8; 32] {
    Sha256::digest(data.as_bytes()).into()
}

pub fn sha256_hex(data: &str) -> String {
    hex::encode(sha256(data))
}

/// Constant-time check of a presented API secret against its stored hash.
pub fn secret_matches(presented: &str, stored_hash: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq;
    sha256(presented).ct_eq(stored_hash).into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberClaims {
    pub app_id: AppId,
    #[serde(rename = "type")]
    pub kind: String,
    pub app_user_id: String,
    pub member_id: MemberId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub claims: MemberClaims,
}

/// LiveKit's video grant, the subset vroom issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrant {
    pub room: String,
    pub room_join: bool,
    pub can_publish: bool,
    pub can_subscribe: bool,
    pub can_publish_data: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// The participant may change its own name, metadata (keeping the member fields vroom
    /// set) and attributes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub can_update_own_metadata: bool,
}

/// Claims of a LiveKit access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaTokenClaims {
    pub iss: String,
    pub sub: String,
    pub name: String,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub video: VideoGrant,
    pub metadata: String,
}

/// What an observer embed URL grants: this member may join this room hidden and
/// subscribe-only. Signed with the member-token key, under an audience of its own so that
/// it can never pass for an access token (nor one for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObserverGrantClaims {
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub app_id: AppId,
    pub member_id: MemberId,
    /// The room's uuid.
    pub room: String,
}

const OBSERVER_AUDIENCE: &str = "vroom-observer";

/// Signing keys and lifetimes.
#[derive(Clone)]
pub struct TokenKeys {
    member_enc: EncodingKey,
    member_dec: DecodingKey,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub media_api_key: String,
    media_enc: EncodingKey,
    pub media_ttl: Duration,
}

impl TokenKeys {
    pub fn new(member_secret: &str, media_api_key: &str, media_api_secret: &str, access_ttl: Duration) -> Self {
        Self {
            member_enc: EncodingKey::from_secret(member_secret.as_bytes()),
            member_dec: DecodingKey::from_secret(member_secret.as_bytes()),
            access_ttl,
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            media_api_key: media_api_key.to_owned(),
            media_enc: EncodingKey::from_secret(media_api_secret.as_bytes()),
            media_ttl: Duration::from_secs(6 * 3600),
        }
    }

    pub fn mint_access_token(
        &self,
        app_id: AppId,
        member_id: MemberId,
        app_user_id: &str,
        now: Timestamp,
    ) -> Result<String> {
        let iat = now.timestamp();
        let claims = AccessTokenClaims {
            iss: ISSUER.into(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat,
            exp: iat + self.access_ttl.as_secs() as i64,
            claims: MemberClaims { app_id, kind: "MEMBER".into(), app_user_id: app_user_id.into(), member_id },
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.member_enc).map_err(Error::internal)
    }

    /// Verifies signature, issuer and expiry (no leeway: an expired token is expired).
    pub fn verify_access_token(&self, token: &str) -> Result<MemberClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        match jsonwebtoken::decode::<AccessTokenClaims>(token, &self.member_dec, &validation) {
            Ok(data) if data.claims.claims.kind == "MEMBER" => Ok(data.claims.claims),
            Ok(_) => Err(Error::new(ErrorCode::InvalidAccessToken, "not a member access token")),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                Err(Error::new(ErrorCode::ExpiredAccessToken, "the access token has expired"))
            }
            Err(_) => Err(Error::new(ErrorCode::InvalidAccessToken, "the access token is not valid")),
        }
    }

    /// A grant that lasts as long as the login it travels with can be refreshed.
    pub fn mint_observer_grant(
        &self,
        app_id: AppId,
        member_id: MemberId,
        room: &str,
        now: Timestamp,
    ) -> Result<String> {
        let claims = ObserverGrantClaims {
            iss: ISSUER.into(),
            aud: OBSERVER_AUDIENCE.into(),
            exp: now.timestamp() + self.refresh_ttl.as_secs() as i64,
            app_id,
            member_id,
            room: room.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.member_enc).map_err(Error::internal)
    }

    pub fn verify_observer_grant(&self, grant: &str) -> Result<ObserverGrantClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[OBSERVER_AUDIENCE]);
        validation.leeway = 0;
        jsonwebtoken::decode::<ObserverGrantClaims>(grant, &self.member_dec, &validation)
            .map(|d| d.claims)
            .map_err(|_| Error::new(ErrorCode::AccessDenied, "observerGrant is not a valid observer grant"))
    }

    pub fn mint_media_token(&self, claims: &MediaTokenClaims) -> Result<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.media_enc).map_err(Error::internal)
    }
}

/// A fresh opaque refresh token and the hash under which it is stored.
pub fn new_refresh_token() -> (String, String) {
    let token = random_secret();
    let hash = sha256_hex(&token);
    (token, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ttl: u64) -> TokenKeys {
        TokenKeys::new("member-secret", "mk", "media-secret", Duration::from_secs(ttl))
    }

    #[test]
    fn access_token_round_trip() {
        let k = keys(60);
        let t = k.mint_access_token(7, 9, "alice", crate::time::now()).unwrap();
        let c = k.verify_access_token(&t).unwrap();
        assert_eq!((c.app_id, c.member_id, c.app_user_id.as_str(), c.kind.as_str()), (7, 9, "alice", "MEMBER"));
    }

    #[test]
    fn expired_and_foreign_tokens_are_rejected() {
        let k = keys(60);
        let past = crate::time::now() - chrono::Duration::seconds(3600);
        let t = k.mint_access_token(1, 1, "a", past).unwrap();
        assert_eq!(k.verify_access_token(&t).unwrap_err().code, ErrorCode::ExpiredAccessToken);
        let other = TokenKeys::new("other", "mk", "x", Duration::from_secs(60));
        let t = other.mint_access_token(1, 1, "a", crate::time::now()).unwrap();
        assert_eq!(k.verify_access_token(&t).unwrap_err().code, ErrorCode::InvalidAccessToken);
        assert_eq!(k.verify_access_token("garbage").unwrap_err().code, ErrorCode::InvalidAccessToken);
    }

    #[test]
    fn an_observer_grant_is_not_an_access_token_and_back() {
        let k = keys(3600);
        let now = crate::time::now();
        let grant = k.mint_observer_grant(1, 7, "room-uuid", now).unwrap();
        let claims = k.verify_observer_grant(&grant).unwrap();
        assert_eq!((claims.app_id, claims.member_id, claims.room.as_str()), (1, 7, "room-uuid"));
        assert!(k.verify_access_token(&grant).is_err(), "a grant must not authenticate a member");
        let access = k.mint_access_token(1, 7, "alice", now).unwrap();
        assert!(k.verify_observer_grant(&access).is_err(), "an access token must not grant observing");
        let other = TokenKeys::new("another secret", "k", "s", Duration::from_secs(60));
        assert!(other.verify_observer_grant(&grant).is_err());
    }

    #[test]
    fn secrets_are_random_and_compared_by_hash() {
        let a = random_secret();
        assert_ne!(a, random_secret());
        assert!(a.len() >= 43);
        assert!(secret_matches(&a, &sha256(&a)));
        assert!(!secret_matches("nope", &sha256(&a)));
    }
}
