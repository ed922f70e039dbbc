//! Recording: every exchange and directive written as a native script with exact expectations,
//! so the recording replays against the same (seeded) card byte for byte.

use super::{Action, Scp03Open};
use crate::hexutil::upper;
use std::fmt::Write;

/// Collects a native script.
#[derive(Debug, Default)]
pub struct Recorder {
    text: String,
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

    /// One command and its (plain) response.
    pub fn exchange(&mut self, cmd: &[u8], rsp: &[u8]) {
        let _ = writeln!(self.text, "{}", exchange_line(cmd, rsp));
    }

    /// A directive.
    pub fn action(&mut self, a: &Action) {
        if let Some(line) = action_line(a) {
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

/// The native directive line of an action (`None` for an APDU).
pub fn action_line(a: &Action) -> Option<String> {
    Some(match a {
        Action::Reset => "reset".to_string(),
        Action::PowerCycle => "power cycle".to_string(),
        Action::Channel(c) => format!("channel {c}"),
        Action::Scp03Close => "scp03 close".to_string(),
        Action::Scp03Open(p) => scp03_line(p),
        Action::Set { name, value } => format!("set ${name} {}", upper(value)),
        Action::Echo(s) => format!("echo {s}"),
        Action::Apdu { .. } => return None,
    })
}

fn scp03_line(p: &Scp03Open) -> String {
    let mut s =
        format!("scp03 open {}:{}:{} {:02X} {:02X}", upper(&p.enc), upper(&p.mac), upper(&p.dek), p.kvn, p.level);
    if let Some(c) = p.host_challenge {
        let _ = write!(s, " {}", upper(&c));
    }
    s
}
