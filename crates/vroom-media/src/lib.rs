//! # vroom-media: the SFU
//!
//! Owns rooms, participants, publications, subscriptions and the forwarding of media and
//! data between LiveKit clients, on [str0m](https://docs.rs/str0m) peer connections.
//! It must not parse HTTP, speak the signalling protocol's framing, or touch the database:
//! `vroom-signal` turns LiveKit messages into [`Command`]s and [`MediaEvent`]s back into
//! messages.
//!
//! ## Shape
//!
//! - [`state`]: rooms and who publishes/subscribes what, as plain state transitions.
//! - [`layer`], [`data`]: per-frame simulcast decisions and data-packet routing, pure.
//! - [`sfu::Sfu`]: the sans-IO core of one worker. Inputs: commands, datagrams (with
//!   their arrival [`std::time::Instant`]) and timeouts. Outputs: datagrams and events,
//!   through a [`sfu::Sink`]. No sockets, threads or clocks inside, so tests drive it
//!   deterministically.
//! - [`worker`]: the I/O shell: N worker threads (`--media-workers`, default one per
//!   core), each owning one UDP socket (port `--udp-port` + its index) and one `Sfu`, fed
//!   by a command channel. Rooms are the unit of distribution: a room lives on the worker
//!   its name hashes to ([`worker::room_worker`]), so all its participants share that
//!   worker and forwarding never crosses threads. Workers share nothing with each other
//!   (their packet counters are atomics `/metrics` reads), and there is no lock on the
//!   packet path. [`MediaHandle`] routes joins and room commands by room name, and
//!   participant commands by the [`ParticipantKey`], which names its worker.
//!
//! ## Peer connections
//!
//! LiveKit's dual-PC mode: per participant a *publisher* connection (the client offers) and
//! a *subscriber* connection (the server offers; it is the primary one, carrying the
//! server-created `_reliable`/`_lossy` data channels). Both are ICE-lite with one host
//! candidate: the UDP address of the room's worker as clients reach it (`--node-ip`, and
//! `--udp-port` plus the worker's index). Codecs are Opus and VP8.
//!
//! ## Why str0m frame mode (for now)
//!
//! Forwarding uses str0m's frame API: the publisher connection depacketizes a frame
//! (`Event::MediaData`, bytes in an `Arc<[u8]>`) and each subscriber connection's writer
//! packetizes it again with its own SSRC, sequence numbers, RTX and pacing. That gives,
//! with little code, what RTP mode would make us write by hand: continuous sequence
//! numbers across simulcast switches, VP8 descriptors rewritten per subscriber, NACK/RTX.
//! The frame bytes are shared between subscribers (an `Arc` clone, no copy). The price is
//! one depacketization per frame and per-subscriber packetization; RTP mode (`write_rtp`
//! with our own rewriting) is the planned optimisation once the load tests measure it.

pub mod activity;
pub mod data;
pub mod forward;
pub mod ids;
pub mod layer;
pub mod model;
mod peer;
pub mod sfu;
pub mod state;
pub mod worker;

pub use model::*;
pub use worker::{MediaCounters, MediaGone, MediaHandle, WorkerConfig, room_worker, start_workers};
