//! `gpse run`: replay an APDU script (native, scriptor, apdutool or plain hex) against a card,
//! checking expectations; optionally record what happened as a native script.

use super::common::{parse_keys, KeysArg};
use super::{Fail, Globals};
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::script::record::Recorder;
use gpse::script::runner::{self, Options};
use gpse::script::{parse_file, Format};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpse run --state ./card tests/data/select-isd.gpse
  gpse run --fresh --seed 7 --record out.gpse session.scr      # apdutool script on a new default card
  gpse run --fresh --seed 7 out.gpse                           # replays the recording byte for byte

Recordings hold no PINs or keys: `scp03 open $keys` takes the keys from --keys, --keys-file or
GPSE_KEYS, and a PIN or key field recorded as $pin1, $key1, … from --var pin1=HEX or the
environment variable GPSE_VAR_pin1 (the recording's comments name each one).")]
pub struct RunArgs {
    /// Run on a new in-memory card from the default profile (or --profile) instead of a card
    /// image (not with --state or --reader).
    #[arg(long)]
    pub fresh: bool,
    /// Profile for --fresh.
    #[arg(long, requires = "fresh")]
    pub profile: Option<PathBuf>,
    /// Report every mismatch instead of stopping at the first.
    #[arg(long)]
    pub keep_going: bool,
    /// Print only mismatches and the summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// The script format [default: detected from the content].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the session as a native script with expectations.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// The keys of `scp03 open $keys` lines (recordings write their keys so).
    #[command(flatten)]
    pub keys: KeysArg,
    /// Set a variable before the script starts: NAME=HEX (or NAME=ENC:MAC:DEK for key sets);
    /// repeatable. GPSE_VAR_NAME=HEX in the environment does the same.
    #[arg(long = "var", value_name = "NAME=HEX")]
    pub vars: Vec<String>,
    /// Record which bytecodes of the card's CAP applets ran and write LCOV to FILE (source lines
    /// from CAPs with a Debug component; the others as a per-method table in FILE.txt). Not with
    /// --reader.
    #[arg(long, value_name = "FILE")]
    pub coverage: Option<PathBuf>,
    /// The script.
    pub file: PathBuf,
}

pub fn run(a: RunArgs, g: &Globals) -> Result<ExitCode, Fail> {
    if a.fresh && (g.state.is_some() || !g.reader.is_empty()) {
        return Err("--fresh runs on a new in-memory card: not with --state or --reader".into());
    }
    let seed = g.seed;
    // The whole script parses before anything is sent.
    let steps = parse_file(&a.file, a.format).map_err(|e| e.to_string())?;
    let mut card = if a.fresh {
        let profile = match &a.profile {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                Profile::parse(&text, &p.display().to_string()).map_err(|e| e.to_string())?
            }
            None => Profile::default_profile(),
        };
        let img = profile.build(&Overrides::default(), &mut CardRng::new(seed)).map_err(|e| e.to_string())?;
        let mut c = Card::in_memory(img, seed).map_err(|e| e.to_string())?;
        c.power_on();
        g.traced(Box::new(c))
    } else {
        g.transport()?
    };
    if a.coverage.is_some() && !card.set_coverage(true) {
        return Err("--coverage needs a card in this process (--state or --fresh), not a reader".into());
    }
    let mut rec = a.record.as_ref().map(|_| {
        Recorder::new(&format!(
            "recorded by gpse {} from {}{}",
            env!("CARGO_PKG_VERSION"),
            a.file.display(),
            seed.map(|s| format!(", card seed {s}")).unwrap_or_default()
        ))
    });
    let opts = Options { keep_going: a.keep_going, quiet: a.quiet, vars: initial_vars(&a)? };
    let mut stdout = super::out::Stdout;
    // Host challenges the script does not fix: reproducible with --seed, random otherwise.
    let mut opener = gpse::script::scp::opener(CardRng::new(seed.map(|s| s ^ 0x6770_7365_686f_7374)));
    let sum = runner::run(&steps, card.as_mut(), &opts, Some(&mut opener), &mut stdout, rec.as_mut())
        .map_err(|e| e.to_string())?;
    if let (Some(path), Some(report)) = (&a.coverage, card.coverage_report()) {
        super::common::write_coverage(path, &report)?;
    }
    if let (Some(path), Some(r)) = (&a.record, &rec) {
        std::fs::write(path, r.text()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    outln!(
        "{}: {} exchanges, {} expectations met, {} not met",
        a.file.display(),
        sum.exchanges,
        sum.passed,
        sum.failed
    );
    Ok(if sum.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Variables given outside the script: GPSE_VAR_* from the environment, then --var (which wins),
/// then `keys` from --keys / --keys-file / GPSE_KEYS.
fn initial_vars(a: &RunArgs) -> Result<HashMap<String, Vec<u8>>, String> {
    let value = |what: &str, v: &str| -> Result<Vec<u8>, String> {
        if v.contains(':') {
            let (e, m, d) = parse_keys(v).map_err(|e| format!("{what}: {e}"))?;
            Ok([e, m, d].concat())
        } else {
            super::common::hex_arg(what, v)
        }
    };
    let mut vars = HashMap::new();
    for (k, v) in std::env::vars() {
        if let Some(name) = k.strip_prefix("GPSE_VAR_").filter(|n| !n.is_empty()) {
            vars.insert(name.to_string(), value(&k, &v)?);
        }
    }
    for s in &a.vars {
        let (name, v) = s.split_once('=').ok_or_else(|| format!("--var {s}: expected NAME=HEX"))?;
        let name = name.trim_start_matches('$');
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("--var {s}: a variable name is letters, digits and _"));
        }
        vars.insert(name.to_string(), value(&format!("--var {name}"), v)?);
    }
    if let Some((e, m, d)) = a.keys.get()? {
        vars.insert("keys".to_string(), [e, m, d].concat());
    }
    Ok(vars)
}
