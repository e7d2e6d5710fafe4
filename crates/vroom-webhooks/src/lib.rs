//! # vroom-webhooks
//!
//! Delivers the events the platform wrote to its outbox: leases due deliveries from the
//! store, POSTs each event to the app's receiver (Basic auth when configured, an event-id
//! header and an HMAC signature), and records the outcome with the platform's retry
//! policy. At-least-once: a crash between the POST and the record means a second POST.
//! Order per room holds because the store hands out a room's deliveries one at a time.
//!
//! It must not block request handlers or the media path: it runs as its own task and only
//! talks to the store and the network.

mod sign;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use vroom_platform::Store;
use vroom_platform::model::AppId;
use vroom_platform::time;
use vroom_platform::webhook::{
    ATTEMPT_TIMEOUT, AttemptClass, AttemptRecord, DeliveryStatus, DueDelivery, RetryPolicy, classify,
};

pub use sign::{signature_header, verify_signature};

/// Event-log retention: the replay endpoint serves at least 7 days.
pub const RETENTION: Duration = Duration::from_secs(8 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct DelivererConfig {
    pub retry: RetryPolicy,
    /// Attempts in flight at once, over all apps.
    pub concurrency: usize,
    /// Attempts in flight at once for one app: a slow or dead receiver holds at most this
    /// many slots, the others keep flowing.
    pub per_app: usize,
    /// How often the outbox is polled when nothing wakes the worker.
    pub poll: Duration,
}

impl Default for DelivererConfig {
    fn default() -> Self {
        Self { retry: RetryPolicy::default(), concurrency: 128, per_app: 32, poll: Duration::from_millis(100) }
    }
}

/// The delivery worker. [`Deliverer::wake`] makes it look at the outbox at once.
pub struct Deliverer {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    config: DelivererConfig,
    wake: Arc<Notify>,
}

impl Deliverer {
    /// `wake` is notified by whoever writes events (the store, after its commits).
    pub fn new(store: Arc<dyn Store>, config: DelivererConfig, wake: Arc<Notify>) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .user_agent(concat!("vroom-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Arc::new(Self { store, client, config, wake })
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until `shutdown` turns true; attempts in flight are finished first.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        // Single node: nothing of a previous run is in flight any more.
        if let Err(e) = self.store.release_delivery_leases().await {
            tracing::warn!(error = %e, "could not release webhook leases");
        }
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let per_app: Arc<Mutex<HashMap<AppId, usize>>> = Arc::default();
        // Outcomes are written in batches by one task: one transaction for many attempts.
        let (records, outcomes) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(self.clone().record(outcomes));
        let mut in_flight = JoinSet::new();
        let mut last_prune = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = slots.available_permits();
            if free > 0 {
                let busy: Vec<AppId> = {
                    let counts = per_app.lock().unwrap_or_else(|e| e.into_inner());
                    counts.iter().filter(|(_, n)| **n >= self.config.per_app).map(|(app, _)| *app).collect()
                };
                let claimed = self
                    .store
                    .claim_deliveries(time::now(), free as u32, self.config.per_app as u32, &busy, ATTEMPT_TIMEOUT * 3)
                    .await;
                match claimed {
                    Ok(batch) => {
                        for due in batch {
                            let Ok(permit) = slots.clone().acquire_owned().await else { break };
                            let app = due.callback.app_id;
                            *per_app.lock().unwrap_or_else(|e| e.into_inner()).entry(app).or_default() += 1;
                            let me = self.clone();
                            let per_app = per_app.clone();
                            let records = records.clone();
                            in_flight.spawn(async move {
                                let outcome = me.attempt(due).await;
                                let _ = records.send(outcome);
                                drop(permit);
                                if let Some(n) = per_app.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&app) {
                                    *n = n.saturating_sub(1);
                                }
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
                }
            }
            while in_flight.try_join_next().is_some() {}
            if last_prune.is_none_or(|t: std::time::Instant| t.elapsed() > Duration::from_secs(3600)) {
                last_prune = Some(std::time::Instant::now());
                let horizon = time::now() - RETENTION;
                match self.store.prune_events(horizon).await {
                    Ok(n) if n > 0 => tracing::info!(events = n, "pruned the event log"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning the event log failed"),
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
        drop(records);
        let _ = recorder.await;
    }

    /// Writes attempt outcomes, batching whatever has queued up meanwhile. Until an
    /// outcome is written its delivery stays leased (not retried, and the next event of
    /// its room waits), so nothing is delivered out of order.
    async fn record(self: Arc<Self>, mut outcomes: mpsc::UnboundedReceiver<(String, AttemptRecord)>) {
        const BATCH: usize = 256;
        let mut batch = Vec::with_capacity(BATCH);
        while outcomes.recv_many(&mut batch, BATCH).await > 0 {
            if let Err(e) = self.store.record_attempts(&batch).await {
                // The leases expire and the events are tried again: at-least-once holds.
                tracing::warn!(error = %e, attempts = batch.len(), "recording webhook attempts failed");
            }
            batch.clear();
            // Finished attempts may unblock the next event of their rooms.
            self.wake();
        }
    }

    async fn attempt(&self, due: DueDelivery) -> (String, AttemptRecord) {
        let now = time::now();
        let mut request = self
            .client
            .post(&due.callback.url)
            .header("content-type", "application/json")
            .header("x-vroom-event-id", &due.event_id)
            .header("x-vroom-signature", signature_header(&due.callback.signing_secret, now.timestamp(), &due.body));
        if let Some(id) = &due.callback.access_id {
            request = request.basic_auth(id, due.callback.access_password.as_ref());
        }
        let (status_code, error) = match request.body(due.body.clone()).send().await {
            Ok(resp) => (Some(resp.status().as_u16()), None),
            Err(e) => (None, Some(describe(&e))),
        };
        let attempts = due.attempts + 1;
        let (status, next_attempt_at) = match classify(status_code) {
            AttemptClass::Delivered => (DeliveryStatus::Delivered, None),
            AttemptClass::Refused => (DeliveryStatus::Failed, None),
            AttemptClass::Retry => match self.config.retry.next_attempt(due.created_at, attempts, time::now()) {
                Some(at) => (DeliveryStatus::Pending, Some(at)),
                None => (DeliveryStatus::Failed, None),
            },
        };
        tracing::debug!(event = %due.event_id, ?status_code, ?status, attempts, "webhook attempt");
        (due.event_id, AttemptRecord { at: now, status_code, error, status, next_attempt_at })
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("timed out after {} s", ATTEMPT_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    }
}
