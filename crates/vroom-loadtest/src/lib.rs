//! # vroom-loadtest: a LiveKit-protocol load generator
//!
//! `vroom loadtest` joins rooms of any LiveKit-compatible server (vroom, LiveKit) with
//! many simulated participants and measures what the subscribers receive, in the spirit
//! of LiveKit's `lk load-test`, but without encoding and cheaply enough to share a
//! machine with the server it measures:
//!
//! - signalling is LiveKit's `/rtc` WebSocket (protocol v0, publisher and subscriber peer
//!   connections), spoken with `livekit-protocol` messages ([`signal`]);
//! - media runs on [str0m](https://docs.rs/str0m): each participant is one task owning its
//!   `Rtc`s and UDP sockets, a few runtime threads drive them all ([`client`]);
//! - publishers send synthetic VP8 (valid frame tags, keyframes every N frames, 720p-like
//!   sizes, optional 3-layer simulcast) and Opus-sized audio, each frame ending with a send
//!   timestamp ([`synth`]);
//! - subscribers count packets, bytes, loss from sequence numbers, RFC 3550 jitter and
//!   one-way latency per track ([`stats`]) from decrypted RTP, never reassembling frames;
//! - tokens are minted from an API key and secret, or fetched from a vroom server's
//!   member API with an app's credentials ([`creds`]);
//! - with `--server-pid`, the server's CPU time, memory and the namespace's UDP drop
//!   counters are read from `/proc` around the measurement window ([`sys`]), which gives
//!   CPU time per forwarded packet.
//!
//! The run: participants join at `--join-rate`; once all have joined (or failed), a
//! measurement window of `--duration` starts; then everyone leaves and the report is
//! printed (a table, or JSON with `--json`). A target that cannot be reached or refuses
//! the token ends the run at once with the server's reason and exit status 2.

pub mod client;
pub mod creds;
pub mod report;
pub mod signal;
pub mod stats;
pub mod synth;
pub mod sys;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::client::{Live, Outcome, Plan};
use crate::creds::{Ticket, VroomApp};
use crate::report::{Report, Snapshot};
use crate::signal::JoinError;

/// `vroom loadtest` options.
#[derive(Debug, Clone, Args)]
pub struct LoadtestArgs {
    /// Signalling URL of the server (ws://, wss://, http:// or https://).
    #[arg(long, default_value = "ws://127.0.0.1:7880")]
    pub url: String,
    /// LiveKit API key: tokens are minted here (room names are chosen by --room/--room-prefix).
    #[arg(long, env = "LIVEKIT_API_KEY", requires = "api_secret")]
    pub api_key: Option<String>,
    /// LiveKit API secret matching --api-key.
    #[arg(long, env = "LIVEKIT_API_SECRET", hide_env_values = true)]
    pub api_secret: Option<String>,
    /// A vroom app's `apiKey:apiSecret`: rooms and media tokens come from the vroom server's
    /// member API (at --api-url, by default the HTTP form of --url).
    #[arg(long, value_name = "KEY:SECRET", conflicts_with = "api_key")]
    pub vroom_app: Option<String>,
    /// Base URL of the vroom HTTP API for --vroom-app.
    #[arg(long)]
    pub api_url: Option<String>,
    /// Number of rooms; every room gets the same participants.
    #[arg(long, default_value_t = 1)]
    pub rooms: u32,
    /// Rooms to use, as many as --rooms (repeatable): names with --api-key (default:
    /// <prefix>-1 … <prefix>-N), ids of existing video rooms with --vroom-app (default: new
    /// rooms).
    #[arg(long = "room")]
    pub room_names: Vec<String>,
    /// Prefix of generated room names with --api-key.
    #[arg(long, default_value = "loadtest")]
    pub room_prefix: String,
    /// Participants per room that publish video (the first ones; they also subscribe).
    #[arg(long, default_value_t = 0)]
    pub video_publishers: u32,
    /// Participants per room that publish audio (the first ones, overlapping the video
    /// publishers; they also subscribe).
    #[arg(long, default_value_t = 0)]
    pub audio_publishers: u32,
    /// Participants per room that only subscribe.
    #[arg(long, default_value_t = 0)]
    pub subscribers: u32,
    /// Publish video as three simulcast layers (q/h/f at 10/30/100 % of --video-bitrate).
    #[arg(long)]
    pub simulcast: bool,
    /// Bit rate of the (top layer of the) video, e.g. 1500000, 1.5M, 800k.
    #[arg(long, default_value = "1.5M", value_parser = parse_bitrate)]
    pub video_bitrate: u64,
    /// Bit rate of the audio.
    #[arg(long, default_value = "32k", value_parser = parse_bitrate)]
    pub audio_bitrate: u64,
    /// Video frames per second.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Video frames from one keyframe to the next.
    #[arg(long, default_value_t = 120)]
    pub keyframe_interval: u32,
    /// Length of the measurement window once everyone has joined, e.g. 30s, 2m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Participants joining per second.
    #[arg(long, default_value_t = 5.0)]
    pub join_rate: f64,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// PID of the server process when it runs on this machine: its CPU time and memory are
    /// read from /proc around the measurement window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Local IP the server can reach this machine at (default: found by routing to --url).
    #[arg(long)]
    pub local_ip: Option<IpAddr>,
}

impl LoadtestArgs {
    /// Participants per room: the publishers (video and audio ones overlap) and the others.
    pub fn participants_per_room(&self) -> u32 {
        self.video_publishers.max(self.audio_publishers) + self.subscribers
    }
}

fn parse_bitrate(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (number, scale) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1e3),
        Some('m' | 'M') => (&s[..s.len() - 1], 1e6),
        _ => (s, 1.0),
    };
    let value: f64 = number.parse().map_err(|_| format!("not a bit rate: {s:?} (e.g. 1500000, 1.5M, 800k)"))?;
    if value.is_nan() || value <= 0.0 {
        return Err("the bit rate must be positive".into());
    }
    Ok((value * scale) as u64)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number.parse().map_err(|_| format!("not a duration: {s:?} (e.g. 30, 30s, 2m)"))?;
    if value.is_nan() || value <= 0.0 {
        return Err("the duration must be positive".into());
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// Runs `vroom loadtest` and returns the process exit status: 0 when every participant
/// joined, 1 when some did not, 2 when the run could not start (bad arguments, the
/// target unreachable, the token refused).
pub async fn main(args: LoadtestArgs) -> i32 {
    match run(&args).await {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => eprintln!("error: cannot encode the report: {e}"),
                }
            } else {
                print!("{}", report.table());
            }
            if report.failed > 0 { 1 } else { 0 }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    }
}

/// Runs the load test and returns its report.
pub async fn run(args: &LoadtestArgs) -> anyhow::Result<Report> {
    let publishers = args.video_publishers.max(args.audio_publishers);
    let per_room = args.participants_per_room();
    anyhow::ensure!(
        args.rooms > 0 && per_room > 0,
        "nothing to do: give --video-publishers, --audio-publishers or --subscribers"
    );
    anyhow::ensure!(args.join_rate > 0.0, "--join-rate must be positive");
    anyhow::ensure!(args.fps > 0 && args.fps <= 120, "--fps must be 1..=120");
    synth::epoch();
    let local_ip = match args.local_ip {
        Some(ip) => ip,
        None => local_ip_towards(&args.url).await?,
    };
    let tickets = tickets(args, publishers).await?;
    let participants = tickets.len();
    let live = Arc::new(Live::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let progress = progress_bar(participants as u64, args.json);
    progress.set_message("joining");
    let server_before = Snapshot::take(&live, args.server_pid);

    let mut tasks: Vec<JoinHandle<Outcome>> = Vec::with_capacity(participants);
    let mut join_results = Vec::with_capacity(participants);
    let interval = Duration::from_secs_f64(1.0 / args.join_rate);
    let mut next_join = Instant::now();
    for (i, (index, ticket)) in tickets.into_iter().enumerate() {
        tokio::time::sleep_until(next_join.into()).await;
        next_join += interval;
        let plan = Plan {
            video: index < args.video_publishers,
            audio: index < args.audio_publishers,
            simulcast: args.simulcast,
            video_bitrate: args.video_bitrate,
            audio_bitrate: args.audio_bitrate,
            fps: args.fps,
            keyframe_interval: args.keyframe_interval,
            local_ip,
            seed: i as u64 + 1,
        };
        let (tx, rx) = oneshot::channel();
        tasks.push(tokio::spawn(client::run(ticket, plan, live.clone(), stop_rx.clone(), tx)));
        if i == 0 {
            // The first participant tells whether the target is there and takes our tokens;
            // if not, stop before starting hundreds of doomed ones.
            let first = tokio::time::timeout(client::JOIN_TIMEOUT + Duration::from_secs(5), rx)
                .await
                .unwrap_or(Ok(Err(JoinError::Protocol("no answer in time".into()))))
                .unwrap_or(Err(JoinError::Protocol("the participant task ended early".into())));
            if let Err(e) = first {
                let _ = stop_tx.send(true);
                progress.finish_and_clear();
                if e.is_fatal() {
                    anyhow::bail!(e);
                }
                anyhow::bail!("the first participant could not join: {e}");
            }
            join_results.push(None);
            next_join = Instant::now() + interval;
        } else {
            join_results.push(Some(rx));
        }
        progress.set_position(live.joined.load(Ordering::Relaxed) + live.failed.load(Ordering::Relaxed));
    }
    // Wait for the stragglers (each gives up after its own join timeout).
    let done = |live: &Live| (live.joined.load(Ordering::Relaxed) + live.failed.load(Ordering::Relaxed)) as usize;
    let give_up = Instant::now() + client::JOIN_TIMEOUT + Duration::from_secs(5);
    while done(&live) < participants && Instant::now() < give_up {
        progress.set_position(done(&live) as u64);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(join_results);

    // The measurement window.
    let start = Snapshot::take(&live, args.server_pid);
    progress.set_length(args.duration.as_secs().max(1));
    progress.set_position(0);
    let window_end = start.at + args.duration;
    while Instant::now() < window_end {
        let elapsed = start.at.elapsed();
        let rx = live.rx_packets.load(Ordering::Relaxed).saturating_sub(start.rx_packets);
        let secs = elapsed.as_secs_f64().max(0.001);
        progress.set_position(elapsed.as_secs());
        progress.set_message(format!(
            "{} joined, {} failed, {:.0} packets/s received",
            live.joined.load(Ordering::Relaxed),
            live.failed.load(Ordering::Relaxed),
            rx as f64 / secs
        ));
        tokio::time::sleep(Duration::from_millis(250).min(window_end.saturating_duration_since(Instant::now()))).await;
    }
    let end = Snapshot::take(&live, args.server_pid);
    progress.finish_and_clear();
    let _ = stop_tx.send(true);
    let mut outcomes = Vec::with_capacity(participants);
    for task in tasks {
        match tokio::time::timeout(Duration::from_secs(10), task).await {
            Ok(Ok(outcome)) => outcomes.push(outcome),
            Ok(Err(e)) => outcomes.push(Outcome {
                error: Some(JoinError::Setup(format!("participant task failed: {e}"))),
                ..Default::default()
            }),
            Err(_) => outcomes.push(Outcome {
                error: Some(JoinError::Setup("participant did not stop within 10 s".into())),
                ..Default::default()
            }),
        }
    }
    Ok(Report::new(args, &outcomes, &server_before, &start, &end))
}

/// Everyone's token with their index in their room (publishers have the lowest), in join
/// order: publishers first (so subscribers find the tracks when they arrive), rooms
/// interleaved.
async fn tickets(args: &LoadtestArgs, publishers: u32) -> anyhow::Result<Vec<(u32, Ticket)>> {
    let per_room = publishers + args.subscribers;
    let run_id = format!("{:x}", std::process::id() ^ (synth::micros(Instant::now()) as u32));
    let identity = |room: u32, i: u32| {
        let role = if i < publishers { "pub" } else { "sub" };
        format!("lt{run_id}-r{room}-{role}{i}")
    };
    let ttl = args.duration + Duration::from_secs(3600);
    anyhow::ensure!(
        args.room_names.is_empty() || args.room_names.len() == args.rooms as usize,
        "--room was given {} times for --rooms {}",
        args.room_names.len(),
        args.rooms
    );
    let mut out = Vec::new();
    if let Some(credentials) = &args.vroom_app {
        let api = args.api_url.clone().unwrap_or_else(|| signal::http_base(&args.url));
        let app = VroomApp::new(&api, credentials)?;
        let owner = app.member_token(&format!("lt{run_id}-owner")).await?;
        let mut rooms = Vec::new();
        for r in 0..args.rooms {
            rooms.push(match args.room_names.get(r as usize) {
                Some(id) => {
                    id.parse().with_context(|| format!("--room {id:?}: with --vroom-app, give video room ids"))?
                }
                None => app.create_room(&owner, &format!("loadtest {run_id} room {}", r + 1)).await?,
            });
        }
        for (r, room_id) in rooms.iter().enumerate() {
            for i in 0..per_room {
                let identity = identity(r as u32 + 1, i);
                let member = app.member_token(&identity).await?;
                let (_url, token) = app.media_ticket(&member, *room_id).await?;
                // The server announces its public media URL; --url says where it is from
                // here (they differ behind proxies and in test namespaces).
                out.push((i, Ticket { url: args.url.clone(), token, room: room_id.to_string(), identity }));
            }
        }
    } else {
        let (Some(key), Some(secret)) = (&args.api_key, &args.api_secret) else {
            anyhow::bail!("credentials needed: --api-key and --api-secret, or --vroom-app KEY:SECRET");
        };
        for r in 0..args.rooms as usize {
            let room = args.room_names.get(r).cloned().unwrap_or_else(|| format!("{}-{}", args.room_prefix, r + 1));
            for i in 0..per_room {
                let identity = identity(r as u32 + 1, i);
                let token = creds::mint(key, secret, &room, &identity, ttl)?;
                out.push((i, Ticket { url: args.url.clone(), token, room: room.clone(), identity }));
            }
        }
    }
    // Interleave rooms: participant 0 of every room, then participant 1, …
    out.sort_by_key(|(i, _)| *i);
    Ok(out)
}

/// The local address the kernel would use to reach the server (a connected UDP socket
/// sends nothing).
async fn local_ip_towards(url: &str) -> anyhow::Result<IpAddr> {
    let base = signal::ws_base(url);
    let rest = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let default_port = if base.starts_with("wss://") { 443 } else { 80 };
    let host_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_owned()
    } else {
        format!("{authority}:{default_port}")
    };
    let target = tokio::net::lookup_host(&host_port)
        .await
        .with_context(|| format!("cannot resolve {host_port}"))?
        .next()
        .with_context(|| format!("{host_port} has no address"))?;
    let any: IpAddr = if target.is_ipv4() { [0, 0, 0, 0].into() } else { [0u16; 8].into() };
    let probe = std::net::UdpSocket::bind((any, 0))?;
    probe.connect(target).with_context(|| format!("no route to {target}"))?;
    Ok(probe.local_addr()?.ip())
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrates_and_durations_parse() {
        assert_eq!(parse_bitrate("1.5M"), Ok(1_500_000));
        assert_eq!(parse_bitrate("800k"), Ok(800_000));
        assert_eq!(parse_bitrate("64000"), Ok(64_000));
        assert!(parse_bitrate("fast").is_err());
        assert!(parse_bitrate("0").is_err());
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("-1s").is_err());
    }
}
