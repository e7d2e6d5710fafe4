//! One simulated participant: a signalling connection and up to two str0m peer
//! connections (publisher, subscriber), driven by one task.
//!
//! Many participants share a few runtime threads; each owns its sockets and `Rtc`s, so
//! nothing is locked on the packet path. Subscribers run str0m in RTP mode: packets are
//! decrypted and counted, never reassembled into frames. Publishers use frame mode, so
//! str0m's packetizer writes the VP8 payload descriptors and the simulcast RIDs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use livekit_protocol as lk;
use livekit_protocol::{signal_request, signal_response};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use vroom_media::worker::is_rtp;

use crate::creds::Ticket;
use crate::signal::{self, JoinError, Ws};
use crate::stats::TrackStats;
use crate::synth::{self, AudioSource, VideoSource};

/// What a participant publishes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub video: bool,
    pub audio: bool,
    pub simulcast: bool,
    /// Bit/s of the full-resolution video layer.
    pub video_bitrate: u64,
    pub audio_bitrate: u64,
    pub fps: u32,
    pub keyframe_interval: u32,
    /// The local address the server can reach (ICE host candidate).
    pub local_ip: IpAddr,
    pub seed: u64,
}

/// Counters every participant adds to while running (for the progress bar and the
/// measurement window), updated once per batch of packets.
#[derive(Debug, Default)]
pub struct Live {
    pub joined: AtomicU64,
    pub failed: AtomicU64,
    pub rx_packets: AtomicU64,
    pub rx_bytes: AtomicU64,
    pub tx_packets: AtomicU64,
    /// Of `tx_packets`, those of the streams a subscriber asks for by default: the top video
    /// layer (or the only one) and the audio.
    pub tx_wanted_packets: AtomicU64,
}

/// What a participant reports when it ends.
#[derive(Debug, Default)]
pub struct Outcome {
    pub identity: String,
    pub join_time: Option<Duration>,
    pub error: Option<JoinError>,
    pub tracks: Vec<TrackStats>,
    /// RTP packets the publisher connection sent (media, not RTCP).
    pub sent_packets: u64,
    pub sent_frames: u64,
    /// Datagrams the kernel refused to queue (socket buffer full).
    pub send_drops: u64,
    pub keyframe_requests: u64,
}

/// Simulcast layers as livekit-client sends them for 720p: rid, share of the top bitrate,
/// and size divisor (lowest first).
const LAYERS: [(&str, f64, u16, lk::VideoQuality); 3] = [
    ("q", 0.1, 4, lk::VideoQuality::Low),
    ("h", 0.3, 2, lk::VideoQuality::Medium),
    ("f", 1.0, 1, lk::VideoQuality::High),
];
const WIDTH: u16 = 1280;
const HEIGHT: u16 = 720;
const AUDIO_FRAME: Duration = Duration::from_millis(20);
const RECV_BUFFER: usize = 2048;
/// How long a participant may take from signalling to a connected subscriber connection.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(20);

struct Pc {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    timeout: Instant,
    connected: bool,
}

impl Pc {
    async fn new(ip: IpAddr, rtp_mode: bool, now: Instant) -> Result<Self, JoinError> {
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0))
            .await
            .map_err(|e| JoinError::Setup(format!("cannot bind a UDP socket on {ip}: {e}")))?;
        let local = socket.local_addr().map_err(|e| JoinError::Setup(e.to_string()))?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_rtp_mode(rtp_mode)
            // Statistics events cost per packet and are not needed: stats are counted here.
            .set_stats_interval(None)
            .build(now);
        let candidate = Candidate::host(local, "udp").map_err(|e| JoinError::Setup(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        Ok(Self { rtc, socket, local, timeout: now, connected: false })
    }
}

struct Layer {
    rid: Option<Rid>,
    source: VideoSource,
}

/// The publishing side's state after negotiation.
#[derive(Default)]
struct Publishing {
    video_mid: Option<Mid>,
    audio_mid: Option<Mid>,
    video_pt: Option<Pt>,
    audio_pt: Option<Pt>,
    layers: Vec<Layer>,
    audio: Option<AudioSource>,
    pending: Option<SdpPendingOffer>,
    next_video: Option<Instant>,
    next_audio: Option<Instant>,
    video_frames: u64,
    audio_frames: u64,
    /// SSRCs of the top video layer and the audio (see [`Live::tx_wanted_packets`]).
    wanted_ssrcs: Vec<u32>,
}

struct Participant {
    plan: Plan,
    live: Arc<Live>,
    started: Instant,
    publ: Option<Pc>,
    sub: Pc,
    publishing: Publishing,
    tracks: HashMap<u32, TrackStats>,
    outcome: Outcome,
    ping_every: Duration,
    next_ping: Instant,
    buf: Vec<u8>,
    // Batched into `live` after each wake-up.
    rx_packets: u64,
    rx_bytes: u64,
    tx_packets: u64,
    tx_wanted_packets: u64,
}

/// Which peer connection an I/O event is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Publisher,
    Subscriber,
}

enum Wake {
    Stop,
    Readable(Role),
    Signal(Box<Result<Option<signal_response::Message>, JoinError>>),
    Timer,
}

/// Runs a participant until `stop` flips to true (or it fails). `joined` is told the join
/// result as soon as it is known.
pub async fn run(
    ticket: Ticket,
    plan: Plan,
    live: Arc<Live>,
    mut stop: watch::Receiver<bool>,
    joined: tokio::sync::oneshot::Sender<Result<Duration, JoinError>>,
) -> Outcome {
    let started = Instant::now();
    let mut joined = Some(joined);
    let mut report = |result: Result<Duration, JoinError>| {
        if let Some(tx) = joined.take() {
            let _ = tx.send(result);
        }
    };
    let identity = ticket.identity.clone();
    let fail = |e: JoinError, live: &Live| {
        live.failed.fetch_add(1, Ordering::Relaxed);
        Outcome { identity: identity.clone(), error: Some(e), ..Default::default() }
    };
    let (mut ws, join) = match signal::connect(&ticket.url, &ticket.token).await {
        Ok(x) => x,
        Err(e) => {
            report(Err(e.clone()));
            return fail(e, &live);
        }
    };
    let mut p = match Participant::new(plan, live.clone(), started, &join).await {
        Ok(p) => p,
        Err(e) => {
            report(Err(e.clone()));
            return fail(e, &live);
        }
    };
    p.outcome.identity = ticket.identity.clone();
    if let Err(e) = p.start_publishing(&mut ws).await {
        report(Err(e.clone()));
        return fail(e, &live);
    }
    let deadline = started + JOIN_TIMEOUT;
    let result = p.run_loop(&mut ws, &mut stop, deadline, &mut report).await;
    if let Err(e) = result {
        report(Err(e.clone()));
        if p.outcome.join_time.is_none() {
            live.failed.fetch_add(1, Ordering::Relaxed);
        }
        p.outcome.error = Some(e);
    }
    let _ = signal::send(&mut ws, signal_request::Message::Leave(lk::LeaveRequest::default())).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    p.finish()
}

impl Participant {
    async fn new(plan: Plan, live: Arc<Live>, started: Instant, join: &lk::JoinResponse) -> Result<Self, JoinError> {
        let now = Instant::now();
        let publ = if plan.video || plan.audio { Some(Pc::new(plan.local_ip, false, now).await?) } else { None };
        let sub = Pc::new(plan.local_ip, true, now).await?;
        // LiveKit drops clients that do not ping within ping_timeout.
        let ping_every = Duration::from_secs(u64::from(join.ping_interval.max(1) as u32)).min(Duration::from_secs(10));
        Ok(Self {
            plan,
            live,
            started,
            publ,
            sub,
            publishing: Publishing::default(),
            tracks: HashMap::new(),
            outcome: Outcome::default(),
            ping_every,
            next_ping: now + ping_every,
            buf: vec![0; RECV_BUFFER],
            rx_packets: 0,
            rx_bytes: 0,
            tx_packets: 0,
            tx_wanted_packets: 0,
        })
    }

    /// Announces the tracks (AddTrack), then offers the publisher connection.
    async fn start_publishing(&mut self, ws: &mut Ws) -> Result<(), JoinError> {
        let Some(pc) = self.publ.as_mut() else { return Ok(()) };
        let plan = &self.plan;
        let stream = format!("loadtest-{}", plan.seed);
        let mut api = pc.rtc.sdp_api();
        if plan.audio {
            let cid = format!("{stream}-audio");
            let add = lk::AddTrackRequest {
                cid: cid.clone(),
                name: "microphone".into(),
                r#type: lk::TrackType::Audio as i32,
                source: lk::TrackSource::Microphone as i32,
                ..Default::default()
            };
            signal::send(ws, signal_request::Message::AddTrack(add)).await?;
            let mid = api.add_media(MediaKind::Audio, Direction::SendOnly, Some(stream.clone()), Some(cid), None);
            self.publishing.audio_mid = Some(mid);
            self.publishing.audio = Some(AudioSource::new(plan.audio_bitrate, plan.seed ^ 0xa0d10));
        }
        if plan.video {
            let cid = format!("{stream}-video");
            let layers: &[_] = if plan.simulcast { &LAYERS } else { &LAYERS[2..] };
            let add = lk::AddTrackRequest {
                cid: cid.clone(),
                name: "camera".into(),
                r#type: lk::TrackType::Video as i32,
                source: lk::TrackSource::Camera as i32,
                width: u32::from(WIDTH),
                height: u32::from(HEIGHT),
                layers: layers
                    .iter()
                    .map(|(rid, share, div, quality)| lk::VideoLayer {
                        quality: *quality as i32,
                        width: u32::from(WIDTH / div),
                        height: u32::from(HEIGHT / div),
                        bitrate: (plan.video_bitrate as f64 * share) as u32,
                        rid: if plan.simulcast { (*rid).into() } else { String::new() },
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            signal::send(ws, signal_request::Message::AddTrack(add)).await?;
            let simulcast = plan.simulcast.then(|| {
                let mut s = Simulcast::new();
                for (rid, ..) in layers {
                    s.add_send_layer(SimulcastLayer::new(rid));
                }
                s
            });
            let mid = api.add_media(MediaKind::Video, Direction::SendOnly, Some(stream.clone()), Some(cid), simulcast);
            self.publishing.video_mid = Some(mid);
            for (i, (rid, share, div, _)) in layers.iter().enumerate() {
                let bitrate = (plan.video_bitrate as f64 * share) as u64;
                self.publishing.layers.push(Layer {
                    rid: plan.simulcast.then(|| Rid::from(*rid)),
                    source: VideoSource::new(
                        WIDTH / div,
                        HEIGHT / div,
                        bitrate,
                        plan.fps,
                        plan.keyframe_interval,
                        plan.seed.wrapping_mul(31).wrapping_add(i as u64),
                    ),
                });
            }
        }
        let Some((offer, pending)) = api.apply() else { return Ok(()) };
        self.publishing.pending = Some(pending);
        signal::send(ws, signal_request::Message::Offer(signal::description("offer", offer.to_sdp_string(), 1)))
            .await?;
        let now = Instant::now();
        self.drive(Role::Publisher, now);
        Ok(())
    }

    async fn run_loop(
        &mut self,
        ws: &mut Ws,
        stop: &mut watch::Receiver<bool>,
        join_deadline: Instant,
        report: &mut impl FnMut(Result<Duration, JoinError>),
    ) -> Result<(), JoinError> {
        loop {
            let now = Instant::now();
            self.on_time(now);
            if now >= self.next_ping {
                self.next_ping = now + self.ping_every;
                let ping = lk::Ping { timestamp: signal_now_ms(), rtt: 0 };
                signal::send(ws, signal_request::Message::PingReq(ping)).await?;
            }
            if self.sub.connected && self.outcome.join_time.is_none() {
                let took = now.duration_since(self.started);
                self.outcome.join_time = Some(took);
                self.live.joined.fetch_add(1, Ordering::Relaxed);
                report(Ok(took));
            } else if self.outcome.join_time.is_none() && now >= join_deadline {
                return Err(JoinError::Protocol(format!(
                    "the subscriber connection did not connect within {} s",
                    JOIN_TIMEOUT.as_secs()
                )));
            }
            self.flush_live();
            if *stop.borrow() {
                return Ok(());
            }
            let wake_at = self.next_wake(join_deadline);
            let publ = self.publ.as_ref().map(|p| &p.socket);
            let wake = tokio::select! {
                biased;
                _ = stop.changed() => Wake::Stop,
                r = self.sub.socket.readable() => { let _ = r; Wake::Readable(Role::Subscriber) }
                r = async { publ.expect("guarded").readable().await }, if publ.is_some() => {
                    let _ = r;
                    Wake::Readable(Role::Publisher)
                }
                m = signal::recv(ws) => Wake::Signal(Box::new(m)),
                _ = tokio::time::sleep_until(wake_at.into()) => Wake::Timer,
            };
            match wake {
                Wake::Stop => return Ok(()),
                Wake::Readable(role) => self.read(role),
                Wake::Signal(m) => match (*m)? {
                    Some(message) => self.on_signal(ws, message).await?,
                    None => return Err(JoinError::Protocol("the server closed the signalling connection".into())),
                },
                Wake::Timer => {}
            }
        }
    }

    fn next_wake(&self, join_deadline: Instant) -> Instant {
        let mut t = self.sub.timeout.min(self.next_ping);
        if let Some(p) = &self.publ {
            t = t.min(p.timeout);
        }
        for next in [self.publishing.next_video, self.publishing.next_audio].into_iter().flatten() {
            t = t.min(next);
        }
        if self.outcome.join_time.is_none() {
            t = t.min(join_deadline);
        }
        t
    }

    fn flush_live(&mut self) {
        if self.rx_packets > 0 {
            self.live.rx_packets.fetch_add(self.rx_packets, Ordering::Relaxed);
            self.live.rx_bytes.fetch_add(self.rx_bytes, Ordering::Relaxed);
            self.rx_packets = 0;
            self.rx_bytes = 0;
        }
        if self.tx_packets > 0 {
            self.live.tx_packets.fetch_add(self.tx_packets, Ordering::Relaxed);
            self.live.tx_wanted_packets.fetch_add(self.tx_wanted_packets, Ordering::Relaxed);
            self.outcome.sent_packets += self.tx_packets;
            self.tx_packets = 0;
            self.tx_wanted_packets = 0;
        }
    }

    fn pc(&mut self, role: Role) -> Option<&mut Pc> {
        match role {
            Role::Publisher => self.publ.as_mut(),
            Role::Subscriber => Some(&mut self.sub),
        }
    }

    /// Reads every queued datagram of one socket.
    fn read(&mut self, role: Role) {
        let mut buf = std::mem::take(&mut self.buf);
        // Stops at WouldBlock, or at an ICMP error about one send: nothing more to read.
        while let Some(pc) = self.pc(role)
            && let Ok((n, source)) = pc.socket.try_recv_from(&mut buf)
        {
            let Ok(contents) = buf[..n].try_into() else { continue };
            let now = Instant::now();
            let input = Input::Receive(now, Receive { proto: Protocol::Udp, source, destination: pc.local, contents });
            if pc.rtc.handle_input(input).is_ok() {
                self.drive(role, now);
            }
        }
        self.buf = buf;
    }

    /// Timeouts of both connections and the publishing schedule.
    fn on_time(&mut self, now: Instant) {
        for role in [Role::Publisher, Role::Subscriber] {
            if let Some(pc) = self.pc(role)
                && pc.timeout <= now
            {
                let _ = pc.rtc.handle_input(Input::Timeout(now));
                self.drive(role, now);
            }
        }
        self.publish(now);
    }

    /// Writes every frame that is due.
    fn publish(&mut self, now: Instant) {
        let Some(pc) = self.publ.as_mut() else { return };
        let p = &mut self.publishing;
        let mut wrote = false;
        if let (Some(mid), Some(pt), Some(next)) = (p.video_mid, p.video_pt, p.next_video)
            && next <= now
        {
            let rtp_time = MediaTime::new(p.video_frames * 90_000 / u64::from(self.plan.fps), Frequency::NINETY_KHZ);
            for layer in &mut p.layers {
                let (frame, _) = layer.source.next_frame(now);
                let Some(mut writer) = pc.rtc.writer(mid) else { break };
                if let Some(rid) = layer.rid {
                    writer = writer.rid(rid);
                }
                let _ = writer.write(pt, now, rtp_time, frame);
                self.outcome.sent_frames += 1;
            }
            p.video_frames += 1;
            // Catch up rather than burst if the task was late.
            let period = Duration::from_secs(1) / self.plan.fps.max(1);
            p.next_video = Some((next + period).max(now));
            wrote = true;
        }
        if let (Some(mid), Some(pt), Some(next), Some(source)) = (p.audio_mid, p.audio_pt, p.next_audio, &mut p.audio)
            && next <= now
        {
            let rtp_time = MediaTime::new(p.audio_frames * 960, Frequency::FORTY_EIGHT_KHZ);
            if let Some(writer) = pc.rtc.writer(mid) {
                let _ = writer.write(pt, now, rtp_time, source.next_packet(now));
                self.outcome.sent_frames += 1;
            }
            p.audio_frames += 1;
            p.next_audio = Some((next + AUDIO_FRAME).max(now));
            wrote = true;
        }
        if wrote {
            self.drive(Role::Publisher, now);
        }
    }

    /// Called once the publisher connection is up: looks up the negotiated payload types
    /// and starts the schedule.
    fn start_media(&mut self, now: Instant) {
        let Some(pc) = self.publ.as_mut() else { return };
        let p = &mut self.publishing;
        let pt_of = |rtc: &mut Rtc, mid: Option<Mid>, codec: Codec| -> Option<Pt> {
            let writer = rtc.writer(mid?)?;
            writer.payload_params().find(|pp| pp.spec().codec == codec).map(|pp| pp.pt())
        };
        p.video_pt = pt_of(&mut pc.rtc, p.video_mid, Codec::Vp8);
        p.audio_pt = pt_of(&mut pc.rtc, p.audio_mid, Codec::Opus);
        if p.video_pt.is_some() {
            p.next_video = Some(now);
        }
        let top = p.layers.last().map(|l| l.rid);
        let mut api = pc.rtc.direct_api();
        let video = p.video_mid.zip(top).and_then(|(mid, rid)| api.stream_tx_by_mid(mid, rid).map(|s| *s.ssrc()));
        let audio = p.audio_mid.and_then(|mid| api.stream_tx_by_mid(mid, None).map(|s| *s.ssrc()));
        p.wanted_ssrcs = video.into_iter().chain(audio).collect();
        if p.audio_pt.is_some() {
            p.next_audio = Some(now);
        }
    }

    /// Drains a connection's output until it asks for a timeout.
    fn drive(&mut self, role: Role, now: Instant) {
        loop {
            let Some(pc) = self.pc(role) else { return };
            match pc.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    pc.timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    let is_rtp = is_rtp(&t.contents);
                    if pc.socket.try_send_to(&t.contents, t.destination).is_err() {
                        self.outcome.send_drops += 1;
                    } else if is_rtp && role == Role::Publisher {
                        self.tx_packets += 1;
                        // The SSRC is in the clear in SRTP (RFC 3711 §3.1).
                        let ssrc = t.contents.get(8..12).map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")));
                        if ssrc.is_some_and(|s| self.publishing.wanted_ssrcs.contains(&s)) {
                            self.tx_wanted_packets += 1;
                        }
                    }
                }
                Ok(Output::Event(e)) => self.on_event(role, e, now),
                Err(_) => {
                    // The connection failed; keep the task alive so the run reports it
                    // (as loss or a join timeout) instead of vanishing.
                    pc.timeout = now + Duration::from_secs(3600);
                    return;
                }
            }
        }
    }

    fn on_event(&mut self, role: Role, event: Event, now: Instant) {
        match event {
            Event::Connected => {
                if let Some(pc) = self.pc(role) {
                    pc.connected = true;
                }
                if role == Role::Publisher {
                    self.start_media(now);
                }
            }
            Event::RtpPacket(packet) => {
                let video = packet.time.frequency() == Frequency::NINETY_KHZ;
                let track = self.tracks.entry(*packet.header.ssrc).or_insert_with(|| TrackStats::new(video));
                self.rx_packets += 1;
                self.rx_bytes += packet.payload.len() as u64;
                track.on_packet(
                    *packet.seq_no,
                    packet.time.numer(),
                    synth::micros(packet.timestamp),
                    packet.header.marker,
                    &packet.payload,
                );
            }
            Event::KeyframeRequest(req) if role == Role::Publisher => {
                self.outcome.keyframe_requests += 1;
                for layer in &mut self.publishing.layers {
                    if req.rid.is_none() || layer.rid == req.rid {
                        layer.source.request_keyframe();
                    }
                }
            }
            _ => {}
        }
    }

    async fn on_signal(&mut self, ws: &mut Ws, message: signal_response::Message) -> Result<(), JoinError> {
        let now = Instant::now();
        match message {
            signal_response::Message::Offer(offer) => {
                let parsed = SdpOffer::from_sdp_string(&offer.sdp)
                    .map_err(|e| JoinError::Protocol(format!("unparsable subscriber offer: {e}")))?;
                let answer = self
                    .sub
                    .rtc
                    .sdp_api()
                    .accept_offer(parsed)
                    .map_err(|e| JoinError::Protocol(format!("subscriber offer refused: {e}")))?;
                let sdp = answer.to_sdp_string();
                self.drive(Role::Subscriber, now);
                signal::send(ws, signal_request::Message::Answer(signal::description("answer", sdp, offer.id))).await?;
            }
            signal_response::Message::Answer(answer) => {
                let (Some(pc), Some(pending)) = (self.publ.as_mut(), self.publishing.pending.take()) else {
                    return Ok(());
                };
                let parsed = SdpAnswer::from_sdp_string(&answer.sdp)
                    .map_err(|e| JoinError::Protocol(format!("unparsable publisher answer: {e}")))?;
                pc.rtc
                    .sdp_api()
                    .accept_answer(pending, parsed)
                    .map_err(|e| JoinError::Protocol(format!("publisher answer refused: {e}")))?;
                self.drive(Role::Publisher, now);
            }
            signal_response::Message::Trickle(t) => {
                let role =
                    if t.target == lk::SignalTarget::Subscriber as i32 { Role::Subscriber } else { Role::Publisher };
                if let Some(line) = candidate_line(&t.candidate_init)
                    && let Ok(candidate) = Candidate::from_sdp_string(&line)
                    && let Some(pc) = self.pc(role)
                {
                    pc.rtc.add_remote_candidate(candidate);
                    self.drive(role, now);
                }
            }
            signal_response::Message::Leave(leave) => {
                return Err(JoinError::Protocol(format!("the server asked to leave (reason {})", leave.reason)));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Outcome {
        self.flush_live();
        self.outcome.tracks = self.tracks.into_values().collect();
        self.outcome
    }
}

/// The `candidate` line of a JSON `RTCIceCandidateInit`.
fn candidate_line(init: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(init).ok()?;
    let line = value.get("candidate")?.as_str()?;
    (!line.is_empty()).then(|| line.to_owned())
}

fn signal_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_lines_come_out_of_the_json_init() {
        let init = r#"{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0"}"#;
        assert_eq!(candidate_line(init).unwrap(), "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host");
        assert_eq!(candidate_line("{}"), None);
    }
}
