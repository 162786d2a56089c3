-- One open complaint per booking and category: a second one of the same kind is the first one
-- again (409 complaint_exists), while the first is open or acknowledged. Duplicates filed before
-- this rule are merged into the oldest: the others are resolved with a note that says so, so that
-- the unique index can be built and nothing is deleted.
UPDATE complaints c
SET status = 'resolved', resolved_at = now(), version = version + 1,
    resolution = 'duplicate of complaint ' || k.keep || ' (merged when one open complaint per booking and category became the rule)'
FROM (SELECT booking_id, category, min(id) AS keep
      FROM complaints WHERE status IN ('open', 'acknowledged')
      GROUP BY booking_id, category HAVING count(*) > 1) k
WHERE c.booking_id = k.booking_id AND c.category = k.category AND c.id <> k.keep AND c.status IN ('open', 'acknowledged');

CREATE UNIQUE INDEX complaints_one_open ON complaints (booking_id, category) WHERE status IN ('open', 'acknowledged');
