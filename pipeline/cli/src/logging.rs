//! Diagnostics through `tracing` (docs/cli.md): `RUST_LOG` when set,
//! else the level `-v`/`-q` choose; text or JSON lines on stderr with
//! RFC 3339 timestamps. Results go to stdout, progress to a terminal only.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line of text per event.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// delta-rs reports expected events as problems: "no files in log
/// segment" (an error) when a lake has no table yet, and every lost race
/// for a version number (a warning) when several writers share a table;
/// the kernel logs every error it returns, which authlake reports itself.
/// Quiet by default; RUST_LOG brings them back.
const DELTA_QUIET: &str = "buoyant_kernel=off,deltalake_core::kernel::transaction=error";

/// Targets that log wire data below info, capped there.
const WIRE_CAPS: &str = "aws_smithy_runtime=info,aws_smithy_runtime_api=info,aws_smithy_http=info,aws_smithy_http_client=info,aws_sigv4=info,aws_config=info,hyper=info,hyper_util=info,h2=info,rustls=info";

/// The level for `-v` given `verbose` times, `-q` given `quiet` times:
/// `info` by default.
fn level(verbose: u8, quiet: u8) -> &'static str {
    match i16::from(verbose) - i16::from(quiet) {
        i16::MIN..=-2 => "off",
        -1 => "error",
        0 => "info",
        1 => "debug",
        _ => "trace",
    }
}

/// Installs the subscriber for the process.
pub fn init(verbose: u8, quiet: u8, format: LogFormat) {
    QUIET.store(quiet > 0, Ordering::Relaxed);
    // A level from the flags applies to authlake's own crates; the
    // libraries below (AWS SDK, DataFusion, ...) speak at `warn` unless
    // RUST_LOG says otherwise.
    let own = level(verbose, quiet);
    let spec = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec,
        _ => format!("warn,authlake={own},authlake_lake={own},authlake_ingest={own},authlake_analytics={own},authlake_kpi={own},authlake_kafka={own},authlake_kinesis={own},authlake_generator={own},{DELTA_QUIET}"),
    };
    // Secrets never land in logs: the HTTP layers under the AWS SDK write
    // request and response bodies (records, with whatever they hold) and
    // signing material at debug and trace, so they stop at info whatever
    // RUST_LOG asks; later directives for a target win.
    let filter = EnvFilter::new(format!("{spec},{WIRE_CAPS}"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Set by `-q`: no progress lines.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether progress lines (rewritten in place) are shown: on a terminal
/// only, and not when asked to be quiet.
pub fn show_progress() -> bool {
    !QUIET.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_choose_the_level() {
        assert_eq!(level(0, 0), "info");
        assert_eq!(level(1, 0), "debug");
        assert_eq!(level(3, 0), "trace");
        assert_eq!(level(0, 1), "error");
        assert_eq!(level(0, 2), "off");
        assert_eq!(level(1, 1), "info");
    }
}
