-- Each email's Message-ID, made when it is first handed over and kept for a resend: a copy
-- of an uncertain email then carries the same id, and the recipient's mail program can see
-- that it is the same message.
ALTER TABLE outbox ADD COLUMN message_id TEXT;
