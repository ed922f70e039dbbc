//! The command line: parses arguments (clap derive) and calls into the library. Every error is
//! one line on stderr and a non-zero exit: 2 for usage errors and failures, 1 where a command
//! documents it (a wrong PIN, a denied access, a failed scenario or vector).

/// `println!` that survives a closed stdout (`gpse gp list | head -1`): see [`out`].
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::out::write(format_args!("{}\n", format_args!($($t)*))) };
}

/// `print!` that survives a closed stdout: see [`out`].
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::out::write(format_args!($($t)*)) };
}

mod ace;
mod advice;
mod cap;
mod card;
mod common;
mod gp;
mod jpki;
pub mod out;
mod run;
mod scenario;
mod send;
mod serve;
mod trace;
mod tsm;
mod vectors;

pub use common::Globals;

use clap::{Parser, Subcommand};

/// gpse: an emulated GlobalPlatform secure element of an Android phone, with the smartphone
/// JPKI applets, for testing smart-card software.
#[derive(Debug, Parser)]
#[command(name = "gpse", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Cmd,
}

const EXAMPLES: &str = "Shared options (--state, --reader, --seed, -d) go before or after the verb.
Key version numbers (--kvn, --new-kvn, --replace, @KVN) are hex everywhere; 0x is accepted.

Examples:
  gpse card init --state ./card
  gpse send --state ./card 00A4040008A000000151000000
  gpse serve --state ./cards -v                      (runs in the foreground; the card is in PC/SC reader \"Virtual PCD 00 00\")
  gpse send --reader 0 --scp03 404142434445464748494A4B4C4D4E4F --level 33 00A4040000 80CA00CF00
  gpse gp list --state ./card
  gpse tsm setup --state ./card && gpse jpki status --state ./card
  gpse run --fresh --seed 7 tests/data/native-basic.gpse
  gpse vectors run vectors --junit out.xml
  gpse scenario run vectors/scenarios/change-of-phone.toml";

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create, inspect and manage card images.
    #[command(subcommand)]
    Card(card::CardCmd),
    /// Send APDUs to a card and print each command and response.
    Send(send::SendArgs),
    /// Replay an APDU script (native, scriptor, apdutool, plain hex), checking expectations.
    Run(run::RunArgs),
    /// Conformance vectors: run them, print a table, write JUnit XML.
    #[command(subcommand)]
    Vectors(vectors::VectorsCmd),
    /// Print a script or recording with each command named and its TLV decoded.
    Trace(trace::TraceArgs),
    /// The service's roles: SP-TSM personalisation of the JPKI applet, the app's activation.
    Tsm(tsm::TsmArgs),
    /// Android's access control: the ARA-M rules and the decision for an app.
    #[command(subcommand)]
    Ace(ace::AceCmd),
    /// Lifecycle scenarios across phones, TSMs, the test CA and the revocation list.
    #[command(subcommand)]
    Scenario(scenario::ScenarioCmd),
    /// The JPKI user path: PIN status, verify, change PIN, sign, read certificates.
    Jpki(jpki::JpkiArgs),
    /// GlobalPlatform card management over SCP03: list, info, load, install, delete, put-key,
    /// lock, unlock, create-ssd.
    Gp(gp::GpArgs),
    /// Serve card images behind pcscd's virtual reader (vsmartcard vpcd) until Ctrl-C (runs in
    /// the foreground).
    Serve(serve::ServeArgs),
    /// Java Card CAP files: info (components, imports, applets) and dump (disassembly).
    #[command(subcommand)]
    Cap(cap::CapCmd),
}

/// A failed command: the one-line message for stderr and the exit code.
#[derive(Debug)]
pub struct Fail {
    pub msg: String,
    pub code: u8,
}

impl Fail {
    /// Exit 1: the card refused what the user asked (a wrong PIN), as opposed to a usage error.
    pub fn refused(msg: impl Into<String>) -> Fail {
        Fail { msg: msg.into(), code: 1 }
    }
}

impl From<String> for Fail {
    fn from(msg: String) -> Fail {
        Fail { msg, code: 2 }
    }
}

impl From<&str> for Fail {
    fn from(msg: &str) -> Fail {
        Fail { msg: msg.into(), code: 2 }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<std::process::ExitCode, Fail> {
    let g = &cli.globals;
    match cli.command {
        Cmd::Card(c) => card::run(c, g),
        Cmd::Send(a) => send::run(a, g),
        Cmd::Jpki(a) => jpki::run(a, g),
        Cmd::Gp(a) => gp::run(a, g),
        Cmd::Run(a) => run::run(a, g),
        Cmd::Scenario(c) => scenario::run(c, g),
        Cmd::Trace(a) => trace::run(a, g),
        Cmd::Tsm(a) => tsm::run(a, g),
        Cmd::Vectors(c) => vectors::run(c, g),
        Cmd::Ace(c) => ace::run(c, g),
        Cmd::Serve(a) => serve::run(a, g),
        Cmd::Cap(c) => cap::run(c, g),
    }
}
