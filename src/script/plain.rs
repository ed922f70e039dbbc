//! pcsc-tools `scriptor` scripts and plain hex-per-line files: one APDU per line in hex (spaces
//! optional), `#` comments, and `reset` (pcsc.md §6).

use super::{Action, Chunk, ScriptError, Step};
use std::path::Path;

pub fn parse(path: &Path, text: &str) -> Result<Vec<Step>, ScriptError> {
    let mut steps = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let loc = super::Loc { file: path.to_path_buf(), line: n };
        if line.eq_ignore_ascii_case("reset") {
            steps.push(Step { loc, action: Action::Reset });
            continue;
        }
        let bytes =
            crate::hexutil::parse_hex(line).map_err(|e| ScriptError::new(path, n, format!("not an APDU: {e}")))?;
        if bytes.len() < 4 {
            return Err(ScriptError::new(
                path,
                n,
                format!("a command APDU has at least 4 bytes, this has {}", bytes.len()),
            ));
        }
        steps.push(Step { loc, action: Action::Apdu { chunks: vec![Chunk::Bytes(bytes)], expect: None } });
    }
    Ok(steps)
}
