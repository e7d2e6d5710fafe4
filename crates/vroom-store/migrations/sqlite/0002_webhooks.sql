-- Webhook registration (one receiver per app) and the delivery outbox.

CREATE TABLE callback_apis (
    app_id           INTEGER PRIMARY KEY REFERENCES apps (id),
    url              TEXT    NOT NULL,
    access_id        TEXT,
    -- Kept reversible: it is the customer's credential for its own receiver, sent as Basic auth.
    access_password  TEXT,
    signing_secret   TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    last_modified_at INTEGER NOT NULL
);

-- One row per event to deliver to the app's receiver, written in the same transaction as the
-- event. `locked_until` is the lease of a delivery attempt in flight.
CREATE TABLE webhook_deliveries (
    event_id         TEXT PRIMARY KEY REFERENCES events (id),
    app_id           INTEGER NOT NULL,
    video_room_id    INTEGER,
    seq              INTEGER,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    last_attempt_at  INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_room_order ON webhook_deliveries (app_id, video_room_id, seq);
CREATE INDEX webhook_deliveries_app_created ON webhook_deliveries (app_id, created_at);
CREATE INDEX events_app_type_created ON events (app_id, event_type, created_at);
