//! Per-caller rate limits of the HTTP APIs: the server API per app, the member API per
//! member, and failed authentications per client address (so credential guessing and
//! runaway clients with stale tokens are slowed). Over a limit the answer is 429
//! `TOO_MANY_REQUESTS` with `Retry-After`.
//!
//! Hand-written rather than `governor`: its keyed limiter grows without bound until someone
//! calls `retain_recent`, it would be a new dependency (and not in the offline registry), and
//! what is needed here is small: a GCRA bucket is one `u64` per caller, kept in a sharded
//! map with a hard size cap, so a flood of distinct addresses cannot grow memory, and each
//! request holds one shard's lock for one bucket update.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use vroom_platform::ErrorCode;
use vroom_platform::model::{AppId, MemberId};

use crate::error::ApiError;
use crate::metrics::{LimitedApi, LimitedBy};
use crate::state::AppState;

/// A sustained rate with a burst allowance. Either value 0 disables the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub per_second: u32,
    pub burst: u32,
}

impl Limit {
    pub const DISABLED: Self = Self { per_second: 0, burst: 0 };

    pub const fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }

    pub const fn is_enabled(self) -> bool {
        self.per_second > 0 && self.burst > 0
    }
}

/// The three limits. The defaults are far above what an integration does (a backend
/// creating members and rooms, a client SDK polling a room) and far below what a client
/// stuck in a retry loop sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Server API requests per app.
    pub server: Limit,
    /// Member API requests per member.
    pub member: Limit,
    /// Failed authentications (missing or wrong key/secret, bad or expired token, bad refresh
    /// token) per client address (IPv6: per /64).
    pub auth_failures: Limit,
}

impl RateLimitConfig {
    /// Generous: a backend migrating its users logs thousands of members in a minute, and
    /// a limit it never met before must not break it; a retry loop sends tens of thousands.
    pub const DEFAULT_SERVER: Limit = Limit::new(1000, 5000);
    pub const DEFAULT_MEMBER: Limit = Limit::new(20, 50);
    pub const DEFAULT_AUTH_FAILURES: Limit = Limit::new(10, 20);
    pub const DISABLED: Self =
        Self { server: Limit::DISABLED, member: Limit::DISABLED, auth_failures: Limit::DISABLED };
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { server: Self::DEFAULT_SERVER, member: Self::DEFAULT_MEMBER, auth_failures: Self::DEFAULT_AUTH_FAILURES }
    }
}

/// Buckets kept per limit at most; past that, new callers share one overflow bucket.
/// 64 Ki entries of a few dozen bytes each: a few MiB at worst.
const MAX_CALLERS: usize = 1 << 16;
const SHARDS: usize = 16;
/// Idle buckets (full again, so equivalent to none) are dropped at most this often per
/// shard when it is full, and at least this often ([`PURGE_IDLE_EVERY`]) while callers come.
const PURGE_FULL_EVERY: u64 = 100_000_000;
const PURGE_IDLE_EVERY: u64 = 10_000_000_000;

struct Shard<K> {
    /// Key → theoretical arrival time (GCRA), ns since [`Buckets::epoch`].
    map: HashMap<K, u64>,
    last_purge: u64,
}

/// Keyed GCRA buckets (generic cell rate algorithm: a token bucket stored as the time at
/// which it will be full again).
struct Buckets<K> {
    /// ns per token.
    interval: u64,
    /// ns of burst allowance: `burst × interval`.
    tolerance: u64,
    epoch: Instant,
    hasher: RandomState,
    shards: Vec<Mutex<Shard<K>>>,
    /// Shared by the callers that find their shard full of active buckets.
    overflow: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K: Hash + Eq> Buckets<K> {
    fn new(limit: Limit) -> Option<Self> {
        limit.is_enabled().then(|| {
            let interval = 1_000_000_000 / u64::from(limit.per_second);
            Self {
                interval,
                tolerance: interval * u64::from(limit.burst),
                epoch: Instant::now(),
                hasher: RandomState::new(),
                shards: (0..SHARDS).map(|_| Mutex::new(Shard { map: HashMap::new(), last_purge: 0 })).collect(),
                overflow: Mutex::new(0),
            }
        })
    }

    /// Runs `f` on the caller's bucket. An absent caller gets a full bucket if `create`
    /// (`f` is not run otherwise: `None`); when its shard is full of active buckets, the
    /// shared overflow bucket stands in for it either way.
    fn update<R>(&self, key: K, create: bool, f: impl FnOnce(&mut u64, u64, &Self) -> R) -> Option<R> {
        self.update_at(key, create, self.now(), f)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn update_at<R>(&self, key: K, create: bool, now: u64, f: impl FnOnce(&mut u64, u64, &Self) -> R) -> Option<R> {
        let mut shard = lock(&self.shards[self.hasher.hash_one(&key) as usize % SHARDS]);
        if let Some(tat) = shard.map.get_mut(&key) {
            return Some(f(tat, now, self));
        }
        let full = shard.map.len() >= MAX_CALLERS / SHARDS;
        let since = now.saturating_sub(shard.last_purge);
        if (full && since >= PURGE_FULL_EVERY) || (create && since >= PURGE_IDLE_EVERY) {
            shard.map.retain(|_, tat| *tat > now);
            shard.last_purge = now;
        }
        if shard.map.len() < MAX_CALLERS / SHARDS {
            return create.then(|| f(shard.map.entry(key).or_insert(now), now, self));
        }
        drop(shard);
        Some(f(&mut lock(&self.overflow), now, self))
    }

    /// Takes a token; `Err(wait)` when there is none (nothing is taken then).
    fn take(&self, tat: &mut u64, now: u64) -> Result<(), Duration> {
        let next = (*tat).max(now) + self.interval;
        match (next - now).checked_sub(self.tolerance) {
            Some(wait) if wait > 0 => Err(Duration::from_nanos(wait)),
            _ => {
                *tat = next;
                Ok(())
            }
        }
    }

    /// A caller's request under its limit: `Err(wait)` when over it.
    fn acquire(&self, key: K) -> Result<(), Duration> {
        self.update(key, true, |tat, now, b| b.take(tat, now)).unwrap_or(Ok(()))
    }
}

impl Buckets<IpAddr> {
    /// After a failed attempt: a token from the address's bucket, `Err(wait)` when it has
    /// none left. Only failures are charged, so valid callers are never slowed by this
    /// limit, however many requests they make at once from one address.
    fn charge_failure(&self, ip: IpAddr) -> Result<(), Duration> {
        self.acquire(ip)
    }
}

/// The limiters of one server.
pub struct RateLimits {
    server: Option<Buckets<AppId>>,
    member: Option<Buckets<MemberId>>,
    auth_failures: Option<Buckets<IpAddr>>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(RateLimitConfig::default())
    }
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            server: Buckets::new(config.server),
            member: Buckets::new(config.member),
            auth_failures: Buckets::new(config.auth_failures),
        }
    }
}

/// The address a request came from, as the listener saw it (the unspecified address when
/// the server runs without connection info). A proxy in front makes every client share the
/// proxy's address for the failed-authentication limit; forwarded headers are not trusted,
/// since any client can set them.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

pub(crate) fn client_ip(parts: &Parts) -> IpAddr {
    client_key(parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip()))
}

/// The key limits per address count under: an IPv4 address (also when mapped into IPv6),
/// or an IPv6 /64.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            // One host usually holds a whole /64: count it as one address.
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

fn too_many(state: &AppState, api: LimitedApi, by: LimitedBy, wait: Duration, message: &str) -> ApiError {
    state.metrics.rate_limited(api, by);
    ApiError::new(ErrorCode::TooManyRequests, message).retry_after(wait)
}

/// Runs an authentication attempt under the per-address limit of failed attempts. The
/// credentials are always checked: a valid request is never refused by this limit. A
/// failure is charged to its address; once the address is over the limit its failures
/// answer 429 (with `Retry-After`) instead of 401, which tells a client stuck in a retry
/// loop to back off. Secrets are 256-bit random and tokens are signed, so the limit is
/// about the work bad callers cause, not about making guesses feasible or not.
pub(crate) async fn authenticate<T>(
    state: &AppState,
    ip: IpAddr,
    api: LimitedApi,
    attempt: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let result = attempt.await;
    let Some(buckets) = &state.limits.auth_failures else { return result };
    match result {
        Err(e) if e.0.code.http_status() == 401 => Err(match buckets.charge_failure(ip) {
            Ok(()) => e,
            Err(wait) => {
                too_many(state, api, LimitedBy::AuthFailures, wait, "too many failed authentications from this address")
            }
        }),
        other => other,
    }
}

/// A server API request of an authenticated app, under the per-app limit.
pub(crate) fn app_request(state: &AppState, app: AppId) -> Result<(), ApiError> {
    let Some(buckets) = &state.limits.server else { return Ok(()) };
    buckets
        .acquire(app)
        .map_err(|wait| too_many(state, LimitedApi::Server, LimitedBy::Caller, wait, "too many requests for this app"))
}

/// A member API request of an authenticated member, under the per-member limit.
pub(crate) fn member_request(state: &AppState, member: MemberId) -> Result<(), ApiError> {
    let Some(buckets) = &state.limits.member else { return Ok(()) };
    buckets.acquire(member).map_err(|wait| {
        too_many(state, LimitedApi::Member, LimitedBy::Caller, wait, "too many requests for this member")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_one_request_per_interval() {
        let b = Buckets::new(Limit::new(10, 3)).unwrap();
        for _ in 0..3 {
            b.acquire(1).unwrap();
        }
        let wait = b.acquire(1).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100), "{wait:?}");
        b.acquire(2).unwrap(); // another caller has its own bucket
        std::thread::sleep(wait);
        b.acquire(1).unwrap();
        assert!(b.acquire(1).is_err());
        assert!(Buckets::<u8>::new(Limit::new(0, 5)).is_none() && Buckets::<u8>::new(Limit::new(5, 0)).is_none());
    }

    #[test]
    fn addresses_count_per_ipv4_address_and_per_ipv6_64() {
        let key = |s: &str| client_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "one /64, one key");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"), "the next /64 is another caller");
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"), "IPv4 mapped into IPv6 is the IPv4 address");
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"), "IPv4 addresses are not grouped");
        // And the limiter charges the group: a /64's hosts share one bucket.
        let b = Buckets::new(Limit::new(1, 2)).unwrap();
        b.charge_failure(key("2001:db8::1")).unwrap();
        b.charge_failure(key("2001:db8::2")).unwrap();
        assert!(b.charge_failure(key("2001:db8::3")).is_err(), "the /64's burst is used up");
        b.charge_failure(key("2001:db8:0:1::1")).unwrap();
    }

    #[test]
    fn only_failures_are_charged() {
        let b = Buckets::new(Limit::new(1, 2)).unwrap();
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert_eq!(b.shards.iter().map(|s| lock(s).map.len()).sum::<usize>(), 0);
        b.charge_failure(ip).unwrap();
        b.charge_failure(ip).unwrap();
        assert!(b.charge_failure(ip).is_err(), "the burst of failures is spent");
        assert!(b.charge_failure(IpAddr::from([10, 0, 0, 2])).is_ok(), "another address is unaffected");
    }

    #[test]
    fn distinct_callers_cannot_grow_the_table_past_its_cap() {
        let b = Buckets::new(Limit::new(1, 1)).unwrap();
        for k in 0..(MAX_CALLERS as u64 * 2) {
            let _ = b.acquire(k);
        }
        let kept: usize = b.shards.iter().map(|s| lock(s).map.len()).sum();
        assert!(kept <= MAX_CALLERS, "{kept}");
        // The overflow bucket (burst 1) stood in for the rest: they were limited together.
        assert!(b.acquire(u64::MAX).is_err());
    }

    #[test]
    fn idle_buckets_are_dropped() {
        let b = Buckets::new(Limit::new(1000, 1)).unwrap();
        for k in 0..100u64 {
            b.acquire(k).unwrap();
        }
        // Ten seconds later those buckets are full again (idle); new callers arriving then
        // purge the shards they land in (1000 of them land in every one of the 16).
        let later = b.now() + PURGE_IDLE_EVERY;
        for k in 100..1100u64 {
            b.update_at(k, true, later, |tat, now, b| b.take(tat, now)).unwrap().unwrap();
        }
        for shard in &b.shards {
            assert!(lock(shard).map.keys().all(|k| *k >= 100));
        }
    }
}
