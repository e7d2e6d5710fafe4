//! The client side of LiveKit's `/rtc` signalling (protocol v0, dual peer connections):
//! connect with a token, read the `JoinResponse`, then exchange protobuf messages.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livekit_protocol as lk;
use livekit_protocol::{signal_request, signal_response};
use prost::Message as _;
use tokio_tungstenite::tungstenite::{self, Message};

/// The protocol version announced (livekit-client 2.x speaks 15/16).
pub const PROTOCOL: u32 = 15;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why a participant could not join.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JoinError {
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the server refused to join (HTTP {status}): {reason}")]
    Refused { status: u16, reason: String },
    #[error("signalling failed: {0}")]
    Protocol(String),
    #[error("{0}")]
    Setup(String),
}

impl JoinError {
    /// Errors that will not go away by trying other participants (bad target, bad token).
    pub fn is_fatal(&self) -> bool {
        matches!(self, JoinError::Unreachable { .. } | JoinError::Refused { .. })
    }
}

/// `ws[s]://host[:port][/prefix]` from what the user typed (`http[s]://` accepted).
pub fn ws_base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if url.starts_with("ws://") || url.starts_with("wss://") {
        url.to_owned()
    } else {
        format!("ws://{url}")
    }
}

/// The HTTP form of a signalling base URL (for `/rtc/validate`).
pub fn http_base(url: &str) -> String {
    let ws = ws_base(url);
    if let Some(rest) = ws.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        ws.replacen("wss://", "https://", 1)
    }
}

/// Opens `/rtc` and waits for the `JoinResponse`.
pub async fn connect(base: &str, token: &str) -> Result<(Ws, lk::JoinResponse), JoinError> {
    let base = ws_base(base);
    let url = format!(
        "{base}/rtc?access_token={token}&auto_subscribe=1&adaptive_stream=0&sdk=rust&version=vroom-loadtest&protocol={PROTOCOL}"
    );
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url)).await;
    let mut ws = match connected {
        Err(_) => return Err(JoinError::Unreachable { url: base, reason: "timed out".into() }),
        Ok(Ok((ws, _))) => ws,
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().trim().to_owned();
            let reason = if body.is_empty() { validate_reason(&base, token).await } else { body };
            return Err(JoinError::Refused { status, reason });
        }
        Ok(Err(e)) => return Err(JoinError::Unreachable { url: base, reason: e.to_string() }),
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, recv(&mut ws)).await {
        Err(_) => Err(JoinError::Protocol("no JoinResponse within 10 s".into())),
        Ok(Ok(Some(signal_response::Message::Join(join)))) => Ok((ws, join)),
        Ok(Ok(Some(signal_response::Message::Leave(leave)))) => {
            Err(JoinError::Protocol(format!("the server sent Leave (reason {}) instead of joining", leave.reason)))
        }
        Ok(Ok(Some(other))) => Err(JoinError::Protocol(format!("expected JoinResponse first, got {other:?}"))),
        Ok(Ok(None)) => Err(JoinError::Protocol("the server closed the connection before joining".into())),
        Ok(Err(e)) => Err(e),
    }
}

/// Asks `/rtc/validate` why a token is refused (what LiveKit clients do after a failed
/// upgrade whose body they cannot read).
async fn validate_reason(base: &str, token: &str) -> String {
    let url = format!("{}/rtc/validate?access_token={token}", http_base(base));
    match reqwest::Client::new().get(url).timeout(CONNECT_TIMEOUT).send().await {
        Ok(r) => r.text().await.unwrap_or_default().trim().to_owned(),
        Err(e) => format!("(no reason: {e})"),
    }
}

/// The next signal response; `None` when the server closed the connection.
pub async fn recv(ws: &mut Ws) -> Result<Option<signal_response::Message>, JoinError> {
    loop {
        match ws.next().await {
            None | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Binary(b))) => {
                let response = lk::SignalResponse::decode(b.as_ref())
                    .map_err(|e| JoinError::Protocol(format!("undecodable signal response: {e}")))?;
                if let Some(m) = response.message {
                    return Ok(Some(m));
                }
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(JoinError::Protocol(e.to_string())),
        }
    }
}

pub async fn send(ws: &mut Ws, message: signal_request::Message) -> Result<(), JoinError> {
    let bytes = lk::SignalRequest { message: Some(message) }.encode_to_vec();
    ws.send(Message::Binary(bytes.into())).await.map_err(|e| JoinError::Protocol(e.to_string()))
}

/// A LiveKit `SessionDescription`.
pub fn description(kind: &str, sdp: String, id: u32) -> lk::SessionDescription {
    lk::SessionDescription { r#type: kind.into(), sdp, id, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(ws_base("http://a:1/"), "ws://a:1");
        assert_eq!(ws_base("https://a"), "wss://a");
        assert_eq!(ws_base("ws://a:7880"), "ws://a:7880");
        assert_eq!(ws_base("a:7880"), "ws://a:7880");
        assert_eq!(http_base("wss://a/x"), "https://a/x");
        assert_eq!(http_base("ws://a"), "http://a");
    }
}
