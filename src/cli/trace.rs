//! `gpse trace`: a script or recording, each command named and its TLV decoded.

use gpse::script::{parse_file, trace, Format};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// The script format [default: detected].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// A script or a recording.
    pub file: PathBuf,
}

pub fn run(a: TraceArgs, g: &super::Globals) -> Result<ExitCode, super::Fail> {
    use super::common::Opt;
    g.unused("trace", &[Opt::State, Opt::Reader, Opt::Seed, Opt::Debug])?;
    let steps = parse_file(&a.file, a.format).map_err(|e| e.to_string())?;
    out!("{}", trace::describe(&steps));
    Ok(ExitCode::SUCCESS)
}
