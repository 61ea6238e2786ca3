//! authlake's end-to-end and integration tests, in one test binary.
//!
//! - `cli`: the command line's manners: a closed pipe, exit codes,
//!   `--version`, completions, where the lake comes from, `query`'s inputs,
//!   `config check`, a truncated `.gz`.
//! - `golden`: every fixture file decoded and compared with
//!   `tests/golden/decode/` (regenerate with `UPDATE_GOLDEN=1`).
//! - `real`: the public real-record corpus (`fixtures/real/`) decoded as
//!   AWS documents each record (`tests/expected/real.json`, by hand).
//! - `lake`: files → lake → SQL, re-run idempotency, dead letters, paths.
//! - `crash`: SIGKILL at 20 moments of a file ingest, restart, exactly once;
//!   `crash_loop` is the loop (and the between-kills checks) every source uses.
//! - `dedupe`: exactly once per event: copies, other delivery paths and
//!   re-deliveries add nothing; repeats within one object stay.
//! - `secrets`: no secret from the fixtures anywhere in what was written.
//! - `duckdb`: DuckDB reads the lake's Parquet and sees the same rows.
//! - `generator`: the generator's traffic decodes cleanly and has its shape.
//! - `s3`: the lake on S3 (moto): same rows, racing commits (in-process and
//!   two processes), writers killed mid-upload.
//! - `s3_source`: S3 as a source (moto): CloudTrail, log-export and
//!   CloudWatch Logs delivery layouts, a follower, a kill mid-object, and
//!   the same records by other paths adding nothing.
//! - `hostile`: huge, deep, broken, out-of-range and path-like records
//!   through `authlake ingest` and an export.
//! - `faults`: a full disk (tmpfs) under an ingest; truncated, deleted and
//!   corrupt lake files named by the query.
//! - `kafka`: the Kafka source against tansu: backfill, exactly once on
//!   re-runs, follow and SIGTERM, a group of two, codecs, dead letters.
//! - `kpi`: named queries (golden files in `tests/golden/queries/`),
//!   detections, metrics pushed to CloudWatch (ministack) exactly once,
//!   alarms, dashboards, the HTML report in Chromium.
//! - `kinesis`: the Kinesis source against moto: plain, KPL and CloudWatch
//!   Logs records over several shards, re-runs, SIGKILL and restart, lease
//!   workers sharing shards, a shard split.
//! - `compliance`: exports, OCSF, pseudonyms, tenants, retention, forget,
//!   compaction, catalog DDL.
//! - `detections`: the Sigma rule pack fires on each rule's positive
//!   samples and not on its negative ones; findings written once, revised
//!   by late events, read by Python `deltalake`; backtests; refusals.
//! - `maintain`: compaction, retention and forget beside a live ingest and
//!   a Python `deltalake` reader loop; erasures that stay erased, dry runs,
//!   time travel, pinned exports, vacuum.

#[cfg(test)]
mod cli;
#[cfg(test)]
mod compliance;
#[cfg(test)]
mod crash;
#[cfg(test)]
mod crash_loop;
#[cfg(test)]
mod dedupe;
#[cfg(test)]
mod delta;
#[cfg(test)]
mod detections;
#[cfg(test)]
mod maintain;
#[cfg(test)]
mod duckdb;
#[cfg(test)]
mod faults;
#[cfg(test)]
mod generator;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod hostile;
#[cfg(test)]
mod kafka;
#[cfg(test)]
mod kinesis;
#[cfg(test)]
mod kpi;
#[cfg(test)]
mod lake;
#[cfg(test)]
mod real;
#[cfg(test)]
mod s3;
#[cfg(test)]
mod s3_source;
#[cfg(test)]
mod secrets;
pub mod support;
