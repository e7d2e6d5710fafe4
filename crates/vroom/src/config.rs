//! Configuration: built-in defaults < TOML file (`--config`) < `VROOM_*` environment <
//! command-line flags. Clap resolves flags over environment; the file fills what both
//! left unset.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use vroom_api::ratelimit::{Limit, RateLimitConfig};
use vroom_api::serve::HttpLimits;

pub const DEFAULT_BIND: &str = "127.0.0.1:7880";
pub const DEFAULT_DATA_DIR: &str = "./vroom-data";
pub const DEFAULT_UDP_PORT: u16 = 7882;

/// Options every command shares.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonArgs {
    /// TOML configuration file.
    #[arg(long, global = true, env = "VROOM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded database and generated secrets.
    #[arg(long, global = true, env = "VROOM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Options of `vroom serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// HTTP listen address (APIs, docs, signalling).
    #[arg(long, env = "VROOM_BIND")]
    pub bind: Option<String>,
    /// Base URL clients use to reach this server (default: from --bind).
    #[arg(long, env = "VROOM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// LiveKit URL handed out as webRtcServerUrl (default: the ws:// form of --public-url).
    #[arg(long, env = "VROOM_MEDIA_URL")]
    pub media_url: Option<String>,
    /// API key that signs media tokens (default: generated once, stored in the data dir).
    #[arg(long, env = "VROOM_MEDIA_API_KEY")]
    pub media_api_key: Option<String>,
    /// API secret that signs media tokens (default: generated once, stored in the data dir).
    #[arg(long, env = "VROOM_MEDIA_API_SECRET", hide_env_values = true)]
    pub media_api_secret: Option<String>,
    /// Lifetime of member access tokens, in seconds (default 86400).
    #[arg(long, env = "VROOM_ACCESS_TOKEN_TTL_SECS")]
    pub access_token_ttl_secs: Option<u64>,
    /// IP address media clients reach this node at, announced as the ICE host candidate
    /// (default: the address of the interface with the default route, else 127.0.0.1).
    #[arg(long, env = "VROOM_NODE_IP")]
    pub node_ip: Option<IpAddr>,
    /// UDP port of the first media worker (WebRTC), on all interfaces; worker i listens on
    /// this port + i, so open udp_port..udp_port+N-1 (default 7882; 0 = any free ports).
    #[arg(long, env = "VROOM_UDP_PORT")]
    pub udp_port: Option<u16>,
    /// Media worker threads, each with its own UDP port and its own rooms (default: one per
    /// available core).
    #[arg(long, env = "VROOM_MEDIA_WORKERS")]
    pub media_workers: Option<usize>,
    /// Where each subscriber connection's bandwidth estimate starts, kbit/s; simulcast layers
    /// follow the estimate (default 1000; 0 turns bandwidth estimation off).
    #[arg(long, env = "VROOM_BWE_START_KBPS")]
    pub bwe_start_kbps: Option<u32>,
    /// Log filter, e.g. `info` or `vroom=debug` (default `info`).
    #[arg(long, env = "VROOM_LOG")]
    pub log: Option<String>,
    /// Development mode: ensures an app `dev` with API key `devkey` and secret `devsecret`.
    /// Insecure; never use it in production.
    #[arg(long, env = "VROOM_DEV")]
    pub dev: bool,
    /// Multiplies the webhook retry delays (1 = the documented schedule; tests use less).
    #[arg(long, env = "VROOM_WEBHOOK_RETRY_SCALE", hide = true)]
    pub webhook_retry_scale: Option<f64>,
    /// Server API requests per second per app, sustained (default 1000; 0 = no limit).
    #[arg(long, env = "VROOM_RATE_LIMIT_SERVER_RPS")]
    pub rate_limit_server_rps: Option<u32>,
    /// Server API requests per app allowed in a burst, before the sustained rate applies (default 5000; 0 = no limit).
    #[arg(long, env = "VROOM_RATE_LIMIT_SERVER_BURST")]
    pub rate_limit_server_burst: Option<u32>,
    /// Member API requests per second per member, sustained (default 20; 0 = no limit).
    #[arg(long, env = "VROOM_RATE_LIMIT_MEMBER_RPS")]
    pub rate_limit_member_rps: Option<u32>,
    /// Member API requests per member allowed in a burst, before the sustained rate applies (default 50; 0 = no limit).
    #[arg(long, env = "VROOM_RATE_LIMIT_MEMBER_BURST")]
    pub rate_limit_member_burst: Option<u32>,
    /// Failed authentications per second per client address, sustained (default 10; 0 = no limit).
    #[arg(long, env = "VROOM_RATE_LIMIT_AUTH_FAILURE_RPS")]
    pub rate_limit_auth_failure_rps: Option<u32>,
    /// Failed authentications per client address allowed in a burst, before the sustained rate applies (default 20; 0 = no limit).
    #[arg(long, env = "VROOM_RATE_LIMIT_AUTH_FAILURE_BURST")]
    pub rate_limit_auth_failure_burst: Option<u32>,
    /// Seconds a client has to send a request's head, and an idle keep-alive connection to
    /// send its next request, before the connection is closed (default 10; 0 = no limit).
    #[arg(long, env = "VROOM_HTTP_HEADER_TIMEOUT_SECS")]
    pub http_header_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request's body (default 30; 0 = no limit).
    #[arg(long, env = "VROOM_HTTP_BODY_TIMEOUT_SECS")]
    pub http_body_timeout_secs: Option<u64>,
    /// Open HTTP connections (signalling WebSockets included) per client address, IPv6 per
    /// /64 (default 1000; 0 = no limit).
    #[arg(long, env = "VROOM_HTTP_MAX_CONNECTIONS_PER_IP")]
    pub http_max_connections_per_ip: Option<u32>,
}

/// The TOML file: the same keys as the long flags, with underscores.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub bind: Option<String>,
    pub public_url: Option<String>,
    pub media_url: Option<String>,
    pub media_api_key: Option<String>,
    pub media_api_secret: Option<String>,
    pub access_token_ttl_secs: Option<u64>,
    pub node_ip: Option<IpAddr>,
    pub udp_port: Option<u16>,
    pub media_workers: Option<usize>,
    pub bwe_start_kbps: Option<u32>,
    pub log: Option<String>,
    pub dev: Option<bool>,
    pub webhook_retry_scale: Option<f64>,
    pub rate_limit_server_rps: Option<u32>,
    pub rate_limit_server_burst: Option<u32>,
    pub rate_limit_member_rps: Option<u32>,
    pub rate_limit_member_burst: Option<u32>,
    pub rate_limit_auth_failure_rps: Option<u32>,
    pub rate_limit_auth_failure_burst: Option<u32>,
    pub http_header_timeout_secs: Option<u64>,
    pub http_body_timeout_secs: Option<u64>,
    pub http_max_connections_per_ip: Option<u32>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }
}

/// Fully resolved server configuration.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub public_url: Option<String>,
    pub media_url: Option<String>,
    pub media_api_key: Option<String>,
    pub media_api_secret: Option<String>,
    pub access_token_ttl: Duration,
    /// Announced media address; `None` = detect at start.
    pub node_ip: Option<IpAddr>,
    /// UDP port of the first media worker; worker i listens on `udp_port + i`.
    pub udp_port: u16,
    /// Media worker threads (at least 1).
    pub media_workers: usize,
    /// Where subscriber connections start their bandwidth estimate, kbit/s (0: off).
    pub bwe_start_kbps: u32,
    pub log: String,
    pub dev: bool,
    /// Multiplies the webhook retry delays (1.0 in production).
    pub webhook_retry_scale: f64,
    /// Per-app, per-member and per-address (failed authentications) request limits.
    pub rate_limits: RateLimitConfig,
    /// Timeouts and the per-address connection cap of the HTTP listener.
    pub http: HttpLimits,
}

impl ServeConfig {
    pub fn resolve(common: &CommonArgs, args: &ServeArgs) -> anyhow::Result<Self> {
        let file = FileConfig::load(common.config.as_deref())?;
        let bind_text = args.bind.clone().or(file.bind).unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind =
            bind_text.parse().with_context(|| format!("--bind {bind_text:?} is not an address like 127.0.0.1:7880"))?;
        let config = Self {
            data_dir: data_dir(common, file.data_dir),
            bind,
            public_url: args.public_url.clone().or(file.public_url),
            media_url: args.media_url.clone().or(file.media_url),
            media_api_key: args.media_api_key.clone().or(file.media_api_key),
            media_api_secret: args.media_api_secret.clone().or(file.media_api_secret),
            access_token_ttl: Duration::from_secs(
                args.access_token_ttl_secs.or(file.access_token_ttl_secs).unwrap_or(86_400),
            ),
            node_ip: args.node_ip.or(file.node_ip),
            udp_port: args.udp_port.or(file.udp_port).unwrap_or(DEFAULT_UDP_PORT),
            media_workers: args.media_workers.or(file.media_workers).unwrap_or_else(default_media_workers),
            bwe_start_kbps: args.bwe_start_kbps.or(file.bwe_start_kbps).unwrap_or(DEFAULT_BWE_START_KBPS),
            log: args.log.clone().or(file.log).unwrap_or_else(|| "info".to_owned()),
            dev: args.dev || file.dev.unwrap_or(false),
            webhook_retry_scale: args.webhook_retry_scale.or(file.webhook_retry_scale).unwrap_or(1.0),
            rate_limits: RateLimitConfig {
                server: limit(
                    (args.rate_limit_server_rps, args.rate_limit_server_burst),
                    (file.rate_limit_server_rps, file.rate_limit_server_burst),
                    RateLimitConfig::DEFAULT_SERVER,
                ),
                member: limit(
                    (args.rate_limit_member_rps, args.rate_limit_member_burst),
                    (file.rate_limit_member_rps, file.rate_limit_member_burst),
                    RateLimitConfig::DEFAULT_MEMBER,
                ),
                auth_failures: limit(
                    (args.rate_limit_auth_failure_rps, args.rate_limit_auth_failure_burst),
                    (file.rate_limit_auth_failure_rps, file.rate_limit_auth_failure_burst),
                    RateLimitConfig::DEFAULT_AUTH_FAILURES,
                ),
            },
            http: HttpLimits {
                header_read_timeout: args
                    .http_header_timeout_secs
                    .or(file.http_header_timeout_secs)
                    .map_or(HttpLimits::DEFAULT_HEADER_READ_TIMEOUT, Duration::from_secs),
                body_timeout: args
                    .http_body_timeout_secs
                    .or(file.http_body_timeout_secs)
                    .map_or(HttpLimits::DEFAULT_BODY_TIMEOUT, Duration::from_secs),
                max_connections_per_ip: args
                    .http_max_connections_per_ip
                    .or(file.http_max_connections_per_ip)
                    .unwrap_or(HttpLimits::DEFAULT_MAX_CONNECTIONS_PER_IP),
            },
        };
        if config.media_api_key.is_some() != config.media_api_secret.is_some() {
            bail!("set both media_api_key and media_api_secret, or neither");
        }
        if config.access_token_ttl.is_zero() {
            bail!("access_token_ttl_secs must be positive");
        }
        if config.media_workers == 0 {
            bail!("media_workers must be at least 1");
        }
        Ok(config)
    }

    /// A configuration for tests and embedding: loopback, ephemeral ports.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            bind: "127.0.0.1:0".parse().expect("valid address"),
            public_url: None,
            media_url: None,
            media_api_key: None,
            media_api_secret: None,
            access_token_ttl: Duration::from_secs(86_400),
            node_ip: Some(IpAddr::from([127, 0, 0, 1])),
            udp_port: 0,
            // Two, whatever the machine, so tests exercise routing between workers.
            media_workers: 2,
            bwe_start_kbps: DEFAULT_BWE_START_KBPS,
            log: "info".into(),
            dev: false,
            webhook_retry_scale: 1.0,
            rate_limits: RateLimitConfig::default(),
            http: HttpLimits::default(),
        }
    }
}

/// A rate limit from (rate, burst) flags/environment over the file over the default.
fn limit(args: (Option<u32>, Option<u32>), file: (Option<u32>, Option<u32>), default: Limit) -> Limit {
    Limit::new(args.0.or(file.0).unwrap_or(default.per_second), args.1.or(file.1).unwrap_or(default.burst))
}

/// Where a subscriber connection's bandwidth estimate starts until its feedback says more.
pub const DEFAULT_BWE_START_KBPS: u32 = vroom_media::sfu::BWE_START_KBPS;

/// One media worker per core the process may use (1 when that is unknown).
pub fn default_media_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The data directory of any command (file < env/flag).
pub fn data_dir(common: &CommonArgs, from_file: Option<PathBuf>) -> PathBuf {
    common.data_dir.clone().or(from_file).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// The IP of the interface that routes to the outside, found without sending anything
/// (connecting a UDP socket only selects a route; 192.0.2.1 is a documentation address);
/// 127.0.0.1 when there is no such route.
pub fn detect_node_ip() -> IpAddr {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| {
        s.connect("192.0.2.1:9")?;
        s.local_addr()
    });
    match probe {
        Ok(addr) if !addr.ip().is_unspecified() => addr.ip(),
        _ => IpAddr::from([127, 0, 0, 1]),
    }
}

/// `http://host:port` for a bound address; unspecified addresses become `localhost`.
pub fn url_for(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("http://localhost:{}", addr.port()) } else { format!("http://{addr}") }
}

/// The WebSocket form of an HTTP URL.
pub fn ws_url(http: &str) -> String {
    if let Some(rest) = http.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = http.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        http.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vroom.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\npublic_url = \"https://file.example\"\naccess_token_ttl_secs = 60\n",
        )
        .unwrap();
        let common = CommonArgs { config: Some(file), data_dir: None };
        let args = ServeArgs { public_url: Some("https://flag.example".into()), ..Default::default() };
        let c = ServeConfig::resolve(&common, &args).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:9000");
        assert_eq!(c.public_url.as_deref(), Some("https://flag.example"));
        assert_eq!(c.access_token_ttl, Duration::from_secs(60));
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    /// The defaults the README's Configuration table and rate-limit section state, as
    /// numbers (not the constants they are defined by): changing one changes the docs.
    #[test]
    fn defaults_are_the_documented_ones() {
        use vroom_api::ratelimit::Limit;
        let c = ServeConfig::resolve(&CommonArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:7880");
        assert_eq!(c.data_dir, PathBuf::from("./vroom-data"));
        assert_eq!(c.udp_port, 7882);
        assert_eq!(c.bwe_start_kbps, 1000);
        assert_eq!(c.access_token_ttl, Duration::from_secs(86_400));
        assert_eq!(c.rate_limits.server, Limit::new(1000, 5000), "server API per app");
        assert_eq!(c.rate_limits.member, Limit::new(20, 50), "member API per member");
        assert_eq!(c.rate_limits.auth_failures, Limit::new(10, 20), "failed authentications per address");
        assert_eq!(c.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.http.body_timeout, Duration::from_secs(30));
        assert_eq!(c.http.max_connections_per_ip, 1000);
    }

    #[test]
    fn unknown_file_keys_and_half_media_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vroom.toml");
        std::fs::write(&file, "bnd = \"x\"\n").unwrap();
        let common = CommonArgs { config: Some(file.clone()), data_dir: None };
        assert!(ServeConfig::resolve(&common, &ServeArgs::default()).is_err());
        std::fs::write(&file, "media_api_key = \"k\"\n").unwrap();
        assert!(ServeConfig::resolve(&common, &ServeArgs::default()).is_err());
    }

    #[test]
    fn media_network_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vroom.toml");
        std::fs::write(&file, "node_ip = \"10.1.2.3\"\nudp_port = 9000\n").unwrap();
        let common = CommonArgs { config: Some(file), data_dir: None };
        let c = ServeConfig::resolve(&common, &ServeArgs::default()).unwrap();
        assert_eq!((c.node_ip, c.udp_port), (Some(IpAddr::from([10, 1, 2, 3])), 9000));
        let args = ServeArgs { node_ip: Some(IpAddr::from([127, 0, 0, 1])), udp_port: Some(0), ..Default::default() };
        let c = ServeConfig::resolve(&common, &args).unwrap();
        assert_eq!((c.node_ip, c.udp_port), (Some(IpAddr::from([127, 0, 0, 1])), 0));
        let c = ServeConfig::resolve(&CommonArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!((c.node_ip, c.udp_port), (None, DEFAULT_UDP_PORT));
    }

    #[test]
    fn bandwidth_estimation_start_follows_file_then_flag() {
        let c = ServeConfig::resolve(&CommonArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!(c.bwe_start_kbps, DEFAULT_BWE_START_KBPS);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vroom.toml");
        std::fs::write(&file, "bwe_start_kbps = 300\n").unwrap();
        let common = CommonArgs { config: Some(file), data_dir: None };
        assert_eq!(ServeConfig::resolve(&common, &ServeArgs::default()).unwrap().bwe_start_kbps, 300);
        let args = ServeArgs { bwe_start_kbps: Some(0), ..Default::default() };
        assert_eq!(ServeConfig::resolve(&common, &args).unwrap().bwe_start_kbps, 0);
    }

    #[test]
    fn media_workers_default_to_the_cores_and_follow_file_then_flag() {
        let c = ServeConfig::resolve(&CommonArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!(c.media_workers, std::thread::available_parallelism().unwrap().get());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vroom.toml");
        std::fs::write(&file, "media_workers = 3\n").unwrap();
        let common = CommonArgs { config: Some(file), data_dir: None };
        assert_eq!(ServeConfig::resolve(&common, &ServeArgs::default()).unwrap().media_workers, 3);
        let args = ServeArgs { media_workers: Some(5), ..Default::default() };
        assert_eq!(ServeConfig::resolve(&common, &args).unwrap().media_workers, 5);
        let args = ServeArgs { media_workers: Some(0), ..Default::default() };
        assert!(ServeConfig::resolve(&common, &args).is_err());
    }

    #[test]
    fn rate_limits_follow_defaults_file_then_flags() {
        let c = ServeConfig::resolve(&CommonArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!(c.rate_limits, RateLimitConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vroom.toml");
        std::fs::write(&file, "rate_limit_member_rps = 5\nrate_limit_member_burst = 7\nrate_limit_server_rps = 0\n")
            .unwrap();
        let common = CommonArgs { config: Some(file), data_dir: None };
        let args =
            ServeArgs { rate_limit_member_burst: Some(9), rate_limit_auth_failure_rps: Some(3), ..Default::default() };
        let c = ServeConfig::resolve(&common, &args).unwrap();
        assert_eq!(c.rate_limits.member, Limit::new(5, 9));
        assert_eq!(c.rate_limits.server, Limit::new(0, RateLimitConfig::DEFAULT_SERVER.burst));
        assert!(!c.rate_limits.server.is_enabled());
        assert_eq!(c.rate_limits.auth_failures, Limit::new(3, RateLimitConfig::DEFAULT_AUTH_FAILURES.burst));
    }

    /// The help text states the defaults the code uses (it once said 200/1000 for the
    /// server API while the code used 1000/5000).
    #[test]
    fn help_states_the_defaults_in_force() {
        use clap::CommandFactory;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let cmd = Cli::command();
        let help = |flag: &str| {
            let arg = cmd.get_arguments().find(|a| a.get_long() == Some(flag)).unwrap();
            arg.get_help().unwrap().to_string()
        };
        let d = RateLimitConfig::default();
        let h = HttpLimits::default();
        for (flag, value) in [
            ("rate-limit-server-rps", d.server.per_second),
            ("rate-limit-server-burst", d.server.burst),
            ("rate-limit-member-rps", d.member.per_second),
            ("rate-limit-member-burst", d.member.burst),
            ("rate-limit-auth-failure-rps", d.auth_failures.per_second),
            ("rate-limit-auth-failure-burst", d.auth_failures.burst),
            ("http-header-timeout-secs", h.header_read_timeout.as_secs() as u32),
            ("http-body-timeout-secs", h.body_timeout.as_secs() as u32),
            ("http-max-connections-per-ip", h.max_connections_per_ip),
        ] {
            assert!(help(flag).contains(&format!("(default {value};")), "--{flag}: {}", help(flag));
        }
    }

    #[test]
    fn urls() {
        assert_eq!(url_for("0.0.0.0:7880".parse().unwrap()), "http://localhost:7880");
        assert_eq!(ws_url("https://a.example/x"), "wss://a.example/x");
        assert_eq!(ws_url("http://127.0.0.1:7880"), "ws://127.0.0.1:7880");
    }
}
