-- mfa_completion_by_method: MFA challenges and completions per day and second factor (docs/metrics.md).
-- Columns: event_date, mfa_method (sms, totp, email, unknown), challenges (count), completions (count),
-- completion_rate (percent).
-- param since timestamp = 1970-01-01: start of the range (inclusive)
-- param until timestamp = 2200-01-01: end of the range (exclusive)
SELECT event_date, COALESCE(mfa_method, 'unknown') AS mfa_method,
       SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge' THEN 1 ELSE 0 END) AS challenges,
       SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged AND mfa_passed)
                  OR (event_type = 'mfa_response' AND outcome = 'success') THEN 1 ELSE 0 END) AS completions,
       ROUND(100.0 * SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged AND mfa_passed)
                                   OR (event_type = 'mfa_response' AND outcome = 'success') THEN 1 ELSE 0 END)
             / NULLIF(SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge' THEN 1 ELSE 0 END), 0), 2) AS completion_rate
FROM events
WHERE category = 'auth'
  AND event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
  AND event_time >= ${since} AND event_time < ${until}
GROUP BY 1, 2
HAVING SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge' THEN 1 ELSE 0 END) > 0
ORDER BY 1, 2
