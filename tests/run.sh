#!/usr/bin/env bash
# Installs what the tests need and runs them all: `bash tests/run.sh`.
#
# The tests start their own services on free local ports: tansu (a
# Kafka-protocol broker, from crates.io), moto (S3) and
# ministack (CloudWatch, which speaks the SDK's Smithy RPC v2 CBOR; needs
# cbor2), all from PyPI; they read the lake with DuckDB and render the HTML
# report in Debian's chromium (screenshots checked with Pillow). Rust comes
# from the machine's rustup toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
# One target directory for every checkout on this machine: a fresh clone
# reuses what an earlier build compiled (it still builds from nothing on a
# new machine).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/authlake/target}"

step() { printf '\n== %s\n' "$*"; }

# tansu compiles while the peers install and authlake builds: on 2 cores
# the two builds fill each other's serial stretches (linking, the long
# single-crate tails), and the installs wait on the network, not the CPU.
TANSU_LOG=/tmp/authlake-tansu-install.log
tansu_pid=
if ! command -v tansu >/dev/null; then
  step "Kafka-protocol broker for the Kafka tests: tansu (cargo install in the background, log in $TANSU_LOG)"
  # Its own target directory: the shared one would make the two builds take turns.
  env -u CARGO_TARGET_DIR cargo install tansu --locked --features dynostore >"$TANSU_LOG" 2>&1 &
  tansu_pid=$!
fi

step "Python peers: DuckDB (reads the lake), Python deltalake and Polars (read the Delta table), moto (S3), ministack + cbor2 (CloudWatch), boto3 (and botocore's SigV4 signer), Pillow, confluent-kafka (the benchmark's librdkafka peer), sigma-cli + pySigma's SQLite backend (check the rule pack, and match it independently)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  'duckdb>=1.1' 'deltalake>=1.0' 'polars>=1.0' 'moto[server]>=5.0' 'ministack>=1.5' cbor2 boto3 pillow confluent-kafka \
  'sigma-cli>=1.0' 'pysigma-backend-sqlite>=0.1' 2>&1 | grep -v 'already satisfied' || true
python3 -c 'import duckdb, deltalake, polars, moto.server, cbor2, boto3, PIL, confluent_kafka; print("duckdb", duckdb.__version__, "/ deltalake", deltalake.__version__, "/ moto", moto.__version__)'
command -v ministack >/dev/null || { echo "ministack not on PATH after pip install" >&2; exit 1; }
command -v sigma >/dev/null || { echo "sigma (sigma-cli) not on PATH after pip install" >&2; exit 1; }

step "Debian packages: chromium (HTML report test); libssl-dev, pkg-config (librdkafka's build); kcat"
. tests/debian.sh
install_debian chromium kcat $LIBRDKAFKA_BUILD_DEPS
chromium --version

step "Build (debug; the CLI tests run the authlake binary)"
cargo build --workspace --locked

step "Lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ -n "$tansu_pid" ]; then
  step "Waiting for the tansu install"
  wait "$tansu_pid" || { tail -40 "$TANSU_LOG" >&2; echo "cargo install tansu failed (log: $TANSU_LOG)" >&2; exit 1; }
fi
tansu --version || true

step "Tests"
cargo test --workspace --locked 2>&1 | tee /tmp/authlake-test.log
# One closing line with the totals over every test binary.
awk '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "\n%d passed, %d failed, %d skipped\n", p, f, s }' /tmp/authlake-test.log
