//! The I/O shell around [`Sfu`]: N worker threads, each owning one UDP socket, one `Sfu`
//! and one command channel, and a [`MediaHandle`] that routes commands to them.
//!
//! Rooms are the unit of distribution: a room lives on exactly one worker, chosen from its
//! name by [`room_worker`], so every participant of a room lands on the same worker and
//! forwarding never crosses threads. Workers share nothing with each other (their packet
//! counters are atomics `/metrics` reads), and there is no lock on the packet path.
//!
//! A worker's loop: apply queued commands, wait for datagrams until the earliest peer timeout
//! (capped so commands are picked up within a few milliseconds), read them in batches
//! (`recvmmsg`, see [`crate::udp`]), then drive due timeouts. Outgoing datagrams are queued and
//! sent in batches (`sendmmsg`) after each of these steps, so none waits past the loop turn.
//! Events go straight to each participant's signalling connection over its own unbounded
//! channel, so a worker never waits on signalling.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use str0m::net::Protocol;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::model::*;
use crate::sfu::{Sfu, Sink};
use crate::tcp::TcpMux;
use crate::udp::{self, RecvBatch, SendQueue};

/// Longest the worker waits for datagrams before looking at its command channel again.
const COMMAND_LATENCY: Duration = Duration::from_millis(5);
/// Datagrams handled before commands and timeouts get a turn (reached after a read that
/// passes it, so up to a batch, [`udp::RECV_SLOTS`], less one more).
const RECV_BUDGET: usize = 64;

/// Where the workers listen and what address they announce.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Socket address of worker 0, e.g. `0.0.0.0:7882`. Worker `i` binds port + `i`, so a
    /// firewall must open the range `port ..= port + workers - 1`; with port 0 every worker
    /// binds an ephemeral port of its own.
    pub bind: SocketAddr,
    /// IP clients reach this node at (the address of every worker's ICE host candidate).
    pub node_ip: std::net::IpAddr,
    /// How many worker threads, each with its own socket and rooms (at least 1).
    pub workers: usize,
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
    BandwidthEstimation(Option<u64>),
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
        permission: MediaPermission,
        reply: oneshot::Sender<Option<ParticipantView>>,
    },
    Participants {
        room: String,
        reply: oneshot::Sender<Vec<ParticipantView>>,
    },
}

/// Packet counters of one worker, for metrics. Only that worker's thread writes them
/// (relaxed, uncontended), so they cost a few nanoseconds per packet.
///
/// Each worker has its own set and `/metrics` sums them when scraped: one set shared by
/// all workers would make every packet's increment fight the other workers' for the same
/// cache line, while a scrape's sum is rare and cheap. The alignment keeps two workers'
/// sets off a shared cache line (128 bytes, as some CPUs fetch lines in pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
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
    /// Datagrams the kernel did not take (send buffer full, or an error for that peer).
    pub datagrams_send_dropped: AtomicU64,
    /// Datagrams received that no peer connection took (unknown source and not an ICE
    /// check for one of ours, or refused by the peer): dropped.
    pub datagrams_unmatched: AtomicU64,
}

/// Whether a datagram is (S)RTP media rather than RTCP, STUN or DTLS (RFC 7983, and
/// RFC 5761: RTCP's packet types put 192..=223 where RTP has the marker bit and payload
/// type, which dynamic payload types never reach).
pub fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() >= 12 && (128..192).contains(&datagram[0]) && !(192..=223).contains(&datagram[1])
}

/// The worker (`0..workers`) that owns the room with this name: a stable hash of the name
/// modulo the number of workers. The hash is FNV-1a followed by the 64-bit MurmurHash3
/// finaliser (FNV alone leaves its low bits depending only on the bytes' low bits, so
/// names like `room-1`, `room-2`, … would spread badly); it does not depend on the build
/// or the run, so the same name always lands on the same worker of an N-worker server.
pub fn room_worker(room: &str, workers: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in room.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    (hash % workers.max(1) as u64) as usize
}

/// The media server, as seen by signalling: cheap to clone, usable from any thread. It
/// routes every command to the worker that owns its room or participant.
#[derive(Clone)]
pub struct MediaHandle {
    workers: Arc<[Worker]>,
    next_key: Arc<AtomicU64>,
}

/// One worker thread, as the handle sees it.
struct Worker {
    commands: Sender<WorkerCommand>,
    udp_addr: SocketAddr,
    counters: Arc<MediaCounters>,
}

/// The media worker stopped (the process is shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the media server is not running")]
pub struct MediaGone;

impl MediaHandle {
    /// Asks to join; the answer (`Joined`) and everything after arrive on `events`. The
    /// participant lives on its room's worker, and its key says which one.
    pub fn join(&self, request: JoinRequest, events: UnboundedSender<MediaEvent>) -> Result<ParticipantKey, MediaGone> {
        let worker = self.worker_for(request.room.as_str());
        // `key % workers` is the worker; keys stay unique because the sequence numbers are.
        let sequence = self.next_key.fetch_add(1, Ordering::Relaxed);
        let key = ParticipantKey(sequence * self.workers.len() as u64 + worker as u64);
        self.to(worker, WorkerCommand::Join { key, request, events })?;
        Ok(key)
    }

    pub fn send(&self, key: ParticipantKey, command: Command) -> Result<(), MediaGone> {
        let worker = (key.0 % self.workers.len() as u64) as usize;
        self.to(worker, WorkerCommand::Participant { key, command })
    }

    /// Sends every [`Presence`] report from now on to `reports`, from every worker. Commands
    /// are applied in order, so installing this before the first join loses nothing; and
    /// all reports of a room come from its one worker, so they arrive in order.
    pub fn report_presence(&self, reports: UnboundedSender<Presence>) -> Result<(), MediaGone> {
        self.to_all(|| WorkerCommand::ReportPresence(reports.clone()))
    }

    /// Changes how long a participant whose signalling dropped is kept (default
    /// [`crate::sfu::RECONNECT_GRACE`]), on every worker.
    pub fn set_reconnect_grace(&self, grace: Duration) -> Result<(), MediaGone> {
        self.to_all(|| WorkerCommand::ReconnectGrace(grace))
    }

    /// Where subscriber connections start their bandwidth estimate, bit/s (default
    /// [`crate::sfu::BWE_START_KBPS`]); `None` turns bandwidth estimation off. Applies to
    /// participants who join afterwards, on every worker.
    pub fn set_bandwidth_estimation(&self, start_bps: Option<u64>) -> Result<(), MediaGone> {
        self.to_all(|| WorkerCommand::BandwidthEstimation(start_bps))
    }

    /// Removes everyone from a room (each is told `reason`).
    pub fn close_room(&self, room: &str, reason: RemovedReason) -> Result<(), MediaGone> {
        self.to(self.worker_for(room), WorkerCommand::CloseRoom { room: room.to_owned(), reason })
    }

    /// Removes the participant with this identity from a room, if it is there (it is told
    /// `reason`).
    pub fn remove_participant(&self, room: &str, identity: &str, reason: RemovedReason) -> Result<(), MediaGone> {
        let (room, identity) = (room.to_owned(), identity.to_owned());
        self.to(self.worker_for(&room), WorkerCommand::Remove { room, identity, reason })
    }

    /// Changes a participant's permission live; its new state, or `None` if it is absent.
    pub async fn update_permission(
        &self,
        room: &str,
        identity: &str,
        permission: MediaPermission,
    ) -> Result<Option<ParticipantView>, MediaGone> {
        let (room, identity) = (room.to_owned(), identity.to_owned());
        self.ask(self.worker_for(&room), |reply| WorkerCommand::UpdatePermission { room, identity, permission, reply })
            .await
    }

    /// Everyone in a room right now, hidden participants included.
    pub async fn participants(&self, room: &str) -> Result<Vec<ParticipantView>, MediaGone> {
        let room = room.to_owned();
        self.ask(self.worker_for(&room), |reply| WorkerCommand::Participants { room, reply }).await
    }

    /// How many workers there are.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The worker that owns a room: an index into [`Self::udp_addrs`] and [`Self::counters`].
    pub fn worker_for(&self, room: &str) -> usize {
        room_worker(room, self.workers.len())
    }

    /// The addresses announced to clients (node IP and bound port), one per worker.
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.workers.iter().map(|w| w.udp_addr).collect()
    }

    /// The first worker's announced address (the node's, when one will do).
    pub fn udp_addr(&self) -> SocketAddr {
        self.workers[0].udp_addr
    }

    /// Each worker's packet counters (sum them for the server's totals).
    pub fn counters(&self) -> Vec<Arc<MediaCounters>> {
        self.workers.iter().map(|w| w.counters.clone()).collect()
    }

    fn to(&self, worker: usize, command: WorkerCommand) -> Result<(), MediaGone> {
        self.workers[worker].commands.send(command).map_err(|_| MediaGone)
    }

    fn to_all(&self, command: impl Fn() -> WorkerCommand) -> Result<(), MediaGone> {
        (0..self.workers.len()).try_for_each(|worker| self.to(worker, command()))
    }

    async fn ask<T>(
        &self,
        worker: usize,
        command: impl FnOnce(oneshot::Sender<T>) -> WorkerCommand,
    ) -> Result<T, MediaGone> {
        let (reply, answer) = oneshot::channel();
        self.to(worker, command(reply))?;
        answer.await.map_err(|_| MediaGone)
    }
}

/// Binds one UDP socket per worker, then starts the worker threads. They end when every
/// [`MediaHandle`] is dropped.
pub fn start_workers(config: WorkerConfig) -> std::io::Result<MediaHandle> {
    let invalid = |message: String| std::io::Error::new(ErrorKind::InvalidInput, message);
    if config.workers == 0 {
        return Err(invalid("there must be at least one media worker".into()));
    }
    let first = config.bind.port();
    let last = usize::from(first) + config.workers - 1;
    if first != 0 && last > usize::from(u16::MAX) {
        return Err(invalid(format!("{} media workers need UDP ports {first}..={last}, past 65535", config.workers)));
    }
    // Every socket is bound before any thread starts, so a taken port fails the start as a
    // whole; on failure the sockets bound so far are closed again.
    let mut sockets = Vec::with_capacity(config.workers);
    for i in 0..config.workers {
        let port = if first == 0 { 0 } else { first + i as u16 };
        let addr = SocketAddr::new(config.bind.ip(), port);
        let socket =
            UdpSocket::bind(addr).map_err(|e| std::io::Error::new(e.kind(), format!("binding {addr}: {e}")))?;
        size_buffers(&socket);
        sockets.push(socket);
    }
    let mut workers = Vec::with_capacity(config.workers);
    for (i, socket) in sockets.into_iter().enumerate() {
        let port = socket.local_addr()?.port();
        let host = SocketAddr::new(config.node_ip, port);
        // ICE over TCP on the same port number, for clients whose networks block UDP. A
        // taken TCP port costs only that fallback, not the start.
        let tcp = match TcpMux::bind(SocketAddr::new(config.bind.ip(), port)) {
            Ok(mux) => Some((mux, SocketAddr::new(config.node_ip, port))),
            Err(e) => {
                warn!(worker = i, port, error = %e, "no ICE over TCP on this worker: cannot listen");
                None
            }
        };
        let (tx, rx) = mpsc::channel();
        let counters = Arc::new(MediaCounters::default());
        let worker_counters = counters.clone();
        // If a later spawn fails, dropping `workers` stops the threads started so far.
        std::thread::Builder::new()
            .name(format!("vroom-media-{i}"))
            .spawn(move || run(socket, host, tcp, rx, &worker_counters))?;
        info!(worker = i, udp = %host, tcp = %host, "media worker started");
        workers.push(Worker { commands: tx, udp_addr: host, counters });
    }
    Ok(MediaHandle { workers: workers.into(), next_key: Arc::new(AtomicU64::new(1)) })
}

/// Socket buffer asked for: a keyframe burst from a publisher arriving together with a few
/// hundred subscribers' RTCP overflows the kernel's default (about 200 kB) on a busy worker,
/// and every datagram lost there is lost for all of that publisher's subscribers.
const SOCKET_BUFFER: usize = 4 << 20;

/// Enlarges the socket's buffers; the kernel caps them at `net.core.rmem_max` /
/// `wmem_max`, which is worth raising on a media server (the log says so).
fn size_buffers(socket: &UdpSocket) {
    let socket = socket2::SockRef::from(socket);
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    // Linux reports twice the usable size (it counts its bookkeeping).
    let got = socket.recv_buffer_size().unwrap_or(0) / 2;
    if got < SOCKET_BUFFER / 2 {
        warn!(
            bytes = got,
            wanted = SOCKET_BUFFER,
            "small UDP receive buffer: raise net.core.rmem_max to avoid packet loss under load"
        );
    }
}

struct SocketSink<'a> {
    socket: &'a UdpSocket,
    queue: &'a mut SendQueue,
    /// Frames for ICE-TCP connections, handed to the worker's [`TcpMux`] after each step.
    tcp_out: &'a mut Vec<(SocketAddr, Vec<u8>)>,
    signal_connections: &'a mut HashMap<ParticipantKey, UnboundedSender<MediaEvent>>,
    counters: &'a MediaCounters,
    presence: &'a Option<UnboundedSender<Presence>>,
}

impl Sink for SocketSink<'_> {
    /// Queues the datagram; it leaves with the next flush (at the latest at the end of the
    /// current step of the worker's loop) and is counted once the kernel has taken it.
    fn transmit(&mut self, proto: Protocol, to: SocketAddr, data: &[u8]) {
        if proto == Protocol::Tcp {
            self.tcp_out.push((to, data.to_vec()));
            return;
        }
        if proto != Protocol::Udp {
            debug!(?proto, %to, "dropping a transmit on a transport vroom does not serve");
            return;
        }
        let counters = self.counters;
        let dropped = self.queue.send(self.socket, to, data, |sent| count_sent(counters, sent));
        count_dropped(counters, dropped);
    }

    fn event(&mut self, to: ParticipantKey, event: MediaEvent) {
        let removed = matches!(event, MediaEvent::Removed(_));
        if let Some(tx) = self.signal_connections.get(&to) {
            let _ = tx.send(event);
        }
        if removed {
            self.signal_connections.remove(&to);
        }
    }

    fn presence(&mut self, report: Presence) {
        // An unbounded channel: the worker never waits on the application.
        if let Some(tx) = self.presence {
            let _ = tx.send(report);
        }
    }
}

fn count_sent(counters: &MediaCounters, datagram: &[u8]) {
    counters.datagrams_sent.fetch_add(1, Ordering::Relaxed);
    if is_rtp(datagram) {
        counters.rtp_sent.fetch_add(1, Ordering::Relaxed);
        counters.rtp_sent_bytes.fetch_add(datagram.len() as u64, Ordering::Relaxed);
    }
}

fn count_dropped(counters: &MediaCounters, dropped: usize) {
    if dropped > 0 {
        counters.datagrams_send_dropped.fetch_add(dropped as u64, Ordering::Relaxed);
    }
}

/// Sends what the last step queued.
fn flush(socket: &UdpSocket, queue: &mut SendQueue, counters: &MediaCounters) {
    if !queue.is_empty() {
        count_dropped(counters, queue.flush(socket, |sent| count_sent(counters, sent)));
    }
}

fn run(
    socket: UdpSocket,
    host: SocketAddr,
    mut tcp: Option<(TcpMux, SocketAddr)>,
    commands: Receiver<WorkerCommand>,
    counters: &MediaCounters,
) {
    let start = Instant::now();
    let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut sfu = Sfu::new(host, start, unix_ms);
    if let Some((_, tcp_host)) = &tcp {
        sfu.set_tcp_host(*tcp_host);
    }
    let mut tcp_out: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    let mut polls = udp::PollSet::default();
    let mut signal_connections: HashMap<ParticipantKey, UnboundedSender<MediaEvent>> = HashMap::new();
    let mut presence: Option<UnboundedSender<Presence>> = None;
    // Allocated once: every datagram in or out is copied into these.
    let mut batch = RecvBatch::new();
    let mut queue = SendQueue::new();
    // Whether the last turn stopped reading with datagrams probably still waiting (its budget
    // was spent), so the next turn reads without waiting first.
    let mut more = false;
    loop {
        loop {
            let command = match commands.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    info!(udp = %host, "media worker stopping");
                    return;
                }
            };
            let now = Instant::now();
            if let WorkerCommand::ReportPresence(tx) = command {
                presence = Some(tx);
                continue;
            }
            let mut sink = SocketSink {
                socket: &socket,
                queue: &mut queue,
                tcp_out: &mut tcp_out,
                signal_connections: &mut signal_connections,
                counters,
                presence: &presence,
            };
            match command {
                WorkerCommand::ReportPresence(_) => {}
                WorkerCommand::ReconnectGrace(grace) => sfu.set_reconnect_grace(grace),
                WorkerCommand::BandwidthEstimation(start) => {
                    sfu.set_bandwidth_estimation(start.map(str0m::bwe::Bitrate::bps));
                }
                WorkerCommand::CloseRoom { room, reason } => sfu.close_room(now, &room, reason, &mut sink),
                WorkerCommand::Remove { room, identity, reason } => {
                    sfu.remove_participant(now, &room, &identity, reason, &mut sink);
                }
                WorkerCommand::UpdatePermission { room, identity, permission, reply } => {
                    let _ = reply.send(sfu.update_permission(now, &room, &identity, permission, &mut sink));
                }
                WorkerCommand::Participants { room, reply } => {
                    let _ = reply.send(sfu.participants(&room));
                }
                WorkerCommand::Join { key, request, events } => {
                    sink.signal_connections.insert(key, events);
                    sfu.join(now, key, request, &mut sink);
                }
                WorkerCommand::Participant { key, command } => {
                    let leaving = matches!(command, Command::Leave);
                    sfu.command(now, key, command, &mut sink);
                    if leaving {
                        sink.signal_connections.remove(&key);
                    }
                }
            }
            flush(&socket, &mut queue, counters);
        }
        let now = Instant::now();
        let wait =
            sfu.poll_timeout(now).saturating_duration_since(now).clamp(Duration::from_millis(1), COMMAND_LATENCY);
        polls.set(std::iter::once(socket.as_raw_fd()).chain(tcp.iter().flat_map(|(mux, _)| mux.fds())));
        // A turn that skips the wait (datagrams still queued) reads TCP too, so a busy UDP
        // socket cannot starve it; other turns read TCP only when the wait says so.
        let tcp_ready = more;
        let readable = more
            || polls.wait(wait).unwrap_or_else(|e| {
                warn!(error = %e, "cannot wait for the media socket");
                // Do not spin on a persistent error.
                std::thread::sleep(wait);
                false
            });
        more = false;
        // Reads until nothing is waiting or the budget is spent. Handling a batch takes long
        // enough (a packet fans out to every subscriber) for more to arrive meanwhile; they are
        // read in the same turn, not after another round of timeouts.
        let mut handled = 0;
        while readable && !more {
            let n = match batch.recv(&socket) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => break,
                Err(e) => {
                    // ICMP errors surface here on some systems; they concern one peer.
                    debug!(error = %e, "UDP receive error");
                    break;
                }
            };
            let mut sink = SocketSink {
                socket: &socket,
                queue: &mut queue,
                tcp_out: &mut tcp_out,
                signal_connections: &mut signal_connections,
                counters,
                presence: &presence,
            };
            for (source, datagram) in batch.datagrams() {
                counters.datagrams_received.fetch_add(1, Ordering::Relaxed);
                if is_rtp(datagram) {
                    counters.rtp_received.fetch_add(1, Ordering::Relaxed);
                }
                if !sfu.handle_receive(Instant::now(), source, datagram, &mut sink) {
                    counters.datagrams_unmatched.fetch_add(1, Ordering::Relaxed);
                }
            }
            flush(&socket, &mut queue, counters);
            handled += n;
            more = handled >= RECV_BUDGET;
        }
        let tcp_ready = tcp_ready || polls.ready_from(1);
        if let Some((mux, tcp_host)) = tcp.as_mut().filter(|_| tcp_ready) {
            let mut sink = SocketSink {
                socket: &socket,
                queue: &mut queue,
                tcp_out: &mut tcp_out,
                signal_connections: &mut signal_connections,
                counters,
                presence: &presence,
            };
            mux.receive(Instant::now(), |remote, frame| {
                counters.datagrams_received.fetch_add(1, Ordering::Relaxed);
                if is_rtp(frame) {
                    counters.rtp_received.fetch_add(1, Ordering::Relaxed);
                }
                let took = sfu.handle_receive_on(Instant::now(), Protocol::Tcp, remote, *tcp_host, frame, &mut sink);
                if !took {
                    counters.datagrams_unmatched.fetch_add(1, Ordering::Relaxed);
                }
                took
            });
            flush(&socket, &mut queue, counters);
        }
        let mut sink = SocketSink {
            socket: &socket,
            queue: &mut queue,
            tcp_out: &mut tcp_out,
            signal_connections: &mut signal_connections,
            counters,
            presence: &presence,
        };
        sfu.handle_timeout(Instant::now(), &mut sink);
        flush(&socket, &mut queue, counters);
        match tcp.as_mut() {
            Some((mux, _)) => {
                for (to, frame) in tcp_out.drain(..) {
                    mux.send(to, &frame);
                }
                mux.flush(Instant::now());
            }
            None => tcp_out.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::{SocketAddr, UdpSocket};
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::{MediaCounters, SocketSink, flush, is_rtp, room_worker};
    use crate::sfu::Sink;
    use crate::udp::{SEND_SLOTS, SendQueue};
    use str0m::net::Protocol;

    #[test]
    fn the_sink_counts_only_datagrams_the_kernel_took() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        let refused: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (mut queue, mut signal_connections, counters) =
            (SendQueue::new(), HashMap::new(), MediaCounters::default());
        let mut rtp = [0u8; 100];
        rtp[..2].copy_from_slice(&[0x80, 96]);
        let rtcp = [0x80, 201, 0, 1, 0, 0, 0, 0];
        let mut tcp_out = Vec::new();
        let get = |c: &MediaCounters| {
            [&c.datagrams_sent, &c.rtp_sent, &c.rtp_sent_bytes, &c.datagrams_send_dropped]
                .map(|a| a.load(Ordering::Relaxed))
        };
        {
            let mut sink = SocketSink {
                socket: &socket,
                queue: &mut queue,
                tcp_out: &mut tcp_out,
                signal_connections: &mut signal_connections,
                counters: &counters,
                presence: &None,
            };
            // 3 × 64 queued: the first two fills are flushed by the sink itself.
            for i in 0..3 * SEND_SLOTS {
                match i % 3 {
                    0 => sink.transmit(Protocol::Udp, to, &rtp),
                    1 => sink.transmit(Protocol::Udp, to, &rtcp),
                    _ => sink.transmit(Protocol::Udp, if i == 5 { refused } else { to }, &rtp[..50]),
                }
            }
        }
        // 128 flushed so far: 43 RTCP, 43 long RTP, 42 short RTP of which one was refused.
        assert_eq!(get(&counters), [127, 84, 43 * 100 + 41 * 50, 1]);
        flush(&socket, &mut queue, &counters);
        assert_eq!(get(&counters), [191, 127, 64 * 100 + 63 * 50, 1]);
        receiver.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 2048];
        let mut received = 0;
        while receiver.recv(&mut buf).is_ok() {
            received += 1;
        }
        assert_eq!(received, 191);
    }

    #[test]
    fn a_room_always_maps_to_the_same_worker() {
        let uuid = "7f3c2a1e-5b4d-4e8f-9a0b-1c2d3e4f5a6b";
        let copy: String = uuid.chars().collect(); // same name, another allocation
        assert_eq!(room_worker(uuid, 4), room_worker(&copy, 4));
        // Pinned: the mapping must not change between builds or releases (it is FNV-1a
        // and a fixed finaliser, not the std hasher, whose output may change).
        let rooms = ["", "room-1", "room-2", "room-3", uuid];
        assert_eq!(rooms.map(|r| room_worker(r, 4)), [2, 3, 0, 3, 3]);
        assert_eq!((1..=8).map(|i| room_worker(&format!("room-{i}"), 2)).collect::<Vec<_>>(), [1, 0, 1, 1, 0, 1, 1, 0]);
        // One worker owns everything; zero workers is treated as one.
        assert!(rooms.iter().all(|r| room_worker(r, 1) == 0 && room_worker(r, 0) == 0));
    }

    #[test]
    fn rooms_spread_evenly_over_workers() {
        // Names differing only in their last characters are the hard case for a weak hash.
        for workers in [2, 3, 4, 8] {
            let mut count = vec![0usize; workers];
            for i in 0..4000 {
                let w = room_worker(&format!("room-{i}"), workers);
                assert!(w < workers);
                count[w] += 1;
            }
            let fair = 4000 / workers;
            assert!(count.iter().all(|&c| c.abs_diff(fair) * 10 < fair), "{workers} workers: {count:?}");
        }
    }

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
