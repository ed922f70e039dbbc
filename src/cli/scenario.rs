//! `gpse scenario run`: a lifecycle scenario (vectors/scenarios/*.toml) across phones, TSMs, the
//! test CA and the revocation list, with its expectations checked after each step.

use super::{Fail, Globals};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum ScenarioCmd {
    /// Run one scenario; each step prints its operation and outcome once its expectations are
    /// checked. The phones' card images go to --state DIR/PHONE (an empty or new directory;
    /// default: a temporary one, removed at the end). --seed (default 7) seeds the cards, the CA
    /// and the temporary PINs. --reader PHONE=READER (or READER alone for the first phone; repeatable)
    /// puts a phone behind a PC/SC reader (`gpse serve` or a real SE). Exit 0 passed, 1 failed,
    /// 2 usage error.
    #[command(after_help = "Example: gpse scenario run vectors/scenarios/change-of-phone.toml")]
    Run { file: PathBuf },
}

pub fn run(c: ScenarioCmd, g: &Globals) -> Result<ExitCode, Fail> {
    let ScenarioCmd::Run { file } = c;
    if g.debug && g.reader.is_empty() {
        return Err(
            "--debug shows the APDUs exchanged with phones behind --reader; in-process phones log their steps".into()
        );
    }
    let seed = g.seed.unwrap_or(7);
    let sc = gpse::host::scenario::load(&file).map_err(|e| e.to_string())?;
    let mut readers: std::collections::BTreeMap<String, Box<dyn gpse::transport::Transport>> = Default::default();
    for r in &g.reader {
        let (phone, name) = match r.split_once('=') {
            Some((p, n)) => (p.to_string(), n.to_string()),
            None => (sc.phones.first().cloned().ok_or("the scenario has no phone")?, r.clone()),
        };
        if !sc.phones.contains(&phone) {
            return Err(format!("--reader {r}: the scenario has no phone '{phone}'").into());
        }
        readers.insert(phone, g.traced(super::common::connect_reader(&name)?));
    }
    // A phone's image left by an earlier run would make the scenario's first step fail: refuse
    // it as a usage error, before anything runs.
    if let Some(root) = &g.state {
        for p in &sc.phones {
            let img = root.join(p).join("card.gpse");
            if img.exists() && !readers.contains_key(p) {
                return Err(format!(
                    "{}: a card image from an earlier run; give an empty --state directory (or delete {})",
                    img.display(),
                    root.join(p).display()
                )
                .into());
            }
        }
    }
    // Without --state the images live in a temporary directory removed at the end.
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let root = g.state.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    outln!("scenario: {}", sc.name);
    let r = gpse::host::scenario::run_with(&sc, &root, seed, readers, &mut |l| outln!("  {l}"));
    match r {
        Ok(n) => {
            outln!("scenario passed: {n} steps");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            outln!("  step {}: {}: FAILED: {}", e.step, e.op, e.error);
            outln!("scenario FAILED at step {}", e.step);
            Ok(ExitCode::from(1))
        }
    }
}
