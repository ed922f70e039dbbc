//! `gpse vectors run`: the conformance vectors, as a pass/fail table and JUnit XML.

use gpse::vectors::{self, junit, VectorOutcome};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum VectorsCmd {
    /// Run every vector under DIR (default ./vectors), each on a fresh in-process card.
    #[command(after_help = "Example: gpse vectors run vectors --junit target/vectors.xml")]
    Run {
        /// A vector directory (sets are its sub-directories) or one set.
        #[arg(default_value = "vectors")]
        dir: PathBuf,
        /// Also write JUnit XML here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Run against a PC/SC reader (gpse serve or a real card) instead of fresh in-process
        /// cards; each vector starts with a power cycle.
        #[arg(long, value_name = "NAME")]
        reader: Option<String>,
    },
}

pub fn run(c: VectorsCmd) -> Result<ExitCode, String> {
    match c {
        VectorsCmd::Run { dir, junit: junit_path, reader } => {
            let found = vectors::discover(&dir)?;
            if found.is_empty() {
                return Err(format!("{}: no vectors (*.gpse in set directories)", dir.display()));
            }
            let results = match reader {
                Some(r) => {
                    let mut t = gpse::transport::pcsc::PcscTransport::connect(&r).map_err(|e| e.to_string())?;
                    vectors::run_on(&found, &mut t)
                }
                None => vectors::run_in_process(&found),
            };
            print!("{}", vectors::table(&results));
            if let Some(p) = junit_path {
                let xml = junit::report(&results)?;
                std::fs::write(&p, xml).map_err(|e| format!("{}: {e}", p.display()))?;
            }
            let ok = results.iter().all(|r| matches!(r.outcome, VectorOutcome::Passed { .. }));
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}
