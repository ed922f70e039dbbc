//! `gpse ace`: the card's access rules as Android's SecureElement service reads them, and its
//! decision for an app (`gpse::host::ace`, `applet-spec/ara-m.md`).

use super::common::hex_arg;
use super::{Fail, Globals};
use gpse::host::ace::{describe_ar, describe_key, Ace, AraState};
use gpse::transport::Transport;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum AceCmd {
    /// Print the ARA-M's rules (AID, app certificate hash, APDU access and filters, NFC events).
    #[command(after_help = "Example: gpse ace rules --state ./card")]
    Rules(RulesArgs),
    /// Decide as Android would whether an app may open a channel to an AID (and send an APDU).
    /// Prints `allowed` or `denied` and the rule that decided; exit 0 allowed, 1 denied, 2 error.
    #[command(
        after_help = "Example: gpse ace check --state ./card --cert-hash 2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD --aid D392F000260100000001 --apdu 00A4020C020001"
    )]
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// SHA-1 (20 bytes) or SHA-256 (32 bytes) of the app's signing certificate, hex; repeat for
    /// several (Android tries both hashes of every signing certificate).
    #[arg(long = "cert-hash", value_name = "HASH", required = true)]
    pub cert_hash: Vec<String>,
    /// The SE application's AID (hex, 5-16 bytes), or `default` for the default application.
    #[arg(long, value_name = "AID")]
    pub aid: String,
    /// An APDU the app would send on that channel (hex).
    #[arg(long, value_name = "HEX")]
    pub apdu: Option<String>,
}

pub fn run(c: AceCmd, g: &Globals) -> Result<ExitCode, Fail> {
    Ok(match c {
        AceCmd::Rules(a) => rules(a, g),
        AceCmd::Check(a) => check(a, g),
    }?)
}

fn read(g: &Globals) -> Result<Ace, String> {
    let mut t: Box<dyn Transport> = g.transport()?;
    let mut ace = Ace::new();
    ace.refresh(t.as_mut()).map_err(|e| format!("{}: {e}", t.name()))?;
    Ok(ace)
}

fn rules(_a: RulesArgs, g: &Globals) -> Result<ExitCode, String> {
    let ace = read(g)?;
    match ace.state() {
        AraState::Ready => {}
        AraState::Absent => return Err("no ARA-M on the card (SELECT A00000015141434C00 answered 6A82)".into()),
        AraState::Error(m) => return Err(format!("the ARA-M's rules cannot be read as Android reads them: {m}")),
        AraState::NotRead => return Err("the ARA-M was not read".into()),
    }
    let tag = ace.refresh_tag().map(hex::encode_upper).unwrap_or_default();
    outln!("refresh tag {tag}, {} rule(s)", ace.rules().len());
    for (i, r) in ace.rules().iter().enumerate() {
        let note = if r.key.is_carrier_privilege() { " (carrier privilege: ignored by OMAPI)" } else { "" };
        outln!("rule {}: {} -> {}{note}", i + 1, describe_key(&r.key), describe_ar(&r.ar));
        outln!("  {}", hex::encode_upper(&r.raw));
    }
    Ok(ExitCode::SUCCESS)
}

fn check(a: CheckArgs, g: &Globals) -> Result<ExitCode, String> {
    let hashes = a
        .cert_hash
        .iter()
        .map(|h| {
            let b = hex_arg("--cert-hash", h)?;
            if b.len() == 20 || b.len() == 32 {
                Ok(b)
            } else {
                Err(format!("--cert-hash '{h}': a SHA-1 (20 bytes) or SHA-256 (32 bytes) hash"))
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    let aid = match a.aid.as_str() {
        "default" => None,
        s => {
            let b = hex_arg("--aid", s)?;
            if !(5..=16).contains(&b.len()) {
                return Err(format!("--aid '{s}': an AID is 5 to 16 bytes"));
            }
            Some(b)
        }
    };
    let apdu = a.apdu.as_deref().map(|s| hex_arg("--apdu", s)).transpose()?;
    let ace = read(g)?;
    let d = match &apdu {
        Some(x) => ace.check_apdu(&hashes, aid.as_deref(), x),
        None => ace.check_open(&hashes, aid.as_deref()),
    };
    outln!("{}", if d.allowed { "allowed" } else { "denied" });
    outln!("reason: {}", d.reason);
    if let Some(rule) = ace.describe(&d) {
        outln!("rule: {rule}");
    }
    outln!("NFC events: {}", if d.nfc_allowed { "allowed" } else { "denied" });
    Ok(if d.allowed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
