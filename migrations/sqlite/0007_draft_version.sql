-- A draft's version, raised by every save. A page carries the version it was shown with; a
-- page from a tab that fell behind (another tab saved since) is not saved over the newer
-- answers but shown them, so nothing a respondent was told is saved is overwritten silently.
ALTER TABLE drafts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
-- Drafts saved before versions existed count as version 1: a page shown from one carries 1.
UPDATE drafts SET version = 1;
