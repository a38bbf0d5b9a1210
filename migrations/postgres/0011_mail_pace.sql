-- Sending at the relay's pace (src/outbox/pace.rs), shared by every instance: each handover
-- to the relay while MAIL_PER_MINUTE or MAIL_PER_DAY is set (Unix ms, kept for a day), and
-- one row saying until when every sender pauses because the relay asked to slow down. A
-- claim locks that row, so instances take turns.
CREATE TABLE mail_handovers (at BIGINT NOT NULL);
CREATE INDEX mail_handovers_at ON mail_handovers (at);
CREATE TABLE mail_pace (
    id            BIGINT PRIMARY KEY CHECK (id = 1),
    paused_until  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO mail_pace (id, paused_until) VALUES (1, 0);
