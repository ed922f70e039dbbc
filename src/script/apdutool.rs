//! Java Card `apdutool` scripts (JCDK user guide, "APDU Script File Syntax"): statements end with
//! `;` and may span lines; `//` and `/* */` comments; `powerup;`, `powerdown;`, `echo "…";`,
//! `delay N;`, `output on;`/`output off;`; a command is
//! `<CLA> <INS> <P1> <P2> <LC> [<data> …] <LE>;` with numbers in hex (`0x..`) or decimal.
//!
//! The LE byte is always present in this syntax; it becomes the command's Le (`00` = 256), so
//! every command is case 2 or 4, as apdutool sends them.

use super::{Action, Chunk, ScriptError, Step};
use std::path::Path;

pub fn parse(path: &Path, text: &str) -> Result<Vec<Step>, ScriptError> {
    // Remove comments, keeping line numbers.
    let mut clean = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.lines() {
        let mut out = String::new();
        let mut rest = line;
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(i) => {
                        in_block = false;
                        rest = &rest[i + 2..];
                    }
                    None => break,
                }
            } else {
                let bc = rest.find("/*");
                let lc = rest.find("//");
                match (bc, lc) {
                    (Some(b), Some(l)) if l < b => {
                        out.push_str(&rest[..l]);
                        break;
                    }
                    (Some(b), _) => {
                        out.push_str(&rest[..b]);
                        in_block = true;
                        rest = &rest[b + 2..];
                    }
                    (None, Some(l)) => {
                        out.push_str(&rest[..l]);
                        break;
                    }
                    (None, None) => {
                        out.push_str(rest);
                        break;
                    }
                }
            }
        }
        clean.push_str(&out);
        clean.push('\n');
    }
    let mut steps = Vec::new();
    let mut stmt = String::new();
    let mut start = 0;
    for (i, line) in clean.lines().enumerate() {
        for ch in line.chars() {
            if ch == ';' {
                if let Some(s) = statement(path, start + 1, stmt.trim())? {
                    steps.push(s);
                }
                stmt.clear();
            } else {
                if stmt.trim().is_empty() && !ch.is_whitespace() {
                    start = i;
                }
                stmt.push(ch);
            }
        }
        stmt.push(' ');
    }
    if !stmt.trim().is_empty() {
        return Err(ScriptError::new(path, start + 1, "statement without its closing ';'"));
    }
    Ok(steps)
}

fn statement(path: &Path, line: usize, s: &str) -> Result<Option<Step>, ScriptError> {
    let err = |m: String| ScriptError::new(path, line, m);
    let loc = super::Loc { file: path.to_path_buf(), line };
    let lower = s.to_ascii_lowercase();
    let action = match lower.split_whitespace().next().unwrap_or("") {
        "" => return Ok(None),
        // A power-up is a cold reset; the power-down before it has no effect a host can see.
        "powerup" => Action::PowerCycle,
        "powerdown" | "output" | "delay" => return Ok(None),
        "echo" => Action::Echo(s[4..].trim().trim_matches('"').to_string()),
        _ => {
            let nums = s
                .split_whitespace()
                .map(|t| {
                    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                        Some(h) => u32::from_str_radix(h, 16),
                        None => t.parse::<u32>(),
                    };
                    v.ok().and_then(|v| u8::try_from(v).ok()).ok_or_else(|| format!("'{t}' is not a byte"))
                })
                .collect::<Result<Vec<u8>, String>>()
                .map_err(err)?;
            if nums.len() < 6 {
                return Err(err(format!("a command is CLA INS P1 P2 LC [data] LE: {} bytes here", nums.len())));
            }
            let lc = nums[4] as usize;
            if nums.len() != 6 + lc {
                return Err(err(format!("LC says {lc} data bytes, {} are given", nums.len() as isize - 6)));
            }
            let mut cmd =
                crate::apdu::Command::new(nums[0], nums[1], nums[2], nums[3]).with_data(nums[5..5 + lc].to_vec());
            let le = nums[5 + lc];
            cmd.ne = Some(if le == 0 { 256 } else { le as usize });
            Action::Apdu { chunks: vec![Chunk::Bytes(cmd.to_bytes())], expect: None }
        }
    };
    Ok(Some(Step { loc, action }))
}
