-- Responses carry no date: the round says when. The day a response was stored, beside its
-- group and category, could be joined with the day a recipient answered (which the
-- coordinator's dashboard keeps) and single that recipient out.
ALTER TABLE responses DROP COLUMN submitted_on;
-- PostgreSQL only hides a dropped column; rewriting the table removes the days' bytes.
CLUSTER responses USING responses_pkey;
