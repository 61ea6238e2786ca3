#!/usr/bin/env python3
"""Writes tests/fixtures/s3-layouts/: the records of fixtures/ as AWS delivers
them to S3, one file per object, the file's path under the directory being
the object's key. Run from anywhere: python3 tests/make_s3_layouts.py

Layouts (sources in tests/fixtures/s3-layouts/LAYOUTS.md):
- CloudTrail log files: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
  <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz, one gzip
  JSON document {"Records": [...]}; and a digest file under CloudTrail-Digest/
  (a hash chain over the log files, no events).
- Cognito's log export through Firehose: YYYY/MM/DD/HH/<stream>-<version>-
  <YYYY-MM-DD-HH-MM-SS>-<uuid>, records back to back with no separator,
  plain or gzip.
- Cognito's log export delivered to S3 directly: gzip JSON lines under
  AWSLogs/<account>/AWSCognitoServiceLogs/<region>/<pool>/USER_AUTH_EVENTS/.
- CloudWatch Logs subscription through Firehose: each Firehose record is a
  gzip DATA_MESSAGE (or CONTROL_MESSAGE), so the object is gzip members back
  to back.
"""
import gzip
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
OUT = os.path.join(HERE, "fixtures", "s3-layouts")


def write(key, data):
    path = os.path.join(OUT, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    # mtime=0: the same bytes on every run.
    return gzip.compress(data, mtime=0)


def lines(path):
    with open(os.path.join(FIXTURES, path)) as f:
        return [json.loads(l) for l in f if l.strip()]


account, region = "123456789012", "ap-northeast-1"

# CloudTrail: two log files five minutes apart, and the digest over them.
trail = lines("cloudtrail/cloudtrail-records.ndjson")
ct_dir = f"AWSLogs/{account}/CloudTrail/{region}/2025/10/09"
ct_files = [
    (f"{ct_dir}/{account}_CloudTrail_{region}_20251009T0800Z_Xk2f9QpL3mN7aB1c.json.gz", trail[:6]),
    (f"{ct_dir}/{account}_CloudTrail_{region}_20251009T0805Z_Yt4h1RwS8vK2cD3e.json.gz", trail[6:]),
]
for key, records in ct_files:
    write(key, gz(json.dumps({"Records": records}).encode()))
digest = {
    "awsAccountId": account,
    "digestStartTime": "2025-10-09T08:00:00Z",
    "digestEndTime": "2025-10-09T09:00:00Z",
    "digestS3Bucket": "logs",
    "digestS3Object": f"AWSLogs/{account}/CloudTrail-Digest/{region}/2025/10/09/{account}_CloudTrail-Digest_{region}_authlake-trail_us-east-1_20251009T090000Z.json.gz",
    "digestPublicKeyFingerprint": "0123456789abcdef0123456789abcdef",
    "digestSignatureAlgorithm": "SHA256withRSA",
    "newestEventTime": "2025-10-09T08:05:00Z",
    "oldestEventTime": "2025-10-09T07:57:09Z",
    "previousDigestS3Bucket": None,
    "previousDigestS3Object": None,
    "previousDigestHashValue": None,
    "previousDigestHashAlgorithm": None,
    "previousDigestSignature": None,
    "logFiles": [{"s3Bucket": "logs", "s3Object": k, "hashValue": "00", "hashAlgorithm": "SHA-256",
                  "newestEventTime": "2025-10-09T08:05:00Z", "oldestEventTime": "2025-10-09T07:57:09Z"} for k, _ in ct_files],
}
write(digest["digestS3Object"], gz(json.dumps(digest).encode()))

# Cognito's log export through Firehose: back to back, no separator; the
# second object as Firehose writes it with GZIP compression.
activity = lines("activity_log/user-activity.ndjson")
stream = "cognito-user-activity"
write(f"cognito-firehose/2025/11/27/10/{stream}-1-2025-11-27-10-20-00-5b1f6e2a-8c3d-4e9f-a0b1-c2d3e4f5a6b7",
      "".join(json.dumps(r, separators=(",", ":")) for r in activity[:5]).encode())
write(f"cognito-firehose/2025/11/27/10/{stream}-1-2025-11-27-10-25-00-9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b.gz",
      gz("".join(json.dumps(r, separators=(",", ":")) for r in activity[5:]).encode()))

# Cognito's log export straight to S3: gzip JSON lines, under the vended
# logs' path (as grafana/lambda-promtail's test data has it; AWS documents
# no layout). The records are the Firehose ones again: one export, two
# deliveries.
pool, uuid = "us-west-2_EXAMPLE", "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
write(f"AWSLogs/{account}/AWSCognitoServiceLogs/us-west-2/{pool}/USER_AUTH_EVENTS/"
      f"{account}_aws_cognito_service_logs_us-west-2_{pool}_userAuthEvents_INFO_S3_{uuid}_cognito-us-west-2-{pool}_USER_AUTH_EVENTS_20251127_0a1b2c3d.log.gz",
      gz("".join(json.dumps(r) + "\n" for r in activity[:3]).encode()))

# CloudWatch Logs through Firehose: gzip members back to back, a control
# message among them (CloudWatch Logs checks the destination with one).
with gzip.open(os.path.join(FIXTURES, "cloudwatch_logs/subscription-data.json.gz"), "rt") as f:
    # The fixture holds a data message and a control message back to back.
    data_message, _ = json.JSONDecoder().raw_decode(f.read())
with open(os.path.join(FIXTURES, "lambda_triggers/triggers.json")) as f:
    triggers = json.load(f)
triggers = triggers if isinstance(triggers, list) else [triggers]
second = dict(data_message, logEvents=[{"id": str(40000 + i), "timestamp": 1764243600000 + i, "message": json.dumps(t)} for i, t in enumerate(triggers[:3])])
control = {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "", "subscriptionFilters": [],
           "logEvents": [{"id": "", "timestamp": 1764243000000, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}
write("lambda-logs/2025/11/27/10/lambda-logs-1-2025-11-27-10-30-00-3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a0f9",
      gz(json.dumps(control).encode()) + gz(json.dumps(data_message).encode()) + gz(json.dumps(second).encode()))
