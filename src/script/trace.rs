//! `gpse trace`: a script or recording with every command named and its TLV decoded, from the
//! tables in `applet-spec/commands.toml`.

use super::{Action, Chunk, PatternByte, Step};
use crate::apdu::{Class, Command, Response};
use crate::hexutil::upper;
use crate::tlv::{self, Mode, Node};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write;

const TABLES: &str = include_str!("../../applet-spec/commands.toml");

#[derive(Debug, Deserialize)]
struct Tables {
    command: Vec<CommandName>,
    instance: Vec<Instance>,
    tags: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct CommandName {
    applet: String,
    class: String,
    ins: String,
    p1: Option<String>,
    p2: Option<String>,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Instance {
    aid: String,
    applet: String,
}

// The embedded applet-spec/commands.toml is checked by a test: a failure is a bug.
#[allow(clippy::expect_used)]
fn tables() -> Tables {
    toml::from_str(TABLES).expect("applet-spec/commands.toml parses (checked by a test)")
}

fn hex_eq(field: &Option<String>, v: u8) -> bool {
    field.as_deref().is_none_or(|f| u8::from_str_radix(f, 16) == Ok(v))
}

impl Tables {
    fn name(&self, applet: &str, c: &Command) -> Option<&str> {
        let class = Class::parse(c.cla).ok()?;
        let cls = if class.proprietary { "gp" } else { "iso" };
        // The applet's own table first, then what every card answers.
        [applet, "any"].iter().find_map(|a| {
            self.command
                .iter()
                .filter(|n| n.applet == *a && (n.class == cls || n.class == "any"))
                .filter(|n| u8::from_str_radix(&n.ins, 16) == Ok(c.ins) && hex_eq(&n.p1, c.p1) && hex_eq(&n.p2, c.p2))
                .map(|n| n.name.as_str())
                .next()
        })
    }

    fn applet_of(&self, aid: &[u8]) -> Option<&str> {
        if aid.is_empty() {
            return Some("isd");
        }
        self.instance
            .iter()
            .find(|i| crate::hexutil::parse_hex(&i.aid).is_ok_and(|a| a.starts_with(aid)))
            .map(|i| i.applet.as_str())
    }

    fn tlv(&self, data: &[u8], indent: usize, out: &mut String) {
        match Node::parse_all(data, Mode::Ber) {
            Ok(nodes) => nodes.iter().for_each(|n| self.node(n, indent, out)),
            Err(e @ crate::tlv::TlvError::TooDeep) => {
                let _ = writeln!(out, "{:indent$}(data not decoded: {e})", "");
            }
            Err(_) => {}
        }
    }

    fn node(&self, n: &Node, indent: usize, out: &mut String) {
        let (tag, name) = match n {
            Node::Primitive(t, _) | Node::Constructed(t, _) => {
                (*t, self.tags.get(&tlv::tag_hex(*t)).or_else(|| self.tags.get(&format!("{t:X}"))).map(String::as_str))
            }
        };
        let label = name.map(|s| format!(" ({s})")).unwrap_or_default();
        match n {
            Node::Primitive(_, v) => {
                let _ = writeln!(out, "{:indent$}{}{label}: {}", "", tlv::tag_hex(tag), upper(v));
            }
            Node::Constructed(_, kids) => {
                let _ = writeln!(out, "{:indent$}{}{label}:", "", tlv::tag_hex(tag));
                for k in kids {
                    self.node(k, indent + 2, out);
                }
            }
        }
    }
}

/// The annotated trace of a parsed script.
pub fn describe(steps: &[Step]) -> String {
    let t = tables();
    let mut out = String::new();
    let mut applet: HashMap<u8, String> = HashMap::from([(0, "isd".to_string())]);
    let mut channel_override: Option<u8> = None;
    // PINs and keys print as `**` and are not decoded (the masking of `serve -v` and `run`).
    let mut masker = super::mask::Masker::new();
    for s in steps {
        match &s.action {
            Action::Apdu { chunks, expect } => {
                let mut bytes = Vec::new();
                for c in chunks {
                    match c {
                        Chunk::Bytes(b) => bytes.extend(b),
                        Chunk::Var(n) => {
                            let _ = writeln!(out, "{}: (uses ${n}: not traced)", s.loc);
                            bytes.clear();
                            break;
                        }
                    }
                }
                let Ok(mut cmd) = Command::parse(&bytes) else {
                    if !bytes.is_empty() {
                        let _ = writeln!(out, "{}: > {}  [malformed APDU]", s.loc, upper(&bytes));
                    }
                    continue;
                };
                if let Some(ch) = channel_override {
                    cmd.cla = Class::with_channel(cmd.cla, ch).unwrap_or(cmd.cla);
                }
                let ch = Class::parse(cmd.cla).map(|c| c.channel).unwrap_or(0);
                let current = applet.get(&ch).cloned().unwrap_or_else(|| "isd".into());
                let name = t.name(&current, &cmd).unwrap_or("unknown command");
                let wire = cmd.to_bytes();
                let secret = masker.observe(&wire);
                let shown = super::mask::masked_hex_with(&wire, secret.as_ref().map(|(r, _)| r.clone()));
                let _ = writeln!(out, "{}: > {shown}  {name} [channel {ch}, {current}]", s.loc);
                if secret.is_none() {
                    t.tlv(&cmd.data, 6, &mut out);
                }
                if cmd.ins == 0xA4 && cmd.p1 == 0x04 && !Class::parse(cmd.cla).is_ok_and(|c| c.proprietary) {
                    if let Some(a) = t.applet_of(&cmd.data) {
                        applet.insert(ch, a.to_string());
                    }
                }
                if let Some(p) = expect {
                    let exact: Option<Vec<u8>> =
                        p.items.iter().map(|i| if let PatternByte::Byte(b) = i { Some(*b) } else { None }).collect();
                    match exact.and_then(|b| Response::parse(&b)) {
                        Some(r) => {
                            let _ = writeln!(out, "    < {}  {} {}", upper(&r.to_bytes()), r.sw, r.sw.meaning());
                            t.tlv(&r.data, 6, &mut out);
                        }
                        None => {
                            let _ = writeln!(out, "    < expected {p}");
                        }
                    }
                }
            }
            Action::Channel(c) => channel_override = Some(*c),
            Action::Reset | Action::PowerCycle => {
                applet = HashMap::from([(0, "isd".to_string())]);
                masker.reset();
                let _ = writeln!(out, "{}: {}", s.loc, if s.action == Action::Reset { "reset" } else { "power cycle" });
            }
            other => {
                let _ = writeln!(out, "{}: {}", s.loc, directive(other));
            }
        }
    }
    out
}

fn directive(a: &Action) -> String {
    match a {
        Action::Scp03Open(p) => format!("SCP03 session opened (KVN {:02X}, level {:02X})", p.kvn, p.level),
        Action::Scp03Close => "SCP03 session closed".into(),
        Action::Set { name, value } => format!("set ${name} = {}", upper(value)),
        Action::Echo(s) => format!("echo {s}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tables_parse() {
        let t = super::tables();
        assert!(t.command.len() > 30);
        assert_eq!(t.tags["9F7F"], "CPLC");
    }
}
