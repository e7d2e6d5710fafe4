use std::sync::Arc;

use vroom_platform::Platform;

use crate::metrics::HttpMetrics;
use crate::ratelimit::RateLimits;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub platform: Arc<Platform>,
    pub metrics: Arc<HttpMetrics>,
    pub limits: Arc<RateLimits>,
}
