//! `gpse cap info|dump FILE`: a CAP file's components, imports and applets, and a disassembly
//! of every method in the converter's `.jca` style (issue #14). Both forms are read: the zip a
//! converter writes and the raw concatenated components of a Load File Data Block.

use super::common::Opt;
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
        #[arg(required_unless_present = "installed")]
        file: Option<PathBuf>,
        /// Instead of a file: the packages loaded on the card (--state) with their applets,
        /// instances and the memory each uses.
        #[arg(long, conflicts_with = "file")]
        installed: bool,
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

pub fn run(c: CapCmd, g: &super::Globals) -> Result<ExitCode, super::Fail> {
    if let CapCmd::Info { installed: true, .. } = c {
        g.unused("cap info --installed", &[Opt::Reader, Opt::Seed, Opt::Debug])?;
        return installed(g);
    }
    g.unused("cap", &[Opt::State, Opt::Reader, Opt::Seed, Opt::Debug])?;
    match c {
        CapCmd::Info { file, .. } => {
            let Some(file) = file else { return Err("give a CAP file, or --installed".into()) };
            let cap = load(&file)?;
            out!("{}", dump::info_text(&cap));
            match verify(&cap) {
                Ok(()) => outln!("verifier: accepted"),
                Err(e) => {
                    return Err(format!(
                        "{}: verifier refuses it (LOAD would answer {:04X}): {e}",
                        file.display(),
                        e.status_word()
                    )
                    .into())
                }
            }
        }
        CapCmd::Dump { file } => {
            let cap = load(&file)?;
            out!("{}", dump::dump_text(&cap).map_err(|e| format!("{}: {e}", file.display()))?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cap info --installed`: the card's loaded packages (from its JCVM state), their applets and
/// what is not implemented of their imports, then the memory per package and instance.
fn installed(g: &super::Globals) -> Result<ExitCode, super::Fail> {
    let dir = g.card_dir();
    let card = super::common::open_card(&dir, None)?;
    let Some(state) = card.image().shared_state(gpse::jcvm::hosted::NAME) else {
        outln!("no CAP file loaded on {}", dir.path().display());
        return Ok(ExitCode::SUCCESS);
    };
    let vm = gpse::jcvm::Jcvm::restore(state).map_err(|e| format!("the card's Java Card VM state: {e}"))?;
    for p in vm.packages() {
        outln!("package {} v{}.{}", hex::encode_upper(&p.aid), p.version.0, p.version.1);
        for a in &p.applets {
            outln!("  applet {}", hex::encode_upper(a));
        }
        for m in &p.missing {
            outln!("  not implemented: {m}");
        }
    }
    super::card::print_memory(&vm.memory());
    Ok(ExitCode::SUCCESS)
}
