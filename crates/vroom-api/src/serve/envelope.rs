//! Gives hyper's own refusals the API's error body.
//!
//! hyper answers a request it cannot parse (bad request line or header, URI longer than
//! it accepts, headers too large, unknown HTTP version) itself, with an empty body, and
//! offers no hook to shape that answer. [`EnvelopeIo`] sits between hyper and the socket
//! and rewrites exactly those answers: a response head whose status is one hyper produces
//! on a parse error and that has no `content-type` (every response of vroom's handlers has
//! one). Such an answer is always the last on its connection, so the rewritten one says
//! `connection: close`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use vroom_platform::ErrorCode;

use super::Slot;
use crate::error::{ErrorBody, code_for_status};

/// A whole HTTP/1.1 answer with the error body, written on the socket directly (by-passing
/// hyper), and the last on its connection.
pub(super) fn raw_answer(status: &str, reason: &str, code: ErrorCode, message: &str, extra_headers: &str) -> Vec<u8> {
    let body = ErrorBody { error_code: code.as_str().to_owned(), error_message: message.to_owned() };
    let body = serde_json::to_string(&body).unwrap_or_default();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra_headers}connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The answer that replaces hyper's for a response head `head`, if it is one of hyper's.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let status = head.strip_prefix(b"HTTP/1.1 ").or_else(|| head.strip_prefix(b"HTTP/1.0 "))?.get(..3)?;
    let (reason, message) = match status {
        b"400" => ("Bad Request", "the request is not valid HTTP/1.1"),
        b"414" => ("URI Too Long", "the request URI is too long"),
        b"431" => ("Request Header Fields Too Large", "the request headers are too large"),
        b"505" => ("HTTP Version Not Supported", "only HTTP/1.x is served"),
        _ => return None,
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let lower = head[..end].to_ascii_lowercase();
    if lower.windows(13).any(|w| w == b"content-type:") {
        return None;
    }
    let status = std::str::from_utf8(status).ok()?;
    Some(raw_answer(status, reason, code_for_status(status.parse().ok()?), message, ""))
}

/// A TCP connection as hyper sees it: rewrites hyper's refusals (see the module doc) and
/// holds the connection's place in the per-address count until it is dropped, also after
/// an upgrade to a WebSocket.
pub(super) struct EnvelopeIo {
    stream: TcpStream,
    /// Bytes of a rewritten answer not yet written to the socket.
    pending: Vec<u8>,
    _slot: Slot,
}

impl EnvelopeIo {
    pub(super) fn new(stream: TcpStream, slot: Slot) -> Self {
        Self { stream, pending: Vec::new(), _slot: slot }
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for EnvelopeIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for EnvelopeIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = replacement(buf) {
            // The whole of hyper's answer is taken; ours goes out in its place.
            self.pending = answer;
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes each response head as one contiguous buffer, which
    // is what `replacement` inspects.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_refusals_are_rewritten() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let ours = replacement(hyper_400).unwrap();
        let text = String::from_utf8(ours).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["errorCode"], "MALFORMED_HTTP_REQUEST");
        assert!(text.contains(&format!("content-length: {}\r\n", body.len())));
        assert!(replacement(b"HTTP/1.1 414 URI Too Long\r\n\r\n").is_some());
        // A handler's own 400 (it has a content type) and other statuses pass untouched.
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{}").is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none(), "incomplete head");
        assert!(replacement(b"{\"a\":1}").is_none());
    }
}
