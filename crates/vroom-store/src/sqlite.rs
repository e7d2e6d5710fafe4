use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    SqliteTransactionManager,
};
use sqlx::{Row, SqliteConnection};
use sqlx_core::transaction::TransactionManager;
use tokio::sync::Notify;
use vroom_platform::event::NewEvent;
use vroom_platform::model::*;
use vroom_platform::session::{Participation, RoomSession, lifecycle};
use vroom_platform::store::*;
use vroom_platform::time::{self, Timestamp};
use vroom_platform::webhook::*;
use vroom_platform::{Error, Result};

use crate::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    checkpointer: SqlitePool,
    /// Notified after every commit that wrote events (wakes the webhook deliverer).
    outbox: Arc<Notify>,
    /// Members by id, for the member API's per-request token check.
    members: Arc<MemberCache>,
}

/// A short-lived cache of members by id. Every member change in this process drops the
/// entry after its commit; the time bound covers changes made elsewhere.
#[derive(Default)]
struct MemberCache(std::sync::Mutex<HashMap<(AppId, MemberId), (Member, Instant)>>);

impl MemberCache {
    const TTL: Duration = Duration::from_secs(5);
    const MAX_ENTRIES: usize = 100_000;

    fn get(&self, key: (AppId, MemberId)) -> Option<Member> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&key).filter(|(_, at)| at.elapsed() < Self::TTL).map(|(m, _)| m.clone())
    }

    fn put(&self, member: &Member) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX_ENTRIES {
            map.clear();
        }
        map.insert((member.app.id, member.id), (member.clone(), Instant::now()));
    }

    fn forget(&self, app: AppId, id: MemberId) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&(app, id));
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(open_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: durable against process crashes; a power loss may lose the last
            // transactions but never corrupts the database.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Checkpoints run in the background (below), not inside a request's commit:
            // a checkpoint syncs the database file and would stall that request.
            .pragma("wal_autocheckpoint", "0");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(|conn, _| {
                Box::pin(async move {
                    // A caller cancelled while its BEGIN was being acknowledged (an HTTP client
                    // hung up) leaves a transaction that no `Transaction` will ever end, and sqlx
                    // then refuses every later `BEGIN IMMEDIATE` on this, the only writer.
                    // Rolling back whatever is open on release makes that impossible.
                    if SqliteTransactionManager::get_transaction_depth(conn) > 0 {
                        SqliteTransactionManager::rollback(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&write).await?;
        let checkpointer =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(open_err)?;
        tokio::spawn(checkpoint_loop(checkpointer.clone()));
        let readers = std::thread::available_parallelism().map_or(4, |n| n.get().max(2) * 2) as u32;
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .connect_with(options.read_only(true))
            .await
            .map_err(open_err)?;
        Ok(Self { read, write, checkpointer, outbox: Arc::new(Notify::new()), members: Arc::default() })
    }

    /// Signals new outbox rows; hand it to the webhook deliverer.
    pub fn outbox_notifier(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    pub async fn close(&self) {
        self.checkpointer.close().await;
        self.read.close().await;
        self.write.close().await;
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.write.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }
}

/// Moves WAL content into the database file every second. PASSIVE never blocks writers or
/// readers; it ends when the store is closed.
async fn checkpoint_loop(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

fn db(e: sqlx::Error) -> Error {
    Error::internal(e)
}

fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

/// The wire spelling of an enum value, as stored.
fn enum_text<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn parse_enum<T: DeserializeOwned>(row: &SqliteRow, col: &str) -> Result<T> {
    let raw: String = row.try_get(col).map_err(db)?;
    serde_json::from_value(serde_json::Value::String(raw.clone()))
        .map_err(|e| Error::internal(format!("bad {col} value {raw:?} in the database: {e}")))
}

fn json_text<T: Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref().and_then(|v| serde_json::to_string(v).ok())
}

fn parse_json<T: DeserializeOwned>(row: &SqliteRow, col: &str) -> Result<Option<T>> {
    let raw: Option<String> = row.try_get(col).map_err(db)?;
    raw.map(|s| stored_json(&s).map_err(|e| Error::internal(format!("bad JSON in {col}: {e}")))).transpose()
}

/// Reads JSON this store wrote. Without serde_json's recursion limit: what was stored was
/// accepted once (the API bounds depth at the door, and rows written before that bound may
/// be deeper than a wrapper around them leaves room for), so it must read back.
fn stored_json<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(row: &'r SqliteRow, col: &str) -> Result<T> {
    row.try_get(col).map_err(db)
}

fn get_time(row: &SqliteRow, col: &str) -> Result<Timestamp> {
    Ok(time::from_millis(get(row, col)?))
}

fn get_opt_time(row: &SqliteRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(get::<Option<i64>>(row, col)?.map(time::from_millis))
}

macro_rules! app_select {
    () => {
        "SELECT id, name, api_key, secret_hash, created_at, last_modified_at, embed_frame_ancestors FROM apps "
    };
}

fn app_from_row(row: &SqliteRow) -> Result<App> {
    Ok(App {
        id: get(row, "id")?,
        state: EntityState::Active,
        name: get(row, "name")?,
        default_rtmp_output_mode: DEFAULT_RTMP_OUTPUT_MODE.into(),
        created_at: get_time(row, "created_at")?,
        last_modified_at: get_time(row, "last_modified_at")?,
        api_key: get(row, "api_key")?,
        embed_frame_ancestors: get::<Option<String>>(row, "embed_frame_ancestors")?
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(Error::internal)?,
    })
}

macro_rules! member_select {
    () => {
        "SELECT m.id, m.app_id, a.name AS app_name, m.app_user_id, m.app_user_name, \
         m.app_user_profile_img_url, m.email, m.country, m.lang, m.custom_type, m.custom_data, \
         m.created_at, m.last_modified_at FROM members m JOIN apps a ON a.id = m.app_id "
    };
}

fn member_from_row(row: &SqliteRow) -> Result<Member> {
    Ok(Member {
        id: get(row, "id")?,
        state: EntityState::Active,
        app_user_id: get(row, "app_user_id")?,
        app_user_name: get(row, "app_user_name")?,
        app_user_profile_img_url: get(row, "app_user_profile_img_url")?,
        email: get(row, "email")?,
        country: get(row, "country")?,
        lang: get(row, "lang")?,
        custom_type: get(row, "custom_type")?,
        custom_data: parse_json(row, "custom_data")?,
        app: AppRef { id: get(row, "app_id")?, name: get(row, "app_name")? },
        created_at: get_time(row, "created_at")?,
        last_modified_at: get_time(row, "last_modified_at")?,
    })
}

macro_rules! room_select {
    () => {
        "SELECT r.*, a.name AS app_name, o.app_user_id AS owner_app_user_id, \
         o.app_user_name AS owner_app_user_name, o.app_user_profile_img_url AS owner_img_url \
         FROM video_rooms r JOIN apps a ON a.id = r.app_id JOIN members o ON o.id = r.owner_member_id "
    };
}

fn room_from_row(row: &SqliteRow) -> Result<VideoRoom> {
    let password_hash: Option<String> = get(row, "password_hash")?;
    Ok(VideoRoom {
        id: get(row, "id")?,
        uuid: get(row, "uuid")?,
        state: EntityState::Active,
        room_type: parse_enum(row, "room_type")?,
        video_room_state: parse_enum(row, "video_room_state")?,
        access_level: parse_enum(row, "access_level")?,
        app: AppRef { id: get(row, "app_id")?, name: get(row, "app_name")? },
        member: MemberRef {
            id: get(row, "owner_member_id")?,
            app_user_id: get(row, "owner_app_user_id")?,
            app_user_name: get(row, "owner_app_user_name")?,
            app_user_profile_img_url: get(row, "owner_img_url")?,
        },
        creator_type: parse_enum(row, "creator_type")?,
        creator_id: get(row, "creator_id")?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        custom_type: get(row, "custom_type")?,
        custom_data: parse_json(row, "custom_data")?,
        policy: VideoRoomPolicy {
            has_password: password_hash.is_some(),
            manually_approval: get(row, "manually_approval")?,
            can_auto_room_composite_recording: get(row, "can_auto_room_composite_recording")?,
        },
        scheduled_at: get_opt_time(row, "scheduled_at")?,
        live_started_at: get_opt_time(row, "live_started_at")?,
        live_ended_at: get_opt_time(row, "live_ended_at")?,
        last_session_no: get(row, "last_session_no")?,
        view_options: parse_json(row, "view_options")?,
        created_at: get_time(row, "created_at")?,
        last_modified_at: get_time(row, "last_modified_at")?,
        password_hash,
    })
}

/// Writes outbox rows; room-scoped events take the room's next `seq`.
async fn insert_events(conn: &mut SqliteConnection, events: Vec<NewEvent>) -> Result<()> {
    for mut ev in events {
        let mut seq = None;
        if let Some(room) = ev.video_room_id {
            let next: i64 = sqlx::query_scalar(
                "UPDATE video_rooms SET last_event_seq = last_event_seq + 1 WHERE id = ?1 RETURNING last_event_seq",
            )
            .bind(room)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
            seq = Some(next);
            ev.envelope["seq"] = next.into();
        }
        sqlx::query(
            "INSERT INTO events (id, app_id, event_type, video_room_id, seq, envelope, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(&ev.id)
        .bind(ev.app_id)
        .bind(ev.event_type.as_str())
        .bind(ev.video_room_id)
        .bind(seq)
        .bind(ev.envelope.to_string())
        .bind(ms(ev.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        // The outbox row, when the app has a receiver: same transaction as the event.
        sqlx::query(
            "INSERT INTO webhook_deliveries (event_id, app_id, video_room_id, seq, status, next_attempt_at, created_at) \
             SELECT ?1, ?2, ?3, ?4, 'PENDING', ?5, ?5 FROM callback_apis WHERE app_id = ?2",
        )
        .bind(&ev.id)
        .bind(ev.app_id)
        .bind(ev.video_room_id)
        .bind(seq)
        .bind(ms(ev.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

async fn live_member(conn: &mut SqliteConnection, app: AppId, app_user_id: &str) -> Result<Option<Member>> {
    sqlx::query(concat!(member_select!(), "WHERE m.app_id = ?1 AND m.app_user_id = ?2 AND m.deleted_at IS NULL"))
        .bind(app)
        .bind(app_user_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .as_ref()
        .map(member_from_row)
        .transpose()
}

async fn write_member(conn: &mut SqliteConnection, m: &Member) -> Result<()> {
    sqlx::query(
        "UPDATE members SET app_user_name = ?2, app_user_profile_img_url = ?3, email = ?4, country = ?5, \
         lang = ?6, custom_type = ?7, custom_data = ?8, last_modified_at = ?9 WHERE id = ?1",
    )
    .bind(m.id)
    .bind(&m.app_user_name)
    .bind(&m.app_user_profile_img_url)
    .bind(&m.email)
    .bind(&m.country)
    .bind(&m.lang)
    .bind(&m.custom_type)
    .bind(json_text(&m.custom_data))
    .bind(ms(m.last_modified_at))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

async fn room_in(conn: &mut SqliteConnection, app: AppId, id: VideoRoomId) -> Result<Option<VideoRoom>> {
    sqlx::query(concat!(room_select!(), "WHERE r.app_id = ?1 AND r.id = ?2"))
        .bind(app)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .as_ref()
        .map(room_from_row)
        .transpose()
}

/// Writes every mutable column of a room back.
async fn write_room(conn: &mut SqliteConnection, room: &VideoRoom) -> Result<()> {
    sqlx::query(
        "UPDATE video_rooms SET room_type = ?2, video_room_state = ?3, access_level = ?4, title = ?5, description = ?6, \
         custom_type = ?7, custom_data = ?8, password_hash = ?9, manually_approval = ?10, \
         can_auto_room_composite_recording = ?11, scheduled_at = ?12, live_started_at = ?13, live_ended_at = ?14, \
         last_session_no = ?15, view_options = ?16, last_modified_at = ?17 WHERE id = ?1",
    )
    .bind(room.id)
    .bind(enum_text(&room.room_type))
    .bind(enum_text(&room.video_room_state))
    .bind(enum_text(&room.access_level))
    .bind(&room.title)
    .bind(&room.description)
    .bind(&room.custom_type)
    .bind(json_text(&room.custom_data))
    .bind(&room.password_hash)
    .bind(room.policy.manually_approval)
    .bind(room.policy.can_auto_room_composite_recording)
    .bind(opt_ms(room.scheduled_at))
    .bind(opt_ms(room.live_started_at))
    .bind(opt_ms(room.live_ended_at))
    .bind(room.last_session_no)
    .bind(json_text(&room.view_options))
    .bind(ms(room.last_modified_at))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

async fn room_by_id_any(conn: &mut SqliteConnection, id: VideoRoomId) -> Result<Option<VideoRoom>> {
    sqlx::query(concat!(room_select!(), "WHERE r.id = ?1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .as_ref()
        .map(room_from_row)
        .transpose()
}

fn participation_from_row(row: &SqliteRow) -> Result<Participation> {
    Ok(Participation {
        participant_sid: get(row, "participant_sid")?,
        session_no: get(row, "session_no")?,
        app_user_id: get(row, "app_user_id")?,
        member_id: get(row, "member_id")?,
        app_user_name: get(row, "app_user_name")?,
        channel_member_type: get(row, "channel_member_type")?,
        custom_data: parse_json(row, "custom_data")?,
        hidden: get(row, "hidden")?,
        joined_at: get_time(row, "joined_at")?,
        left_at: get_opt_time(row, "left_at")?,
        leave_reason: get(row, "leave_reason")?,
    })
}

/// Closes one open participation; ends the session (and the room's liveness) when it was
/// the last one. Returns whether anything was open.
async fn close_participation(
    conn: &mut SqliteConnection,
    sid: &str,
    reason: &str,
    at: Timestamp,
    events: ParticipationEvents<'_>,
) -> Result<bool> {
    let row = sqlx::query(
        // Never before the join: `at` may be a stale heartbeat (a crash right after a join),
        // and attendance must not go backwards.
        "UPDATE participations SET left_at = max(?2, joined_at), leave_reason = ?3 \
         WHERE participant_sid = ?1 AND left_at IS NULL \
         RETURNING participant_sid, session_no, app_user_id, member_id, app_user_name, channel_member_type, \
           custom_data, hidden, joined_at, left_at, leave_reason, video_room_id",
    )
    .bind(sid)
    .bind(ms(at))
    .bind(reason)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(row) = row else { return Ok(false) };
    let participation = participation_from_row(&row)?;
    let room_id: i64 = get(&row, "video_room_id")?;
    let Some(mut room) = room_by_id_any(conn, room_id).await? else { return Ok(true) };
    let still_open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM participations WHERE video_room_id = ?1 AND session_no = ?2 AND left_at IS NULL",
    )
    .bind(room_id)
    .bind(participation.session_no)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    if still_open == 0 {
        // A session ends because its room emptied, unless the server itself stopped. It
        // ends when its last participant left (clamped above), so never before it started.
        let end_reason = if reason == vroom_platform::session::leave_reason::SERVER_RESTART { reason } else { "EMPTY" };
        let at = participation.left_at.unwrap_or(at);
        sqlx::query(
            "UPDATE room_sessions SET ended_at = max(?3, started_at), end_reason = ?4 \
             WHERE video_room_id = ?1 AND session_no = ?2 AND ended_at IS NULL",
        )
        .bind(room_id)
        .bind(participation.session_no)
        .bind(ms(at))
        .bind(end_reason)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        lifecycle::end_session(&mut room, at);
        room.last_modified_at = at;
        write_room(conn, &room).await?;
    }
    insert_events(conn, events(&room, &participation)).await?;
    Ok(true)
}

#[async_trait]
impl Store for SqliteStore {
    async fn setting(&self, name: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE name = ?1")
            .bind(name)
            .fetch_optional(&self.read)
            .await
            .map_err(db)
    }

    async fn init_setting(&self, name: &str, value: &str) -> StoreResult<String> {
        // Settings are written once, when the database is new. Later calls only read, so
        // that opening a platform on an existing database (every `vroom app` command, also
        // while a server runs) never queues for the write lock.
        if let Some(existing) = self.setting(name).await? {
            return Ok(existing);
        }
        sqlx::query("INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .execute(&self.write)
            .await
            .map_err(db)?;
        sqlx::query_scalar("SELECT value FROM settings WHERE name = ?1")
            .bind(name)
            .fetch_one(&self.write)
            .await
            .map_err(db)
    }

    async fn set_setting(&self, name: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2")
            .bind(name)
            .bind(value)
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn create_app(&self, name: &str, api_key: &str, secret_hash: [u8; 32], now: Timestamp) -> StoreResult<App> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO apps (name, api_key, secret_hash, created_at, last_modified_at) VALUES (?1, ?2, ?3, ?4, ?4) \
             RETURNING id, name, api_key, secret_hash, created_at, last_modified_at, embed_frame_ancestors",
        )
        .bind(name)
        .bind(api_key)
        .bind(&secret_hash[..])
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let app = app_from_row(&row)?;
        sqlx::query("INSERT INTO members (app_id, app_user_id, created_at, last_modified_at) VALUES (?1, ?2, ?3, ?3)")
            .bind(app.id)
            .bind(ADMIN_APP_USER_ID)
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(app)
    }

    async fn app(&self, id: AppId) -> StoreResult<Option<App>> {
        let row = sqlx::query(concat!(app_select!(), "WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.as_ref().map(app_from_row).transpose()
    }

    async fn app_credentials(&self, api_key: &str) -> StoreResult<Option<AppCredentials>> {
        let row = sqlx::query(concat!(app_select!(), "WHERE api_key = ?1"))
            .bind(api_key)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let hash: Vec<u8> = get(&row, "secret_hash")?;
        let secret_hash = hash.try_into().map_err(|_| Error::internal("stored secret hash is not 32 bytes"))?;
        Ok(Some(AppCredentials { app: app_from_row(&row)?, secret_hash }))
    }

    async fn list_apps(&self) -> StoreResult<Vec<App>> {
        let rows = sqlx::query(concat!(app_select!(), "ORDER BY id")).fetch_all(&self.read).await.map_err(db)?;
        rows.iter().map(app_from_row).collect()
    }

    async fn set_app_embed_frame_ancestors(
        &self,
        id: AppId,
        sources: Option<&[String]>,
        now: Timestamp,
    ) -> StoreResult<Option<App>> {
        let json = sources.map(|s| serde_json::to_string(s).map_err(Error::internal)).transpose()?;
        let row = sqlx::query(
            "UPDATE apps SET embed_frame_ancestors = ?2, last_modified_at = ?3 WHERE id = ?1 \
             RETURNING id, name, api_key, secret_hash, created_at, last_modified_at, embed_frame_ancestors",
        )
        .bind(id)
        .bind(json)
        .bind(ms(now))
        .fetch_optional(&self.write)
        .await
        .map_err(db)?;
        row.as_ref().map(app_from_row).transpose()
    }

    async fn set_app_secret(&self, id: AppId, secret_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<App>> {
        let row = sqlx::query(
            "UPDATE apps SET secret_hash = ?2, last_modified_at = ?3 WHERE id = ?1 \
             RETURNING id, name, api_key, secret_hash, created_at, last_modified_at, embed_frame_ancestors",
        )
        .bind(id)
        .bind(&secret_hash[..])
        .bind(ms(now))
        .fetch_optional(&self.write)
        .await
        .map_err(db)?;
        row.as_ref().map(app_from_row).transpose()
    }

    async fn member(&self, app: AppId, app_user_id: &str) -> StoreResult<Option<Member>> {
        let mut conn = self.read.acquire().await.map_err(db)?;
        live_member(&mut conn, app, app_user_id).await
    }

    async fn member_by_id(&self, app: AppId, id: MemberId) -> StoreResult<Option<Member>> {
        if let Some(member) = self.members.get((app, id)) {
            return Ok(Some(member));
        }
        let member =
            sqlx::query(concat!(member_select!(), "WHERE m.app_id = ?1 AND m.id = ?2 AND m.deleted_at IS NULL"))
                .bind(app)
                .bind(id)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?
                .as_ref()
                .map(member_from_row)
                .transpose()?;
        if let Some(m) = &member {
            self.members.put(m);
        }
        Ok(member)
    }

    async fn upsert_member(
        &self,
        app: AppId,
        app_user_id: &str,
        changes: &MemberChanges,
        now: Timestamp,
        events: MemberEvents<'_>,
    ) -> StoreResult<(Member, bool, bool)> {
        // Fast path, taken by most logins: the member exists and nothing changes, so no
        // write transaction (and no wait for the single writer) is needed.
        if let Some(existing) = self.member(app, app_user_id).await? {
            let mut probe = existing.clone();
            if !changes.apply(&mut probe) {
                return Ok((existing, false, false));
            }
        }
        let mut tx = self.begin().await?;
        let result = match live_member(&mut tx, app, app_user_id).await? {
            Some(mut member) => {
                let changed = changes.apply(&mut member);
                if changed {
                    member.last_modified_at = now;
                    write_member(&mut tx, &member).await?;
                    insert_events(&mut tx, events(&member, false)).await?;
                }
                (member, false, changed)
            }
            None => {
                let row = sqlx::query(
                    "INSERT INTO members (app_id, app_user_id, created_at, last_modified_at) VALUES (?1, ?2, ?3, ?3) RETURNING id",
                )
                .bind(app)
                .bind(app_user_id)
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                let id: i64 = get(&row, "id")?;
                let app_name: String = sqlx::query_scalar("SELECT name FROM apps WHERE id = ?1")
                    .bind(app)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                let mut member = Member {
                    id,
                    state: EntityState::Active,
                    app_user_id: app_user_id.to_owned(),
                    app_user_name: None,
                    app_user_profile_img_url: None,
                    email: None,
                    country: None,
                    lang: None,
                    custom_type: None,
                    custom_data: None,
                    app: AppRef { id: app, name: app_name },
                    created_at: now,
                    last_modified_at: now,
                };
                changes.apply(&mut member);
                write_member(&mut tx, &member).await?;
                insert_events(&mut tx, events(&member, true)).await?;
                (member, true, true)
            }
        };
        tx.commit().await.map_err(db)?;
        self.outbox.notify_one();
        self.members.forget(app, result.0.id);
        Ok(result)
    }

    async fn update_member(
        &self,
        app: AppId,
        app_user_id: &str,
        changes: &MemberChanges,
        now: Timestamp,
        events: MemberEvents<'_>,
    ) -> StoreResult<Option<Member>> {
        let mut tx = self.begin().await?;
        let Some(mut member) = live_member(&mut tx, app, app_user_id).await? else {
            return Ok(None);
        };
        if changes.apply(&mut member) {
            member.last_modified_at = now;
            write_member(&mut tx, &member).await?;
            insert_events(&mut tx, events(&member, false)).await?;
            tx.commit().await.map_err(db)?;
            self.outbox.notify_one();
            self.members.forget(app, member.id);
        }
        Ok(Some(member))
    }

    async fn list_members(&self, app: AppId, filter: &MemberFilter, page: PageRequest) -> StoreResult<Page<Member>> {
        macro_rules! member_where {
            () => {
                "WHERE m.app_id = ?1 AND m.deleted_at IS NULL AND (?2 IS NULL OR m.app_user_id = ?2) \
                 AND (?3 IS NULL OR instr(lower(coalesce(m.app_user_name, '')), lower(?3)) > 0) "
            };
        }
        let total: i64 = sqlx::query_scalar(concat!("SELECT count(*) FROM members m ", member_where!()))
            .bind(app)
            .bind(&filter.app_user_id)
            .bind(&filter.app_user_name)
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        let rows = sqlx::query(concat!(
            member_select!(),
            member_where!(),
            "ORDER BY \
               CASE WHEN ?4 = 'CREATED_AT_ASC' THEN m.created_at END ASC, \
               CASE WHEN ?4 = 'CREATED_AT_DESC' THEN m.created_at END DESC, \
               CASE WHEN ?4 = 'LAST_MODIFIED_AT_ASC' THEN m.last_modified_at END ASC, \
               CASE WHEN ?4 = 'LAST_MODIFIED_AT_DESC' THEN m.last_modified_at END DESC, \
               CASE WHEN ?4 = 'APP_USER_ID_ASC' THEN m.app_user_id END ASC, \
               CASE WHEN ?4 = 'APP_USER_ID_DESC' THEN m.app_user_id END DESC, \
               CASE WHEN ?4 LIKE '%_ASC' THEN m.id END ASC, m.id DESC \
             LIMIT ?5 OFFSET ?6"
        ))
        .bind(app)
        .bind(&filter.app_user_id)
        .bind(&filter.app_user_name)
        .bind(enum_text(&filter.sort))
        .bind(i64::from(page.size))
        .bind(page.offset() as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let content = rows.iter().map(member_from_row).collect::<Result<_>>()?;
        Ok(Page { content, total_elements: total as u64, request: page })
    }

    async fn delete_members(&self, app: AppId, app_user_ids: &[String], now: Timestamp) -> StoreResult<Vec<Member>> {
        let mut tx = self.begin().await?;
        let mut deleted = Vec::new();
        for id in app_user_ids {
            let Some(member) = live_member(&mut tx, app, id).await? else { continue };
            sqlx::query("UPDATE members SET deleted_at = ?2 WHERE id = ?1")
                .bind(member.id)
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query("UPDATE refresh_tokens SET revoked_at = ?2 WHERE member_id = ?1 AND revoked_at IS NULL")
                .bind(member.id)
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            deleted.push(member);
        }
        tx.commit().await.map_err(db)?;
        for member in &deleted {
            self.members.forget(app, member.id);
        }
        Ok(deleted)
    }

    async fn insert_refresh_token(&self, t: &NewRefreshToken, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family, app_id, member_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&t.token_hash)
        .bind(&t.family)
        .bind(t.app_id)
        .bind(t.member_id)
        .bind(ms(t.expires_at))
        .bind(ms(now))
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT family, app_id, member_id, expires_at, spent_at, revoked_at FROM refresh_tokens WHERE token_hash = ?1")
            .bind(old_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(RefreshOutcome::Invalid) };
        let family: String = get(&row, "family")?;
        let (app_id, member_id): (i64, i64) = (get(&row, "app_id")?, get(&row, "member_id")?);
        if get::<Option<i64>>(&row, "revoked_at")?.is_some() || get::<i64>(&row, "expires_at")? <= ms(now) {
            return Ok(RefreshOutcome::Invalid);
        }
        if get::<Option<i64>>(&row, "spent_at")?.is_some() {
            // A spent token came back: someone holds a copy. Revoke the whole family.
            sqlx::query("UPDATE refresh_tokens SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL")
                .bind(&family)
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            return Ok(RefreshOutcome::Reused);
        }
        sqlx::query("UPDATE refresh_tokens SET spent_at = ?2 WHERE token_hash = ?1")
            .bind(old_hash)
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family, app_id, member_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(new_hash)
        .bind(&family)
        .bind(app_id)
        .bind(member_id)
        .bind(ms(new_expires_at))
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(RefreshOutcome::Rotated { app_id, member_id })
    }

    async fn create_room(&self, app: AppId, room: &VideoRoom, events: RoomEvents<'_>) -> StoreResult<VideoRoom> {
        let mut tx = self.begin().await?;
        // The columns a room never changes are inserted here; every other one is written by
        // `write_room`, the single list of a room's mutable columns.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO video_rooms (uuid, app_id, owner_member_id, creator_type, creator_id, created_at, \
               last_modified_at, room_type, video_room_state, access_level, manually_approval, \
               can_auto_room_composite_recording, last_session_no) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, '', '', '', 0, 0, 0) RETURNING id",
        )
        .bind(&room.uuid)
        .bind(app)
        .bind(room.member.id)
        .bind(enum_text(&room.creator_type))
        .bind(room.creator_id)
        .bind(ms(room.created_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        write_room(&mut tx, &VideoRoom { id, ..room.clone() }).await?;
        let stored = room_in(&mut tx, app, id).await?.ok_or_else(|| Error::internal("inserted room not found"))?;
        insert_events(&mut tx, events(&stored)).await?;
        tx.commit().await.map_err(db)?;
        self.outbox.notify_one();
        Ok(stored)
    }

    async fn room(&self, app: AppId, id: VideoRoomId) -> StoreResult<Option<VideoRoom>> {
        let mut conn = self.read.acquire().await.map_err(db)?;
        room_in(&mut conn, app, id).await
    }

    async fn room_by_uuid(&self, app: AppId, uuid: &str) -> StoreResult<Option<VideoRoom>> {
        sqlx::query(concat!(room_select!(), "WHERE r.app_id = ?1 AND r.uuid = ?2"))
            .bind(app)
            .bind(uuid)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?
            .as_ref()
            .map(room_from_row)
            .transpose()
    }

    async fn list_rooms(&self, app: AppId, f: &VideoRoomFilter, page: PageRequest) -> StoreResult<Page<VideoRoom>> {
        macro_rules! room_where {
            () => {
                "WHERE r.app_id = ?1 AND (?2 IS NULL OR o.app_user_id = ?2) \
                 AND (?3 IS NULL OR instr(lower(coalesce(r.title, '')), lower(?3)) > 0) \
                 AND (?4 IS NULL OR r.video_room_state = ?4) AND (?5 IS NULL OR r.room_type = ?5) \
                 AND (?6 IS NULL OR r.access_level = ?6) \
                 AND (?7 IS NULL OR r.owner_member_id = ?7 OR r.access_level <> 'PRIVATE') "
            };
        }
        let state = f.video_room_state.as_ref().map(enum_text);
        let room_type = f.room_type.as_ref().map(enum_text);
        let access = f.access_level.as_ref().map(enum_text);
        let total: i64 = sqlx::query_scalar(concat!(
            "SELECT count(*) FROM video_rooms r JOIN members o ON o.id = r.owner_member_id ",
            room_where!()
        ))
        .bind(app)
        .bind(&f.app_user_id)
        .bind(&f.keyword)
        .bind(&state)
        .bind(&room_type)
        .bind(&access)
        .bind(f.visible_to)
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        let rows = sqlx::query(concat!(
            room_select!(),
            room_where!(),
            "ORDER BY \
               CASE WHEN ?8 = 'CREATED_AT_ASC' THEN r.created_at END ASC, \
               CASE WHEN ?8 = 'CREATED_AT_DESC' THEN r.created_at END DESC, \
               CASE WHEN ?8 = 'LAST_MODIFIED_AT_ASC' THEN r.last_modified_at END ASC, \
               CASE WHEN ?8 = 'LAST_MODIFIED_AT_DESC' THEN r.last_modified_at END DESC, \
               CASE WHEN ?8 LIKE '%_ASC' THEN r.id END ASC, r.id DESC \
             LIMIT ?9 OFFSET ?10"
        ))
        .bind(app)
        .bind(&f.app_user_id)
        .bind(&f.keyword)
        .bind(&state)
        .bind(&room_type)
        .bind(&access)
        .bind(f.visible_to)
        .bind(enum_text(&f.sort))
        .bind(i64::from(page.size))
        .bind(page.offset() as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let content = rows.iter().map(room_from_row).collect::<Result<_>>()?;
        Ok(Page { content, total_elements: total as u64, request: page })
    }

    async fn update_room(
        &self,
        app: AppId,
        id: VideoRoomId,
        now: Timestamp,
        update: RoomUpdate<'_>,
    ) -> StoreResult<Option<VideoRoom>> {
        let mut tx = self.begin().await?;
        let Some(before) = room_in(&mut tx, app, id).await? else { return Ok(None) };
        let mut room = before.clone();
        update(&mut room)?;
        if room == before {
            return Ok(Some(room));
        }
        room.last_modified_at = now;
        write_room(&mut tx, &room).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(room))
    }

    async fn delete_room(&self, app: AppId, id: VideoRoomId) -> StoreResult<Option<VideoRoom>> {
        let mut tx = self.begin().await?;
        let Some(room) = room_in(&mut tx, app, id).await? else { return Ok(None) };
        sqlx::query("DELETE FROM video_rooms WHERE id = ?1").bind(id).execute(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(room))
    }

    async fn put_callback_api(&self, c: &CallbackApi, now: Timestamp) -> StoreResult<CallbackApi> {
        let row = sqlx::query(
            "INSERT INTO callback_apis (app_id, url, access_id, access_password, signing_secret, created_at, last_modified_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
             ON CONFLICT (app_id) DO UPDATE SET url = excluded.url, access_id = excluded.access_id, \
               access_password = excluded.access_password, last_modified_at = excluded.last_modified_at \
             RETURNING app_id, url, access_id, access_password, signing_secret",
        )
        .bind(c.app_id)
        .bind(&c.url)
        .bind(&c.access_id)
        .bind(&c.access_password)
        .bind(&c.signing_secret)
        .bind(ms(now))
        .fetch_one(&self.write)
        .await
        .map_err(db)?;
        callback_from_row(&row)
    }

    async fn callback_api(&self, app: AppId) -> StoreResult<Option<CallbackApi>> {
        sqlx::query(
            "SELECT app_id, url, access_id, access_password, signing_secret FROM callback_apis WHERE app_id = ?1",
        )
        .bind(app)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .as_ref()
        .map(callback_from_row)
        .transpose()
    }

    async fn delete_callback_api(&self, app: AppId) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM callback_apis WHERE app_id = ?1")
            .bind(app)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        sqlx::query("UPDATE webhook_deliveries SET status = 'CANCELLED', locked_until = NULL WHERE app_id = ?1 AND status = 'PENDING'")
            .bind(app)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(deleted > 0)
    }

    async fn list_events(
        &self,
        app: AppId,
        f: &EventFilter,
        page: PageRequest,
    ) -> StoreResult<Page<serde_json::Value>> {
        macro_rules! event_where {
            () => {
                "WHERE app_id = ?1 AND (?2 IS NULL OR video_room_id = ?2) AND (?3 IS NULL OR seq > ?3) \
                 AND (?4 IS NULL OR event_type = ?4) "
            };
        }
        let event_type = f.event_type.map(|t| t.as_str());
        let total: i64 = sqlx::query_scalar(concat!("SELECT count(*) FROM events ", event_where!()))
            .bind(app)
            .bind(f.video_room_id)
            .bind(f.after_seq)
            .bind(event_type)
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        let rows: Vec<String> = sqlx::query_scalar(concat!(
            "SELECT envelope FROM events ",
            event_where!(),
            "ORDER BY CASE WHEN ?2 IS NOT NULL THEN seq END, created_at, rowid LIMIT ?5 OFFSET ?6"
        ))
        .bind(app)
        .bind(f.video_room_id)
        .bind(f.after_seq)
        .bind(event_type)
        .bind(i64::from(page.size))
        .bind(page.offset() as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let content = rows
            .iter()
            .map(|s| {
                // One unreadable row must not break every page it is on: it is handed out
                // as the stored text (a JSON string) and logged.
                stored_json(s).unwrap_or_else(|e| {
                    tracing::error!(error = %e, "unreadable event envelope in the database");
                    serde_json::Value::String(s.clone())
                })
            })
            .collect();
        Ok(Page { content, total_elements: total as u64, request: page })
    }

    async fn list_deliveries(&self, app: AppId, page: PageRequest) -> StoreResult<Page<WebhookDelivery>> {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE app_id = ?1")
            .bind(app)
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        let rows = sqlx::query(concat!(
            delivery_select!(),
            "WHERE d.app_id = ?1 ORDER BY d.created_at DESC, d.rowid DESC LIMIT ?2 OFFSET ?3"
        ))
        .bind(app)
        .bind(i64::from(page.size))
        .bind(page.offset() as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let content = rows.iter().map(delivery_from_row).collect::<Result<_>>()?;
        Ok(Page { content, total_elements: total as u64, request: page })
    }

    async fn redeliver(&self, app: AppId, event_id: &str, now: Timestamp) -> StoreResult<Option<WebhookDelivery>> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "INSERT INTO webhook_deliveries (event_id, app_id, video_room_id, seq, status, next_attempt_at, created_at) \
             SELECT id, app_id, video_room_id, seq, 'PENDING', ?3, created_at FROM events WHERE id = ?1 AND app_id = ?2 \
             ON CONFLICT (event_id) DO UPDATE SET status = 'PENDING', next_attempt_at = ?3, locked_until = NULL, \
               delivered_at = NULL",
        )
        .bind(event_id)
        .bind(app)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if updated == 0 {
            return Ok(None);
        }
        let row = sqlx::query(concat!(delivery_select!(), "WHERE d.event_id = ?1"))
            .bind(event_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.outbox.notify_one();
        Ok(Some(delivery_from_row(&row)?))
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        per_app: u32,
        busy_apps: &[AppId],
        lease: Duration,
    ) -> StoreResult<Vec<DueDelivery>> {
        // The deliverer asks ten times a second. Finding nothing due must not take the write
        // lock: the other writers (`vroom app` commands in other processes among them) would
        // queue behind every poll, and behind its task for as long as it is not scheduled.
        let due: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= ?1 \
               AND (locked_until IS NULL OR locked_until <= ?1))",
        )
        .bind(ms(now))
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        if !due {
            return Ok(Vec::new());
        }
        let busy = serde_json::to_string(busy_apps).unwrap_or_else(|_| "[]".into());
        let mut tx = self.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET locked_until = ?2 WHERE event_id IN ( \
               SELECT event_id FROM ( \
                 SELECT d.event_id, d.next_attempt_at, d.created_at, \
                   row_number() OVER (PARTITION BY d.app_id ORDER BY d.next_attempt_at, d.created_at) AS nth \
                 FROM webhook_deliveries d \
                 WHERE d.status = 'PENDING' AND d.next_attempt_at <= ?1 \
                   AND (d.locked_until IS NULL OR d.locked_until <= ?1) \
                   AND d.app_id NOT IN (SELECT value FROM json_each(?5)) \
                   AND (d.video_room_id IS NULL OR NOT EXISTS ( \
                     SELECT 1 FROM webhook_deliveries e WHERE e.app_id = d.app_id \
                       AND e.video_room_id = d.video_room_id AND e.status = 'PENDING' AND e.seq < d.seq))) \
               WHERE nth <= ?4 ORDER BY next_attempt_at, created_at LIMIT ?3) \
             RETURNING event_id",
        )
        .bind(ms(now))
        .bind(ms(now) + lease.as_millis() as i64)
        .bind(i64::from(limit))
        .bind(i64::from(per_app))
        .bind(&busy)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        // One read for the whole batch: the leased rows with their event and receiver.
        let rows = sqlx::query(
            "SELECT d.event_id, d.attempts, d.created_at, e.envelope, c.app_id, c.url, c.access_id, c.access_password, \
               c.signing_secret \
             FROM webhook_deliveries d JOIN events e ON e.id = d.event_id JOIN callback_apis c ON c.app_id = d.app_id \
             WHERE d.event_id IN (SELECT value FROM json_each(?1)) ORDER BY d.next_attempt_at, d.created_at",
        )
        .bind(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let due = rows
            .iter()
            .map(|row| {
                Ok(DueDelivery {
                    event_id: get(row, "event_id")?,
                    created_at: get_time(row, "created_at")?,
                    attempts: get::<i64>(row, "attempts")? as u32,
                    body: get(row, "envelope")?,
                    callback: callback_from_row(row)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tx.commit().await.map_err(db)?;
        Ok(due)
    }

    async fn record_attempts(&self, attempts: &[(String, AttemptRecord)]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for (event_id, a) in attempts {
            sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?2, last_status_code = ?3, \
                   last_error = ?4, status = ?5, next_attempt_at = coalesce(?6, next_attempt_at), locked_until = NULL, \
                   delivered_at = CASE WHEN ?5 = 'DELIVERED' THEN ?2 ELSE delivered_at END \
                 WHERE event_id = ?1 AND status = 'PENDING'",
            )
            .bind(event_id)
            .bind(ms(a.at))
            .bind(a.status_code.map(i64::from))
            .bind(&a.error)
            .bind(enum_text(&a.status))
            .bind(opt_ms(a.next_attempt_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn release_delivery_leases(&self) -> StoreResult<()> {
        sqlx::query("UPDATE webhook_deliveries SET locked_until = NULL WHERE locked_until IS NOT NULL")
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64> {
        // Usually nothing is that old: find that out without the write lock. A delivery is
        // as old as its event, and an event outlives its deliveries, so no old event means
        // no old delivery either.
        let old: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE created_at < ?1)")
            .bind(ms(before))
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        if !old {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE created_at < ?1 AND status <> 'PENDING'")
            .bind(ms(before))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let deleted = sqlx::query(
            "DELETE FROM events WHERE created_at < ?1 AND id NOT IN (SELECT event_id FROM webhook_deliveries)",
        )
        .bind(ms(before))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        tx.commit().await.map_err(db)?;
        Ok(deleted)
    }

    async fn room_by_uuid_any(&self, uuid: &str) -> StoreResult<Option<VideoRoom>> {
        sqlx::query(concat!(room_select!(), "WHERE r.uuid = ?1"))
            .bind(uuid)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?
            .as_ref()
            .map(room_from_row)
            .transpose()
    }

    async fn participant_joined(
        &self,
        room_uuid: &str,
        participation: &Participation,
        events: ParticipationEvents<'_>,
    ) -> StoreResult<Option<VideoRoom>> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(concat!(room_select!(), "WHERE r.uuid = ?1"))
            .bind(room_uuid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some(mut room) = row.as_ref().map(room_from_row).transpose()? else { return Ok(None) };
        let at = participation.joined_at;
        let open: Option<i64> =
            sqlx::query_scalar("SELECT session_no FROM room_sessions WHERE video_room_id = ?1 AND ended_at IS NULL")
                .bind(room.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let session_no = match open {
            Some(n) => n,
            None => {
                let n = lifecycle::start_session(&mut room, at);
                sqlx::query("INSERT INTO room_sessions (video_room_id, session_no, started_at) VALUES (?1, ?2, ?3)")
                    .bind(room.id)
                    .bind(n)
                    .bind(ms(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                room.last_modified_at = at;
                write_room(&mut tx, &room).await?;
                n
            }
        };
        let p = Participation { session_no, ..participation.clone() };
        let inserted = sqlx::query(
            "INSERT INTO participations (video_room_id, session_no, participant_sid, app_user_id, member_id, app_user_name, \
               channel_member_type, custom_data, hidden, joined_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (participant_sid) DO NOTHING",
        )
        .bind(room.id)
        .bind(session_no)
        .bind(&p.participant_sid)
        .bind(&p.app_user_id)
        .bind(p.member_id)
        .bind(&p.app_user_name)
        .bind(&p.channel_member_type)
        .bind(json_text(&p.custom_data))
        .bind(p.hidden)
        .bind(ms(p.joined_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if inserted > 0 {
            insert_events(&mut tx, events(&room, &p)).await?;
        }
        tx.commit().await.map_err(db)?;
        self.outbox.notify_one();
        Ok(Some(room))
    }

    async fn participant_left(
        &self,
        participant_sid: &str,
        reason: &str,
        at: Timestamp,
        events: ParticipationEvents<'_>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if close_participation(&mut tx, participant_sid, reason, at, events).await? {
            tx.commit().await.map_err(db)?;
            self.outbox.notify_one();
        }
        Ok(())
    }

    async fn close_open_participations(
        &self,
        reason: &str,
        at: Timestamp,
        events: ParticipationEvents<'_>,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let open: Vec<String> =
            sqlx::query_scalar("SELECT participant_sid FROM participations WHERE left_at IS NULL ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        for sid in &open {
            close_participation(&mut tx, sid, reason, at, events).await?;
        }
        // Sessions left open without participants (none should exist) end too.
        sqlx::query("UPDATE room_sessions SET ended_at = max(?1, started_at), end_reason = ?2 WHERE ended_at IS NULL")
            .bind(ms(at))
            .bind(reason)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.outbox.notify_one();
        Ok(open.len() as u64)
    }

    async fn list_sessions(&self, room: VideoRoomId, page: PageRequest) -> StoreResult<Page<RoomSession>> {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM room_sessions WHERE video_room_id = ?1")
            .bind(room)
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        let rows = sqlx::query(
            "SELECT s.session_no, s.started_at, s.ended_at, s.end_reason, \
               (SELECT count(*) FROM participations p WHERE p.video_room_id = s.video_room_id \
                  AND p.session_no = s.session_no) AS participant_count \
             FROM room_sessions s WHERE s.video_room_id = ?1 ORDER BY s.session_no DESC LIMIT ?2 OFFSET ?3",
        )
        .bind(room)
        .bind(i64::from(page.size))
        .bind(page.offset() as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let content = rows
            .iter()
            .map(|r| {
                Ok(RoomSession {
                    session_no: get(r, "session_no")?,
                    started_at: get_time(r, "started_at")?,
                    ended_at: get_opt_time(r, "ended_at")?,
                    end_reason: get(r, "end_reason")?,
                    participant_count: get(r, "participant_count")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Page { content, total_elements: total as u64, request: page })
    }

    async fn list_participations(&self, room: VideoRoomId, session_no: i64) -> StoreResult<Vec<Participation>> {
        let rows = sqlx::query(
            "SELECT participant_sid, session_no, app_user_id, member_id, app_user_name, channel_member_type, \
               custom_data, hidden, joined_at, left_at, leave_reason, video_room_id \
             FROM participations WHERE video_room_id = ?1 AND session_no = ?2 ORDER BY joined_at, id",
        )
        .bind(room)
        .bind(session_no)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter().map(participation_from_row).collect()
    }
}

macro_rules! delivery_select {
    () => {
        "SELECT d.event_id, e.event_type, d.video_room_id, d.seq, d.status, d.attempts, d.last_status_code, \
           d.last_error, d.last_attempt_at, d.next_attempt_at, d.delivered_at, d.created_at \
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
    };
}
use delivery_select;

fn delivery_from_row(row: &SqliteRow) -> Result<WebhookDelivery> {
    let status: DeliveryStatus = parse_enum(row, "status")?;
    Ok(WebhookDelivery {
        event_id: get(row, "event_id")?,
        event_type: get(row, "event_type")?,
        video_room_id: get(row, "video_room_id")?,
        seq: get(row, "seq")?,
        status,
        attempts: get::<i64>(row, "attempts")? as u32,
        last_status_code: get::<Option<i64>>(row, "last_status_code")?.map(|c| c as u16),
        last_error: get(row, "last_error")?,
        last_attempt_at: get_opt_time(row, "last_attempt_at")?,
        next_attempt_at: if status == DeliveryStatus::Pending { get_opt_time(row, "next_attempt_at")? } else { None },
        delivered_at: get_opt_time(row, "delivered_at")?,
        created_at: get_time(row, "created_at")?,
    })
}

fn callback_from_row(row: &SqliteRow) -> Result<CallbackApi> {
    Ok(CallbackApi {
        app_id: get(row, "app_id")?,
        url: get(row, "url")?,
        access_id: get(row, "access_id")?,
        access_password: get(row, "access_password")?,
        signing_secret: get(row, "signing_secret")?,
    })
}
