//! `gpse cap info|dump FILE`: a CAP file's components, imports and applets, and a disassembly
//! of every method in the converter's `.jca` style (issue #14). Both forms are read: the zip a
//! converter writes and the raw concatenated components of a Load File Data Block.

use gpse::jcvm::cap::{dump, Cap};
use gpse::jcvm::verify::verify;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum CapCmd {
    /// Format version, flags, package, imports, applets and component sizes; then whether the
    /// load-time verifier accepts it.
    Info {
        /// A `.cap` file (zip) or a raw Load File Data Block.
        file: PathBuf,
    },
    /// Constant pool and every method's instructions with resolved references.
    Dump {
        /// A `.cap` file (zip) or a raw Load File Data Block.
        file: PathBuf,
    },
}

fn load(file: &PathBuf) -> Result<Cap, String> {
    let b = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    Cap::parse(&b).map_err(|e| format!("{}: {e}", file.display()))
}

pub fn run(c: CapCmd) -> Result<ExitCode, String> {
    match c {
        CapCmd::Info { file } => {
            let cap = load(&file)?;
            print!("{}", dump::info_text(&cap));
            match verify(&cap) {
                Ok(()) => println!("verifier: accepted"),
                Err(e) => {
                    return Err(format!(
                        "{}: verifier refuses it (LOAD would answer {:04X}): {e}",
                        file.display(),
                        e.status_word()
                    ))
                }
            }
        }
        CapCmd::Dump { file } => {
            let cap = load(&file)?;
            print!("{}", dump::dump_text(&cap).map_err(|e| format!("{}: {e}", file.display()))?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
