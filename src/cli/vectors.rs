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
    },
}

/// Without --reader each vector runs on a fresh in-process card of its own set's profile and
/// seed; with --reader (gpse serve or a real card) each starts with a power cycle.
pub fn run(c: VectorsCmd, g: &super::Globals) -> Result<ExitCode, super::Fail> {
    use super::common::Opt;
    // The vectors fix their cards' seeds and profiles; there is no card image to name.
    g.unused("vectors run", &[Opt::State, Opt::Seed])?;
    match c {
        VectorsCmd::Run { dir, junit: junit_path } => {
            let reader = g.one_reader()?;
            if g.debug && reader.is_none() {
                return Err("--debug shows the APDUs exchanged with a --reader; in-process vectors print theirs in the JUnit system-out".into());
            }
            let found = vectors::discover(&dir)?;
            if found.is_empty() {
                return Err(format!("{}: no vectors (*.gpse in set directories)", dir.display()).into());
            }
            let results = match reader {
                Some(r) => {
                    let mut t = g.traced(super::common::connect_reader(r)?);
                    vectors::run_on(&found, t.as_mut())
                }
                None => vectors::run_in_process(&found),
            };
            out!("{}", vectors::table(&results));
            if let Some(p) = junit_path {
                let xml = junit::report(&results)?;
                std::fs::write(&p, xml).map_err(|e| format!("{}: {e}", p.display()))?;
            }
            // A vector skipped because the reader's card is not of its set's profile is no
            // failure; the table says why.
            let ok = results
                .iter()
                .all(|r| matches!(r.outcome, VectorOutcome::Passed { .. } | VectorOutcome::Skipped { .. }));
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}
