#!/usr/bin/env bash
# Installs what the tests need and runs them all: `bash tests/run.sh`.
#
# The tests start their own services (moto for S3) on free local ports and
# read the lake with DuckDB; both come from PyPI. Rust comes from the
# machine's rustup toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "Python peers: DuckDB (reads the lake), moto (S3 emulator)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  'duckdb>=1.1' 'moto[server]>=5.0' 2>&1 | grep -v 'already satisfied' || true
python3 -c 'import duckdb, moto.server; print("duckdb", duckdb.__version__, "/ moto", moto.__version__)'

step "Build (debug; the CLI tests run the authlake binary)"
cargo build --workspace --locked

step "Lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Tests"
cargo test --workspace --locked 2>&1 | tee /tmp/authlake-test.log
# One closing line with the totals over every test binary.
awk '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "\n%d passed, %d failed, %d skipped\n", p, f, s }' /tmp/authlake-test.log
