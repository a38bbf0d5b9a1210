-- The year-round incident reports ("Blankett för oidentifierad information") and the other
-- sources of the lägesbild (src/incident.rs, src/sources.rs).
--
-- A reporting link is stored as the SHA-256 of its token, as a respondent's link is. A report
-- holds what was seen, never who saw it: no address, no account, no time of day (only the
-- month it came in). The per-day counter brakes a link that is being abused; only today's
-- row is kept, so the counts do not tell which day a report came in.
CREATE TABLE report_links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    label       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    daily_cap   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE TABLE report_link_days (
    link_id  INTEGER NOT NULL REFERENCES report_links(id),
    day      TEXT NOT NULL,
    reports  INTEGER NOT NULL,
    PRIMARY KEY (link_id, day)
);
CREATE TABLE incident_reports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    link_id         INTEGER NOT NULL REFERENCES report_links(id),
    observed        TEXT NOT NULL,           -- YYYY-MM
    place           TEXT NOT NULL,
    area            TEXT,
    kinds           TEXT NOT NULL,           -- codes, space-separated
    milieu          TEXT NOT NULL,
    police          TEXT,
    ia              TEXT,
    administration  TEXT,                    -- optional: it could narrow down who reported
    description     TEXT NOT NULL,
    description_erased_at INTEGER,         -- set when the records rule deleted the description
    received        TEXT NOT NULL,           -- YYYY-MM
    excluded        TEXT,                    -- NULL (counted) | ingen_koppling | felregistrerad
    excluded_reason TEXT
);
CREATE INDEX incident_reports_observed ON incident_reports (observed);
-- What organisations reported for a year's lägesbild, published as written with the source named.
CREATE TABLE sources (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    year         INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    period_from  TEXT NOT NULL,              -- YYYY-MM
    period_to    TEXT NOT NULL,
    total        INTEGER,
    text         TEXT NOT NULL,
    covers       TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX sources_year ON sources (year);
CREATE TABLE source_counts (
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    milieu     TEXT NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (source_id, kind, milieu)
);
-- A year whose lägesbild is finalised: its sources can no longer be changed.
CREATE TABLE lagesbild_years (
    year          INTEGER PRIMARY KEY,
    finalised_at  INTEGER NOT NULL,
    finalised_by  TEXT NOT NULL
);
