-- A response keeps its category only when at least the round's threshold of recipients
-- share its group and category; responses stored before that rule get the group's "övriga"
-- now, counted on the roster as it stands.
UPDATE responses SET category = 'övriga'
WHERE category <> 'övriga'
  AND (SELECT COUNT(*) FROM recipients r
       WHERE r.round_id = responses.round_id AND r.grp = responses.grp AND r.category = responses.category)
    < (SELECT CASE WHEN o.disclosure_threshold < 3 THEN 3 ELSE o.disclosure_threshold END
       FROM rounds o WHERE o.id = responses.round_id);
