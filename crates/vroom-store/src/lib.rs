//! # vroom-store
//!
//! Implements `vroom_platform::Store` on SQLite (the embedded default) with sqlx, and owns
//! the schema and its embedded migrations. One writer connection serialises writes inside
//! the process (SQLite allows one writer anyway; this avoids busy-retries), several reader
//! connections serve reads concurrently in WAL mode. Other processes (the `vroom app` CLI)
//! may write at the same time: transactions begin `IMMEDIATE` and wait on a busy timeout.
//!
//! It must not contain business rules: every decision (validation, permissions, which
//! events a change emits) is made by the platform and passed in.

mod sqlite;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}
