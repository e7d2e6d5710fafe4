//! The HTTP/1.1 listener loop: accepts connections, bounds what each may cost, and hands
//! them to hyper with the router as the service.
//!
//! Written out rather than `axum::serve` because that one configures no timer, so hyper's
//! header-read timeout never applies and a client that sends half a request line keeps its
//! connection (and a file descriptor) forever. Here:
//! - a request's head must arrive within [`HttpLimits::header_read_timeout`], and an idle
//!   keep-alive connection is closed after the same time (hyper starts the same timer
//!   while it waits for the next request);
//! - a request body must arrive within [`HttpLimits::body_timeout`] (408);
//! - one address may hold at most [`HttpLimits::max_connections_per_ip`] connections;
//! - refusals hyper writes itself (malformed request, URI or headers too long) carry the
//!   same `{errorCode, errorMessage}` body as every other error (see [`envelope`]).
//!
//! HTTP/2 is not served: no client of vroom needs it over plain TCP, and hyper's h2 has no
//! header timeout of its own.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use vroom_platform::ErrorCode;

mod envelope;

/// What one connection may cost. A value of 0 (or a zero duration) disables that bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time for a request's head to arrive, and for an idle keep-alive connection to send
    /// its next request.
    pub header_read_timeout: Duration,
    /// Time for a request's body to arrive.
    pub body_timeout: Duration,
    /// Open connections per client address (IPv6: per /64). Upgraded connections (the
    /// signalling WebSockets) count too.
    pub max_connections_per_ip: u32,
}

impl HttpLimits {
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
    /// High enough for a load test or an office behind one NAT, low enough that one
    /// address cannot take the process's file descriptors.
    pub const DEFAULT_MAX_CONNECTIONS_PER_IP: u32 = 1000;
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
            max_connections_per_ip: Self::DEFAULT_MAX_CONNECTIONS_PER_IP,
        }
    }
}

/// Open connections per address; each connection holds a [`Slot`] that gives its place back
/// when the connection (or the WebSocket it was upgraded to) is dropped.
#[derive(Default)]
struct Connections {
    per_ip: Mutex<HashMap<IpAddr, u32>>,
}

struct Slot {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    fn take(self: &Arc<Self>, ip: IpAddr, max: u32) -> Option<Slot> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        let open = per_ip.entry(ip).or_insert(0);
        if max > 0 && *open >= max {
            return None;
        }
        *open += 1;
        Some(Slot { connections: self.clone(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = self.connections.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = per_ip.get_mut(&self.ip) {
            *open -= 1;
            if *open == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish (upgraded WebSockets are left to their own shutdown).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = if limits.body_timeout.is_zero() {
        router
    } else {
        router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(limits.body_timeout))
    };
    let connections = Arc::new(Connections::default());
    // Each connection task holds a clone of `done`; when all are gone, so are the
    // connections. `stop` tells them to finish their request in flight and close.
    let (done, mut all_done) = tokio::sync::mpsc::channel::<()>(1);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = connections.take(crate::ratelimit::client_key(peer.ip()), limits.max_connections_per_ip)
        else {
            tokio::spawn(refuse_connection(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(envelope::EnvelopeIo::new(stream, slot));
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).keep_alive(true);
        builder.header_read_timeout((!limits.header_read_timeout.is_zero()).then_some(limits.header_read_timeout));
        let conn = builder.serve_connection(io, service).with_upgrades();
        let (done, mut stopping) = (done.clone(), stopping.clone());
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "HTTP connection ended with an error");
            }
            drop(done);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(done);
    let _ = all_done.recv().await;
    Ok(())
}

/// An address over its connection cap gets a 429 with the usual body, then the connection
/// is closed (its request is not read).
async fn refuse_connection(mut stream: TcpStream) {
    let response = envelope::raw_answer(
        "429",
        "Too Many Requests",
        ErrorCode::TooManyConnections,
        "too many open connections from this address",
        "retry-after: 1\r\n",
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(&response).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
