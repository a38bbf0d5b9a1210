-- Emails to recipients: every invitation and reminder is a row here, queued in the same
-- transaction as the decision to send it, and delivered by a worker that claims rows.
CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id         BIGINT NOT NULL REFERENCES rounds(id),
    recipient_id     BIGINT NOT NULL REFERENCES recipients(id),
    kind             TEXT NOT NULL,            -- invitation | reminder
    -- For scheduled reminders the step that queued it ("+7", "-2"), so each step fires once.
    occasion         TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,            -- queued | sending | sent | failed | uncertain | skipped
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE UNIQUE INDEX outbox_one_invitation ON outbox (recipient_id) WHERE kind = 'invitation';
CREATE UNIQUE INDEX outbox_one_per_step ON outbox (recipient_id, occasion) WHERE kind = 'reminder' AND occasion <> '';
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_round ON outbox (round_id, recipient_id);

-- What a round's emails say, where the coordinator changed it; NULL means the template's own.
CREATE TABLE round_mail (
    round_id            BIGINT PRIMARY KEY REFERENCES rounds(id),
    invitation_subject  TEXT,
    invitation_text     TEXT,
    reminder_subject    TEXT,
    reminder_text       TEXT,
    contact             TEXT,
    -- Automatic reminders: days after the invitation, negative for days before closing ("7,14,-2").
    reminder_schedule   TEXT NOT NULL DEFAULT ''
);
