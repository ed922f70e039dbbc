//! What several subcommands share: the shared options, where card images live, opening a card,
//! hex and number arguments.

use gpse::card::Card;
use gpse::hexutil::upper;
use gpse::store::Durability;
use gpse::transport::{Transport, TransportError};
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

/// The options every verb shares. They are clap `global`, so they go before or after the verb
/// (`gpse --state X gp list`, `gpse gp --state X list`, `gpse gp list --state X`); a verb that
/// has no use for one refuses it ([`Globals::unused`]) rather than ignoring it.
#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// Card image directory [default: $GPSE_STATE, else ~/.local/share/gpse/0, reader 0's card of
    /// `gpse serve`]. For `serve`: the directory of the card images (DIR/i for reader i); for
    /// `scenario run`: where the phones' images go.
    #[arg(long, value_name = "DIR", global = true, help_heading = "Shared options")]
    pub state: Option<PathBuf>,
    /// A PC/SC reader instead of a card image: its name, number, or a unique part of its name
    /// (`send` also reads $GPSE_READER). `scenario run` takes PHONE=READER, repeatable.
    #[arg(long, value_name = "NAME", global = true, help_heading = "Shared options")]
    pub reader: Vec<String>,
    /// Seed the card's randomness (challenges, generated keys) and the host's challenges, for
    /// reproducible runs (decimal, or hex with 0x).
    #[arg(long, value_name = "S", value_parser = parse_num, global = true, help_heading = "Shared options")]
    pub seed: Option<u64>,
    /// Print every APDU exchanged with the card on stderr, as sent on the wire: `A>> command`,
    /// `A<< response` (as GlobalPlatformPro's -d does).
    #[arg(long, short = 'd', global = true, help_heading = "Shared options")]
    pub debug: bool,
}

/// A shared option, for [`Globals::unused`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    State,
    Reader,
    Seed,
    Debug,
}

impl Globals {
    /// Refuses the shared options `verb` has no use for: a silently ignored `--reader` would
    /// make a user believe they talked to a card they did not.
    pub fn unused(&self, verb: &str, opts: &[Opt]) -> Result<(), String> {
        for o in opts {
            let (given, name) = match o {
                Opt::State => (self.state.is_some(), "--state"),
                Opt::Reader => (!self.reader.is_empty(), "--reader"),
                Opt::Seed => (self.seed.is_some(), "--seed"),
                Opt::Debug => (self.debug, "--debug"),
            };
            if given {
                return Err(format!("`gpse {verb}` does not take {name}"));
            }
        }
        Ok(())
    }

    /// The one `--reader`, if given (only `scenario run` takes several).
    pub fn one_reader(&self) -> Result<Option<&str>, String> {
        match self.reader.as_slice() {
            [] => Ok(None),
            [r] => Ok(Some(r)),
            _ => Err("--reader is given more than once".into()),
        }
    }

    /// The card image directory of `--state`, `$GPSE_STATE` or the default.
    pub fn card_dir(&self) -> CardDir {
        CardDir { state: self.state.clone() }
    }

    /// `--reader NAME` when given, else the card image of `--state` in-process and powered on;
    /// with `--debug` every exchange is printed. The shared way for subcommands to reach a card.
    pub fn transport(&self) -> Result<Box<dyn Transport>, String> {
        let reader = self.one_reader()?;
        self.transport_to(reader)
    }

    /// [`Globals::transport`] with the reader chosen by the caller (`send` adds $GPSE_READER).
    pub fn transport_to(&self, reader: Option<&str>) -> Result<Box<dyn Transport>, String> {
        if reader.is_some() && self.state.is_some() {
            return Err("give --state (a card image) or --reader (a PC/SC reader), not both".into());
        }
        let t: Box<dyn Transport> = match reader {
            Some(r) => connect_reader(r)?,
            None => {
                let mut card = open_card(&self.card_dir(), self.seed)?;
                card.power_on();
                Box::new(card)
            }
        };
        Ok(self.traced(t))
    }

    /// Wraps `t` so that with `--debug` its exchanges are printed.
    pub fn traced(&self, t: Box<dyn Transport>) -> Box<dyn Transport> {
        if self.debug {
            Box::new(DebugTransport { inner: t })
        } else {
            t
        }
    }
}

/// How long a reader may take to show its card: `gpse serve` (re)started a moment ago.
const CARD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Connects to a PC/SC reader. Right after `gpse serve` (re)starts, pcscd lists the reader
/// before vpcd has a card in it, or still holds the previous card for its 0.4 s poll: a
/// connection fails, or succeeds and the first command reaches no card. Wait up to 2 s for the
/// card (the first command is sent again: it was not processed) rather than report a card that
/// "did not answer".
pub fn connect_reader(r: &str) -> Result<Box<dyn Transport>, String> {
    Ok(Box::new(WaitingReader { t: Some(connect_waiting(r)?), spec: r.to_string(), first: true }))
}

fn connect_waiting(r: &str) -> Result<gpse::transport::pcsc::PcscTransport, String> {
    use gpse::transport::pcsc::{ConnectError, PcscTransport};
    let deadline = std::time::Instant::now() + CARD_WAIT;
    loop {
        match PcscTransport::connect_card(r) {
            Ok(t) => return Ok(t),
            Err(ConnectError::NoCardYet(reader)) if std::time::Instant::now() >= deadline => {
                return Err(no_card(&reader))
            }
            Err(ConnectError::NoCardYet(_)) => std::thread::sleep(std::time::Duration::from_millis(100)),
            Err(ConnectError::Other(e)) => return Err(e.to_string()),
        }
    }
}

fn no_card(reader: &str) -> String {
    format!("reader '{reader}' has no card (for the emulator: is `gpse serve` running and connected to vpcd?)")
}

/// A PC/SC reader whose first command waits for the card (see [`connect_reader`]).
struct WaitingReader {
    /// `None` while the connection is replaced, and after a replacement failed.
    t: Option<gpse::transport::pcsc::PcscTransport>,
    spec: String,
    first: bool,
}

impl WaitingReader {
    /// The connection; none after a reconnection that failed (reported then, and again here).
    fn t(&mut self) -> Result<&mut gpse::transport::pcsc::PcscTransport, TransportError> {
        let spec = &self.spec;
        self.t.as_mut().ok_or_else(|| TransportError::Reader(no_card(spec)))
    }
}

impl Transport for WaitingReader {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        use gpse::transport::pcsc::ConnectError;
        if !std::mem::take(&mut self.first) {
            return self.t()?.transmit(apdu);
        }
        let deadline = std::time::Instant::now() + CARD_WAIT;
        loop {
            match self.t()?.transmit_or_no_card(apdu) {
                Ok(r) => return Ok(r),
                Err(ConnectError::Other(e)) => return Err(e),
                Err(ConnectError::NoCardYet(reader)) => {
                    if std::time::Instant::now() >= deadline {
                        return Err(TransportError::Reader(no_card(&reader)));
                    }
                    // Let go of the stale connection before making the next one: its
                    // disconnect resets the card, which a newer connection would then see.
                    self.t = None;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    self.t = Some(connect_waiting(&self.spec).map_err(TransportError::Reader)?);
                }
            }
        }
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.first = false;
        self.t()?.reset()
    }
    fn power_cycle(&mut self) -> Result<Vec<u8>, TransportError> {
        self.first = false;
        self.t()?.power_cycle()
    }
    fn name(&self) -> String {
        self.t.as_ref().map_or_else(|| self.spec.clone(), |t| t.name())
    }
}

/// Prints each exchange on stderr for `--debug`.
struct DebugTransport {
    inner: Box<dyn Transport>,
}

impl DebugTransport {
    fn show(what: &str, r: &Result<Vec<u8>, TransportError>) {
        match r {
            Ok(b) => eprintln!("A<< {what}{}", upper(b)),
            Err(e) => eprintln!("A<< ({e})"),
        }
    }
}

impl Transport for DebugTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        eprintln!("A>> {}", upper(apdu));
        let r = self.inner.transmit(apdu);
        Self::show("", &r);
        r
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        eprintln!("A>> RESET");
        let r = self.inner.reset();
        Self::show("ATR ", &r);
        r
    }
    fn power_cycle(&mut self) -> Result<Vec<u8>, TransportError> {
        eprintln!("A>> POWER CYCLE");
        let r = self.inner.power_cycle();
        Self::show("ATR ", &r);
        r
    }
    fn name(&self) -> String {
        self.inner.name()
    }
    fn diagnostics(&mut self) -> Vec<gpse::card::Diagnostic> {
        self.inner.diagnostics()
    }
    fn attach_debug(&mut self, file: &[u8]) -> Option<Result<(), String>> {
        self.inner.attach_debug(file)
    }
    fn set_coverage(&mut self, on: bool) -> bool {
        self.inner.set_coverage(on)
    }
    fn set_trace(&mut self, spec: &gpse::card::TraceSpec) -> bool {
        self.inner.set_trace(spec)
    }
    fn coverage_report(&mut self) -> Option<(String, String)> {
        self.inner.coverage_report()
    }
}

/// One card's image directory: `--state`, else `$GPSE_STATE`, else reader 0's card of
/// `gpse serve`.
#[derive(Debug, Clone)]
pub struct CardDir {
    pub state: Option<PathBuf>,
}

impl CardDir {
    pub fn path(&self) -> PathBuf {
        self.state
            .clone()
            .or_else(|| std::env::var_os("GPSE_STATE").filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| default_state_root().join("0"))
    }
}

/// Opens the card image of `dir` with full durability, with [`open_notes`] on stderr.
/// `--trace-bytecode` and `--trace-api` (issue #17), for `send` and `serve`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TraceArgs {
    /// Print each bytecode the CAP applet instance AID executes (`all`: every instance) with the
    /// top of its operand stack, at most N lines (AID:N; default 1000)
    #[arg(long, value_name = "AID[:N]")]
    pub trace_bytecode: Option<String>,
    /// Print each Java Card API call of the CAP applets with its argument words and result
    /// (references are heap handles: no PIN or key bytes appear)
    #[arg(long)]
    pub trace_api: bool,
}

impl TraceArgs {
    /// The trace to arm, if any was asked for.
    pub fn spec(&self) -> Result<Option<gpse::card::TraceSpec>, String> {
        let mut spec = gpse::card::TraceSpec { bytecode: None, limit: 1000, api: self.trace_api };
        if let Some(t) = &self.trace_bytecode {
            let (aid, n) = match t.split_once(':') {
                Some((a, n)) => (a, Some(n)),
                None => (t.as_str(), None),
            };
            if let Some(n) = n {
                spec.limit = n.parse().map_err(|_| format!("--trace-bytecode {t}: N is a number of lines"))?;
            }
            spec.bytecode = Some(if aid.eq_ignore_ascii_case("all") {
                None
            } else {
                Some(aid.parse().map_err(|e| format!("--trace-bytecode {t}: {e}"))?)
            });
        }
        Ok((spec.bytecode.is_some() || spec.api).then_some(spec))
    }
}

/// Writes a coverage report: the LCOV text to `path` (when any CAP had a Debug component) and
/// the per-method tables of the others to `path.txt`; says what it wrote on stderr.
pub fn write_coverage(path: &std::path::Path, report: &(String, String)) -> Result<(), String> {
    let (lcov, table) = report;
    std::fs::write(path, lcov).map_err(|e| format!("--coverage {}: {e}", path.display()))?;
    let files = lcov.lines().filter(|l| l.starts_with("SF:")).count();
    let mut said = format!("coverage: {} ({files} source files)", path.display());
    if !table.is_empty() {
        let mut t = path.as_os_str().to_owned();
        t.push(".txt");
        std::fs::write(&t, table).map_err(|e| format!("--coverage {}: {e}", std::path::Path::new(&t).display()))?;
        said += &format!(", {} (packages without a Debug component)", std::path::Path::new(&t).display());
    }
    eprintln!("{said}");
    Ok(())
}

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

/// Parses a key version number: one byte in hex, as GP tools and the GP specification write
/// them (`30`, `0x30`), for every `--kvn`-like option.
pub fn parse_kvn(s: &str) -> Result<u8, String> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    if h.is_empty() || h.len() > 2 {
        return Err(format!("'{s}' is not a key version number (one byte in hex, e.g. 30 or 0x30)"));
    }
    u8::from_str_radix(h, 16)
        .map_err(|_| format!("'{s}' is not a key version number (one byte in hex, e.g. 30 or 0x30)"))
}

/// Parses `ENC:MAC:DEK` (hex, 16/24/32 bytes each), or one key for all three.
pub fn parse_keys(s: &str) -> Result<gpse::platform::profile::KeyBytes, String> {
    gpse::platform::profile::parse_key_triple(s)
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

/// `--keys ENC:MAC:DEK`, `--keys-file FILE` or `$GPSE_KEYS`. Global (before or after the verb)
/// where the verb has subcommands (`gp`, `tsm`), as main's `--keys` was.
#[derive(Debug, Clone, clap::Args)]
pub struct KeysArg {
    /// SCP03 static keys ENC:MAC:DEK (hex), or one key for all three [default: the test keys
    /// 404142434445464748494A4B4C4D4E4F; card init: the profile's]. Other users see them in
    /// `ps`: prefer --keys-file or the environment variable GPSE_KEYS.
    #[arg(long, value_name = "ENC:MAC:DEK", conflicts_with = "keys_file", global = true)]
    pub keys: Option<String>,
    /// Read the keys from the first line of FILE [else: $GPSE_KEYS].
    #[arg(long, value_name = "FILE", global = true)]
    pub keys_file: Option<PathBuf>,
}

impl KeysArg {
    /// The keys given, if any.
    pub fn get(&self) -> Result<Option<gpse::platform::profile::KeyBytes>, String> {
        secret("keys", &self.keys, &self.keys_file, "GPSE_KEYS")?
            .map(|k| parse_keys(&k).map_err(|e| format!("--keys: {e}")))
            .transpose()
    }

    /// The keys given, else the test keys.
    pub fn or_default(&self) -> Result<gpse::platform::profile::KeyBytes, String> {
        match self.get()? {
            Some(k) => Ok(k),
            None => parse_keys(DEFAULT_KEYS),
        }
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
    pub fn require(&self) -> Result<gpse::platform::profile::KeyBytes, String> {
        let k = secret("new-keys", &self.new_keys, &self.new_keys_file, "GPSE_NEW_KEYS")?
            .ok_or("give the new keys with --new-keys, --new-keys-file FILE or GPSE_NEW_KEYS")?;
        parse_keys(&k).map_err(|e| format!("--new-keys: {e}"))
    }
}

/// The card's diagnostics worth showing at `verbose` (`-v` 1: traces asked for and exceptions
/// that escaped a CAP applet; `-vv` 2: also the `ISOException`s an applet answers with), each
/// line prefixed `! `. `send` prints them after each exchange, `gp install` when the applet's
/// `install()` threw.
pub fn diagnostic_lines(t: &mut dyn Transport, verbose: u8) -> Vec<String> {
    t.diagnostics()
        .into_iter()
        .filter(|d| d.trace || verbose >= 2 || (verbose == 1 && !d.detail))
        .flat_map(|d| d.text.lines().map(|l| format!("! {l}")).collect::<Vec<_>>())
        .collect()
}
