//! `gpse serve`: the card(s) behind vsmartcard's vpcd, so every PC/SC client sees them in a
//! reader. Reader slot i connects to 127.0.0.1:(PORT+i) and serves the card image `DIR/i`.

use super::common::{default_state_root, parse_num};
use gpse::apdu::Response;
use gpse::card::profile::{Overrides, Profile};
use gpse::card::{Card, CardError};
use gpse::crypto::CardRng;
use gpse::hexutil::upper;
use gpse::store::{Durability, StoreError};
use gpse::transport::vpcd::{self, Event, Stop};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(after_help = "Needs pcscd with vsmartcard's vpcd driver (scripts/install-deps, scripts/pcscd-start).
Reader slot i (\"Virtual PCD 00 0i\" with Debian's vpcd configuration, which has 2 slots) gets
the card image DIR/i, created from the built-in default profile when missing.
Ctrl-C or SIGTERM finishes the APDU in flight and exits 0; every APDU is already committed.
Example: gpse serve --state ./cards --readers 2 -v")]
pub struct ServeArgs {
    /// Directory of the card images: reader i uses DIR/i [default: ~/.local/share/gpse]
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// How many reader slots to serve (vpcd's shipped configuration has 2).
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub readers: u16,
    /// vpcd's TCP port of reader slot 0; slot i is PORT+i.
    #[arg(long, default_value_t = vpcd::DEFAULT_PORT, value_name = "P")]
    pub port: u16,
    /// Seed the card RNGs (reader i gets S+i) for reproducible challenges and keys; also used
    /// when a missing card image is created.
    #[arg(long, value_parser = parse_num, value_name = "S")]
    pub seed: Option<u64>,
    /// -v: log each APDU (`> CMD`, `< RSP`) on stderr; -vv: also the status word's meaning
    /// and power events.
    #[arg(long, short, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

const SERVE_LOCK: &str = "serve.lock";

pub fn run(a: ServeArgs) -> Result<ExitCode, String> {
    let root = a.state.clone().unwrap_or_else(default_state_root);
    let n = a.readers;
    if u32::from(a.port) + u32::from(n) - 1 > 0xFFFF || a.port == 0 {
        return Err(format!("--port {} with --readers {n} leaves the TCP port range", a.port));
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    // One `serve` per state directory, and one per vpcd port (a second card on a vpcd port
    // would wait unaccepted in its backlog, silently).
    let _root_lock = lock_with_pid(&root.join(SERVE_LOCK), &root.display().to_string(), |pid, _| {
        format!("{}: already served by another `gpse serve`{pid}; stop it first or use another --state", root.display())
    })?;
    let mut port_locks = Vec::new();
    for i in 0..n {
        let port = a.port + i;
        let p = std::env::temp_dir().join(format!("gpse-vpcd-{port}.lock"));
        port_locks.push(lock_with_pid(&p, &root.display().to_string(), |pid, who| {
            format!("vpcd port {port} is already served by another `gpse serve`{pid}{who}")
        })?);
    }
    let mut cards = Vec::new();
    for i in 0..n {
        let dir = root.join(i.to_string());
        let seed = a.seed.map(|s| s.wrapping_add(u64::from(i)));
        cards.push((i, dir.clone(), open_or_create(&dir, seed)?));
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
        let tag = if n > 1 { format!("[{i}] ") } else { String::new() };
        eprintln!("gpse serve: {tag}card {} on vpcd 127.0.0.1:{}", dir.display(), cfg.addr.port());
        let h = std::thread::Builder::new()
            .name(format!("vpcd-{i}"))
            .spawn(move || {
                let addr = cfg.addr;
                vpcd::serve(&cfg, &mut card, &stop, &mut |e| log_event(&tag, verbose, addr, e));
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
    eprintln!("gpse serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Opens `dir`'s card image, creating it from the built-in default profile when there is none.
fn open_or_create(dir: &Path, seed: Option<u64>) -> Result<Card, String> {
    match Card::open(dir, Durability::Fsync, seed) {
        Ok(c) => Ok(c),
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

fn log_event(tag: &str, verbose: u8, addr: std::net::SocketAddr, e: &Event<'_>) {
    match e {
        Event::Apdu { command, response } => {
            if verbose == 0 {
                return;
            }
            let decoded = match (verbose, Response::parse(response)) {
                (2.., Some(r)) => format!("  ({} {})", r.sw, r.sw.meaning()),
                _ => String::new(),
            };
            eprint!("{tag}> {}\n{tag}< {}{decoded}\n", upper(command), upper(response));
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
