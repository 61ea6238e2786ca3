"""authlake vs DuckDB on the same generated data, in one run (tests/bench.sh).

For each size N: generate N canonical events (no `raw`, so both tools write
the same columns); time authlake's ingest into a partitioned lake and
DuckDB's `COPY ... PARTITION_BY (category, event_date)` of the same file;
time the KPI queries of queries/ through `authlake query --named` and DuckDB
running the same SQL over the same Parquet files. Each step's peak RSS is
measured (a child process per step, its rusage). Kafka -> lake
(`--kafka-events`, default 1M) is timed against a bare librdkafka consumer
draining the same topic of the same local tansu broker. Prints a table
(the peer is DuckDB, or librdkafka for Kafka; speedup > 1 means authlake is
faster) and writes JSON (bench.json by default) for comparison over time.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KPI_QUERIES = ["mfa_completion_daily", "risk_mix", "throttle_rate_daily", "migration_progress"]

# The canonical columns with the types authlake writes, so DuckDB parses
# the same thing (no sampling, no guessing).
COLUMNS = {
    "event_id": "VARCHAR", "event_time": "TIMESTAMPTZ", "event_type": "VARCHAR", "outcome": "VARCHAR",
    "user_pool_id": "VARCHAR", "client_id": "VARCHAR", "aws_region": "VARCHAR", "account_id": "VARCHAR",
    "username": "VARCHAR", "user_sub": "VARCHAR", "email": "VARCHAR", "tenant_id": "VARCHAR",
    "ip_address": "VARCHAR", "country": "VARCHAR", "city": "VARCHAR", "device_name": "VARCHAR",
    "user_agent": "VARCHAR", "auth_flow": "VARCHAR", "challenge_name": "VARCHAR", "mfa_challenged": "BOOLEAN",
    "mfa_passed": "BOOLEAN", "mfa_method": "VARCHAR", "new_device": "BOOLEAN", "risk_level": "VARCHAR",
    "risk_decision": "VARCHAR", "compromised_credentials": "BOOLEAN", "error_code": "VARCHAR",
    "provider_name": "VARCHAR", "provider_type": "VARCHAR", "migration_source": "VARCHAR",
    "migration_status": "VARCHAR", "token_size_bytes": "BIGINT", "source_format": "VARCHAR",
}

CATEGORY = """CASE
  WHEN event_type IN ('sign_in','federated_sign_in','mfa_challenge','mfa_response','token_refresh','sign_out') THEN 'auth'
  WHEN event_type IN ('sign_up','password_reset','password_change') THEN 'account'
  WHEN event_type IN ('user_migration','bulk_import') THEN 'migration'
  WHEN event_type IN ('federation_link','federation_unlink') THEN 'federation'
  WHEN event_type = 'token_generation' THEN 'token' ELSE 'other' END"""

# Runs a command, reporting wall time and the peak RSS of that process tree.
MEASURE = r"""
import resource, subprocess, sys, time, json
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"seconds": wall, "rss": rss, "rc": p.returncode, "err": p.stderr.decode()[-2000:]}))
"""


def measure(cmd):
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    if r["rc"] != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r['err']}")
    return r


def duckdb_script(code):
    return [sys.executable, "-c", "import duckdb, time, sys\n" + code]


def query_sql(name):
    text = open(os.path.join(ROOT, "queries", name + ".sql")).read()
    assert "${" not in text, f"{name} has parameters"
    return "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("--"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", default="10000000", help="comma-separated sizes, e.g. 1000000,3000000,10000000")
    ap.add_argument("--authlake", default=os.path.join(ROOT, "target/release/authlake"))
    ap.add_argument("--work", default="/tmp/authlake-bench")
    ap.add_argument("--json", default="bench.json")
    ap.add_argument("--repeat", type=int, default=3, help="query runs per tool (the best counts)")
    ap.add_argument("--kafka-events", type=int, default=1000000,
                    help="events for Kafka -> lake through a local tansu broker (0: skip)")
    args = ap.parse_args()
    import duckdb  # noqa: F401  (installed by bench.sh)

    sizes = [int(s) for s in args.events.split(",") if int(s) > 0]
    results = {"machine": machine(), "authlake": args.authlake, "duckdb": duckdb_version(), "sizes": []}
    for n in sizes:
        results["sizes"].append(run_size(args, n))
        print_table(results["sizes"][-1])
    if args.kafka_events:
        results["kafka"] = run_kafka(args, args.kafka_events)
        print_table(results["kafka"])
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nwrote {args.json}")


def run_size(args, n):
    work = os.path.join(args.work, str(n))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    data = os.path.join(work, "events.ndjson")
    gen = measure([args.authlake, "generate", "--events", str(n), "--days", "90", "--seed", "7",
                   "--end", "2026-11-27T00:00:00Z", "--format", "canonical", "--out", data])
    size = os.path.getsize(data)
    rows = sum(1 for _ in open(data, "rb"))
    print(f"\n== {n} events ({size / 1e9:.2f} GB canonical NDJSON, generated in {gen['seconds']:.1f}s)")
    steps = []

    # Ingest: NDJSON -> Hive-partitioned ZSTD Parquet.
    lake = os.path.join(work, "lake")
    a = measure([args.authlake, "ingest", "--from", "file://" + data, "--lake", lake, "--quiet"])
    out = os.path.join(work, "duck")
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    d = measure(duckdb_script(f"""
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(\"\"\"COPY (SELECT *, {CATEGORY} AS category, CAST(event_time AS DATE) AS event_date
  FROM read_json('{data}', format = 'newline_delimited', columns = {cols}))
  TO '{out}' (FORMAT parquet, PARTITION_BY (category, event_date), COMPRESSION zstd)\"\"\")
"""))
    steps.append(step("ingest NDJSON -> partitioned Parquet", rows, a, d))

    # KPI queries over the same Parquet files (authlake's lake).
    for q in KPI_QUERIES:
        best_a = min((measure([args.authlake, "query", "--lake", lake, "--named", q, "--format", "csv"])
                      for _ in range(args.repeat)), key=lambda r: r["seconds"])
        sql = query_sql(q).replace("'", "\\'")
        # DuckDB timed inside its process (connect, view, query): its
        # interpreter start is not counted, authlake's process start is.
        d = json.loads(subprocess.run(duckdb_script(f"""
import json, resource
best = None
for _ in range({args.repeat}):
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE VIEW events AS SELECT * FROM read_parquet('{lake}/*/*/*.parquet', hive_partitioning = true)")
    con.execute('''{sql}''').fetchall()
    s = time.perf_counter() - t
    best = s if best is None else min(best, s)
print(json.dumps({{"seconds": best, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""), capture_output=True, text=True, check=True).stdout)
        steps.append(step(f"query {q}", rows, best_a, d))
    return {"events": n, "rows": rows, "bytes": size, "steps": steps}


# A bare librdkafka consumer draining the topic: the broker's pace.
DRAIN = r"""
import sys
from confluent_kafka import Consumer, TopicPartition
brokers, topic, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": brokers, "group.id": "bench-drain", "enable.partition.eof": True,
              "enable.auto.commit": False})
c.assign([TopicPartition(topic, p, 0) for p in range(parts)])
eof, n = set(), 0
while len(eof) < parts:
    for m in c.consume(10000, 1.0):
        if m.error():
            eof.add(m.partition())
        else:
            n += 1
            eof.discard(m.partition())
print(n, file=sys.stderr)
"""


def run_kafka(args, n):
    """Kafka -> lake: authlake's backfill against a bare librdkafka consumer,
    both reading the same topic of a local tansu broker."""
    import socket
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    work = os.path.join(args.work, f"kafka-{n}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    brokers, url = f"127.0.0.1:{port}", f"tcp://127.0.0.1:{port}"
    broker = subprocess.Popen([shutil.which("tansu") or "tansu", "broker", "--storage-engine", "memory://tansu/",
                               "--listener-url", url, "--advertised-listener-url", url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        data = os.path.join(work, "events.ndjson")
        measure([args.authlake, "generate", "--events", str(n), "--days", "30", "--seed", "9",
                 "--end", "2026-11-27T00:00:00Z", "--out", data])
        parts = 4
        admin = AdminClient({"bootstrap.servers": brokers})
        for f in admin.create_topics([NewTopic("bench", parts, 1)]).values():
            f.result()
        t = time.perf_counter()
        p = Producer({"bootstrap.servers": brokers, "compression.codec": "lz4", "linger.ms": 50,
                      "queue.buffering.max.messages": 1000000})
        for line in open(data, "rb"):
            while True:
                try:
                    p.produce("bench", line.rstrip(b"\n"))
                    break
                except BufferError:
                    p.poll(0.05)
        p.flush(120)
        print(f"\n== Kafka: {n} messages produced to tansu (4 partitions, lz4) in {time.perf_counter() - t:.1f}s")
        peer = measure([sys.executable, "-c", DRAIN, brokers, "bench", str(parts)])
        a = measure([args.authlake, "ingest", "--from", f"kafka://{brokers}/bench", "--lake", os.path.join(work, "lake"), "--quiet"])
        st = step("kafka -> lake (peer: bare librdkafka)", n, a, peer)
        return {"events": n, "rows": n, "steps": [st]}
    finally:
        broker.kill()
        broker.wait()


def step(name, rows, a, d):
    return {
        "step": name,
        "authlake_seconds": round(a["seconds"], 3),
        "duckdb_seconds": round(d["seconds"], 3),
        "authlake_events_per_s": round(rows / a["seconds"]),
        "duckdb_events_per_s": round(rows / d["seconds"]),
        "authlake_peak_rss_mib": round(a["rss"] / 2**20),
        "duckdb_peak_rss_mib": round(d["rss"] / 2**20),
        # > 1: authlake is faster.
        "speedup_vs_duckdb": round(d["seconds"] / a["seconds"], 2),
    }


def print_table(size):
    print(f"{'step':<40} {'authlake s':>10} {'peer s':>9} {'authlake ev/s':>14} {'peer ev/s':>12} "
          f"{'authlake RSS MiB':>16} {'peer RSS MiB':>14} {'speedup':>8}")
    for s in size["steps"]:
        print(f"{s['step']:<40} {s['authlake_seconds']:>10.2f} {s['duckdb_seconds']:>9.2f} "
              f"{s['authlake_events_per_s']:>14,} {s['duckdb_events_per_s']:>12,} "
              f"{s['authlake_peak_rss_mib']:>16,} {s['duckdb_peak_rss_mib']:>14,} {s['speedup_vs_duckdb']:>7.2f}x")


def machine():
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem, 1), "os": platform.platform()}


def duckdb_version():
    import duckdb
    return duckdb.__version__


if __name__ == "__main__":
    main()
