//! What several subcommands share: where card images live, opening a card, hex arguments.

use gpse::card::Card;
use gpse::store::Durability;
use std::path::PathBuf;

/// The default home of card images: `$XDG_DATA_HOME/gpse` or `~/.local/share/gpse`.
pub fn default_state_root() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("gpse");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/gpse"),
        None => PathBuf::from("gpse-state"),
    }
}

/// `--state DIR` for one card, defaulting to reader 0's card of `gpse serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct CardDir {
    /// Card image directory [default: $GPSE_STATE, else ~/.local/share/gpse/0, reader 0's card of `gpse serve`]
    #[arg(long, value_name = "DIR", env = "GPSE_STATE")]
    pub state: Option<PathBuf>,
}

impl CardDir {
    pub fn path(&self) -> PathBuf {
        self.state.clone().unwrap_or_else(|| default_state_root().join("0"))
    }
}

/// Opens the card image of `dir` with full durability, with [`open_notes`] on stderr.
pub fn open_card(dir: &CardDir, seed: Option<u64>) -> Result<Card, String> {
    let path = dir.path();
    let mut card = Card::open(&path, Durability::Fsync, seed).map_err(|e| e.to_string())?;
    open_notes(&path, &mut card);
    Ok(card)
}

/// What a user must know about an opened image, on stderr: readable by others (issue #19 §7),
/// or opened read-only because the directory cannot be written (§14).
pub fn open_notes(dir: &std::path::Path, card: &mut Card) {
    if let Some(w) = gpse::store::exposure_warning(dir) {
        eprintln!("gpse: {w}");
    }
    if card.store_mut().is_read_only() {
        eprintln!(
            "gpse: {}: directory not writable, card opened read-only (commands that change the card answer 6581)",
            dir.display()
        );
    }
}

/// Parses a hex argument, naming it in the error.
pub fn hex_arg(what: &str, s: &str) -> Result<Vec<u8>, String> {
    gpse::hexutil::parse_hex(s).map_err(|e| format!("{what} '{s}': {e}"))
}

/// Parses a number written in decimal or with a 0x prefix.
pub fn parse_num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("'{s}' is not a number"))
}

/// `--reader NAME` when given (a PC/SC reader: exact name, number, or unique part of a name),
/// else the card image of `dir`, in-process and powered on. The shared way for subcommands to
/// reach a card.
pub fn open_transport(
    dir: &CardDir,
    reader: Option<&str>,
    seed: Option<u64>,
) -> Result<Box<dyn gpse::transport::Transport>, String> {
    match reader {
        Some(r) => gpse::transport::pcsc::PcscTransport::connect(r)
            .map(|t| Box::new(t) as Box<dyn gpse::transport::Transport>)
            .map_err(|e| e.to_string()),
        None => {
            let mut card = open_card(dir, seed)?;
            card.power_on();
            Ok(Box::new(card))
        }
    }
}

/// Parses `ENC:MAC:DEK` (hex, 16/24/32 bytes each), or one key for all three.
pub fn parse_keys(s: &str) -> Result<gpse::card::profile::KeyBytes, String> {
    gpse::card::profile::parse_key_triple(s)
}

/// The value of a secret option: the option itself (visible to every user in `ps`), else the
/// first line of its `--…-file`, else the environment variable `env` (issue #19 §9).
fn secret(flag: &str, value: &Option<String>, file: &Option<PathBuf>, env: &str) -> Result<Option<String>, String> {
    if let Some(v) = value {
        return Ok(Some(v.clone()));
    }
    if let Some(f) = file {
        let text = std::fs::read_to_string(f).map_err(|e| format!("--{flag}-file {}: {e}", f.display()))?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(format!("--{flag}-file {}: the first line is empty", f.display()));
        }
        return Ok(Some(line.to_string()));
    }
    Ok(std::env::var(env).ok().filter(|v| !v.is_empty()))
}

/// `--pin PIN`, `--pin-file FILE` or `$GPSE_PIN`.
#[derive(Debug, Clone, clap::Args)]
pub struct PinArg {
    /// The PIN. Other users see it in `ps`: prefer --pin-file or the environment variable GPSE_PIN.
    #[arg(long, value_name = "PIN", conflicts_with = "pin_file")]
    pub pin: Option<String>,
    /// Read the PIN from the first line of FILE [else: $GPSE_PIN].
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
}

impl PinArg {
    pub fn get(&self) -> Result<Option<String>, String> {
        secret("pin", &self.pin, &self.pin_file, "GPSE_PIN")
    }

    pub fn require(&self) -> Result<String, String> {
        self.get()?.ok_or_else(|| "give the PIN with --pin, --pin-file FILE or GPSE_PIN".into())
    }
}

/// The test keys every default card and profile start with (`profiles/default.toml`).
pub const DEFAULT_KEYS: &str = "404142434445464748494A4B4C4D4E4F";

/// `--keys ENC:MAC:DEK`, `--keys-file FILE` or `$GPSE_KEYS`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeysArg {
    /// SCP03 static keys ENC:MAC:DEK (hex), or one key for all three [default: the test keys
    /// 404142434445464748494A4B4C4D4E4F; card init: the profile's]. Other users see them in
    /// `ps`: prefer --keys-file or the environment variable GPSE_KEYS.
    #[arg(long, value_name = "ENC:MAC:DEK", conflicts_with = "keys_file")]
    pub keys: Option<String>,
    /// Read the keys from the first line of FILE [else: $GPSE_KEYS].
    #[arg(long, value_name = "FILE")]
    pub keys_file: Option<PathBuf>,
}

impl KeysArg {
    /// The keys given, if any.
    pub fn get(&self) -> Result<Option<gpse::card::profile::KeyBytes>, String> {
        secret("keys", &self.keys, &self.keys_file, "GPSE_KEYS")?
            .map(|k| parse_keys(&k).map_err(|e| format!("--keys: {e}")))
            .transpose()
    }

    /// The keys given, else the test keys.
    pub fn or_default(&self) -> Result<gpse::card::profile::KeyBytes, String> {
        Ok(self.get()?.unwrap_or_else(|| parse_keys(DEFAULT_KEYS).expect("the default keys parse")))
    }
}

/// `--new-keys ENC:MAC:DEK`, `--new-keys-file FILE` or `$GPSE_NEW_KEYS`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewKeysArg {
    /// The new keys ENC:MAC:DEK, or one key for all three. Other users see them in `ps`: prefer
    /// --new-keys-file or the environment variable GPSE_NEW_KEYS.
    #[arg(long, value_name = "ENC:MAC:DEK", conflicts_with = "new_keys_file")]
    pub new_keys: Option<String>,
    /// Read the new keys from the first line of FILE [else: $GPSE_NEW_KEYS].
    #[arg(long, value_name = "FILE")]
    pub new_keys_file: Option<PathBuf>,
}

impl NewKeysArg {
    pub fn require(&self) -> Result<gpse::card::profile::KeyBytes, String> {
        let k = secret("new-keys", &self.new_keys, &self.new_keys_file, "GPSE_NEW_KEYS")?
            .ok_or("give the new keys with --new-keys, --new-keys-file FILE or GPSE_NEW_KEYS")?;
        parse_keys(&k).map_err(|e| format!("--new-keys: {e}"))
    }
}
