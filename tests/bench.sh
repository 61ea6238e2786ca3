#!/usr/bin/env bash
# The performance benchmark: authlake against DuckDB (ingest and KPI
# queries), a bare librdkafka consumer (Kafka) and a bare boto3 reader
# (Kinesis), all in one run on the same generated data. Installs its peers
# from PyPI, librdkafka's build tools from Debian and tansu from crates.io
# when missing, builds authlake, then
# runs tests/bench.py with the arguments given, e.g.
#   bash tests/bench.sh --events 1000000,3000000,10000000
# Writes bench.json (see --json).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  'duckdb>=1.1' 'moto[server]>=5.0' boto3 confluent-kafka 2>&1 | grep -v 'already satisfied' || true
. tests/debian.sh
install_debian $LIBRDKAFKA_BUILD_DEPS
command -v tansu >/dev/null || cargo install tansu --locked --features dynostore
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/authlake/target}"
cargo build --workspace --quiet
exec python3 tests/bench.py --authlake "$CARGO_TARGET_DIR/debug/authlake" "$@"
