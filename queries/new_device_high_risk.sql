-- new_device_high_risk: sign-ins from a new device followed, within a window, by a high-risk sign-in
-- of the same user.
-- Columns: user_pool_id, user_key (username, else sub), new_device_time, new_device_ip, device_name,
-- risk_time, risk_ip, risk_decision, minutes_after.
-- param within interval = 24 hours: how soon after the new-device sign-in the high risk must follow
-- param since timestamp = 1970-01-01: start of the range (inclusive)
-- param until timestamp = 2200-01-01: end of the range (exclusive)
WITH new_devices AS (
  SELECT user_pool_id, COALESCE(username, user_sub) AS user_key, event_time, ip_address, device_name
  FROM events
  WHERE new_device AND outcome = 'success'
    AND event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
    AND event_time >= ${since} AND event_time < ${until}
), high_risk AS (
  SELECT user_pool_id, COALESCE(username, user_sub) AS user_key, event_time, ip_address, risk_decision
  FROM events
  WHERE category = 'auth' AND event_type IN ('sign_in', 'federated_sign_in') AND risk_level = 'high'
    AND event_date >= CAST(${since} AS DATE)
    AND event_time >= ${since}
)
SELECT n.user_pool_id, n.user_key,
       n.event_time AS new_device_time, n.ip_address AS new_device_ip, n.device_name,
       r.event_time AS risk_time, r.ip_address AS risk_ip, r.risk_decision,
       ROUND(CAST(date_part('epoch', r.event_time) - date_part('epoch', n.event_time) AS DOUBLE) / 60.0, 1) AS minutes_after
FROM new_devices n
JOIN high_risk r ON r.user_pool_id = n.user_pool_id AND r.user_key = n.user_key
WHERE r.event_time > n.event_time AND r.event_time <= n.event_time + ${within}
ORDER BY new_device_time, user_key, risk_time
