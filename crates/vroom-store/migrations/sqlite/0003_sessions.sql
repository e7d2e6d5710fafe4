-- Room sessions (a room is LIVE while a session is open) and attendance.

CREATE TABLE room_sessions (
    video_room_id INTEGER NOT NULL,
    session_no    INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    -- Why the session ended: EMPTY (last participant left), ROOM_ENDED, SERVER_RESTART.
    end_reason    TEXT,
    PRIMARY KEY (video_room_id, session_no)
);
CREATE INDEX room_sessions_open ON room_sessions (video_room_id) WHERE ended_at IS NULL;

CREATE TABLE participations (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    video_room_id       INTEGER NOT NULL,
    session_no          INTEGER NOT NULL,
    -- The media server's participant id (PA_…); one join of one identity.
    participant_sid     TEXT    NOT NULL UNIQUE,
    app_user_id         TEXT    NOT NULL,
    member_id           INTEGER,
    app_user_name       TEXT,
    channel_member_type TEXT    NOT NULL,
    custom_data         TEXT,
    hidden              INTEGER NOT NULL,
    joined_at           INTEGER NOT NULL,
    left_at             INTEGER,
    leave_reason        TEXT
);
CREATE INDEX participations_room_session ON participations (video_room_id, session_no);
CREATE INDEX participations_open ON participations (video_room_id) WHERE left_at IS NULL;
