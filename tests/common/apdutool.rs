//! The Java Card SDK's apdutool: its scripts read by the project's own parser (as `gpse run`
//! reads them) and its output lines (the SDK's `.expected.out` format).

use gpse::apdu::Command;
use gpse::script::{Action, Chunk};
use std::path::Path;

/// apdutool's output line for a command and its response (the SDK's `.expected.out` format).
pub fn apdutool_line(c: &Command, rsp: &[u8]) -> String {
    let mut s =
        format!("CLA: {:02x}, INS: {:02x}, P1: {:02x}, P2: {:02x}, Lc: {:02x}", c.cla, c.ins, c.p1, c.p2, c.data.len());
    for x in &c.data {
        s += &format!(", {x:02x}");
    }
    let (data, sw) = rsp.split_at(rsp.len() - 2);
    s += &format!(", Le: {:02x}", data.len());
    for x in data {
        s += &format!(", {x:02x}");
    }
    s + &format!(", SW1: {:02x}, SW2: {:02x}", sw[0], sw[1])
}

/// An apdutool script's commands, read by the same parser as `gpse run` (`script::apdutool`).
pub fn apdutool_commands(script: &str) -> Vec<Command> {
    gpse::script::parse_text(Path::new("demo1.scr"), script, Some(gpse::script::Format::Apdutool))
        .unwrap()
        .into_iter()
        .filter_map(|s| match s.action {
            Action::Apdu { chunks, .. } => match chunks.as_slice() {
                [Chunk::Bytes(b)] => Some(Command::parse(b).unwrap()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A file of the SDK's (Latin-1: a © in the header comments) as text.
pub fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}
