//! The `authlake` binary: parses the command line and hands off to the
//! library crates. See `authlake --help`.

mod cli;
mod config;
mod demo;
mod export;
mod generate;
mod ingest;
mod kpi;
mod maintain;
mod query;
mod shutdown;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    if let Err(e) = runtime.block_on(cli::dispatch(cli)) {
        eprintln!("authlake: {e:#}");
        std::process::exit(1);
    }
}
