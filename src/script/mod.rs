//! APDU scripts: the native format (with expectations, variables, directives), and the formats
//! people already have (pcsc-tools `scriptor`, Java Card `apdutool`, plain hex per line), all
//! parsed whole into one list of steps before anything is sent. `applet-spec/scripts.md` is the
//! format's reference.

mod apdutool;
pub mod mask;
mod native;
pub mod pattern;
mod plain;
pub mod record;
pub mod runner;
pub mod scp;
pub mod trace;

pub use pattern::{Pattern, PatternByte};

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a step came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A malformed script line: `file:line: what`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{loc}: {msg}")]
pub struct ScriptError {
    pub loc: Loc,
    pub msg: String,
}

impl ScriptError {
    pub fn new(file: &Path, line: usize, msg: impl Into<String>) -> Self {
        ScriptError { loc: Loc { file: file.to_path_buf(), line }, msg: msg.into() }
    }
}

/// One piece of an APDU's bytes: literal or a variable filled in at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    Bytes(Vec<u8>),
    Var(String),
}

/// SCP03 session parameters of a `scp03 open` directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scp03Open {
    /// `scp03 open $NAME …`: the keys are the variable's bytes ENC‖MAC‖DEK, given at run time
    /// (recordings never hold keys; `record`). `enc`, `mac`, `dek` are then empty.
    pub keys_var: Option<String>,
    pub enc: Vec<u8>,
    pub mac: Vec<u8>,
    pub dek: Vec<u8>,
    /// `00`: the card's first key set.
    pub kvn: u8,
    pub level: u8,
    pub host_challenge: Option<[u8; 8]>,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send an APDU; check the response when `expect` is given.
    Apdu { chunks: Vec<Chunk>, expect: Option<Pattern> },
    /// Warm reset.
    Reset,
    /// Power off and on again.
    PowerCycle,
    /// Following APDUs go to this logical channel (the CLA's channel bits are rewritten).
    Channel(u8),
    /// Open an SCP03 session on the current channel's selected security domain or applet.
    Scp03Open(Box<Scp03Open>),
    /// End the SCP03 session: following APDUs go plain.
    Scp03Close,
    /// Set a variable.
    Set { name: String, value: Vec<u8> },
    /// Print a line.
    Echo(String),
}

/// A step and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub loc: Loc,
    pub action: Action,
}

/// Script formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// gpse's own format (`applet-spec/scripts.md`).
    Native,
    /// pcsc-tools `scriptor`: hex per line, `#` comments, `reset`.
    Scriptor,
    /// Java Card `apdutool`: `0x00 0xA4 … 0x7F;`, `powerup;`, `powerdown;`.
    Apdutool,
}

/// Guesses a file's format from its text: `0x..;` commands or `powerup;` mean apdutool, `=>`
/// or a native directive mean native, anything else is scriptor / plain hex.
pub fn detect(text: &str) -> Format {
    let mut native = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("//") || l.starts_with('#') || l.is_empty() {
            continue;
        }
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("powerup")
            || lower.starts_with("powerdown")
            || (lower.contains("0x") && lower.ends_with(';'))
        {
            return Format::Apdutool;
        }
        if l.contains("=>") || native::is_native_only(&lower) {
            native = true;
        }
    }
    if native {
        Format::Native
    } else {
        Format::Scriptor
    }
}

/// The most script text one run reads, the script and everything it includes together (each
/// inclusion counts again, so repeated includes cannot multiply without bound). Far above any
/// real script; it keeps `include /dev/zero` or an include bomb from eating memory.
pub const MAX_SCRIPT_BYTES: usize = 16 << 20;

/// Reads a script file: a regular file (a device, FIFO or directory is refused, so
/// `include /dev/zero` fails at once) of at most `budget` bytes, which it uses up.
pub fn read_script(path: &Path, budget: &mut usize) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = f.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    // Read at most one byte over the budget: the length in the metadata may change under us.
    f.take(*budget as u64 + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() > *budget {
        return Err(format!("script text over {MAX_SCRIPT_BYTES} bytes (with its includes)"));
    }
    *budget -= bytes.len();
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
}

/// Parses a script file (and, for the native format, the files it includes).
pub fn parse_file(path: &Path, format: Option<Format>) -> Result<Vec<Step>, ScriptError> {
    let mut budget = MAX_SCRIPT_BYTES;
    let text = read_script(path, &mut budget).map_err(|e| ScriptError::new(path, 0, format!("cannot read: {e}")))?;
    parse_with_budget(path, &text, format, &mut budget)
}

/// Parses script text; `path` names it in errors and anchors includes.
pub fn parse_text(path: &Path, text: &str, format: Option<Format>) -> Result<Vec<Step>, ScriptError> {
    parse_with_budget(path, text, format, &mut MAX_SCRIPT_BYTES.saturating_sub(text.len()))
}

fn parse_with_budget(
    path: &Path,
    text: &str,
    format: Option<Format>,
    budget: &mut usize,
) -> Result<Vec<Step>, ScriptError> {
    match format.unwrap_or_else(|| detect(text)) {
        Format::Native => native::parse(path, text, &mut vec![path.to_path_buf()], budget),
        Format::Scriptor => plain::parse(path, text),
        Format::Apdutool => apdutool::parse(path, text),
    }
}
