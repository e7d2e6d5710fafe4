-- Times are Unix epoch milliseconds (UTC). Enum columns hold the wire spelling.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE apps (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL,
    api_key          TEXT    NOT NULL UNIQUE,
    secret_hash      BLOB    NOT NULL,
    created_at       INTEGER NOT NULL,
    last_modified_at INTEGER NOT NULL
);

CREATE TABLE members (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id                   INTEGER NOT NULL REFERENCES apps (id),
    app_user_id              TEXT    NOT NULL,
    app_user_name            TEXT,
    app_user_profile_img_url TEXT,
    email                    TEXT,
    country                  TEXT,
    lang                     TEXT,
    custom_type              TEXT,
    custom_data              TEXT,
    created_at               INTEGER NOT NULL,
    last_modified_at         INTEGER NOT NULL,
    -- Deleted members stay as the owners of record of their rooms; their app user id
    -- becomes free for a new member.
    deleted_at               INTEGER
);
CREATE UNIQUE INDEX members_live_app_user_id ON members (app_id, app_user_id) WHERE deleted_at IS NULL;
CREATE INDEX members_app_created ON members (app_id, created_at);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family     TEXT    NOT NULL,
    app_id     INTEGER NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_member ON refresh_tokens (member_id);

CREATE TABLE video_rooms (
    id                                INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                              TEXT    NOT NULL UNIQUE,
    app_id                            INTEGER NOT NULL REFERENCES apps (id),
    owner_member_id                   INTEGER NOT NULL REFERENCES members (id),
    room_type                         TEXT    NOT NULL,
    video_room_state                  TEXT    NOT NULL,
    access_level                      TEXT    NOT NULL,
    creator_type                      TEXT    NOT NULL,
    creator_id                        INTEGER NOT NULL,
    title                             TEXT,
    description                       TEXT,
    custom_type                       TEXT,
    custom_data                       TEXT,
    password_hash                     TEXT,
    manually_approval                 INTEGER NOT NULL,
    can_auto_room_composite_recording INTEGER NOT NULL,
    scheduled_at                      INTEGER,
    live_started_at                   INTEGER,
    live_ended_at                     INTEGER,
    last_session_no                   INTEGER NOT NULL,
    view_options                      TEXT,
    -- Last `seq` given to an event of this room.
    last_event_seq                    INTEGER NOT NULL DEFAULT 0,
    created_at                        INTEGER NOT NULL,
    last_modified_at                  INTEGER NOT NULL
);
CREATE INDEX video_rooms_app_created ON video_rooms (app_id, created_at);

-- The webhook outbox and replayable event log.
CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    app_id        INTEGER NOT NULL,
    event_type    TEXT    NOT NULL,
    video_room_id INTEGER,
    seq           INTEGER,
    envelope      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX events_app_created ON events (app_id, created_at);
CREATE INDEX events_room_seq ON events (video_room_id, seq);
