//! Prometheus metrics of the HTTP surface: requests and latency by method, route template
//! and status. Instance-scoped (no global registry) so several servers can share a process.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// The API whose request was refused with 429 (label `api`: `server`, `member`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedApi {
    Server,
    Member,
}

/// Which limit refused it (label `limit`): the caller's own (`caller`: the app or the
/// member), or its address's failed authentications (`auth_failures`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedBy {
    Caller,
    AuthFailures,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RateLimitedLabels {
    api: &'static str,
    limit: &'static str,
}

pub struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    rate_limited: Family<RateLimitedLabels, Counter>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vroom");
        let requests = Family::<RequestLabels, Counter>::default();
        // 100 µs … ~3.3 s
        let latency: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0001, 2.0, 16)));
        registry.register("http_requests", "HTTP requests handled", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        let rate_limited = Family::<RateLimitedLabels, Counter>::default();
        registry.register("http_rate_limited", "HTTP requests refused with 429 by a rate limit", rate_limited.clone());
        Self { registry, requests, latency, rate_limited }
    }
}

/// A counter kept elsewhere (the media workers' packet counters), read at every scrape so
/// its owner needs no Prometheus types on its hot path.
pub struct ExternalCounter {
    /// Name without the `vroom_` prefix and `_total` suffix (both are added).
    pub name: &'static str,
    pub help: &'static str,
    pub read: Box<dyn Fn() -> u64 + Send + Sync>,
}

struct ExternalCounters(Vec<ExternalCounter>);

impl std::fmt::Debug for ExternalCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|c| c.name)).finish()
    }
}

impl Collector for ExternalCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for c in &self.0 {
            let counter = ConstCounter::new((c.read)());
            let metric = encoder.encode_descriptor(c.name, c.help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

impl HttpMetrics {
    /// HTTP metrics plus counters read from elsewhere at every scrape.
    pub fn with_external(counters: Vec<ExternalCounter>) -> Self {
        let mut metrics = Self::default();
        metrics.registry.register_collector(Box::new(ExternalCounters(counters)));
        metrics
    }

    /// Counts a request refused with 429.
    pub fn rate_limited(&self, api: LimitedApi, limit: LimitedBy) {
        let api = match api {
            LimitedApi::Server => "server",
            LimitedApi::Member => "member",
        };
        let limit = match limit {
            LimitedBy::Caller => "caller",
            LimitedBy::AuthFailures => "auth_failures",
        };
        self.rate_limited.get_or_create(&RateLimitedLabels { api, limit }).inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Route layer: records every routed request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let labels = RequestLabels { method, route, status: response.status().as_u16() };
    state.metrics.latency.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    state.metrics.requests.get_or_create(&labels).inc();
    response
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let metrics: &Arc<HttpMetrics> = &state.metrics;
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.encode())
}
