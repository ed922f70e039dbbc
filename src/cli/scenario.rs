//! `gpse scenario run`: a lifecycle scenario (vectors/scenarios/*.toml) across phones, TSMs, the
//! test CA and the revocation list, with its expectations checked after each step.

use super::common::parse_num;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum ScenarioCmd {
    /// Run one scenario; the phones' card images go to --state (a new temporary directory if absent).
    #[command(after_help = "Example: gpse scenario run vectors/scenarios/change-of-phone.toml")]
    Run {
        file: PathBuf,
        /// Keep the phones' card images here.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// Seed for the cards, the CA and the temporary PINs.
        #[arg(long, default_value = "7", value_parser = parse_num)]
        seed: u64,
        /// Put a phone behind a PC/SC reader (`gpse serve` or a real SE): PHONE=READER, or READER
        /// alone for the scenario's first phone; repeatable. The other phones run in-process.
        #[arg(long, value_name = "PHONE=READER")]
        reader: Vec<String>,
    },
}

pub fn run(c: ScenarioCmd) -> Result<ExitCode, String> {
    let ScenarioCmd::Run { file, state, seed, reader } = c;
    let sc = gpse::host::scenario::load(&file).map_err(|e| e.to_string())?;
    let mut readers: std::collections::BTreeMap<String, Box<dyn gpse::transport::Transport>> = Default::default();
    for r in &reader {
        let (phone, name) = match r.split_once('=') {
            Some((p, n)) => (p.to_string(), n.to_string()),
            None => (sc.phones.first().cloned().ok_or("the scenario has no phone")?, r.clone()),
        };
        if !sc.phones.contains(&phone) {
            return Err(format!("--reader {r}: the scenario has no phone '{phone}'"));
        }
        let t = gpse::transport::pcsc::PcscTransport::connect(&name).map_err(|e| e.to_string())?;
        readers.insert(phone, Box::new(t));
    }
    // Without --state the images live in a temporary directory removed at the end.
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let root = state.unwrap_or_else(|| tmp.path().to_path_buf());
    println!("scenario: {}", sc.name);
    let r = gpse::host::scenario::run_with(&sc, &root, seed, readers, &mut |l| println!("  {l}"));
    match r {
        Ok(n) => {
            println!("scenario passed: {n} steps");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("scenario FAILED: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
