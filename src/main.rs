//! The `gpse` binary: argument parsing and error reporting only; the work is in the library.
#![deny(unsafe_code)]

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("GPSE_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    match cli::run(cli) {
        Ok(code) => code,
        Err(cli::Fail { msg, code }) => {
            eprintln!("gpse: {msg}");
            ExitCode::from(code)
        }
    }
}
