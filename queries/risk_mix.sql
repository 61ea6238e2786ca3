-- risk_mix: sign-ins per risk level and risk decision, with compromised-credential detections.
-- Columns: risk_level, risk_decision, sign_ins (count), compromised (count).
SELECT COALESCE(risk_level, 'none') AS risk_level,
       COALESCE(risk_decision, 'unknown') AS risk_decision,
       COUNT(*) AS sign_ins,
       SUM(CASE WHEN compromised_credentials THEN 1 ELSE 0 END) AS compromised
FROM events
WHERE category = 'auth' AND event_type IN ('sign_in', 'federated_sign_in')
GROUP BY 1, 2
ORDER BY sign_ins DESC
