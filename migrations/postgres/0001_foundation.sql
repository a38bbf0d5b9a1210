CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE rounds (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    survey_id   TEXT NOT NULL,
    title       TEXT NOT NULL,
    year        BIGINT NOT NULL,
    opens_on    TEXT NOT NULL,
    closes_on   TEXT NOT NULL,
    -- The definition as it was when the round was created: a round keeps the questions it was sent with.
    definition  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE recipients (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id      BIGINT NOT NULL REFERENCES rounds(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    organisation  TEXT NOT NULL,
    grp           TEXT NOT NULL,
    category      TEXT NOT NULL,
    opened_on     TEXT,
    submitted_on  TEXT,
    created_at    BIGINT NOT NULL,
    UNIQUE (round_id, email)
);

CREATE TABLE tokens (
    hash          TEXT PRIMARY KEY,
    recipient_id  BIGINT NOT NULL REFERENCES recipients(id),
    created_at    BIGINT NOT NULL
);
CREATE INDEX tokens_recipient ON tokens (recipient_id);

CREATE TABLE drafts (
    recipient_id  BIGINT PRIMARY KEY REFERENCES recipients(id),
    step          BIGINT NOT NULL,
    raw           TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE responses (
    id            TEXT NOT NULL,
    round_id      BIGINT NOT NULL REFERENCES rounds(id),
    grp           TEXT NOT NULL,
    category      TEXT NOT NULL,
    submitted_on  TEXT NOT NULL,
    answers       TEXT NOT NULL,
    -- A round's responses are stored together, in the order of their random ids.
    PRIMARY KEY (round_id, id)
);
