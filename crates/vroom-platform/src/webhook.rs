//! Webhook delivery policy: what a receiver's answer means and when to try again. The
//! delivery worker (`vroom-webhooks`) applies it; the store records it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::AppId;
use crate::time::{self, Timestamp};

/// Retry delays after the 1st, 2nd, … failed attempt; after the last, hourly.
pub const RETRY_DELAYS: [Duration; 6] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3600),
];
pub const RETRY_HOURLY: Duration = Duration::from_secs(3600);
/// Deliveries are abandoned once this long has passed since the event.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// A receiver that has not answered after this long is a failed attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The retry schedule; tests scale it down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Multiplies every delay and the give-up horizon (1.0 in production).
    pub scale: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { scale: 1.0 }
    }
}

impl RetryPolicy {
    /// When to try again after `attempts` failed attempts of an event created at `created`,
    /// or `None` when it is time to give up.
    pub fn next_attempt(&self, created: Timestamp, attempts: u32, now: Timestamp) -> Option<Timestamp> {
        let delay = RETRY_DELAYS.get(attempts.saturating_sub(1) as usize).copied().unwrap_or(RETRY_HOURLY);
        let at = now + self.scaled(delay);
        (at <= created + self.scaled(GIVE_UP_AFTER)).then_some(at)
    }

    fn scaled(&self, d: Duration) -> chrono::Duration {
        chrono::Duration::milliseconds((d.as_millis() as f64 * self.scale).round() as i64)
    }
}

/// What one attempt's result means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptClass {
    Delivered,
    /// Connection errors, timeouts, 408, 429, 5xx.
    Retry,
    /// Any other answer: the receiver refused this event for good.
    Refused,
}

/// Classifies a receiver's HTTP status (`None`: no answer at all).
pub fn classify(status: Option<u16>) -> AttemptClass {
    match status {
        Some(200..=299) => AttemptClass::Delivered,
        None | Some(408) | Some(429) | Some(500..=599) => AttemptClass::Retry,
        Some(_) => AttemptClass::Refused,
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Refused by the receiver, or given up after the retry horizon.
    Failed,
    /// The app removed its callback before delivery.
    Cancelled,
}

/// The app's webhook receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackApi {
    pub app_id: AppId,
    pub url: String,
    pub access_id: Option<String>,
    pub access_password: Option<String>,
    pub signing_secret: String,
}

/// A delivery as the delivery log shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub video_room_id: Option<i64>,
    pub seq: Option<i64>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "time::option::serialize")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending deliveries only).
    #[serde(serialize_with = "time::option::serialize")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time::option::serialize")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(with = "time")]
    pub created_at: DateTime<Utc>,
}

/// A delivery the worker has leased and must attempt now.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub event_id: String,
    pub created_at: Timestamp,
    pub attempts: u32,
    /// The event envelope, exactly as stored.
    pub body: String,
    pub callback: CallbackApi,
}

/// The result of one attempt, to record.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub at: Timestamp,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// `Delivered`, `Failed`, or `Pending` with the next attempt's time.
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(Some(204)), AttemptClass::Delivered);
        for s in [None, Some(408), Some(429), Some(500), Some(503)] {
            assert_eq!(classify(s), AttemptClass::Retry, "{s:?}");
        }
        for s in [Some(400), Some(401), Some(404), Some(301)] {
            assert_eq!(classify(s), AttemptClass::Refused, "{s:?}");
        }
    }

    #[test]
    fn schedule_and_give_up() {
        let p = RetryPolicy::default();
        let t0 = time::now();
        let delay = |attempts| (p.next_attempt(t0, attempts, t0).unwrap() - t0).num_seconds();
        assert_eq!(
            [delay(1), delay(2), delay(3), delay(4), delay(5), delay(6), delay(9)],
            [1, 5, 30, 120, 600, 3600, 3600]
        );
        let late = t0 + chrono::Duration::hours(23) + chrono::Duration::minutes(30);
        assert_eq!(p.next_attempt(t0, 20, late), None, "past 24 h: give up");
        let fast = RetryPolicy { scale: 0.001 };
        assert_eq!((fast.next_attempt(t0, 2, t0).unwrap() - t0).num_milliseconds(), 5);
    }
}
