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
//! - [`state`]: rooms and who publishes/subscribes what, as plain state transitions, each
//!   returning its [`effects::Effects`] (announce, renegotiate, tell, mute, outlet settings)
//!   for the SFU to carry out.
//! - [`layer`], [`forward`], [`rewrite`], [`allocation`], [`congestion`], [`data`]:
//!   simulcast layer choice, per-subscriber fan-out and RTP rewriting, sharing a subscriber's
//!   bandwidth estimate among its video tracks, loss-driven layer caps and data-packet
//!   routing, all pure.
//! - [`estimator`], [`codec`]: the per-subscriber estimate's sustain window, stall restart
//!   and padding target (clock-driven, pure); codec specifics, one file per codec.
//! - [`sfu::Sfu`]: the sans-IO core of one worker: the rooms' state, one `Connections`
//!   value per participant (its two peer connections, data channels, pending offer,
//!   downlink controller), one fan-out per publication, and a demultiplexing index by
//!   source address and ICE ufrag. Inputs: commands, datagrams (with
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
//! `--udp-port` plus the worker's index). Codecs are Opus, VP8 and H.264.
//!
//! ## Forwarding in str0m's RTP mode
//!
//! Publisher connections hand over every RTP packet (`Event::RtpPacket`, payload in an
//! `Arc<[u8]>`); [`forward`] decides per packet which subscribers get it (simulcast layers
//! switch only where a keyframe starts) and [`rewrite`] gives it each subscriber's sequence
//! number, timestamp and VP8 picture id / TL0PICIDX / KEYIDX, continuous across layer
//! switches and pauses. The subscriber's str0m stream (`StreamTx::write_rtp`) sets its SSRC,
//! applies the VP8 patch while serialising, keeps the packet for NACK → RTX, and writes RTCP
//! sender reports. Nothing is depacketized and the payload is shared between subscribers.
//! Keyframe requests (PLI) from a subscriber go upstream to the layer it receives.
//!
//! ## Bandwidth
//!
//! Subscriber connections run str0m's send-side bandwidth estimation (transport-wide
//! congestion control). A subscriber is paced only while its link limits what it gets
//! ([`allocation::Allocation::paces`]). [`allocation`] shares each estimate among the
//! subscriber's video tracks twice a second, from the layer rates [`forward`] measures, and
//! the estimator is told what to probe for. [`congestion`] also moves a subscriber whose link
//! loses packets to lower layers.

// The crate docs map its internal modules (most are not its API): links to them are wanted.
#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod activity;
pub(crate) mod allocation;
pub(crate) mod codec;
pub(crate) mod codec_preference;
pub(crate) mod congestion;
pub mod data;
pub mod effects;
pub(crate) mod estimator;
pub(crate) mod forward;
pub(crate) mod ids;
pub(crate) mod layer;
pub mod model;
mod peer;
pub mod rewrite;
pub mod sfu;
pub mod state;
mod tcp;
mod udp;
pub mod worker;

pub use model::*;
pub use worker::{MediaCounters, MediaGone, MediaHandle, WorkerConfig, room_worker, start_workers};
