//! The command line: parses arguments (clap derive) and calls into the library. Every error is
//! one line on stderr and a non-zero exit.

mod ace;
mod cap;
mod card;
mod common;
mod gp;
mod jpki;
mod run;
mod scenario;
mod send;
mod serve;
mod trace;
mod tsm;
mod vectors;

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
  gpse serve --state ./cards -v                      (the card in PC/SC reader \"Virtual PCD 00 00\")
  gpse send --reader 0 --scp03 404142434445464748494A4B4C4D4E4F --level 33 00A4040000 80CA00CF00
  gpse gp --state ./card list
  gpse tsm --state ./card setup && gpse jpki --state ./card status
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
    /// Serve card images behind pcscd's virtual reader (vsmartcard vpcd) until Ctrl-C.
    Serve(serve::ServeArgs),
    /// Java Card CAP files: info (components, imports, applets) and dump (disassembly).
    #[command(subcommand)]
    Cap(cap::CapCmd),
}

/// Runs the parsed command line; `Err` is the one-line message for stderr.
pub fn run(cli: Cli) -> Result<std::process::ExitCode, String> {
    match cli.command {
        Cmd::Card(c) => card::run(c),
        Cmd::Send(a) => send::run(a),
        Cmd::Jpki(a) => jpki::run(a),
        Cmd::Gp(a) => gp::run(a),
        Cmd::Run(a) => run::run(a),
        Cmd::Scenario(c) => scenario::run(c),
        Cmd::Trace(a) => trace::run(a),
        Cmd::Tsm(a) => tsm::run(a),
        Cmd::Vectors(c) => vectors::run(c),
        Cmd::Ace(c) => ace::run(c),
        Cmd::Serve(a) => serve::run(a),
        Cmd::Cap(c) => cap::run(c),
    }
}
