-- throttle_rate_daily: requests and throttled requests per day.
-- Columns: event_date, requests (count), throttled (count), throttle_rate (percent).
SELECT event_date,
       COUNT(*) AS requests,
       SUM(CASE WHEN outcome = 'throttled' THEN 1 ELSE 0 END) AS throttled,
       ROUND(100.0 * SUM(CASE WHEN outcome = 'throttled' THEN 1 ELSE 0 END) / COUNT(*), 3) AS throttle_rate
FROM events
GROUP BY event_date
ORDER BY event_date
