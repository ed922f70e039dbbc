//! The command line: parses arguments (clap derive) and calls into the library. Every error is
//! one line on stderr and a non-zero exit.

mod card;
mod common;
mod send;
mod serve;

use clap::{Parser, Subcommand};

/// gpse: an emulated GlobalPlatform secure element of an Android phone, with the smartphone
/// JPKI applets, for testing smart-card software.
#[derive(Debug, Parser)]
#[command(name = "gpse", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

const EXAMPLES: &str = "Examples:
  gpse card init --state ./card
  gpse send --state ./card 00A4040008A000000151000000
  gpse card info --state ./card";

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create, inspect and manage card images.
    #[command(subcommand)]
    Card(card::CardCmd),
    /// Send APDUs to a card and print each command and response.
    Send(send::SendArgs),
    /// Serve card images behind pcscd's virtual reader (vsmartcard vpcd) until Ctrl-C.
    Serve(serve::ServeArgs),
}

/// Runs the parsed command line; `Err` is the one-line message for stderr.
pub fn run(cli: Cli) -> Result<std::process::ExitCode, String> {
    match cli.command {
        Cmd::Card(c) => card::run(c),
        Cmd::Send(a) => send::run(a),
        Cmd::Serve(a) => serve::run(a),
    }
}
