//! # vroom (binary crate)
//!
//! The `vroom` command: configuration, wiring of the platform, store and HTTP surface, and
//! graceful shutdown. [`start`] runs a server in-process (the CLI and the integration tests
//! both use it).
//!
//! It must not hold anything else: business rules live in `vroom-platform`, persistence in
//! `vroom-store`, HTTP in `vroom-api`.

pub mod config;
mod dev_page;
mod media;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use vroom_platform::token::{self, TokenKeys};
use vroom_platform::webhook::RetryPolicy;
use vroom_platform::{Platform, PublicUrls, Store};
use vroom_store::SqliteStore;

pub use config::ServeConfig;

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "vroom.db";

/// Opens (creating) the data directory's database.
pub async fn open_store(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating data dir {}", data_dir.display()))?;
    Ok(SqliteStore::open(&data_dir.join(DB_FILE)).await?)
}

/// The media API key and secret: from configuration, or generated once and kept in the
/// database. The platform signs media tokens with them and signalling verifies them.
pub async fn media_credentials(store: &dyn Store, config: &ServeConfig) -> anyhow::Result<(String, String)> {
    Ok(match (&config.media_api_key, &config.media_api_secret) {
        (Some(k), Some(s)) => (k.clone(), s.clone()),
        _ => (
            store.init_setting("media_api_key", &format!("vm{}", token::random_hex(14))).await?,
            store.init_setting("media_api_secret", &token::random_secret()).await?,
        ),
    })
}

/// Builds the platform on a store: signing keys come from configuration, or are generated
/// once and kept in the database so tokens survive restarts.
pub async fn platform(store: Arc<dyn Store>, config: &ServeConfig, urls: PublicUrls) -> anyhow::Result<Platform> {
    let member_secret = store.init_setting("member_token_secret", &token::random_secret()).await?;
    let (media_key, media_secret) = media_credentials(store.as_ref(), config).await?;
    let keys = TokenKeys::new(&member_secret, &media_key, &media_secret, config.access_token_ttl);
    Ok(Platform::new(store, keys, urls))
}

/// A server running in this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub urls: PublicUrls,
    pub platform: Arc<Platform>,
    /// The media workers' UDP addresses as announced to clients, worker 0 first.
    pub media_udp: Vec<SocketAddr>,
    /// Each media worker's packet counters, in the order of `media_udp`.
    pub media_counters: Vec<Arc<vroom_media::MediaCounters>>,
    /// The app `--dev` ensured, created before the server answered anything.
    pub dev_app: Option<vroom_platform::model::App>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, closes the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.context("server task panicked")?
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task panicked")?
    }

    /// A sender that triggers graceful shutdown (for signal handling).
    pub fn take_shutdown(&mut self) -> Option<oneshot::Sender<()>> {
        self.shutdown.take()
    }
}

/// Setting that holds the last time (Unix ms) this server was known to be running.
const HEARTBEAT_SETTING: &str = "heartbeat_at";
const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Records every few seconds that the server is alive, so that the next start knows when
/// a crashed run stopped.
async fn heartbeat(store: Arc<dyn Store>) {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tick.tick().await;
        record_heartbeat(store.as_ref()).await;
    }
}

/// Records that the server is alive now. Also the last thing a graceful stop writes, so
/// that the next start closes what was left open as of the stop, not up to one heartbeat
/// interval earlier.
async fn record_heartbeat(store: &dyn Store) {
    let now = vroom_platform::time::now().timestamp_millis().to_string();
    if let Err(e) = store.set_setting(HEARTBEAT_SETTING, &now).await {
        tracing::warn!(error = %e, "heartbeat not recorded");
    }
}

/// A media server that just started has no participants: whoever the database still
/// shows in a room left when the previous run stopped (its last heartbeat). Closes those
/// participations and sessions, with LEFT events.
async fn reconcile_presence(store: &SqliteStore, platform: &Platform) -> anyhow::Result<()> {
    let last_alive = store.setting(HEARTBEAT_SETTING).await?.and_then(|v| v.parse::<i64>().ok());
    let stopped_at = last_alive.map_or_else(vroom_platform::time::now, vroom_platform::time::from_millis);
    let closed = platform.close_stale_sessions(stopped_at).await?;
    if closed > 0 {
        tracing::info!(participants = closed, stopped_at = %vroom_platform::time::format(&stopped_at), "closed sessions left open by the previous run");
    }
    Ok(())
}

/// The media workers' packet counters as `/metrics` counters, each the sum over workers.
fn media_metrics(counters: &[Arc<vroom_media::MediaCounters>]) -> Vec<vroom_api::metrics::ExternalCounter> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let counter = |name, help, field: fn(&vroom_media::MediaCounters) -> &AtomicU64| {
        let counters = counters.to_vec();
        vroom_api::metrics::ExternalCounter {
            name,
            help,
            read: Box::new(move || counters.iter().map(|c| field(c).load(Ordering::Relaxed)).sum()),
        }
    };
    vec![
        counter("media_rtp_received_packets", "RTP packets received by the media server", |c| &c.rtp_received),
        counter("media_rtp_sent_packets", "RTP packets sent (forwarded) by the media server", |c| &c.rtp_sent),
        counter("media_rtp_sent_bytes", "bytes of the RTP packets sent by the media server", |c| &c.rtp_sent_bytes),
        counter("media_datagrams_received", "UDP datagrams received by the media server", |c| &c.datagrams_received),
        counter("media_datagrams_sent", "UDP datagrams sent by the media server", |c| &c.datagrams_sent),
        counter("media_datagrams_send_dropped", "UDP datagrams the kernel refused to send (full socket buffer)", |c| {
            &c.datagrams_send_dropped
        }),
        counter(
            "media_datagrams_unmatched",
            "UDP datagrams received that no participant's connection took (unknown source or not ICE), dropped",
            |c| &c.datagrams_unmatched,
        ),
    ]
}

/// Opens the store, binds the listener and starts serving.
pub async fn start(config: &ServeConfig) -> anyhow::Result<RunningServer> {
    let store = open_store(&config.data_dir).await?;
    let listener =
        tokio::net::TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
    let addr = listener.local_addr()?;
    let http = config.public_url.clone().unwrap_or_else(|| config::url_for(addr)).trim_end_matches('/').to_owned();
    let media = config.media_url.clone().unwrap_or_else(|| config::ws_url(&http));
    let urls = PublicUrls { http, media };
    let store_handle = store.clone();
    let platform = Arc::new(platform(Arc::new(store.clone()), config, urls.clone()).await?);
    reconcile_presence(&store, &platform).await?;
    // Every start-up task finishes before the first request is answered, so whatever
    // answers (`/healthz` included) can be used at once: no client races the dev app.
    let dev_app = if config.dev { Some(platform.ensure_dev_app().await?) } else { None };
    let heartbeat = tokio::spawn(heartbeat(Arc::new(store.clone())));
    let (media_key, media_secret) = media_credentials(&store, config).await?;
    let media = media::start(config, platform.clone(), &media_key, &media_secret)?;
    let (media_udp, media_counters) = (media.udp_addrs, media.counters.clone());
    let metrics = vroom_api::metrics::HttpMetrics::with_external(media_metrics(&media.counters));
    let mut router =
        vroom_api::router(vroom_api::app_state_with(platform.clone(), metrics, config.rate_limits)).merge(media.router);
    if let Some(app) = &dev_app {
        router = router.merge(dev_page::routes(platform.clone(), app.as_ref()));
    }
    if !vroom_api::web_ui::ui_built() {
        tracing::warn!(
            "this binary was built without the meeting UI (web/dist): embed URLs show a page saying so; build it with scripts/build-ui.sh"
        );
    }
    let deliverer = vroom_webhooks::Deliverer::new(
        Arc::new(store.clone()),
        vroom_webhooks::DelivererConfig {
            retry: RetryPolicy { scale: config.webhook_retry_scale },
            ..Default::default()
        },
        store.outbox_notifier(),
    );
    let (stop_deliveries, deliveries_stopped) = watch::channel(false);
    let deliveries = tokio::spawn(deliverer.run(deliveries_stopped));
    let (tx, rx) = oneshot::channel::<()>();
    let http_limits = config.http;
    let task = tokio::spawn(async move {
        let served = vroom_api::serve::serve(listener, router, http_limits, async {
            let _ = rx.await;
        })
        .await
        .context("HTTP server failed");
        // Attempts in flight finish (each is bounded by the webhook timeout) before the
        // database closes; what is not attempted stays in the outbox for the next start.
        let _ = stop_deliveries.send(true);
        let _ = deliveries.await;
        heartbeat.abort();
        record_heartbeat(&store_handle).await;
        store_handle.close().await;
        served
    });
    Ok(RunningServer { addr, urls, platform, media_udp, media_counters, dev_app, shutdown: Some(tx), task })
}
