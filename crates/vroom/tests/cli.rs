//! The `vroom` command line, run as a real process: app management (also while a server
//! runs on the same data dir), `serve --dev` start-up output and graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use vroom::ServeConfig;

const BIN: &str = env!("CARGO_BIN_EXE_vroom");

fn vroom(data_dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).arg("--data-dir").arg(data_dir).args(args).output().expect("run vroom");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

async fn app_status(base: &str, key: &str, secret: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/v2/apps/me"))
        .basic_auth(key, Some(secret))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

// Each command runs as a blocking child process on this test's single-threaded runtime, so
// the in-process server is frozen wherever it was while the command runs: this also checks
// that an idle server never sits on the write lock.
#[tokio::test]
async fn app_commands_work_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = vroom::start(&ServeConfig::for_data_dir(dir.path())).await.unwrap();
    let base = format!("http://{}", server.addr);

    let (ok, out, err) = vroom(dir.path(), &["app", "create", "--name", "Acme", "--json"]);
    assert!(ok, "{err}");
    let created = json(&out);
    assert_eq!(created["name"], "Acme");
    let id = created["id"].as_i64().expect("numeric id");
    let key = created["apiKey"].as_str().unwrap().to_owned();
    let secret = created["apiSecret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "secret must carry >= 256 bits");
    assert_eq!(app_status(&base, &key, &secret).await, 200);

    let (ok, out, err) = vroom(dir.path(), &["app", "list", "--json"]);
    assert!(ok, "{err}");
    let list = json(&out);
    let listed = list.as_array().unwrap().iter().find(|a| a["id"] == id).expect("created app is listed");
    assert_eq!(listed["apiKey"], key.as_str());
    assert!(listed.get("apiSecret").is_none(), "the secret is never shown again");

    let (ok, out, err) = vroom(dir.path(), &["app", "rotate-secret", &id.to_string(), "--json"]);
    assert!(ok, "{err}");
    let new_secret = json(&out)["apiSecret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(app_status(&base, &key, &secret).await, 401, "old secret stops working");
    assert_eq!(app_status(&base, &key, &new_secret).await, 200);

    let (ok, _, err) = vroom(dir.path(), &["app", "rotate-secret", "999999"]);
    assert!(!ok);
    assert!(err.contains("999999"), "names the missing app: {err}");
    server.stop().await.unwrap();
}

/// A server (any writer, in any process) may hold the database's write lock at any moment;
/// a writer waits for it up to the busy timeout (10 s). Commands that only read must not
/// need it.
#[tokio::test]
async fn read_only_app_commands_do_not_wait_for_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = vroom(dir.path(), &["app", "create", "--name", "Acme", "--json"]);
    assert!(ok, "{err}");
    let db = SqliteConnectOptions::new().filename(dir.path().join(vroom::DB_FILE));
    let mut writer = SqliteConnection::connect_with(&db).await.unwrap();
    let write_lock = writer.begin_with("BEGIN IMMEDIATE").await.unwrap();

    let started = Instant::now();
    let (ok, out, err) = vroom(dir.path(), &["app", "list", "--json"]);
    assert!(ok, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "app list waited {:?}", started.elapsed());
    assert_eq!(json(&out)[0]["name"], "Acme");
    write_lock.rollback().await.unwrap();
}

#[test]
fn the_secret_is_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = vroom(dir.path(), &["app", "create", "--name", "Hashy", "--json"]);
    assert!(ok);
    let secret = json(&out)["apiSecret"].as_str().unwrap().to_owned();
    let mut haystack = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        haystack.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(!haystack.windows(secret.len()).any(|w| w == secret.as_bytes()), "plain secret found on disk");
}

/// `vroom serve --dev` on `dir`: the child and the banner it printed once ready. Media
/// workers `workers` on UDP port 7882 on (the default) or, with `any_port`, on free ports.
fn start_dev(dir: &std::path::Path, workers: &str, any_port: bool) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--dev", "--bind", "127.0.0.1:0", "--log", "warn"])
        .args(if any_port { &["--udp-port", "0"][..] } else { &[] })
        .arg("--data-dir")
        .arg(dir)
        .env("VROOM_MEDIA_WORKERS", workers)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !banner.contains("API docs") && Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => banner.push_str(&(line + "\n")),
            _ => break,
        }
    }
    // Keep reading so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, banner)
}

fn base_of(banner: &str) -> String {
    banner
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.ends_with("/v2/apps/me"))
        .map(|w| w.trim_end_matches("/v2/apps/me").to_owned())
        .unwrap_or_else(|| panic!("server API URL printed: {banner}"))
}

fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits (at most 10 s) for the child to exit; its status.
fn exited(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vroom did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn dev_apps(dir: &std::path::Path) -> usize {
    let (ok, out, _) = vroom(dir, &["app", "list", "--json"]);
    assert!(ok);
    json(&out).as_array().unwrap().iter().filter(|a| a["apiKey"] == "devkey").count()
}

#[test]
fn serve_dev_prints_credentials_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, banner) = start_dev(dir.path(), "3", false);
    assert!(banner.contains("devkey:devsecret"), "{banner}");
    let base = base_of(&banner);
    assert!(banner.contains(&format!("{base}/open-api/swagger-ui/")), "{banner}");
    // Three media workers (from the environment) on the default UDP port and the next two.
    let udp = banner.lines().find(|l| l.contains("media UDP:")).unwrap_or_else(|| panic!("{banner}"));
    let addrs = udp.split_whitespace().filter_map(|w| w.trim_end_matches(',').parse::<std::net::SocketAddr>().ok());
    assert_eq!(addrs.map(|a| a.port()).collect::<Vec<_>>(), [7882, 7883, 7884], "{banner}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(app_status(&base, "devkey", "devsecret")), 200);
    sigterm(&child);
    let exit = exited(&mut child);
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    assert_eq!(dev_apps(dir.path()), 1);

    // --dev is idempotent: a second start on the same data keeps one dev app, and its
    // credentials still work.
    let (mut again, banner) = start_dev(dir.path(), "1", true);
    assert_eq!(rt.block_on(app_status(&base_of(&banner), "devkey", "devsecret")), 200);
    sigterm(&again);
    assert!(exited(&mut again).success());
    assert_eq!(dev_apps(dir.path()), 1);
}

/// A request in flight when SIGTERM arrives (its body still arriving) is finished and
/// answered; connections made after it are not served; the process exits 0.
#[test]
fn a_graceful_stop_finishes_requests_in_flight() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let (mut child, banner) = start_dev(dir.path(), "1", true);
    let base = base_of(&banner);
    let addr = base.trim_start_matches("http://").to_owned();
    let body = br#"{"appUserId":"in-flight","appUserName":"Late"}"#;
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // devkey:devsecret
    let head = format!(
        "POST /v2/apps/me/members HTTP/1.1\r\nhost: {addr}\r\nauthorization: Basic ZGV2a2V5OmRldnNlY3JldA==\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    sigterm(&child);
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "vroom waits for the request in flight");
    assert!(std::net::TcpStream::connect(&addr).is_err(), "no new connections once stopping");
    conn.write_all(&body[10..]).unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "the request in flight is answered: {answer:?}");
    assert!(answer.contains("in-flight"), "{answer}");
    assert!(exited(&mut child).success());
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = vroom(dir.path(), &["serve", "--bind", "not-an-address"]);
    assert!(!ok);
    assert!(err.contains("not-an-address"), "{err}");
    let cfg = dir.path().join("vroom.toml");
    std::fs::write(&cfg, "bogus_key = 1\n").unwrap();
    let (ok, _, err) = vroom(dir.path(), &["--config", cfg.to_str().unwrap(), "serve"]);
    assert!(!ok);
    assert!(err.contains("bogus_key"), "{err}");
    let (ok, _, err) = vroom(dir.path(), &["serve", "--media-workers", "0"]);
    assert!(!ok);
    assert!(err.contains("media_workers must be at least 1"), "{err}");
}
