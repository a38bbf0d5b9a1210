-- Smallest published cross-section of a round (see src/tally/disclosure.rs); never below 3.
ALTER TABLE rounds ADD COLUMN disclosure_threshold BIGINT NOT NULL DEFAULT 5;

-- Figures of earlier years whose answers were never in this system, imported from a
-- tallies CSV so that the year-over-year comparison reaches back before the first round.
CREATE TABLE history_figures (
    survey_id    TEXT NOT NULL,
    year         BIGINT NOT NULL,
    question     TEXT NOT NULL,
    row_code     TEXT NOT NULL,
    column_code  TEXT NOT NULL,
    grp          TEXT NOT NULL,
    code         TEXT NOT NULL,
    count        DOUBLE PRECISION NOT NULL,
    share        DOUBLE PRECISION,
    base         BIGINT NOT NULL,
    PRIMARY KEY (survey_id, year, question, row_code, column_code, grp, code)
);

-- The response rate counts recipients per group and category; without an index that count
-- sorts the whole roster.
CREATE INDEX recipients_round_group ON recipients (round_id, grp, category);
