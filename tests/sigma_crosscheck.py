#!/usr/bin/env python3
"""authlake's matches against pySigma's SQLite backend, rule by rule.

Every detection (non-correlation) rule of the pack, including the base
rules correlations read, runs twice over all sample events
(detections/samples): through `authlake detect` on a lake of them, and as
the SQL pySigma's SQLite backend writes for it (`sigma convert -t sqlite`)
over a SQLite table built here from the same records. Prints one JSON
object: rule id -> [authlake's event ids, pySigma's event ids].

Usage: sigma_crosscheck.py AUTHLAKE_BIN WORK_DIR"""

import glob
import json
import os
import sqlite3
import subprocess
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN, WORK = sys.argv[1], sys.argv[2]

# The Sigma field names the pack uses, read from each record the way the
# record itself names them (not through authlake's mapping).
CANONICAL_AS_CLOUDTRAIL = {"errorCode": "error_code", "eventName": "event_name", "sourceIPAddress": "ip_address"}


def row(rec):
    if "eventVersion" in rec:  # a CloudTrail record
        r = {"event_id": rec["eventID"], "eventName": rec["eventName"], "eventSource": rec["eventSource"],
             "sourceIPAddress": rec.get("sourceIPAddress"), "errorCode": rec.get("errorCode"),
             "userIdentity.arn": (rec.get("userIdentity") or {}).get("arn")}
        for k, v in (rec.get("requestParameters") or {}).items():
            r[f"requestParameters.{k}"] = v if not isinstance(v, (dict, list)) else json.dumps(v)
        return r
    r = dict(rec)
    for sigma, col in CANONICAL_AS_CLOUDTRAIL.items():
        r[sigma] = rec.get(col)
    r["eventSource"] = "cognito-identity.amazonaws.com" if rec.get("identity_pool_id") else "cognito-idp.amazonaws.com"
    return r


def main():
    records = []
    for path in sorted(glob.glob(os.path.join(ROOT, "detections/samples/*.ndjson"))):
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    rows = [row(r) for r in records]
    cols = sorted({k for r in rows for k in r})
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE logs (" + ", ".join(f'"{c}"' for c in cols) + ")")
    value = lambda v: int(v) if isinstance(v, bool) else v
    db.executemany(f"INSERT INTO logs VALUES ({', '.join('?' for _ in cols)})", [[value(r.get(c)) for c in cols] for r in rows])

    # Each detection rule on its own, so that authlake reports every match.
    rules_dir = os.path.join(WORK, "rules")
    os.makedirs(rules_dir, exist_ok=True)
    ids = []
    for path in sorted(glob.glob(os.path.join(ROOT, "detections/rules/*.yml"))):
        with open(path) as f:
            for n, doc in enumerate(yaml.safe_load_all(f)):
                if doc and "detection" in doc:
                    doc.pop("name", None)
                    # authlake's extension (new values after learning) is not
                    # Sigma: both sides run the rule's plain selection.
                    doc.pop("new_value", None)
                    out = os.path.join(rules_dir, f"{doc['id']}.yml")
                    with open(out, "w") as g:
                        yaml.safe_dump(doc, g, sort_keys=False)
                    ids.append(doc["id"])

    lake = os.path.join(WORK, "lake")
    data = os.path.join(WORK, "samples.ndjson")
    with open(data, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    subprocess.run([BIN, "ingest", "--from", f"file://{data}", "--lake", lake], check=True, capture_output=True)
    out = subprocess.run([BIN, "detect", "--lake", lake, "--rules", rules_dir, "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    ours = {i: set() for i in ids}
    for f in json.loads(out or "[]"):
        ours[f["rule_id"]].update(f["evidence"])

    result = {}
    for rule_id in ids:
        sql = subprocess.run(["sigma", "convert", "-t", "sqlite", "--without-pipeline", os.path.join(rules_dir, f"{rule_id}.yml")],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        sql = sql.replace("SELECT * FROM logs", "SELECT event_id FROM logs", 1)
        theirs = {r[0] for r in db.execute(sql)}
        result[rule_id] = [sorted(ours[rule_id]), sorted(theirs)]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
