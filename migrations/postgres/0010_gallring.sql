-- Records management (gallring, src/gallring.rs): per round, how many days after it closes
-- the recipients' names, addresses, links, drafts and the relay's replies are deleted, and
-- the free-text answers (NULL: kept); and when each was done (Unix seconds).
ALTER TABLE rounds ADD COLUMN erase_after_days BIGINT NOT NULL DEFAULT 90;
ALTER TABLE rounds ADD COLUMN free_text_after_days BIGINT;
ALTER TABLE rounds ADD COLUMN personal_erased_at BIGINT;
ALTER TABLE rounds ADD COLUMN free_text_erased_at BIGINT;
-- Whether a coordinator decided the round's rule (new rounds: the default rule counts as
-- decided). Rounds that existed before this migration have none until a coordinator saves
-- one, so upgrading never deletes anything on its own; `lagesbild gallra` still can.
ALTER TABLE rounds ADD COLUMN gallring_decided BIGINT NOT NULL DEFAULT 1;
UPDATE rounds SET gallring_decided = 0;
