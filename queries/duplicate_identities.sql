-- duplicate_identities: one email address behind several identities in a pool, where at least one of
-- them came through a federation link or a federated sign-in: candidates for account linking.
-- Identities are user names (Cognito names a federated identity `<Provider>_<id>`); rows that carry
-- only a sub (CloudTrail) are left out, so one user seen by sub and by name is not a duplicate.
-- Columns: user_pool_id, email, identities (count), identity_keys (list), providers (list),
-- first_seen, last_seen (timestamps).
-- param min_identities int = 2: flag emails behind at least this many identities
-- param since timestamp = 1970-01-01: start of the range (inclusive)
-- param until timestamp = 2200-01-01: end of the range (exclusive)
WITH identities AS (
  SELECT user_pool_id, lower(email) AS email, username AS identity_key,
         provider_name, event_type, event_time
  FROM events
  WHERE email IS NOT NULL AND username IS NOT NULL
    AND event_date >= CAST(${since} AS DATE) AND event_date <= CAST(${until} AS DATE)
    AND event_time >= ${since} AND event_time < ${until}
)
SELECT user_pool_id, email,
       COUNT(DISTINCT identity_key) AS identities,
       array_sort(array_distinct(array_agg(identity_key))) AS identity_keys,
       array_sort(array_distinct(array_agg(provider_name) FILTER (WHERE provider_name IS NOT NULL))) AS providers,
       MIN(event_time) AS first_seen,
       MAX(event_time) AS last_seen
FROM identities
GROUP BY user_pool_id, email
HAVING COUNT(DISTINCT identity_key) >= ${min_identities}
   AND SUM(CASE WHEN event_type IN ('federation_link', 'federated_sign_in') OR provider_name IS NOT NULL THEN 1 ELSE 0 END) > 0
ORDER BY identities DESC, user_pool_id, email
