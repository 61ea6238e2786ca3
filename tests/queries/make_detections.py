"""Writes detections.ndjson: canonical events holding one instance of each
detection of queries/ (and near misses that must not be flagged), the input
of the named-query golden test. Run from this directory."""
import json

POOL, CLIENT = "eu-west-1_Det3ct10n", "detclient0000000000000000a"
rows = []

def ev(i, t, **kw):
    r = {"event_id": f"det-{i}", "event_time": t, "event_type": "sign_in", "outcome": "success",
         "user_pool_id": POOL, "client_id": CLIENT, "tenant_id": "acme"}
    r.update(kw)
    rows.append(r)

# Credential stuffing: 203.0.113.66 fails against 25 users in 5 minutes.
for n in range(25):
    ev(len(rows), f"2026-11-20T10:0{n // 5}:{(n % 5) * 10:02d}Z", outcome="failure", username=f"victim{n}",
       ip_address="203.0.113.66", country="Netherlands", error_code="NotAuthorizedException", risk_level="medium", risk_decision="block")
# Near miss: an office NAT with 5 distinct users failing once each.
for n in range(5):
    ev(len(rows), f"2026-11-20T11:00:{n:02d}Z", outcome="failure", username=f"office{n}", ip_address="198.51.100.10", country="Germany")
# MFA fatigue: 12 SMS challenges in 30 minutes, none completed.
for n in range(12):
    ev(len(rows), f"2026-11-20T12:{n * 2:02d}:00Z", outcome="failure", username="fatigued.user", ip_address="192.0.2.44",
       country="France", mfa_challenged=True, mfa_passed=False, mfa_method="sms", error_code="CodeMismatchException")
# Near miss: a user challenged 3 times who completes.
for n in range(3):
    ev(len(rows), f"2026-11-20T13:0{n}:00Z", username="slow.typist", ip_address="192.0.2.45", country="France",
       mfa_challenged=True, mfa_passed=n == 2, mfa_method="totp", outcome="success" if n == 2 else "failure")
# Impossible travel: Seattle, then Tokyo 20 minutes later.
ev(len(rows), "2026-11-21T08:00:00Z", username="traveller", ip_address="52.94.133.131", country="United States")
ev(len(rows), "2026-11-21T08:20:00Z", username="traveller", ip_address="13.112.0.10", country="Japan")
# Near miss: a real trip, 14 hours apart.
ev(len(rows), "2026-11-21T08:00:00Z", username="flyer", ip_address="52.94.133.132", country="United States")
ev(len(rows), "2026-11-21T22:00:00Z", username="flyer", ip_address="13.112.0.11", country="Japan")
# New device, then a high-risk sign-in 2 hours later.
ev(len(rows), "2026-11-22T09:00:00Z", username="new.device", ip_address="192.0.2.80", country="Spain", new_device=True, device_name="Chrome 131, Windows 11")
ev(len(rows), "2026-11-22T11:00:00Z", username="new.device", ip_address="192.0.2.81", country="Spain", risk_level="high", risk_decision="account_takeover")
# Duplicate identity: one email, a native user and a Google identity linked later.
ev(len(rows), "2026-11-23T09:00:00Z", username="maria.lopez", email="Maria.Lopez@example.com", ip_address="192.0.2.90", country="Spain")
ev(len(rows), "2026-11-23T09:30:00Z", event_type="federated_sign_in", username="Google_1093847561", email="maria.lopez@example.com",
   provider_name="Google", provider_type="Google", ip_address="192.0.2.90", country="Spain")
ev(len(rows), "2026-11-23T09:31:00Z", event_type="federation_link", username="maria.lopez", email="maria.lopez@example.com",
   provider_name="Google", provider_type="Google")

with open("detections.ndjson", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
