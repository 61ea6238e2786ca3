-- migration_progress: users migrated per day, lazily (user_migration success, distinct users)
-- and by bulk import, failed lazy migrations, and the running total of migrated users.
-- Columns: event_date, lazy_migrated (count), bulk_imported (count), failures (count), cumulative_migrated (count).
WITH daily AS (
  SELECT event_date,
         COUNT(DISTINCT CASE WHEN event_type = 'user_migration' AND outcome = 'success' THEN COALESCE(username, user_sub) END) AS lazy_migrated,
         SUM(CASE WHEN event_type = 'bulk_import' AND outcome = 'success' THEN 1 ELSE 0 END) AS bulk_imported,
         SUM(CASE WHEN event_type = 'user_migration' AND outcome = 'failure' THEN 1 ELSE 0 END) AS failures
  FROM events
  WHERE category = 'migration'
  GROUP BY event_date
)
SELECT event_date, lazy_migrated, bulk_imported, failures,
       SUM(lazy_migrated + bulk_imported) OVER (ORDER BY event_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative_migrated
FROM daily
ORDER BY event_date
