//! The `authlake` binary: parses the command line, sets up logging and
//! hands off to the library crates (docs/ARCHITECTURE.md names them). See
//! `authlake --help`.

/// `print!` that ends the process quietly with 0 when stdout is closed
/// (`authlake query ... | head`), where std's panics. Defined before the
/// modules so that it is the `print!` they see.
macro_rules! print {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*)) };
}

/// `println!`, as [`print!`].
macro_rules! println {
    () => { $crate::out::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}

mod cli;
mod config;
mod demo;
mod exit;
mod export;
mod generate;
mod ingest;
mod kpi;
mod logging;
mod maintain;
mod out;
mod query;
mod detect;
mod shutdown;
mod table;
mod time;

use clap::{CommandFactory, FromArgMatches};

fn main() {
    let metrics_help = format!("{}\n{}", kpi::definitions(), exit::Exit::help());
    let matches = exit::with_help(cli::Cli::command()).mut_subcommand("metrics", |c| c.after_long_help(metrics_help)).get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    logging::init(cli.verbose, cli.quiet, cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let code = match runtime.block_on(cli::dispatch(cli)) {
        Ok(()) => exit::Exit::Done,
        Err(e) => {
            // The one line a failed command ends with.
            eprintln!("authlake: {e:#}");
            exit::of(&e)
        }
    };
    out::flush();
    std::process::exit(code as i32);
}
