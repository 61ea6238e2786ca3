-- auth_history: every event of one user, IP address or tenant over a time range, oldest first.
-- Columns: event_time, event_type, outcome, user_pool_id, client_id, username, user_sub, tenant_id,
-- ip_address, country, auth_flow, mfa_method, risk_level, risk_decision, error_code, source_format, source.
-- Empty filters match everything: set at least one of user, ip, tenant.
-- param user text = '': username, sub or email of the user
-- param ip text = '': source IP address
-- param tenant text = '': tenant id
-- param since timestamp = 1970-01-01: start of the range (inclusive)
-- param until timestamp = 2200-01-01: end of the range (exclusive)
-- param max_rows int = 1000: at most this many rows
SELECT event_time, event_type, outcome, user_pool_id, client_id, username, user_sub, tenant_id,
       ip_address, country, auth_flow, mfa_method, risk_level, risk_decision, error_code, source_format, source
FROM events
WHERE event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
  AND event_time >= ${since} AND event_time < ${until}
  AND (${user} = '' OR username = ${user} OR user_sub = ${user} OR lower(email) = lower(${user}))
  AND (${ip} = '' OR ip_address = ${ip})
  AND (${tenant} = '' OR tenant_id = ${tenant})
ORDER BY event_time, event_id
LIMIT ${max_rows}
