-- mfa_fatigue: users challenged for a second factor many times within one window without completing.
-- Columns: user_pool_id, user_key (username, else sub), window_start (timestamp), challenges (count),
-- completions (count), distinct_ips (count), first_seen, last_seen (timestamps).
-- param window interval = 1 hour: window length (tumbling windows from the epoch)
-- param min_challenges int = 10: flag a user challenged at least this many times in a window
-- param max_completions int = 0: ... and completing at most this many of them
-- param since timestamp = 1970-01-01: start of the range (inclusive)
-- param until timestamp = 2200-01-01: end of the range (exclusive)
WITH challenges AS (
  SELECT user_pool_id, COALESCE(username, user_sub) AS user_key, event_time, ip_address,
         CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge' THEN 1 ELSE 0 END AS challenged,
         CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged AND mfa_passed)
                OR (event_type = 'mfa_response' AND outcome = 'success') THEN 1 ELSE 0 END AS completed
  FROM events
  WHERE category = 'auth'
    AND event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
    AND event_time >= ${since} AND event_time < ${until}
)
SELECT user_pool_id, user_key,
       date_bin(${window}, event_time, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start,
       SUM(challenged) AS challenges,
       SUM(completed) AS completions,
       COUNT(DISTINCT ip_address) AS distinct_ips,
       MIN(event_time) AS first_seen,
       MAX(event_time) AS last_seen
FROM challenges
WHERE challenged = 1 OR completed = 1
GROUP BY 1, 2, 3
HAVING SUM(challenged) >= ${min_challenges} AND SUM(completed) <= ${max_completions}
ORDER BY challenges DESC, window_start, user_key
