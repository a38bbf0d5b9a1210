-- The account's brake as one moment: attempts before it are refused without checking the
-- password. Set when a failed login makes the next attempt wait, so that reserving an
-- attempt (and refusing one) is a single atomic UPDATE, whatever runs in parallel.
ALTER TABLE accounts ADD COLUMN braked_until INTEGER;
