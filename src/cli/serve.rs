//! `gpse serve`: the card(s) behind vsmartcard's vpcd, so every PC/SC client sees them in a
//! reader. Reader slot i connects to 127.0.0.1:(PORT+i) and serves the card image `DIR/i`.

use super::common::{default_state_root, Opt};
use super::{Fail, Globals};
use gpse::apdu::Response;
use gpse::card::{Card, CardError};
use gpse::crypto::CardRng;
use gpse::hexutil::upper;
use gpse::host::ace::app_view::AppView;
use gpse::platform::profile::{Overrides, Profile};
use gpse::script::mask::Masker;
use gpse::script::record;
use gpse::store::{Durability, StoreError};
use gpse::sw::Sw;
use gpse::transport::vpcd::{self, Event, Stop};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

#[derive(Debug, clap::Args)]
#[command(after_help = "Needs pcscd with vsmartcard's vpcd driver (scripts/install-deps, scripts/pcscd-start).
Reader slot i (\"Virtual PCD 00 0i\" with Debian's vpcd configuration, which has 2 slots) gets
the card image DIR/i, created from the built-in default profile when missing.
It runs in the foreground: use another terminal for clients, or scripts/run to start it in the
background (scripts/run --stop stops it). --state DIR is the directory of the card images
(reader i uses DIR/i) [default: ~/.local/share/gpse]; --seed S seeds reader i's card with S+i.
Ctrl-C or SIGTERM finishes the APDU in flight and exits 0; every APDU is already committed.
Example: gpse serve --state ./cards --readers 2 -v")]
pub struct ServeArgs {
    /// How many reader slots to serve (vpcd's shipped configuration has 2).
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub readers: u16,
    /// vpcd's TCP port of reader slot 0; slot i is PORT+i.
    #[arg(long, default_value_t = vpcd::DEFAULT_PORT, value_name = "P")]
    pub port: u16,
    /// -v: log each APDU (`> CMD`, `< RSP`) on stderr; -vv: also the status word's meaning
    /// and power events.
    #[arg(long, short, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Record every APDU and response (and power events) as a native script with expectations;
    /// with several readers, reader i (i > 0) records to FILE.i.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Add a reader (the slot after the --readers ones) that shows card 0 as the app with this
    /// signing-certificate hash (SHA-1 or SHA-256, hex; repeat for several) sees it over OMAPI:
    /// on card channels of its own (at most 4, its basic channel included; never reader 0's),
    /// every SELECT and APDU passes OMAPI's checks and the ARA-M rules first, refusals answer
    /// 6982; a reset from reader 0 closes the app's channels.
    #[arg(long = "app", value_name = "CERT_HASH")]
    pub app: Vec<String>,
    /// A CAP file built with -debug whose package is loaded on the cards: its Debug
    /// component (which LOAD leaves off the card) names classes, methods and source lines in
    /// the Java stacks `-v` prints; repeat for several. `gpse gp load --state` keeps it itself.
    #[arg(long = "debug-cap", value_name = "FILE.cap")]
    pub debug_cap: Vec<PathBuf>,
    /// Record which bytecodes of the CAP applets ran and write LCOV to FILE when serve stops
    /// (reader i > 0 to FILE.i; CAPs without a Debug component as a table in FILE.txt).
    #[arg(long, value_name = "FILE")]
    pub coverage: Option<PathBuf>,
    #[command(flatten)]
    pub trace: super::common::TraceArgs,
}

const SERVE_LOCK: &str = "serve.lock";

pub fn run(a: ServeArgs, g: &Globals) -> Result<ExitCode, Fail> {
    g.unused("serve", &[Opt::Reader, Opt::Debug])?;
    Ok(serve(a, g.state.clone(), g.seed)?)
}

fn serve(a: ServeArgs, state: Option<PathBuf>, seed: Option<u64>) -> Result<ExitCode, String> {
    let root = state.unwrap_or_else(default_state_root);
    let n = a.readers;
    if u32::from(a.port) + u32::from(n) - 1 > 0xFFFF || a.port == 0 {
        return Err(format!("--port {} with --readers {n} leaves the TCP port range", a.port));
    }
    gpse::store::create_private_dir(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    // One `serve` per state directory, and one per vpcd port (a second card on a vpcd port
    // would wait unaccepted in its backlog, silently).
    let _root_lock = lock_with_pid(&root.join(SERVE_LOCK), &root.display().to_string(), |pid, _| {
        format!("{}: already served by another `gpse serve`{pid}; stop it first or use another --state", root.display())
    })?;
    for i in 0..n {
        lock_port(a.port + i, &root.display().to_string())?;
    }
    let app_hashes = a
        .app
        .iter()
        .map(|h| {
            let b = super::common::hex_arg("--app", h)?;
            if b.len() == 20 || b.len() == 32 {
                Ok(b)
            } else {
                Err(format!("--app {h}: a SHA-1 (20 bytes) or SHA-256 (32 bytes) hash"))
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    let slots = n + u16::from(!app_hashes.is_empty());
    if u32::from(a.port) + u32::from(slots) - 1 > 0xFFFF {
        return Err(format!("--port {} with {slots} readers leaves the TCP port range", a.port));
    }
    let debug_caps: Vec<Vec<u8>> = a
        .debug_cap
        .iter()
        .map(|p| std::fs::read(p).map_err(|e| format!("--debug-cap {}: {e}", p.display())))
        .collect::<Result<_, _>>()?;
    let mut cards: Vec<(u16, PathBuf, Box<dyn vpcd::VirtualCard + Send>)> = Vec::new();
    let mut shared0 = None;
    let mut covered: Vec<(u16, Arc<Mutex<Card>>)> = Vec::new();
    let trace = a.trace.spec()?;
    for i in 0..n {
        let dir = root.join(i.to_string());
        let seed = seed.map(|s| s.wrapping_add(u64::from(i)));
        let mut opened = open_or_create(&dir, seed)?;
        for f in &debug_caps {
            if let Err(e) = opened.attach_debug(f) {
                eprintln!("gpse serve: --debug-cap for reader {i}: {e}");
            }
        }
        if a.coverage.is_some() {
            opened.set_coverage(true);
        }
        if let Some(spec) = &trace {
            opened.set_trace(spec);
        }
        let card = Arc::new(Mutex::new(opened));
        covered.push((i, card.clone()));
        if i == 0 {
            shared0 = Some(card.clone());
        }
        cards.push((i, dir.clone(), Box::new(SharedCard(card))));
    }
    if let (false, Some(card)) = (app_hashes.is_empty(), shared0) {
        let view = AppView::new(app_hashes.clone());
        cards.push((n, root.join("0"), Box::new(AppCard { card, view })));
    }
    let stop = Arc::new(Stop::new());
    {
        let stop = stop.clone();
        let mut signals =
            signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])
                .map_err(|e| format!("cannot install signal handlers: {e}"))?;
        std::thread::spawn(move || {
            let mut sigs = signals.forever();
            if sigs.next().is_some() {
                stop.stop();
            }
            // A second signal while stopping: leave at once (commits are atomic per APDU).
            if sigs.next().is_some() {
                eprintln!("gpse serve: second signal, exiting now");
                std::process::exit(130);
            }
        });
    }
    let verbose = a.verbose;
    let mut workers = Vec::new();
    for (i, dir, mut card) in cards {
        let cfg = vpcd::Config::local(a.port + i);
        let stop = stop.clone();
        let tag = if slots > 1 { format!("[{i}] ") } else { String::new() };
        let what = if i == n { "the app's view of card" } else { "card" };
        eprintln!("gpse serve: {tag}{what} {} on vpcd 127.0.0.1:{}", dir.display(), cfg.addr.port());
        let mut rec = match &a.record {
            Some(f) => Some(Recording::create(&record_path(f, i), &dir, seed)?),
            None => None,
        };
        let h = std::thread::Builder::new()
            .name(format!("vpcd-{i}"))
            .spawn(move || {
                let addr = cfg.addr;
                let mut masker = Masker::new();
                vpcd::serve(&cfg, &mut card, &stop, &mut |e| {
                    log_event(&tag, verbose, addr, &mut masker, e);
                    if let Some(r) = rec.as_mut() {
                        r.event(e);
                    }
                });
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        workers.push(h);
    }
    eprintln!("gpse serve: running; Ctrl-C or SIGTERM stops");
    let mut panicked = false;
    for w in workers {
        panicked |= w.join().is_err();
    }
    if panicked {
        return Err("a reader thread failed".into());
    }
    if let Some(f) = &a.coverage {
        for (i, card) in &covered {
            super::common::write_coverage(&record_path(f, *i), &locked(card).coverage_report())?;
        }
    }
    eprintln!("gpse serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// A card shared by the readers that show it (the privileged reader and the app's view).
struct SharedCard(Arc<Mutex<Card>>);

fn locked(c: &Arc<Mutex<Card>>) -> std::sync::MutexGuard<'_, Card> {
    // A reader thread that panicked mid-APDU left a card whose image is still the last commit.
    c.lock().unwrap_or_else(|p| p.into_inner())
}

impl vpcd::VirtualCard for SharedCard {
    fn atr(&self) -> Vec<u8> {
        locked(&self.0).atr().to_vec()
    }
    fn power_on(&mut self) {
        locked(&self.0).power_on();
    }
    fn power_off(&mut self) {
        locked(&self.0).power_off();
    }
    fn reset(&mut self) {
        locked(&self.0).reset();
    }
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        locked(&self.0).transmit(apdu)
    }
    fn diagnostics(&mut self) -> Vec<gpse::card::Diagnostic> {
        locked(&self.0).take_diagnostics()
    }
}

/// Card 0 as one app sees it through the ACE, on card channels of its own (never reader 0's).
/// Power events of this reader close the app's channels and nothing else: on the phone an app
/// cannot power the SE off.
struct AppCard {
    card: Arc<Mutex<Card>>,
    view: AppView,
}

impl AppCard {
    fn close_channels(&mut self) {
        let mut card = locked(&self.card);
        // In-process: closing a channel cannot fail as a transport.
        let _ = self.view.reset(&mut *card);
    }
}

impl vpcd::VirtualCard for AppCard {
    fn atr(&self) -> Vec<u8> {
        locked(&self.card).atr().to_vec()
    }
    fn power_on(&mut self) {
        self.close_channels();
    }
    fn power_off(&mut self) {
        self.close_channels();
    }
    fn reset(&mut self) {
        self.close_channels();
    }
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let mut card = locked(&self.card);
        self.view.transmit(&mut *card, apdu).unwrap_or_else(|_| Sw::Unknown.to_bytes().to_vec())
    }
    fn diagnostics(&mut self) -> Vec<gpse::card::Diagnostic> {
        locked(&self.card).take_diagnostics()
    }
}

/// `FILE` for reader 0, `FILE.i` for reader i.
fn record_path(f: &Path, i: u16) -> PathBuf {
    if i == 0 {
        return f.to_path_buf();
    }
    let mut s = f.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

/// A live recording: lines are written and flushed as they happen, so a killed serve leaves a
/// recording up to its last APDU.
struct Recording {
    out: std::io::BufWriter<File>,
    /// Whether the card was used since the last power cycle written: pcscd powers a card on
    /// twice when it connects (once to read the ATR, once for the client), and two consecutive
    /// power cycles say no more than one.
    used: bool,
    /// PINs and keys become variables (`record::SecretNames`).
    secrets: record::SecretNames,
}

impl Recording {
    fn create(path: &Path, card: &Path, seed: Option<u64>) -> Result<Recording, String> {
        let f = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut r = Recording { out: std::io::BufWriter::new(f), used: true, secrets: record::SecretNames::new() };
        r.line(&format!(
            "# recorded by gpse {} serve from card {}{}",
            env!("CARGO_PKG_VERSION"),
            card.display(),
            seed.map(|s| format!(", seed {s}")).unwrap_or_default()
        ));
        Ok(r)
    }

    fn line(&mut self, l: &str) {
        let _ = writeln!(self.out, "{l}");
        let _ = self.out.flush();
    }

    fn event(&mut self, e: &Event<'_>) {
        match e {
            Event::Apdu { command, response } => {
                self.used = true;
                let l = self.secrets.exchange_line(command, response);
                self.line(&l)
            }
            // A power-on is a cold reset; a warm reset is a reset (power-off alone changes nothing
            // a script can see). Either right after a power cycle changes nothing either.
            Event::Control(vpcd::CTRL_POWER_ON | vpcd::CTRL_RESET) if !self.used => self.secrets.reset(),
            Event::Control(vpcd::CTRL_POWER_ON) => {
                self.used = false;
                self.secrets.reset();
                self.line("power cycle")
            }
            Event::Control(vpcd::CTRL_RESET) => {
                self.used = false;
                self.secrets.reset();
                self.line("reset")
            }
            Event::Disconnected(_) => self.secrets.reset(),
            _ => {}
        }
    }
}

/// Opens `dir`'s card image, creating it from the built-in default profile when there is none.
fn open_or_create(dir: &Path, seed: Option<u64>) -> Result<Card, String> {
    match Card::open(dir, Durability::Fsync, seed) {
        Ok(mut c) => {
            super::common::open_notes(dir, &mut c);
            Ok(c)
        }
        Err(CardError::Store(StoreError::NotFound(_))) => {
            let profile = Profile::default_profile();
            let image = profile.build(&Overrides::default(), &mut CardRng::new(seed)).map_err(|e| e.to_string())?;
            let c = Card::create(dir, image, Durability::Fsync, seed, false).map_err(|e| e.to_string())?;
            eprintln!("gpse serve: created card {} from profile {}", dir.display(), profile.name);
            Ok(c)
        }
        Err(CardError::Store(StoreError::Locked(d))) => Err(format!(
            "{}: card image is in use by another gpse process (a `gpse send` or `gpse serve`)",
            d.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Claims vpcd port `port` for this process until it exits: binds the abstract unix socket
/// `gpse-vpcd-PORT` (issue #19 §12).
///
/// Why this lock: an abstract socket has no file, so there is nothing to plant a symlink on and
/// no dependence on `$TMPDIR` (which pointed the old lock file into the working directory when
/// empty); its name space belongs to the network namespace, exactly as the TCP port vpcd
/// listens on does, so two `serve`s in different namespaces (each with its own pcscd) do not
/// collide while two in one namespace do; and the kernel frees it when the process dies, so a
/// killed `serve` leaves no stale lock. (A lock file in the state directory would not see a
/// second `serve` with another `--state`, and the TCP port itself is vpcd's, not ours to bind.)
/// The holder answers each connection with "PID STATE" so a second `serve` can name it.
fn lock_port(port: u16, state: &str) -> Result<(), String> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    let name = format!("gpse-vpcd-{port}");
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| format!("port lock {name}: {e}"))?;
    match UnixListener::bind_addr(&addr) {
        Ok(l) => {
            let me = format!("{} {state}\n", std::process::id());
            std::thread::Builder::new()
                .name(format!("lock-{port}"))
                .spawn(move || {
                    for mut c in l.incoming().flatten() {
                        let _ = c.write_all(me.as_bytes());
                    }
                })
                .map_err(|e| format!("cannot start a thread: {e}"))?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let mut s = String::new();
            if let Ok(mut c) = UnixStream::connect_addr(&addr) {
                let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(1)));
                let _ = c.read_to_string(&mut s);
            }
            let mut parts = s.trim().splitn(2, ' ');
            let pid = parts.next().filter(|p| !p.is_empty()).map(|p| format!(" (pid {p})")).unwrap_or_default();
            let who = parts.next().map(|w| format!(" with state {w}")).unwrap_or_default();
            Err(format!("vpcd port {port} is already served by another `gpse serve`{pid}{who}"))
        }
        Err(e) => Err(format!("port lock {name}: {e}")),
    }
}

/// Takes an exclusive lock on `path` and writes our pid (and `what`) into it; when another
/// process holds it, `busy(" (pid N)", " on STATE")` makes the message.
fn lock_with_pid(path: &Path, what: &str, busy: impl Fn(&str, &str) -> String) -> Result<File, String> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut s = String::new();
            let _ = f.read_to_string(&mut s);
            let mut parts = s.trim().splitn(2, ' ');
            let pid = parts.next().filter(|p| !p.is_empty()).map(|p| format!(" (pid {p})")).unwrap_or_default();
            let who = parts.next().map(|w| format!(" with state {w}")).unwrap_or_default();
            return Err(busy(&pid, &who));
        }
        Err(TryLockError::Error(e)) => return Err(format!("{}: {e}", path.display())),
    }
    let _ = f.set_len(0);
    let _ = f.rewind();
    let _ = writeln!(f, "{} {what}", std::process::id());
    Ok(f)
}

/// Logs one vpcd event on stderr; APDUs (with -v) with PINs and keys masked by `masker`, which
/// sees every APDU (also without -v, to follow the secure channel levels).
fn log_event(tag: &str, verbose: u8, addr: std::net::SocketAddr, masker: &mut Masker, e: &Event<'_>) {
    if matches!(e, Event::Control(_) | Event::Disconnected(_)) {
        masker.reset();
    }
    match e {
        Event::Apdu { command, response } => {
            if verbose == 0 {
                masker.observe(command);
                return;
            }
            let command = masker.masked_hex(command);
            let decoded = match (verbose, Response::parse(response)) {
                (2.., Some(r)) => format!("  ({} {})", r.sw, r.sw.meaning()),
                _ => String::new(),
            };
            eprint!("{tag}> {command}\n{tag}< {}{decoded}\n", upper(response));
        }
        // With -v the Java stack of an exception that escaped a CAP applet; with -vv also the
        // ISOExceptions (an applet's normal way of answering a status word).
        Event::Diagnostic(d) => {
            if d.trace || verbose >= 2 || (verbose == 1 && !d.detail) {
                for l in d.text.lines() {
                    eprintln!("{tag}! {l}");
                }
            }
        }
        Event::Waiting(err) => eprintln!(
            "gpse serve: {tag}waiting for vpcd on {addr} ({err}); is pcscd with vpcd running? (scripts/pcscd-start)"
        ),
        Event::Connected => eprintln!("gpse serve: {tag}connected to vpcd on {addr}"),
        Event::Disconnected(why) => {
            eprintln!("gpse serve: {tag}disconnected ({why}); card powered off")
        }
        Event::Control(c) if verbose >= 2 => {
            let what = match *c {
                vpcd::CTRL_POWER_OFF => "power off",
                vpcd::CTRL_POWER_ON => "power on",
                _ => "reset",
            };
            eprintln!("{tag}* {what}");
        }
        Event::Control(_) => {}
        Event::UnknownControl(c) => {
            eprintln!("gpse serve: {tag}ignored unknown vpcd control byte {c:02X}")
        }
        Event::ResponseTooLong(len) => {
            eprintln!("gpse serve: {tag}response of {len} bytes exceeds vpcd's 65535-byte frame; answered 6700")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_writes_one_power_cycle_for_pcscds_double_power_on() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("rec.gpse");
        let mut r = Recording::create(&p, Path::new("card"), None).unwrap();
        // pcscd at connect: power on, power on (or reset), then the client's APDUs.
        r.event(&Event::Control(vpcd::CTRL_POWER_ON));
        r.event(&Event::Control(vpcd::CTRL_POWER_ON));
        r.event(&Event::Control(vpcd::CTRL_RESET));
        r.event(&Event::Apdu { command: &[0x00, 0xA4, 0x04, 0x00], response: &[0x90, 0x00] });
        r.event(&Event::Control(vpcd::CTRL_RESET));
        r.event(&Event::Control(vpcd::CTRL_POWER_OFF));
        r.event(&Event::Control(vpcd::CTRL_POWER_ON));
        drop(r);
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(lines, ["power cycle", "00A40400 => 9000", "reset"]);
    }
}
