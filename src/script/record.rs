//! Recording: every exchange and directive written as a native script with exact expectations,
//! so the recording replays against the same (seeded) card byte for byte.
//!
//! Secrets never go into a recording (issue #19 §8): a PIN or key field ([`super::mask`])
//! becomes a variable (`$pin1`, `$key1`, one per distinct value) and the static keys of
//! `scp03 open` become `$keys` (`$keys2`, … for other key sets). A comment at the first use says
//! how to give the value at replay: `gpse run --keys …` (or `--keys-file`, `GPSE_KEYS`) for
//! `$keys`, `--var NAME=HEX` or `GPSE_VAR_NAME` for the others.

use super::mask::{Masker, Secret};
use super::{Action, Scp03Open};
use crate::hexutil::upper;
use std::fmt::Write;

/// Turns secret values into variable names, consistently over one recording.
#[derive(Debug, Default)]
pub struct SecretNames {
    masker: Masker,
    /// (value, name) of every secret seen.
    names: Vec<(Vec<u8>, String)>,
}

impl SecretNames {
    pub fn new() -> SecretNames {
        SecretNames::default()
    }

    /// Reset or power cycle: secure channel sessions end.
    pub fn reset(&mut self) {
        self.masker.reset();
    }

    /// The variable for `value`; a new one gets a comment line (in `out`) saying how to give it.
    fn name(&mut self, stem: &str, value: &[u8], what: &str, out: &mut String) -> String {
        // `key1` is of stem `key`, `keys2` is not.
        let of_stem = |n: &str| n.strip_prefix(stem).is_some_and(|r| r.chars().all(|c| c.is_ascii_digit()));
        if let Some((_, n)) = self.names.iter().find(|(v, n)| v == value && of_stem(n)) {
            return n.clone();
        }
        let k = self.names.iter().filter(|(_, n)| of_stem(n)).count() + 1;
        let name = match (stem, k) {
            ("keys", 1) => "keys".to_string(),
            _ => format!("{stem}{k}"),
        };
        let how = if name == "keys" {
            "gpse run --keys ENC:MAC:DEK (or --keys-file FILE, or GPSE_KEYS)".to_string()
        } else {
            format!("gpse run --var {name}=HEX (or GPSE_VAR_{name})")
        };
        let _ = writeln!(out, "# ${name}: {what} ({} bytes), not recorded; give it at replay: {how}", value.len());
        self.names.push((value.to_vec(), name.clone()));
        name
    }

    /// `COMMAND => RESPONSE` with a secret field of the command as its variable, preceded by
    /// a comment line when the variable is new.
    pub fn exchange_line(&mut self, cmd: &[u8], rsp: &[u8]) -> String {
        let mut out = String::new();
        let line = match self.masker.observe(cmd) {
            Some((r, kind)) => {
                let what = match kind {
                    Secret::Pin => "a PIN",
                    Secret::Key => "key material",
                };
                let var = self.name(kind.stem(), &cmd[r.clone()], what, &mut out);
                format!("{} ${var} {} => {}", upper(&cmd[..r.start]), upper(&cmd[r.end..]), upper(rsp))
            }
            None => exchange_line(cmd, rsp),
        };
        out.push_str(line.trim_end());
        out.replace("  ", " ")
    }

    /// The `scp03 open` line with its keys as a variable (plus the comment when new).
    pub fn scp03_line(&mut self, p: &Scp03Open) -> String {
        let mut out = String::new();
        let var = match &p.keys_var {
            Some(v) => v.clone(),
            None => {
                let all = [p.enc.as_slice(), &p.mac, &p.dek].concat();
                self.name("keys", &all, "the SCP03 static keys ENC‖MAC‖DEK", &mut out)
            }
        };
        out.push_str(&scp03_line(p, &format!("${var}")));
        out
    }
}

/// Collects a native script.
#[derive(Debug, Default)]
pub struct Recorder {
    text: String,
    secrets: SecretNames,
}

impl Recorder {
    /// A recorder whose script starts with a comment header.
    pub fn new(header: &str) -> Recorder {
        let mut r = Recorder::default();
        for l in header.lines() {
            let _ = writeln!(r.text, "# {l}");
        }
        r
    }

    /// One command and its (plain) response; a secret field becomes a variable.
    pub fn exchange(&mut self, cmd: &[u8], rsp: &[u8]) {
        let line = self.secrets.exchange_line(cmd, rsp);
        let _ = writeln!(self.text, "{line}");
    }

    /// A directive; `scp03 open` keys become a variable.
    pub fn action(&mut self, a: &Action) {
        if matches!(a, Action::Reset | Action::PowerCycle) {
            self.secrets.reset();
        }
        let line = match a {
            Action::Scp03Open(p) => Some(self.secrets.scp03_line(p)),
            _ => action_line(a),
        };
        if let Some(line) = line {
            let _ = writeln!(self.text, "{line}");
        }
    }

    /// A comment line.
    pub fn comment(&mut self, c: &str) {
        let _ = writeln!(self.text, "# {c}");
    }

    /// The script so far.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// `COMMAND => RESPONSE`, the exact response as the expectation.
pub fn exchange_line(cmd: &[u8], rsp: &[u8]) -> String {
    format!("{} => {}", upper(cmd), upper(rsp))
}

/// The native directive line of an action (`None` for an APDU). `scp03 open` names its keys
/// `$keys` (a recording goes through [`Recorder`], which names each key set).
pub fn action_line(a: &Action) -> Option<String> {
    Some(match a {
        Action::Reset => "reset".to_string(),
        Action::PowerCycle => "power cycle".to_string(),
        Action::Channel(c) => format!("channel {c}"),
        Action::Scp03Close => "scp03 close".to_string(),
        Action::Scp03Open(p) => scp03_line(p, &format!("${}", p.keys_var.as_deref().unwrap_or("keys"))),
        Action::Set { name, value } => format!("set ${name} {}", upper(value)),
        Action::Echo(s) => format!("echo {s}"),
        Action::Apdu { .. } => return None,
    })
}

fn scp03_line(p: &Scp03Open, keys: &str) -> String {
    let mut s = format!("scp03 open {keys} {:02X} {:02X}", p.kvn, p.level);
    if let Some(c) = p.host_challenge {
        let _ = write!(s, " {}", upper(&c));
    }
    s
}
