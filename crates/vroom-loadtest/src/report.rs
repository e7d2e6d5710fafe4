//! The run's results: what the table and `--json` show.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Serialize;

use crate::LoadtestArgs;
use crate::client::{Live, Outcome};
use crate::stats::{Histogram, KindTotals};
use crate::sys::{self, UdpCounters};

/// Counters at one instant (window edges).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub at: Instant,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_wanted_packets: u64,
    pub own_cpu_us: Option<u64>,
    pub server_cpu_us: Option<u64>,
    pub server_rss_kb: Option<u64>,
    pub udp: Option<UdpCounters>,
}

impl Snapshot {
    pub fn take(live: &Live, server_pid: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            rx_packets: live.rx_packets.load(Ordering::Relaxed),
            rx_bytes: live.rx_bytes.load(Ordering::Relaxed),
            tx_packets: live.tx_packets.load(Ordering::Relaxed),
            tx_wanted_packets: live.tx_wanted_packets.load(Ordering::Relaxed),
            own_cpu_us: sys::cpu_micros(None),
            server_cpu_us: server_pid.and_then(|p| sys::cpu_micros(Some(p))),
            server_rss_kb: server_pid.and_then(sys::rss_kb),
            udp: UdpCounters::read(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    pub url: String,
    pub rooms: u32,
    pub participants: usize,
    pub video_publishers_per_room: u32,
    pub audio_publishers_per_room: u32,
    pub subscribers_per_room: u32,
    pub simulcast: bool,
    pub video_bitrate: u64,
    pub duration_s: f64,
}

/// The measurement window: rates, and CPU time per packet.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub seconds: f64,
    /// RTP packets the subscribers received (≈ what the server forwarded).
    pub received_packets: u64,
    pub received_packets_per_s: f64,
    pub received_mbit_per_s: f64,
    /// RTP packets the publishers sent.
    pub sent_packets: u64,
    pub sent_packets_per_s: f64,
    /// What the subscribers ask for: the packets/s they would receive with every track at
    /// its top layer (the publishers' top-layer and audio packets × the room's other
    /// participants, every one of whom subscribes to everything).
    pub wanted_packets_per_s: f64,
    /// `received_packets_per_s ÷ wanted_packets_per_s` (below 1: held on lower layers, or lost).
    pub delivered_share: Option<f64>,
    pub generator_cpu_s: Option<f64>,
    pub generator_cpu_percent: Option<f64>,
    /// Generator CPU per packet it handled (sent + received).
    pub generator_cpu_us_per_packet: Option<f64>,
    pub server_cpu_s: Option<f64>,
    pub server_cpu_percent: Option<f64>,
    /// Server CPU per packet the subscribers received.
    pub server_cpu_us_per_forwarded_packet: Option<f64>,
    /// Kernel UDP counters of this network namespace over the window (server and
    /// generator together when they share it).
    pub udp: Option<UdpCounters>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub pid: u32,
    pub rss_kb_before: Option<u64>,
    pub rss_kb_end: Option<u64>,
    /// (RSS at the end − RSS before anyone joined) / participants.
    pub rss_kb_per_participant: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParticipantReport {
    pub identity: String,
    pub join_ms: Option<f64>,
    pub tracks: usize,
    pub packets: u64,
    pub lost: u64,
    pub expected: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub setup: Setup,
    pub joined: usize,
    pub failed: usize,
    /// Distinct join errors (at most 5).
    pub errors: Vec<String>,
    pub join_ms_p50: Option<f64>,
    pub join_ms_p99: Option<f64>,
    pub join_ms_max: Option<f64>,
    pub window: Window,
    pub video: KindTotals,
    pub audio: KindTotals,
    pub total: KindTotals,
    pub frames_sent: u64,
    pub publisher_packets_sent: u64,
    pub send_drops: u64,
    pub keyframe_requests: u64,
    pub server: Option<Server>,
    pub participants: Vec<ParticipantReport>,
}

fn delta(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    Some(b?.saturating_sub(a?))
}

impl Report {
    pub fn new(args: &LoadtestArgs, outcomes: &[Outcome], before: &Snapshot, start: &Snapshot, end: &Snapshot) -> Self {
        let seconds = end.at.duration_since(start.at).as_secs_f64().max(1e-3);
        let received = end.rx_packets - start.rx_packets;
        let sent = end.tx_packets - start.tx_packets;
        let others = args.participants_per_room().saturating_sub(1);
        let wanted = (end.tx_wanted_packets - start.tx_wanted_packets) * u64::from(others);
        let per_s = |n: u64| n as f64 / seconds;
        let own = delta(start.own_cpu_us, end.own_cpu_us);
        let server = delta(start.server_cpu_us, end.server_cpu_us);
        let per_packet = |cpu: Option<u64>, n: u64| cpu.filter(|_| n > 0).map(|us| us as f64 / n as f64);
        let window = Window {
            seconds,
            received_packets: received,
            received_packets_per_s: per_s(received),
            received_mbit_per_s: (end.rx_bytes - start.rx_bytes) as f64 * 8.0 / seconds / 1e6,
            sent_packets: sent,
            sent_packets_per_s: per_s(sent),
            wanted_packets_per_s: per_s(wanted),
            delivered_share: (wanted > 0).then(|| received as f64 / wanted as f64),
            generator_cpu_s: own.map(|us| us as f64 / 1e6),
            generator_cpu_percent: own.map(|us| us as f64 / 1e4 / seconds),
            generator_cpu_us_per_packet: per_packet(own, received + sent),
            server_cpu_s: server.map(|us| us as f64 / 1e6),
            server_cpu_percent: server.map(|us| us as f64 / 1e4 / seconds),
            server_cpu_us_per_forwarded_packet: per_packet(server, received),
            udp: match (start.udp, end.udp) {
                (Some(a), Some(b)) => Some(b.since(&a)),
                _ => None,
            },
        };
        let (mut video, mut audio) = (KindTotals::default(), KindTotals::default());
        let mut joins = Histogram::default();
        let mut errors: Vec<String> = Vec::new();
        let mut participants = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            let mut mine = KindTotals::default();
            for t in &o.tracks {
                if t.video {
                    video.add(t)
                } else {
                    audio.add(t)
                }
                mine.add(t);
            }
            if let Some(j) = o.join_time {
                joins.record(j.as_micros() as u64);
            }
            let error = o.error.as_ref().map(ToString::to_string);
            if let Some(e) = &error
                && errors.len() < 5
                && !errors.contains(e)
            {
                errors.push(e.clone());
            }
            participants.push(ParticipantReport {
                identity: o.identity.clone(),
                join_ms: o.join_time.map(|d| d.as_secs_f64() * 1000.0),
                tracks: o.tracks.len(),
                packets: mine.packets,
                lost: mine.lost,
                expected: mine.expected,
                error,
            });
        }
        let mut total = video.clone();
        total.merge(&audio);
        for k in [&mut video, &mut audio, &mut total] {
            k.finish();
        }
        let joined = outcomes.iter().filter(|o| o.join_time.is_some()).count();
        Report {
            setup: Setup {
                url: args.url.clone(),
                rooms: args.rooms,
                participants: outcomes.len(),
                video_publishers_per_room: args.video_publishers,
                audio_publishers_per_room: args.audio_publishers,
                subscribers_per_room: args.subscribers,
                simulcast: args.simulcast,
                video_bitrate: args.video_bitrate,
                duration_s: args.duration.as_secs_f64(),
            },
            joined,
            failed: outcomes.len() - joined,
            errors,
            join_ms_p50: joins.quantile_ms(0.5),
            join_ms_p99: joins.quantile_ms(0.99),
            join_ms_max: joins.quantile_ms(1.0),
            window,
            video,
            audio,
            total,
            frames_sent: outcomes.iter().map(|o| o.sent_frames).sum(),
            publisher_packets_sent: outcomes.iter().map(|o| o.sent_packets).sum(),
            send_drops: outcomes.iter().map(|o| o.send_drops).sum(),
            keyframe_requests: outcomes.iter().map(|o| o.keyframe_requests).sum(),
            server: args.server_pid.map(|pid| Server {
                pid,
                rss_kb_before: before.server_rss_kb,
                rss_kb_end: end.server_rss_kb,
                rss_kb_per_participant: delta(before.server_rss_kb, end.server_rss_kb)
                    .map(|kb| kb as f64 / outcomes.len().max(1) as f64),
            }),
            participants,
        }
    }

    /// The human-readable summary.
    pub fn table(&self) -> String {
        let s = &self.setup;
        let w = &self.window;
        let mut out = String::new();
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
        let _ = writeln!(
            out,
            "\nvroom loadtest → {}: {} room(s) × ({} video / {} audio publishers, {} subscribers){}",
            s.url,
            s.rooms,
            s.video_publishers_per_room,
            s.audio_publishers_per_room,
            s.subscribers_per_room,
            if s.simulcast { ", simulcast" } else { "" }
        );
        let _ = writeln!(
            out,
            "joined {}/{} participants; join time p50 {} ms, p99 {} ms",
            self.joined,
            s.participants,
            ms(self.join_ms_p50),
            ms(self.join_ms_p99)
        );
        for e in &self.errors {
            let _ = writeln!(out, "  error: {e}");
        }
        let _ = writeln!(
            out,
            "\n{:<7} {:>7} {:>11} {:>10} {:>8} {:>10} {:>9} {:>9}",
            "tracks", "count", "packets", "MB", "loss %", "jitter ms", "lat p50", "lat p99"
        );
        for (name, k) in [("video", &self.video), ("audio", &self.audio), ("total", &self.total)] {
            let _ = writeln!(
                out,
                "{:<7} {:>7} {:>11} {:>10.1} {:>8.3} {:>10.2} {:>9} {:>9}",
                name,
                k.tracks,
                k.packets,
                k.bytes as f64 / 1e6,
                k.loss_percent,
                k.jitter_ms,
                ms(k.latency_p50_ms),
                ms(k.latency_p99_ms)
            );
        }
        let _ = writeln!(
            out,
            "\nwindow {:.1} s: received {:.0} packets/s ({:.1} Mbit/s), publishers sent {:.0} packets/s",
            w.seconds, w.received_packets_per_s, w.received_mbit_per_s, w.sent_packets_per_s
        );
        if let Some(share) = w.delivered_share {
            let _ = writeln!(
                out,
                "subscribers asked for {:.0} packets/s (every track at its top layer): {:.0} % delivered",
                w.wanted_packets_per_s,
                share * 100.0
            );
        }
        if let (Some(cpu), Some(pct)) = (w.generator_cpu_s, w.generator_cpu_percent) {
            let _ = writeln!(
                out,
                "generator CPU {cpu:.2} s ({pct:.0} % of a core), {} µs per packet handled",
                ms(w.generator_cpu_us_per_packet.map(|v| v * 1.0))
            );
        }
        if let (Some(cpu), Some(pct)) = (w.server_cpu_s, w.server_cpu_percent) {
            let _ = writeln!(
                out,
                "server CPU {cpu:.2} s ({pct:.0} % of a core), {} µs per forwarded packet",
                ms(w.server_cpu_us_per_forwarded_packet)
            );
        }
        if let Some(server) = &self.server
            && let (Some(end), Some(per)) = (server.rss_kb_end, server.rss_kb_per_participant)
        {
            let _ = writeln!(out, "server RSS {:.1} MB, {:.0} kB per participant", end as f64 / 1024.0, per);
        }
        if let Some(udp) = &w.udp {
            let _ = writeln!(
                out,
                "kernel UDP (this namespace): {} receive errors ({} buffer full), {} send-buffer errors",
                udp.in_errors, udp.rcvbuf_errors, udp.sndbuf_errors
            );
        }
        if self.send_drops > 0 {
            let _ = writeln!(out, "generator send drops: {}", self.send_drops);
        }
        out
    }
}
