//! Writes cancelled at any point (a client hanging up mid-request drops the handler's future)
//! must never leave the single writer connection unusable.

use std::sync::Arc;
use std::time::Duration;

use vroom_platform::Store;
use vroom_platform::model::MemberChanges;
use vroom_platform::time;
use vroom_store::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_writes_leave_the_writer_usable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
    let app = store.create_app("a", "k", [0; 32], time::now()).await.unwrap();
    let no_events = |_: &vroom_platform::model::Member, _: bool| Vec::new();
    // Cancel new-member upserts after every delay from 0 to ~2 ms, so that some are cut
    // while their BEGIN, their statements or their COMMIT are in flight.
    for i in 0..2000u64 {
        let store = store.clone();
        let id = format!("u{i}");
        let _ = tokio::time::timeout(Duration::from_micros((i * 7) % 400), async move {
            store.upsert_member(app.id, &id, &MemberChanges::default(), time::now(), &no_events).await
        })
        .await;
    }
    // Every later write works.
    for i in 0..20 {
        let id = format!("after{i}");
        let (m, created, _) =
            store.upsert_member(app.id, &id, &MemberChanges::default(), time::now(), &no_events).await.unwrap();
        assert!(created);
        assert_eq!(m.app_user_id, id);
    }
    store.close().await;
}
