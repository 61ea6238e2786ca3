-- mfa_completion_daily: MFA challenges and completions per day (docs/metrics.md).
-- Columns: event_date, challenges (count), completions (count), completion_rate (percent).
SELECT event_date,
       SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge' THEN 1 ELSE 0 END) AS challenges,
       SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged AND mfa_passed)
                  OR (event_type = 'mfa_response' AND outcome = 'success') THEN 1 ELSE 0 END) AS completions,
       ROUND(100.0 * SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged AND mfa_passed)
                                   OR (event_type = 'mfa_response' AND outcome = 'success') THEN 1 ELSE 0 END)
             / NULLIF(SUM(CASE WHEN (event_type IN ('sign_in', 'federated_sign_in') AND mfa_challenged) OR event_type = 'mfa_challenge' THEN 1 ELSE 0 END), 0), 2) AS completion_rate
FROM events
WHERE category = 'auth'
GROUP BY event_date
ORDER BY event_date
