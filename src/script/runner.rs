//! Replays parsed steps against any `Transport`, checks expectations, and reports mismatches
//! with the line, what was expected and what came back.

use super::record::Recorder;
use super::{Action, Chunk, Loc, Scp03Open, Step};
use crate::apdu::Class;
use crate::hexutil::upper;
use crate::transport::Transport;
use std::collections::HashMap;
use std::io::Write;

/// A secure channel the runner wraps commands in (SCP03 host side).
pub trait SecureSession {
    /// Plain command → wire command.
    fn wrap(&mut self, apdu: &[u8]) -> Result<Vec<u8>, String>;
    /// Wire response → plain response.
    fn unwrap(&mut self, rsp: &[u8]) -> Result<Vec<u8>, String>;
    /// The host challenge used, so a recording can fix it.
    fn host_challenge(&self) -> [u8; 8];
}

/// Opens a secure session for `scp03 open` on a channel.
pub type SessionOpener = dyn FnMut(&mut dyn Transport, &Scp03Open, u8) -> Result<Box<dyn SecureSession>, String>;

/// How to run.
#[derive(Default)]
pub struct Options {
    /// Go on after a mismatch and report all of them.
    pub keep_going: bool,
    /// Print nothing but mismatches and the summary.
    pub quiet: bool,
    /// Variables set before the first step (a recording's `$keys`, `$pin1`, … given at replay).
    pub vars: HashMap<String, Vec<u8>>,
}

/// One failed expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub loc: Loc,
    pub command: String,
    pub expected: String,
    pub got: String,
    pub why: String,
    /// Index of the first differing response byte.
    pub at: usize,
}

impl Failure {
    /// A readable report: line, expected, got, and a caret under the first difference.
    pub fn report(&self) -> String {
        format!(
            "{}: response mismatch ({})\n  command:  {}\n  expected: {}\n  got:      {}\n            {}^",
            self.loc,
            self.why,
            self.command,
            self.expected,
            self.got,
            " ".repeat(self.at * 2)
        )
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub exchanges: usize,
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<Failure>,
}

/// Why a run stopped before its end (not a mismatch).
#[derive(Debug, thiserror::Error)]
#[error("{loc}: {msg}")]
pub struct RunError {
    pub loc: Loc,
    pub msg: String,
}

/// Runs `steps` on `t`.
pub fn run(
    steps: &[Step],
    t: &mut dyn Transport,
    opts: &Options,
    mut opener: Option<&mut SessionOpener>,
    out: &mut dyn Write,
    mut rec: Option<&mut Recorder>,
) -> Result<Summary, RunError> {
    let mut vars: HashMap<String, Vec<u8>> = opts.vars.clone();
    // `> …` lines print PINs and keys as `**` (the same masking as `serve -v` and `trace`).
    let mut masker = super::mask::Masker::new();
    let mut channel: Option<u8> = None;
    let mut session: Option<Box<dyn SecureSession>> = None;
    let mut sum = Summary::default();
    for step in steps {
        let fail = |m: String| RunError { loc: step.loc.clone(), msg: m };
        match &step.action {
            Action::Reset | Action::PowerCycle => {
                let r = if step.action == Action::Reset { t.reset() } else { t.power_cycle() };
                let atr = r.map_err(|e| fail(e.to_string()))?;
                session = None;
                masker.reset();
                if !opts.quiet {
                    let _ = writeln!(out, "> {}", if step.action == Action::Reset { "RESET" } else { "POWER CYCLE" });
                    let _ = writeln!(out, "< ATR {}", upper(&atr));
                }
                if let Some(r) = rec.as_deref_mut() {
                    r.action(&step.action);
                }
            }
            Action::Channel(c) => {
                channel = Some(*c);
                if let Some(r) = rec.as_deref_mut() {
                    r.action(&step.action);
                }
            }
            Action::Set { name, value } => {
                vars.insert(name.clone(), value.clone());
                if let Some(r) = rec.as_deref_mut() {
                    r.action(&step.action);
                }
            }
            Action::Echo(s) => {
                if !opts.quiet {
                    let _ = writeln!(out, "{s}");
                }
            }
            Action::Scp03Close => {
                session = None;
                if let Some(r) = rec.as_deref_mut() {
                    r.action(&step.action);
                }
            }
            Action::Scp03Open(p) => {
                let open = opener.as_deref_mut().ok_or_else(|| fail("this runner has no SCP03 host".into()))?;
                let keyed;
                let orig: &Scp03Open = p;
                let p = match &p.keys_var {
                    Some(v) => {
                        keyed = with_keys(p, v, &vars).map_err(fail)?;
                        &keyed
                    }
                    None => p,
                };
                let s = open(t, p, channel.unwrap_or(0)).map_err(|e| fail(format!("scp03 open: {e}")))?;
                if let Some(r) = rec.as_deref_mut() {
                    // As written: a `$keys` stays a name, clear keys get one.
                    let mut fixed = orig.clone();
                    fixed.host_challenge = Some(s.host_challenge());
                    r.action(&Action::Scp03Open(Box::new(fixed)));
                }
                if !opts.quiet {
                    let _ = writeln!(out, "> SCP03 session open at level {:02X}", p.level);
                }
                session = Some(s);
            }
            Action::Apdu { chunks, expect } => {
                let mut apdu = Vec::new();
                for c in chunks {
                    match c {
                        Chunk::Bytes(b) => apdu.extend(b),
                        Chunk::Var(n) => {
                            apdu.extend(vars.get(n).ok_or_else(|| fail(format!("variable ${n} is not set")))?)
                        }
                    }
                }
                if apdu.len() < 4 {
                    return Err(fail(format!("a command APDU has at least 4 bytes, this has {}", apdu.len())));
                }
                if let Some(ch) = channel {
                    if let Ok(cla) = Class::with_channel(apdu[0], ch) {
                        apdu[0] = cla;
                    }
                }
                let wire = match session.as_mut() {
                    Some(s) => s.wrap(&apdu).map_err(|e| fail(format!("SCP03 wrap: {e}")))?,
                    None => apdu.clone(),
                };
                let raw = t.transmit(&wire).map_err(|e| fail(e.to_string()))?;
                let rsp = match session.as_mut() {
                    Some(s) => s.unwrap(&raw).map_err(|e| fail(format!("SCP03 response: {e}")))?,
                    None => raw,
                };
                sum.exchanges += 1;
                if !opts.quiet {
                    let _ = writeln!(out, "> {}", masker.masked_hex(&apdu));
                    let _ = writeln!(out, "< {}", upper(&rsp));
                } else {
                    masker.observe(&apdu);
                }
                if let Some(r) = rec.as_deref_mut() {
                    r.exchange(&apdu, &rsp);
                }
                if let Some(p) = expect {
                    match p.check(&rsp, &mut vars) {
                        Ok(()) => sum.passed += 1,
                        Err(m) => {
                            sum.failed += 1;
                            let f = Failure {
                                loc: step.loc.clone(),
                                command: upper(&apdu),
                                expected: p.to_string(),
                                got: upper(&rsp),
                                why: m.why,
                                at: m.at,
                            };
                            let _ = writeln!(out, "{}", f.report());
                            sum.failures.push(f);
                            if !opts.keep_going {
                                return Ok(sum);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(sum)
}

/// `p` with its keys taken from variable `var` (ENC‖MAC‖DEK, three equal thirds).
fn with_keys(p: &Scp03Open, var: &str, vars: &HashMap<String, Vec<u8>>) -> Result<Scp03Open, String> {
    let how = if var == "keys" { "--keys, --keys-file or GPSE_KEYS" } else { "--var or GPSE_VAR_" };
    let k = vars.get(var).ok_or_else(|| format!("scp03 open: ${var} is not set (give the keys with {how})"))?;
    if k.is_empty() || k.len() % 3 != 0 {
        return Err(format!("scp03 open: ${var} has {} bytes, not ENC‖MAC‖DEK of equal length", k.len()));
    }
    let n = k.len() / 3;
    Ok(Scp03Open {
        keys_var: None,
        enc: k[..n].to_vec(),
        mac: k[n..2 * n].to_vec(),
        dek: k[2 * n..].to_vec(),
        ..p.clone()
    })
}
