//! # vroom-platform
//!
//! The domain of vroom: apps (tenants), members, video rooms, tokens and the use cases the
//! server API and the member API expose ([`Platform`]). It owns validation, permissions,
//! state transitions and the shape of webhook events.
//!
//! It must not know HTTP, SQL or sockets: persistence goes through the [`Store`] trait
//! (implemented by `vroom-store`), and the HTTP mapping lives in `vroom-api`. The media
//! server is reached through two narrow channels: it reports presence to
//! [`Platform::participant_joined`] / [`Platform::participant_left`] ([`session`]), and the
//! platform tells it to kick, close rooms or change permissions through
//! [`media::MediaControl`].

pub mod approval;
pub mod callbacks;
pub mod error;
pub mod event;
pub mod input;
pub mod media;
pub mod model;
pub mod service;
pub mod session;
pub mod store;
pub mod time;
pub mod token;
pub mod webhook;

pub use error::{Error, ErrorCode, Result};
pub use service::{Actor, Platform, PublicUrls, RoomKey};
pub use store::Store;
