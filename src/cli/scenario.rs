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
    },
}

pub fn run(c: ScenarioCmd) -> Result<ExitCode, String> {
    let ScenarioCmd::Run { file, state, seed } = c;
    let sc = gpse::host::scenario::load(&file)?;
    // Without --state the images live in a temporary directory removed at the end.
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let root = state.unwrap_or_else(|| tmp.path().to_path_buf());
    println!("scenario: {}", sc.name);
    let r = gpse::host::scenario::run(&sc, &root, seed, &mut |l| println!("  {l}"));
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
