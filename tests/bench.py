"""authlake vs DuckDB on the same generated data, in one run (run it with tests/bench.sh).

For each size N: generate N canonical events (no `raw`, so both tools write
the same columns); time authlake's ingest into a partitioned lake and
DuckDB's `COPY ... PARTITION_BY (category, event_date)` of the same file;
time the KPI queries of queries/ through `authlake query --named` and DuckDB
running the same SQL over the same Parquet files. Each step's peak RSS is
measured (a child process per step, its rusage). Kafka -> lake
(`--kafka-events`, default 1M) is timed against a bare librdkafka consumer
draining the same topic of the same local tansu broker. Kinesis -> lake
(`--kinesis-events`, default 1M) is timed against a bare boto3 reader
(ListShards, GetShardIterator TRIM_HORIZON, GetRecords of 10,000) draining
the same 4-shard stream of a local moto server. moto is a Python server
(one interpreter, records in memory): both readers are bound by how fast it
answers GetRecords, so this compares the two readers on moto, not
authlake's throughput against real Kinesis (which allows 5 GetRecords
calls and 2 MB per second per shard; authlake keeps to the 5 calls/s,
the bare reader does not pace itself). moto's PutRecords takes time in
the square of the records per shard (each put copies the shard's sequence
numbers into a list to find the last one: 200k records took 6 min to put,
1M would take hours), so the bench starts moto with that one lookup
replaced by an O(1) one (MOTO_SERVER below); nothing on the read path is
changed. moto holds every record in memory (~2.5 GB for 1M). Prints a table (the
peer is DuckDB, librdkafka for Kafka or boto3 for Kinesis; speedup > 1
means authlake is faster) and writes JSON (bench.json by default) for
comparison over time.
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


def measure(cmd, env=None):
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True, env=env)
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
    ap.add_argument("--authlake", default=os.path.join(ROOT, "target/debug/authlake"),
                    help="the binary to time (the dev profile builds hot dependencies at opt-level 3)")
    ap.add_argument("--work", default="/tmp/authlake-bench")
    ap.add_argument("--json", default="bench.json")
    ap.add_argument("--repeat", type=int, default=5,
                    help="query runs per tool, taking turns (the best counts)")
    ap.add_argument("--kafka-events", type=int, default=1000000,
                    help="events for Kafka -> lake through a local tansu broker (0: skip)")
    ap.add_argument("--kinesis-events", type=int, default=1000000,
                    help="events for Kinesis -> lake through a local moto server (0: skip)")
    args = ap.parse_args()
    import duckdb  # noqa: F401  (installed by bench.sh)

    sizes = [int(s) for s in args.events.split(",") if int(s) > 0]
    results = {"machine": machine(), "authlake": args.authlake, "duckdb": duckdb_version(), "sizes": []}
    for n in sizes:
        results["sizes"].append(run_size(args, n))
        print_table(results["sizes"][-1])
    if len(sizes) > 1:
        results["scaling"] = scaling(results["sizes"])
    if args.kafka_events:
        results["kafka"] = run_kafka(args, args.kafka_events)
        print_table(results["kafka"])
    if args.kinesis_events:
        results["kinesis"] = run_kinesis(args, args.kinesis_events)
        print_table(results["kinesis"])
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

    # Ingest: NDJSON -> Hive-partitioned ZSTD Parquet. Written data is
    # flushed before each tool starts: neither pays for the writeback of
    # the generated input or of the other tool's lake.
    lake = os.path.join(work, "lake")
    os.sync()
    a = measure([args.authlake, "ingest", "--from", "file://" + data, "--lake", lake, "--quiet"])
    os.sync()
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

    # What exactly once per event costs: the same ingest with the dedupe
    # window off, in this run. The "duckdb" columns of this step are
    # authlake without dedupe (a ratio under 1 is the cost).
    if "--dedupe-window" in subprocess.run([args.authlake, "ingest", "--help"], capture_output=True, text=True).stdout:
        lake_off = os.path.join(work, "lake-no-dedupe")
        os.sync()
        off = measure([args.authlake, "ingest", "--from", "file://" + data, "--lake", lake_off, "--quiet", "--dedupe-window", "0s"])
        steps.append(step("ingest with dedupe (peer: dedupe off)", rows, a, off))
        shutil.rmtree(lake_off, ignore_errors=True)

    # KPI queries over the same Parquet files (authlake's lake). Dirty
    # pages of both ingests are flushed first, so their writeback does not
    # land on whichever tool queries first, and the two tools take turns
    # run by run, so a slow moment of the machine hits both.
    os.sync()
    for q in KPI_QUERIES:
        sql = query_sql(q).replace("'", "\\'")
        # DuckDB timed inside its process (connect, view, query) on each
        # line it reads: its interpreter start is not counted, authlake's
        # process start is.
        duck = subprocess.Popen(duckdb_script(f"""
import resource
for line in sys.stdin:
    if line.strip() == "rss":
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, flush=True)
        continue
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE VIEW events AS SELECT * FROM read_parquet('{lake}/*/*/*.parquet', hive_partitioning = true)")
    con.execute('''{sql}''').fetchall()
    print(time.perf_counter() - t, flush=True)
"""), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def duck_run(command):
            duck.stdin.write(command + "\n")
            duck.stdin.flush()
            return float(duck.stdout.readline())

        runs_a, runs_d = [], []
        for _ in range(args.repeat):
            runs_a.append(measure([args.authlake, "query", "--lake", lake, "--named", q, "--format", "csv"]))
            runs_d.append(duck_run("run"))
        d = {"seconds": min(runs_d), "rss": int(duck_run("rss"))}
        duck.stdin.close()
        duck.wait()
        steps.append(step(f"query {q}", rows, min(runs_a, key=lambda r: r["seconds"]), d))
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


def fresh_work_and_port(args, name):
    """An empty work directory for a stream step and a free local port."""
    import socket
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return work, s.getsockname()[1]


def run_kafka(args, n):
    """Kafka -> lake: authlake's backfill against a bare librdkafka consumer,
    both reading the same topic of a local tansu broker."""
    import socket
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    work, port = fresh_work_and_port(args, f"kafka-{n}")
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


# moto's server with Shard.get_max_sequence_number in O(1) (it lists every
# sequence number of the shard on each put); the read path is moto's own.
MOTO_SERVER = r"""
import sys
from moto.kinesis import models
models.Shard.get_max_sequence_number = lambda self: next(reversed(self.records), 0)
from moto.server import main
sys.exit(main(sys.argv[1:]))
"""

# A bare boto3 reader draining the stream, shard after shard: moto's pace.
# Prints the record count, then the count per shard, to stderr.
DRAIN_KINESIS = r"""
import sys
import boto3
stream = sys.argv[1]
k = boto3.client("kinesis")
shards, token = [], None
while True:
    r = k.list_shards(NextToken=token) if token else k.list_shards(StreamName=stream)
    shards += [s["ShardId"] for s in r["Shards"]]
    token = r.get("NextToken")
    if not token:
        break
per_shard = {}
for shard in shards:
    it = k.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = 0
    while it:
        r = k.get_records(ShardIterator=it, Limit=10000)
        got += len(r["Records"])
        it = r.get("NextShardIterator")
        if not r["Records"] and r.get("MillisBehindLatest", 0) == 0:
            break
    per_shard[shard] = got
print(sum(per_shard.values()), " ".join(f"{s}={c}" for s, c in per_shard.items()), file=sys.stderr)
"""


def lake_rows(lake):
    """Rows of the events table, as DuckDB reads them over the snapshot's
    file list (Python `deltalake` reads the Delta log)."""
    import duckdb
    import deltalake
    files = deltalake.DeltaTable(lake).file_uris()
    return duckdb.connect().execute(f"SELECT count(*) FROM read_parquet({files!r})").fetchone()[0] if files else 0


def run_kinesis(args, n):
    """Kinesis -> lake: authlake's backfill against a bare boto3 reader,
    both reading the same 4-shard stream of a local moto server."""
    import urllib.error
    import urllib.request
    import boto3
    work, port = fresh_work_and_port(args, f"kinesis-{n}")
    endpoint = f"http://127.0.0.1:{port}"
    # AWS_REGION for authlake (the Rust SDK), AWS_DEFAULT_REGION for boto3
    # (botocore does not read AWS_REGION).
    aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    env = {**os.environ, **aws}
    moto = [sys.executable, "-c", MOTO_SERVER]
    log_path = os.path.join(work, "moto.log")
    log = open(log_path, "wb")
    server = subprocess.Popen([*moto, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            if server.poll() is not None:
                sys.exit(f"moto exited ({server.returncode}); see {log_path}")
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit(f"moto did not answer on {endpoint} within 60s; see {log_path}")
        data = os.path.join(work, "events.ndjson")
        measure([args.authlake, "generate", "--events", str(n), "--days", "30", "--seed", "9",
                 "--end", "2026-11-27T00:00:00Z", "--out", data])
        k = boto3.client("kinesis", endpoint_url=endpoint, region_name=aws["AWS_REGION"],
                         aws_access_key_id=aws["AWS_ACCESS_KEY_ID"], aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"])
        k.create_stream(StreamName="bench", ShardCount=4)
        k.get_waiter("stream_exists").wait(StreamName="bench", WaiterConfig={"Delay": 1, "MaxAttempts": 60})

        # PutRecords: at most 500 records and 5 MiB (data + partition keys)
        # per call. A per-line partition key spreads the lines over the shards.
        def put(batch):
            while batch:
                r = k.put_records(StreamName="bench", Records=batch)
                if not r.get("FailedRecordCount"):
                    return
                batch = [rec for rec, res in zip(batch, r["Records"]) if res.get("ErrorCode")]
                time.sleep(0.1)

        t = time.perf_counter()
        batch, size, put_n = [], 0, 0
        for i, line in enumerate(open(data, "rb")):
            rec = {"Data": line.rstrip(b"\n"), "PartitionKey": str(i)}
            rec_size = len(rec["Data"]) + len(rec["PartitionKey"])
            if rec_size > 2**20:
                sys.exit(f"line {i + 1} of {data} is over Kinesis's 1 MiB record limit")
            if len(batch) == 500 or size + rec_size > 5 * 2**20:
                put(batch)
                batch, size = [], 0
            batch.append(rec)
            size += rec_size
            put_n += 1
        if batch:
            put(batch)
        put_s = time.perf_counter() - t
        assert put_n == n, f"{data} has {put_n} lines, expected {n}"
        print(f"\n== Kinesis: {n} records put to moto (4 shards, PutRecords of 500) in {put_s:.1f}s")

        peer = measure([sys.executable, "-c", DRAIN_KINESIS, "bench"], env=env)
        seen = peer["err"].strip().splitlines()[-1]
        print(f"boto3 reader: {seen}")
        if int(seen.split()[0]) != n:
            sys.exit(f"the boto3 reader saw {seen.split()[0]} records, expected {n}")

        lake = os.path.join(work, "lake")
        a = measure([args.authlake, "ingest", "--from", "kinesis://bench", "--lake", lake, "--quiet"], env=env)
        # A line can give more than one row (CloudTrail MFA lines hold two
        # calls): the lake must hold what a file ingest of the lines gives.
        file_lake = os.path.join(work, "file-lake")
        subprocess.run([args.authlake, "ingest", "--from", "file://" + data, "--lake", file_lake, "--quiet"],
                       stdout=subprocess.DEVNULL, check=True)
        rows, want = lake_rows(lake), lake_rows(file_lake)
        print(f"authlake: {rows} rows in the lake (a file ingest of the same lines: {want})")
        if rows != want:
            sys.exit(f"the Kinesis lake holds {rows} rows, a file ingest of the same lines {want}")
        st = step("kinesis -> lake (peer: bare boto3 GetRecords)", n, a, peer)
        return {"events": n, "rows": rows, "put_seconds": round(put_s, 3), "steps": [st]}
    finally:
        server.kill()
        server.wait()
        log.close()


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


def scaling(sizes):
    """Seconds per million events of each step at each size: flat means
    cost grows linearly with the data."""
    names = [st["step"] for st in sizes[0]["steps"]]
    print("\n== scaling: seconds per million events (authlake / DuckDB)")
    print(f"{'step':<46} " + " ".join(f"{str(sz['events'] // 1000000) + 'M':>16}" for sz in sizes))
    table = []
    for name in names:
        row = {"step": name}
        cells = []
        for sz in sizes:
            st = next(x for x in sz["steps"] if x["step"] == name)
            per = sz["events"] / 1e6
            a, d = st["authlake_seconds"] / per, st["duckdb_seconds"] / per
            row[str(sz["events"])] = {"authlake_s_per_m": round(a, 3), "duckdb_s_per_m": round(d, 3)}
            cells.append(f"{a:.3f} / {d:.3f}")
        print(f"{name:<46} " + " ".join(f"{c:>16}" for c in cells))
        table.append(row)
    return table


def print_table(size):
    print(f"{'step':<46} {'authlake s':>10} {'peer s':>9} {'authlake ev/s':>14} {'peer ev/s':>12} "
          f"{'authlake RSS MiB':>16} {'peer RSS MiB':>14} {'speedup':>8}")
    for s in size["steps"]:
        print(f"{s['step']:<46} {s['authlake_seconds']:>10.2f} {s['duckdb_seconds']:>9.2f} "
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
