//! SQLite has one write lock per database, shared by every process that opens it. A server
//! and `vroom app` commands in other processes use the same file, and a writer that finds
//! the lock taken waits up to the busy timeout (10 s), then fails with "database is
//! locked". So what only reads must not take the write lock: these tests hold it from
//! another connection and expect reads to finish without waiting for it.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use vroom_platform::Store;
use vroom_platform::time;
use vroom_store::SqliteStore;

/// Far below the busy timeout: a read that waited for the write lock would miss it.
const NO_WAIT: Duration = Duration::from_secs(3);

/// Another connection, as another process would open it, to hold the write lock with.
async fn other_connection(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path)).await.unwrap()
}

#[tokio::test]
async fn opening_an_existing_database_to_read_does_not_wait_for_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let server = SqliteStore::open(&path).await.unwrap();
    let secret = server.init_setting("member_token_secret", "first").await.unwrap();
    server.create_app("a", "k", [0; 32], time::now()).await.unwrap();

    let mut other = other_connection(&path).await;
    let write_lock = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
    // What `vroom app list` does: open the store, read the generated settings the
    // platform is built with, list.
    let read = async {
        let cli = SqliteStore::open(&path).await.unwrap();
        let setting = cli.init_setting("member_token_secret", "second").await.unwrap();
        let apps = cli.list_apps().await.unwrap();
        cli.close().await;
        (setting, apps)
    };
    let (setting, apps) = tokio::time::timeout(NO_WAIT, read).await.expect("a read waited for the write lock");
    assert_eq!(setting, secret, "an existing setting is kept");
    assert_eq!(apps.len(), 1);

    write_lock.rollback().await.unwrap();
    server.close().await;
}

/// What the webhook deliverer does when there is nothing to do: poll the outbox (ten
/// times a second) and prune the event log (at start, then hourly).
#[tokio::test]
async fn an_idle_deliverer_does_not_take_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(&path).await.unwrap();

    let mut other = other_connection(&path).await;
    let write_lock = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let poll = store.claim_deliveries(time::now(), 128, 32, &[], Duration::from_secs(30));
    let claimed = tokio::time::timeout(NO_WAIT, poll).await.expect("an idle poll waited for the write lock").unwrap();
    assert!(claimed.is_empty());
    let prune = store.prune_events(time::now() - Duration::from_secs(8 * 24 * 3600));
    let pruned =
        tokio::time::timeout(NO_WAIT, prune).await.expect("pruning nothing waited for the write lock").unwrap();
    assert_eq!(pruned, 0);

    write_lock.rollback().await.unwrap();
    store.close().await;
}
