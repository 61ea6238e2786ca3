-- credential_stuffing: source IPs whose failed sign-ins hit many distinct users within one window.
-- Columns: ip_address, window_start (timestamp), distinct_users (count), failures (count),
-- failure_share (percent of that IP's sign-ins in the window), first_seen, last_seen (timestamps).
-- param window interval = 10 minutes: window length (tumbling windows from the epoch)
-- param min_users int = 20: flag an IP that failed against at least this many users in a window
-- param since timestamp = 1970-01-01: start of the range (inclusive)
-- param until timestamp = 2200-01-01: end of the range (exclusive)
SELECT ip_address,
       date_bin(${window}, event_time, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start,
       COUNT(DISTINCT CASE WHEN outcome = 'failure' THEN COALESCE(username, user_sub) END) AS distinct_users,
       SUM(CASE WHEN outcome = 'failure' THEN 1 ELSE 0 END) AS failures,
       ROUND(100.0 * SUM(CASE WHEN outcome = 'failure' THEN 1 ELSE 0 END) / COUNT(*), 1) AS failure_share,
       MIN(event_time) AS first_seen,
       MAX(event_time) AS last_seen
FROM events
WHERE category = 'auth' AND event_type IN ('sign_in', 'federated_sign_in') AND ip_address IS NOT NULL
  AND event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
  AND event_time >= ${since} AND event_time < ${until}
GROUP BY 1, 2
HAVING COUNT(DISTINCT CASE WHEN outcome = 'failure' THEN COALESCE(username, user_sub) END) >= ${min_users}
ORDER BY distinct_users DESC, window_start, ip_address
