//! The I/O shell around [`Sfu`]: one thread, one UDP socket, one command channel.
//!
//! The loop: apply queued commands, read datagrams until the earliest peer timeout (capped
//! so commands are picked up within a few milliseconds), then drive due timeouts. Events go
//! straight to each participant's signalling session over its own unbounded channel, so
//! the worker never waits on signalling.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::model::*;
use crate::sfu::{Sfu, Sink};

/// Longest the worker sleeps in `recv` before looking at its command channel again.
const COMMAND_LATENCY: Duration = Duration::from_millis(5);
/// Largest datagram read (WebRTC keeps packets under the MTU).
const RECV_BUFFER: usize = 2048;
/// Datagrams handled before commands and timeouts get a turn.
const RECV_BATCH: usize = 64;

/// Where a worker listens and what address it announces.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Socket address to bind, e.g. `0.0.0.0:7882` (port 0 = ephemeral).
    pub bind: SocketAddr,
    /// IP clients reach this node at (the ICE host candidate's address).
    pub node_ip: std::net::IpAddr,
}

enum WorkerCommand {
    Join {
        key: ParticipantKey,
        request: JoinRequest,
        events: UnboundedSender<MediaEvent>,
    },
    Participant {
        key: ParticipantKey,
        command: Command,
    },
    ReportPresence(UnboundedSender<Presence>),
    ReconnectGrace(Duration),
    CloseRoom {
        room: String,
        reason: RemovedReason,
    },
    Remove {
        room: String,
        identity: String,
        reason: RemovedReason,
    },
    UpdatePermission {
        room: String,
        identity: String,
        permission: Permission,
        reply: oneshot::Sender<Option<ParticipantView>>,
    },
    Participants {
        room: String,
        reply: oneshot::Sender<Vec<ParticipantView>>,
    },
}

/// Packet counters of a worker, for metrics. Only the worker thread writes them
/// (relaxed, uncontended), so they cost a few nanoseconds per packet.
#[derive(Debug, Default)]
pub struct MediaCounters {
    /// RTP packets received (media from publishers, retransmissions included).
    pub rtp_received: AtomicU64,
    /// RTP packets sent (forwarded media, retransmissions and padding included).
    pub rtp_sent: AtomicU64,
    /// Bytes of the datagrams counted in `rtp_sent`.
    pub rtp_sent_bytes: AtomicU64,
    /// Datagrams of any kind sent and received.
    pub datagrams_sent: AtomicU64,
    pub datagrams_received: AtomicU64,
}

/// Whether a datagram is (S)RTP media rather than RTCP, STUN or DTLS (RFC 7983, and
/// RFC 5761: RTCP's packet types put 192..=223 where RTP has the marker bit and payload
/// type, which dynamic payload types never reach).
pub fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() >= 12 && (128..192).contains(&datagram[0]) && !(192..=223).contains(&datagram[1])
}

/// The media server, as seen by signalling: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct MediaHandle {
    commands: Sender<WorkerCommand>,
    next_key: Arc<AtomicU64>,
    udp_addr: SocketAddr,
    counters: Arc<MediaCounters>,
}

/// The media worker stopped (the process is shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the media server is not running")]
pub struct MediaGone;

impl MediaHandle {
    /// Asks to join; the answer (`Joined`) and everything after arrive on `events`.
    pub fn join(&self, request: JoinRequest, events: UnboundedSender<MediaEvent>) -> Result<ParticipantKey, MediaGone> {
        let key = ParticipantKey(self.next_key.fetch_add(1, Ordering::Relaxed));
        self.commands.send(WorkerCommand::Join { key, request, events }).map_err(|_| MediaGone)?;
        Ok(key)
    }

    pub fn send(&self, key: ParticipantKey, command: Command) -> Result<(), MediaGone> {
        self.commands.send(WorkerCommand::Participant { key, command }).map_err(|_| MediaGone)
    }

    /// Sends every [`Presence`] report from now on to `reports`. Commands are applied in
    /// order, so installing this before the first join loses nothing.
    pub fn report_presence(&self, reports: UnboundedSender<Presence>) -> Result<(), MediaGone> {
        self.commands.send(WorkerCommand::ReportPresence(reports)).map_err(|_| MediaGone)
    }

    /// Changes how long a participant whose signalling dropped is kept (default
    /// [`crate::sfu::RECONNECT_GRACE`]).
    pub fn set_reconnect_grace(&self, grace: Duration) -> Result<(), MediaGone> {
        self.commands.send(WorkerCommand::ReconnectGrace(grace)).map_err(|_| MediaGone)
    }

    /// Removes everyone from a room (each is told `reason`).
    pub fn close_room(&self, room: &str, reason: RemovedReason) -> Result<(), MediaGone> {
        self.commands.send(WorkerCommand::CloseRoom { room: room.to_owned(), reason }).map_err(|_| MediaGone)
    }

    /// Removes the participant with this identity from a room, if it is there (it is told
    /// `reason`).
    pub fn remove_participant(&self, room: &str, identity: &str, reason: RemovedReason) -> Result<(), MediaGone> {
        let (room, identity) = (room.to_owned(), identity.to_owned());
        self.commands.send(WorkerCommand::Remove { room, identity, reason }).map_err(|_| MediaGone)
    }

    /// Changes a participant's permission live; its new state, or `None` if it is absent.
    pub async fn update_permission(
        &self,
        room: &str,
        identity: &str,
        permission: Permission,
    ) -> Result<Option<ParticipantView>, MediaGone> {
        let (reply, answer) = oneshot::channel();
        let (room, identity) = (room.to_owned(), identity.to_owned());
        self.commands
            .send(WorkerCommand::UpdatePermission { room, identity, permission, reply })
            .map_err(|_| MediaGone)?;
        answer.await.map_err(|_| MediaGone)
    }

    /// Everyone in a room right now, hidden participants included.
    pub async fn participants(&self, room: &str) -> Result<Vec<ParticipantView>, MediaGone> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(WorkerCommand::Participants { room: room.to_owned(), reply }).map_err(|_| MediaGone)?;
        answer.await.map_err(|_| MediaGone)
    }

    /// The address announced to clients (node IP and the bound port).
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The worker's packet counters.
    pub fn counters(&self) -> Arc<MediaCounters> {
        self.counters.clone()
    }
}

/// Binds the socket and starts the worker thread. The thread ends when every
/// [`MediaHandle`] is dropped.
pub fn start_worker(config: WorkerConfig) -> std::io::Result<MediaHandle> {
    let socket = UdpSocket::bind(config.bind)?;
    let port = socket.local_addr()?.port();
    let host = SocketAddr::new(config.node_ip, port);
    let (tx, rx) = mpsc::channel();
    let counters = Arc::new(MediaCounters::default());
    let worker_counters = counters.clone();
    std::thread::Builder::new().name("vroom-media-0".into()).spawn(move || run(socket, host, rx, &worker_counters))?;
    info!(udp = %host, "media worker started");
    Ok(MediaHandle { commands: tx, next_key: Arc::new(AtomicU64::new(1)), udp_addr: host, counters })
}

struct SocketSink<'a> {
    socket: &'a UdpSocket,
    sessions: &'a mut HashMap<ParticipantKey, UnboundedSender<MediaEvent>>,
    counters: &'a MediaCounters,
    presence: &'a Option<UnboundedSender<Presence>>,
}

impl Sink for SocketSink<'_> {
    fn transmit(&mut self, to: SocketAddr, data: &[u8]) {
        if let Err(e) = self.socket.send_to(data, to) {
            debug!(%to, error = %e, "UDP send failed");
            return;
        }
        self.counters.datagrams_sent.fetch_add(1, Ordering::Relaxed);
        if is_rtp(data) {
            self.counters.rtp_sent.fetch_add(1, Ordering::Relaxed);
            self.counters.rtp_sent_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
    }

    fn event(&mut self, to: ParticipantKey, event: MediaEvent) {
        let removed = matches!(event, MediaEvent::Removed(_));
        if let Some(tx) = self.sessions.get(&to) {
            let _ = tx.send(event);
        }
        if removed {
            self.sessions.remove(&to);
        }
    }

    fn presence(&mut self, report: Presence) {
        // An unbounded channel: the worker never waits on the application.
        if let Some(tx) = self.presence {
            let _ = tx.send(report);
        }
    }
}

fn run(socket: UdpSocket, host: SocketAddr, commands: Receiver<WorkerCommand>, counters: &MediaCounters) {
    let start = Instant::now();
    let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut sfu = Sfu::new(host, start, unix_ms);
    let mut sessions: HashMap<ParticipantKey, UnboundedSender<MediaEvent>> = HashMap::new();
    let mut presence: Option<UnboundedSender<Presence>> = None;
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        loop {
            let command = match commands.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    info!("media worker stopping");
                    return;
                }
            };
            let now = Instant::now();
            if let WorkerCommand::ReportPresence(tx) = command {
                presence = Some(tx);
                continue;
            }
            let mut sink = SocketSink { socket: &socket, sessions: &mut sessions, counters, presence: &presence };
            match command {
                WorkerCommand::ReportPresence(_) => {}
                WorkerCommand::ReconnectGrace(grace) => sfu.set_reconnect_grace(grace),
                WorkerCommand::CloseRoom { room, reason } => sfu.close_room(now, &room, reason, &mut sink),
                WorkerCommand::Remove { room, identity, reason } => {
                    sfu.remove_participant(now, &room, &identity, reason, &mut sink);
                }
                WorkerCommand::UpdatePermission { room, identity, permission, reply } => {
                    let _ = reply.send(sfu.update_permission(&room, &identity, permission, &mut sink));
                }
                WorkerCommand::Participants { room, reply } => {
                    let _ = reply.send(sfu.participants(&room));
                }
                WorkerCommand::Join { key, request, events } => {
                    sink.sessions.insert(key, events);
                    sfu.join(now, key, request, &mut sink);
                }
                WorkerCommand::Participant { key, command } => {
                    let leaving = matches!(command, Command::Leave);
                    sfu.command(now, key, command, &mut sink);
                    if leaving {
                        sink.sessions.remove(&key);
                    }
                }
            }
        }
        let now = Instant::now();
        let wait =
            sfu.poll_timeout(now).saturating_duration_since(now).clamp(Duration::from_millis(1), COMMAND_LATENCY);
        if let Err(e) = socket.set_read_timeout(Some(wait)) {
            warn!(error = %e, "cannot set the socket timeout");
        }
        for _ in 0..RECV_BATCH {
            match socket.recv_from(&mut buf) {
                Ok((n, source)) => {
                    counters.datagrams_received.fetch_add(1, Ordering::Relaxed);
                    if is_rtp(&buf[..n]) {
                        counters.rtp_received.fetch_add(1, Ordering::Relaxed);
                    }
                    let mut sink =
                        SocketSink { socket: &socket, sessions: &mut sessions, counters, presence: &presence };
                    sfu.handle_receive(Instant::now(), source, &buf[..n], &mut sink);
                    // Later reads in this batch must not block.
                    let _ = socket.set_nonblocking(true);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(e) => {
                    // ICMP errors surface here on some systems; they concern one peer.
                    debug!(error = %e, "UDP receive error");
                    break;
                }
            }
        }
        let _ = socket.set_nonblocking(false);
        let mut sink = SocketSink { socket: &socket, sessions: &mut sessions, counters, presence: &presence };
        sfu.handle_timeout(Instant::now(), &mut sink);
    }
}

#[cfg(test)]
mod tests {
    use super::is_rtp;

    #[test]
    fn rtp_is_told_apart_from_rtcp_stun_and_dtls() {
        let mut rtp = [0u8; 20];
        rtp[0] = 0x80;
        rtp[1] = 96;
        assert!(is_rtp(&rtp));
        rtp[1] = 0x80 | 111; // marker bit set
        assert!(is_rtp(&rtp));
        rtp[1] = 201; // receiver report
        assert!(!is_rtp(&rtp));
        assert!(!is_rtp(&[0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // STUN binding request
        assert!(!is_rtp(&[22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // DTLS handshake
    }
}
