-- impossible_travel: a user signing in successfully from two different countries closer in time
-- than travel allows (country level, no GeoIP database: the countries Cognito's logs name).
-- Columns: user_pool_id, user_key (username, else sub), first_time, first_country, first_ip,
-- second_time, second_country, second_ip, minutes_apart.
-- param max_gap interval = 2 hours: flag country changes faster than this
-- param since timestamp = 1970-01-01: start of the range (inclusive)
-- param until timestamp = 2200-01-01: end of the range (exclusive)
WITH sign_ins AS (
  SELECT user_pool_id, COALESCE(username, user_sub) AS user_key, event_time, country, ip_address,
         LAG(event_time) OVER (PARTITION BY user_pool_id, COALESCE(username, user_sub) ORDER BY event_time, event_id) AS prev_time,
         LAG(country) OVER (PARTITION BY user_pool_id, COALESCE(username, user_sub) ORDER BY event_time, event_id) AS prev_country,
         LAG(ip_address) OVER (PARTITION BY user_pool_id, COALESCE(username, user_sub) ORDER BY event_time, event_id) AS prev_ip
  FROM events
  WHERE category = 'auth' AND event_type IN ('sign_in', 'federated_sign_in') AND outcome = 'success' AND country IS NOT NULL
    AND COALESCE(username, user_sub) IS NOT NULL
    AND event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
    AND event_time >= ${since} AND event_time < ${until}
)
SELECT user_pool_id, user_key,
       prev_time AS first_time, prev_country AS first_country, prev_ip AS first_ip,
       event_time AS second_time, country AS second_country, ip_address AS second_ip,
       ROUND(CAST(date_part('epoch', event_time) - date_part('epoch', prev_time) AS DOUBLE) / 60.0, 1) AS minutes_apart
FROM sign_ins
WHERE prev_country IS NOT NULL AND prev_country <> country AND event_time - prev_time <= ${max_gap}
ORDER BY second_time, user_key
