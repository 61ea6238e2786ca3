//! Standard output for results: a closed pipe ends the process quietly
//! with 0 (docs/cli.md), as `head` and `grep -q` expect.

use std::io::Write;

/// Writes to stdout; exits 0 if the reader has gone.
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        gone(e);
    }
}

/// Flushes stdout before the process exits.
pub fn flush() {
    if let Err(e) = std::io::stdout().lock().flush() {
        gone(e);
    }
}

fn gone(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("authlake: cannot write to stdout: {e}");
    std::process::exit(crate::exit::Exit::Failed as i32);
}

/// `210801` as `210,801`.
pub fn group(n: u64) -> String {
    authlake_kpi::dashboards::svg::grouped(n as f64, 0)
}

/// A size for people: `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ => format!("{v:.1} {}", UNITS[unit]),
    }
}
