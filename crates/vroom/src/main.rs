//! The `vroom` command line.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::json;
use tracing_subscriber::EnvFilter;
use vroom::config::{self, CommonArgs, FileConfig, ServeArgs, ServeConfig};
use vroom_platform::model::App;
use vroom_platform::{Platform, PublicUrls, time};

#[derive(Parser)]
#[command(name = "vroom", version, about = "vroom: a self-hostable video-room platform")]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: APIs, docs and metrics on one HTTP listener.
    Serve(ServeArgs),
    /// Manage apps (tenants) and their API credentials. Works while `serve` runs.
    #[command(subcommand)]
    App(AppCommand),
    /// Load-test a LiveKit-compatible media server (vroom or LiveKit) with synthetic media.
    Loadtest(vroom_loadtest::LoadtestArgs),
}

#[derive(Subcommand)]
enum AppCommand {
    /// Create an app; prints its API key and secret (the secret is shown only this once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List apps.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replace an app's API secret; prints the new secret (shown only this once).
    RotateSecret {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(ServeConfig::resolve(&cli.common, &args)?).await,
        Command::App(cmd) => app_command(&cli.common, cmd).await,
        Command::Loadtest(args) => std::process::exit(vroom_loadtest::main(args).await),
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(format!("{},sqlx=warn", config.log)).context("invalid --log filter")?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let mut server = vroom::start(&config).await?;
    let base = server.urls.http.clone();
    // Worker i listens on the first port + i: the firewall must let all of them through.
    let media_udp = server.media_udp.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    tracing::info!(addr = %server.addr, public_url = %base, media_url = %server.urls.media, media_udp = %media_udp, media_workers = server.media_udp.len(), data_dir = %config.data_dir.display(), "vroom is serving");
    if let Some(app) = &server.dev_app {
        // A server must not die because whoever started it stopped reading its stdout, so
        // the banner is written with errors ignored (println! would panic on EPIPE).
        let banner = format!(
            "vroom dev mode (INSECURE: fixed credentials, for development only)\n\
             \x20 server API:  {base}/v2/apps/me   (HTTP Basic devkey:devsecret, app id {})\n\
             \x20 member API:  {base}/v2/members/me\n\
             \x20 media URL:   {}\n\
             \x20 media UDP:   {media_udp}   (one port per media worker; clients must reach all)\n\
             \x20 meeting:     {base}/dev   (start a meeting, then join it in two tabs)\n\
             \x20 API docs:    {base}/open-api/swagger-ui/\n\
             \x20 try:         curl -u devkey:devsecret {base}/v2/apps/me\n",
            app.id, server.urls.media
        );
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }
    let shutdown = server.take_shutdown();
    let stopped = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        if let Some(tx) = shutdown {
            let _ = tx.send(());
        }
    });
    let result = server.wait().await;
    stopped.abort();
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn app_command(common: &CommonArgs, cmd: AppCommand) -> anyhow::Result<()> {
    let file = FileConfig::load(common.config.as_deref())?;
    let data_dir = config::data_dir(common, file.data_dir);
    let store = vroom::open_store(&data_dir).await?;
    let serve_config = ServeConfig::for_data_dir(&data_dir);
    // App management needs no public URLs; placeholders keep the platform constructible.
    let urls = PublicUrls { http: String::new(), media: String::new() };
    let platform: Platform = vroom::platform(std::sync::Arc::new(store.clone()), &serve_config, urls).await?;
    let result = run_app_command(&platform, cmd).await;
    store.close().await;
    result
}

async fn run_app_command(platform: &Platform, cmd: AppCommand) -> anyhow::Result<()> {
    match cmd {
        AppCommand::Create { name, json } => {
            let (app, secret) = platform.create_app(&name).await?;
            print_credentials(&app, &secret, json);
        }
        AppCommand::RotateSecret { id, json } => {
            let (app, secret) = platform.rotate_app_secret(id).await?;
            print_credentials(&app, &secret, json);
        }
        AppCommand::List { json } => {
            let apps = platform.list_apps().await?;
            if json {
                let list: Vec<_> = apps
                    .iter()
                    .map(|a| json!({"id": a.id, "name": a.name, "apiKey": a.api_key, "createdAt": time::format(&a.created_at)}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("{:>6}  {:<24}  {:<26}  created", "id", "name", "api key");
                for a in apps {
                    println!("{:>6}  {:<24}  {:<26}  {}", a.id, a.name, a.api_key, time::format(&a.created_at));
                }
            }
        }
    }
    Ok(())
}

fn print_credentials(app: &App, secret: &str, json: bool) {
    if json {
        println!("{}", json!({"id": app.id, "name": app.name, "apiKey": app.api_key, "apiSecret": secret}));
    } else {
        println!("app id:     {}", app.id);
        println!("name:       {}", app.name);
        println!("API key:    {}", app.api_key);
        println!("API secret: {secret}");
        println!("(the secret is shown only now; it is stored hashed)");
    }
}
