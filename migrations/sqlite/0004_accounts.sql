-- People who work in the admin pages: coordinators and analysts.
CREATE TABLE accounts (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    email                TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL,          -- coordinator | analyst
    -- argon2 PHC string; NULL until the password is set through a one-time link.
    password_hash        TEXT,
    disabled             INTEGER NOT NULL DEFAULT 0,
    -- SHA-256 of the one-time link that sets the password, and when it stops working.
    password_link_hash   TEXT UNIQUE,
    password_link_until  INTEGER,
    -- Consecutive failed logins and when the last one was: the account's brake.
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    last_failed_at       INTEGER,
    -- Sessions that began before this moment (Unix ms) are over: logging out ends them all.
    sessions_after       INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL
);

-- What coordinators did: who, what, when, which round, how many recipients. Never answers or tokens.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    round_key   TEXT,
    recipients  INTEGER,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- A roster file uploaded in the browser, kept between its preview and the coordinator's
-- confirmation, so that what is imported is exactly what was previewed.
CREATE TABLE roster_uploads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id    INTEGER NOT NULL REFERENCES rounds(id),
    file_name   TEXT NOT NULL,
    content     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
