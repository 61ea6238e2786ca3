-- kpi_catalogue: the counts of the metrics catalogue (docs/metrics.md) per window, per user pool and
-- per (user pool, app client); rates derive from these counts (`authlake metrics` computes them).
-- Columns: window_start (timestamp), user_pool_id, client_id (null on pool rows), dimension_set
-- (`pool` or `pool_client`), then counts: sign_in_attempts, sign_in_successes, sign_in_failures,
-- sign_in_throttles, mfa_challenges, mfa_completions, requests, throttled_requests,
-- high_risk_sign_ins, medium_risk_sign_ins, account_takeover_decisions, blocked_sign_ins,
-- compromised_credential_detections, token_refreshes, token_refresh_successes, oversize_tokens,
-- users_migrated (distinct users), users_bulk_imported, migration_failures, federation_links,
-- events_ingested. (IngestLagSeconds is by ingest-time window: `authlake metrics` computes it.)
-- Sign-ins end in a row of S (sign_in, federated_sign_in) or in an MFA answer (mfa_response):
-- successes, failures and throttles count both; attempts count every row they count plus the
-- rows of S still in progress, so attempts >= successes + failures + throttles everywhere.
-- Completions count at most the window's challenges (an answer in a later window than its
-- challenge is not counted), so challenges >= completions everywhere.
-- param window interval = 1 hour: window length (tumbling windows from the epoch, UTC)
-- param since timestamp = 1970-01-01: first window start (inclusive)
-- param until timestamp = 2200-01-01: end of the last window (exclusive)
WITH e AS (
  SELECT date_bin(${window}, event_time, TIMESTAMP '1970-01-01T00:00:00Z') AS window_start,
         COALESCE(user_pool_id, 'unknown') AS user_pool_id, client_id, event_type, outcome,
         event_type IN ('sign_in', 'federated_sign_in') AS is_sign_in,
         event_type IN ('sign_in', 'federated_sign_in', 'mfa_response') AS ends_sign_in,
         mfa_challenged, mfa_passed, risk_level, risk_decision, compromised_credentials, token_size_bytes,
         COALESCE(username, user_sub) AS user_key, event_time, ingest_time
  FROM events
  WHERE event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
    AND event_time >= ${since} AND event_time < ${until}
)
SELECT window_start, user_pool_id, client_id,
       CASE WHEN grouping(client_id) = 1 THEN 'pool' ELSE 'pool_client' END AS dimension_set,
       SUM(CASE WHEN ends_sign_in AND outcome IN ('success', 'failure', 'throttled') THEN 1
                WHEN is_sign_in AND outcome = 'in_progress' THEN 1 ELSE 0 END) AS sign_in_attempts,
       SUM(CASE WHEN ends_sign_in AND outcome = 'success' THEN 1 ELSE 0 END) AS sign_in_successes,
       SUM(CASE WHEN ends_sign_in AND outcome = 'failure' THEN 1 ELSE 0 END) AS sign_in_failures,
       SUM(CASE WHEN ends_sign_in AND outcome = 'throttled' THEN 1 ELSE 0 END) AS sign_in_throttles,
       SUM(CASE WHEN (is_sign_in AND mfa_challenged) OR event_type = 'mfa_challenge' THEN 1 ELSE 0 END) AS mfa_challenges,
       LEAST(SUM(CASE WHEN (is_sign_in AND mfa_challenged AND mfa_passed) OR (event_type = 'mfa_response' AND outcome = 'success') THEN 1 ELSE 0 END),
             SUM(CASE WHEN (is_sign_in AND mfa_challenged) OR event_type = 'mfa_challenge' THEN 1 ELSE 0 END)) AS mfa_completions,
       COUNT(*) AS requests,
       SUM(CASE WHEN outcome = 'throttled' THEN 1 ELSE 0 END) AS throttled_requests,
       SUM(CASE WHEN is_sign_in AND risk_level = 'high' THEN 1 ELSE 0 END) AS high_risk_sign_ins,
       SUM(CASE WHEN is_sign_in AND risk_level = 'medium' THEN 1 ELSE 0 END) AS medium_risk_sign_ins,
       SUM(CASE WHEN is_sign_in AND risk_decision = 'account_takeover' THEN 1 ELSE 0 END) AS account_takeover_decisions,
       SUM(CASE WHEN is_sign_in AND risk_decision = 'block' THEN 1 ELSE 0 END) AS blocked_sign_ins,
       SUM(CASE WHEN compromised_credentials THEN 1 ELSE 0 END) AS compromised_credential_detections,
       SUM(CASE WHEN event_type = 'token_refresh' THEN 1 ELSE 0 END) AS token_refreshes,
       SUM(CASE WHEN event_type = 'token_refresh' AND outcome = 'success' THEN 1 ELSE 0 END) AS token_refresh_successes,
       SUM(CASE WHEN token_size_bytes > 8192 THEN 1 ELSE 0 END) AS oversize_tokens,
       COUNT(DISTINCT CASE WHEN event_type = 'user_migration' AND outcome = 'success' THEN user_key END) AS users_migrated,
       SUM(CASE WHEN event_type = 'bulk_import' AND outcome = 'success' THEN 1 ELSE 0 END) AS users_bulk_imported,
       SUM(CASE WHEN event_type = 'user_migration' AND outcome = 'failure' THEN 1 ELSE 0 END) AS migration_failures,
       SUM(CASE WHEN event_type = 'federation_link' AND outcome = 'success' THEN 1 ELSE 0 END) AS federation_links,
       COUNT(*) AS events_ingested
FROM e
GROUP BY GROUPING SETS ((window_start, user_pool_id), (window_start, user_pool_id, client_id))
ORDER BY 1, 2, 4, 3
