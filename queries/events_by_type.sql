-- events_by_type: row counts per category, event type and outcome.
-- Columns: category, event_type, outcome, events (count).
SELECT category, event_type, outcome, COUNT(*) AS events
FROM events
GROUP BY category, event_type, outcome
ORDER BY category, event_type, outcome
