-- duplicates: events in the lake more than once: one event_id on several rows whose event_times lie
-- within the dedupe window. An ingest drops such rows as they come (docs/lake.md, "Exactly once per
-- event"); what remains is what two writers owning different sources landed between their commits,
-- what an ingest with --dedupe-window 0s let in, or copies of old position-derived (al-) ids.
-- Columns: event_id, copies (rows), first_time, last_time (event_time), sources (list).
-- param window interval = 7 days: rows of one id this close in event_time are one event
-- param since timestamp = 1970-01-01: start of the range (inclusive)
-- param until timestamp = 2200-01-01: end of the range (exclusive)
SELECT event_id,
       COUNT(*) AS copies,
       MIN(event_time) AS first_time,
       MAX(event_time) AS last_time,
       array_sort(array_distinct(array_agg(source))) AS sources
FROM events
WHERE event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
  AND event_time >= ${since} AND event_time < ${until}
GROUP BY event_id
HAVING COUNT(*) > 1 AND MAX(event_time) <= MIN(event_time) + ${window}
ORDER BY copies DESC, event_id
