//! The native script format (`applet-spec/scripts.md`).

use super::pattern::{parse_items, PatternByte};
use super::{Action, Chunk, Pattern, Scp03Open, ScriptError, Step};
use std::path::{Path, PathBuf};

const DIRECTIVES: &[&str] = &["reset", "power", "channel", "scp03", "set", "include", "echo"];

/// Whether a line starts with a directive that only the native format has (`reset` is in
/// scriptor scripts too).
pub fn is_native_only(lower: &str) -> bool {
    is_directive(lower) && !lower.trim().eq_ignore_ascii_case("reset")
}

/// Whether a (lower-cased, trimmed) line starts with a native directive word.
pub fn is_directive(lower: &str) -> bool {
    let word = lower.split_whitespace().next().unwrap_or("");
    DIRECTIVES.contains(&word)
}

/// Strips a `#` or `//` comment (outside `echo` text).
fn strip_comment(line: &str) -> &str {
    let t = line.trim_start();
    if t.to_ascii_lowercase().starts_with("echo ") {
        return line;
    }
    let cut = [line.find('#'), line.find("//")].into_iter().flatten().min();
    match cut {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Parses native text. `stack` holds the files being included, to refuse cycles; `budget` is
/// what is left of [`super::MAX_SCRIPT_BYTES`] for included text.
pub fn parse(path: &Path, text: &str, stack: &mut Vec<PathBuf>, budget: &mut usize) -> Result<Vec<Step>, ScriptError> {
    let mut steps = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let err = |m: String| ScriptError::new(path, n, m);
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("").to_ascii_lowercase();
        let rest: Vec<&str> = words.collect();
        let loc = super::Loc { file: path.to_path_buf(), line: n };
        let action = match first.as_str() {
            "reset" if rest.is_empty() => Action::Reset,
            "reset" => return Err(err("'reset' takes no arguments".into())),
            "power" => match rest.as_slice() {
                [w] if w.eq_ignore_ascii_case("cycle") => Action::PowerCycle,
                _ => return Err(err("expected 'power cycle'".into())),
            },
            "channel" => match rest.as_slice() {
                [c] => match c.parse::<u8>() {
                    Ok(c) if c <= 19 => Action::Channel(c),
                    _ => return Err(err(format!("channel '{c}': a logical channel is 0 to 19"))),
                },
                _ => return Err(err("expected 'channel N'".into())),
            },
            "scp03" => parse_scp03(&rest).map_err(err)?,
            "set" => match rest.as_slice() {
                [name, value @ ..] if name.starts_with('$') && !value.is_empty() => {
                    let name = &name[1..];
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err(err(format!("'${name}': a variable name is letters, digits and _")));
                    }
                    let bytes =
                        crate::hexutil::parse_hex(&value.join("")).map_err(|e| err(format!("set ${name}: {e}")))?;
                    Action::Set { name: name.to_string(), value: bytes }
                }
                _ => return Err(err("expected 'set $name HEX'".into())),
            },
            "echo" => Action::Echo(line[4..].trim().to_string()),
            "include" => {
                let target = line[7..].trim();
                if target.is_empty() {
                    return Err(err("expected 'include FILE'".into()));
                }
                let p = path.parent().unwrap_or(Path::new(".")).join(target);
                if stack.contains(&p) {
                    return Err(err(format!("include cycle: {} includes itself", p.display())));
                }
                let text = super::read_script(&p, budget).map_err(|e| err(format!("include {}: {e}", p.display())))?;
                stack.push(p.clone());
                let sub = parse(&p, &text, stack, budget)?;
                stack.pop();
                steps.extend(sub);
                continue;
            }
            _ if is_directive(&lower) => return Err(err(format!("malformed '{first}' directive"))),
            _ => parse_apdu(line).map_err(err)?,
        };
        steps.push(Step { loc, action });
    }
    Ok(steps)
}

fn parse_apdu(line: &str) -> Result<Action, String> {
    let (cmd, expect) = match line.split_once("=>") {
        Some((c, e)) => (c, Some(Pattern::parse(e)?)),
        None => (line, None),
    };
    let mut chunks = Vec::new();
    for item in parse_items(cmd, false)? {
        match item {
            PatternByte::Byte(b) => match chunks.last_mut() {
                Some(Chunk::Bytes(v)) => v.push(b),
                _ => chunks.push(Chunk::Bytes(vec![b])),
            },
            PatternByte::Var(n) => chunks.push(Chunk::Var(n)),
            _ => return Err("only hex bytes and $variables make a command".into()),
        }
    }
    let literal: usize = chunks.iter().map(|c| if let Chunk::Bytes(b) = c { b.len() } else { 0 }).sum();
    if chunks.is_empty() {
        return Err("a command needs bytes".into());
    }
    if literal < 4 && chunks.iter().all(|c| matches!(c, Chunk::Bytes(_))) {
        return Err(format!("a command APDU has at least 4 bytes, this has {literal}"));
    }
    Ok(Action::Apdu { chunks, expect })
}

fn key_triple(s: &str) -> Result<crate::platform::profile::KeyBytes, String> {
    let (e, m, d) = crate::platform::profile::parse_key_triple(s)?;
    if ![16, 24, 32].contains(&e.len()) || e.len() != m.len() || m.len() != d.len() {
        return Err("SCP03 keys are 16, 24 or 32 bytes, all three the same length".into());
    }
    Ok((e, m, d))
}

/// `scp03 open KEYS [KVN] LEVEL [HOST-CHALLENGE]` / `scp03 close`.
fn parse_scp03(rest: &[&str]) -> Result<Action, String> {
    match rest {
        [w] if w.eq_ignore_ascii_case("close") => Ok(Action::Scp03Close),
        [w, args @ ..] if w.eq_ignore_ascii_case("open") => {
            let usage = "expected 'scp03 open KEYS [KVN] LEVEL [HOST-CHALLENGE]'";
            let (keys, nums) = args.split_first().ok_or(usage)?;
            let (keys_var, (enc, mac, dek)) = match keys.strip_prefix('$') {
                Some(v) if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    (Some(v.to_string()), Default::default())
                }
                Some(_) => return Err(format!("'{keys}': a variable name is letters, digits and _")),
                None => (None, key_triple(keys)?),
            };
            let byte = |s: &str| u8::from_str_radix(s, 16).map_err(|_| format!("'{s}' is not a hex byte"));
            let (kvn, level, challenge) = match nums {
                [l] => (0, byte(l)?, None),
                [k, l] if l.len() == 2 => (byte(k)?, byte(l)?, None),
                [l, c] if c.len() == 16 => (0, byte(l)?, Some(*c)),
                [k, l, c] => (byte(k)?, byte(l)?, Some(*c)),
                _ => return Err(usage.into()),
            };
            if ![0x00, 0x01, 0x03, 0x11, 0x13, 0x33].contains(&level) {
                return Err(format!("security level {level:02X}: one of 00 01 03 11 13 33"));
            }
            let host_challenge = match challenge {
                Some(c) => {
                    let b = crate::hexutil::parse_hex(c).map_err(|e| format!("host challenge: {e}"))?;
                    Some(<[u8; 8]>::try_from(b.as_slice()).map_err(|_| "the host challenge is 8 bytes".to_string())?)
                }
                None => None,
            };
            Ok(Action::Scp03Open(Box::new(Scp03Open { keys_var, enc, mac, dek, kvn, level, host_challenge })))
        }
        _ => Err("expected 'scp03 open …' or 'scp03 close'".into()),
    }
}
