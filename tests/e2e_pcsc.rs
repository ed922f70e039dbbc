//! End to end through real PC/SC: `gpse serve` behind pcscd + vsmartcard's vpcd, driven by the
//! `pcsc` crate, `gpse send --reader`, scriptor, opensc-tool and pyscard.
//!
//! Needs pcscd and vpcd (scripts/install-deps) and runs only with `GPSE_E2E=1` (the project's
//! test script sets it); without it the test says it was skipped and passes. With it, failing
//! to start pcscd fails the test. A pcscd already running with vpcd listening (started by the
//! test script) is used as is; otherwise the test starts its own with scripts/pcscd-start and
//! stops it by PID at the end.
//!
//! Only one pcscd can run per machine, so everything is one test function that runs its cases
//! in sequence. Every process it starts is killed by a Drop guard, also on failure.

use gpse::transport::pcsc::PcscTransport;
use gpse::transport::{Transport, TransportError};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const R0: &str = "Virtual PCD 00 00";
const R1: &str = "Virtual PCD 00 01";
const ATR: &str = "3B8C800147502D53452D454D554C21211D";
const SELECT_ISD: &str = "00A4040008A000000151000000";
const ISD_FCI: &str = "6F108408A000000151000000A5049F6501FF9000";
const SELECT_TEST: &str = "00A404000AF0475053455445535401";
const SOCK: &str = "/run/pcscd/pcscd.comm";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn up(b: &[u8]) -> String {
    hex::encode_upper(b)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes to the real stderr, past the test harness's output capture.
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Is something listening on TCP `port` (any address)? Read from /proc so that no connection is
/// made: a connection to a vpcd port would be a card insertion.
fn listening(port: u16) -> bool {
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).unwrap_or_default().lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&want) && cols[3] == "0A"
        })
    })
}

/// pcscd for the test: an external one, or one started here and stopped on drop.
struct Pcscd {
    own: Option<PathBuf>, // PID file of the pcscd we started
    _dir: tempfile::TempDir,
}

impl Pcscd {
    fn get() -> Pcscd {
        let dir = tempfile::tempdir().unwrap();
        if Path::new(SOCK).exists() && listening(35963) {
            say("e2e_pcsc: using the pcscd already running");
            return Pcscd { own: None, _dir: dir };
        }
        let pid = dir.path().join("pcscd.pid");
        Pcscd::start(&pid, &dir.path().join("pcscd.log"));
        Pcscd { own: Some(pid), _dir: dir }
    }

    fn start(pid: &Path, log: &Path) {
        let out = Command::new(root().join("scripts/pcscd-start"))
            .env("GPSE_PCSCD_PID", pid)
            .env("GPSE_PCSCD_LOG", log)
            .output()
            .expect("run scripts/pcscd-start");
        assert!(
            out.status.success(),
            "GPSE_E2E=1 but pcscd could not be started (scripts/install-deps, then scripts/pcscd-start):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop_pid(pid: &Path) {
        let _ = Command::new(root().join("scripts/pcscd-stop")).env("GPSE_PCSCD_PID", pid).output();
    }

    /// Stops and starts our own pcscd; false when pcscd is external.
    fn restart(&self) -> bool {
        let Some(pid) = &self.own else { return false };
        Pcscd::stop_pid(pid);
        Pcscd::start(pid, &self._dir.path().join("pcscd2.log"));
        true
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        if let Some(pid) = &self.own {
            Pcscd::stop_pid(pid);
        }
    }
}

/// A `gpse serve` process, killed on drop.
struct Serve {
    child: Option<Child>,
    log: PathBuf,
}

impl Serve {
    fn start(state: &Path, args: &[&str]) -> Serve {
        let log = state.with_extension(format!("serve{}.log", std::process::id()));
        let log = unique(log);
        let child = Command::new(env!("CARGO_BIN_EXE_gpse"))
            .arg("serve")
            .arg("--state")
            .arg(state)
            .args(args)
            .env_remove("GPSE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("start gpse serve");
        Serve { child: Some(child), log }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(pid: u32, sig: &str) {
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap();
        assert!(ok.success(), "kill -{sig} {pid}");
    }

    fn wait(&mut self, within: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let t = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.child = None;
                return st;
            }
            assert!(t.elapsed() < within, "gpse serve did not exit; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and the exit status.
    fn term(&mut self) -> ExitStatus {
        Serve::signal(self.pid(), "TERM");
        self.wait(Duration::from_secs(10))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn unique(p: PathBuf) -> PathBuf {
    let mut i = 0;
    loop {
        let q = p.with_extension(format!("{i}.log"));
        if !q.exists() {
            return q;
        }
        i += 1;
    }
}

/// Connects to `reader` once its card is there and answers (the card connects and pcscd polls
/// every 0.4 s, so a card that just went away may still look present for a moment). The probe
/// leaves the ISD selected, as after power-on.
fn wait_card(reader: &str, serve: &Serve) -> PcscTransport {
    let t = Instant::now();
    loop {
        let e = match PcscTransport::connect(reader) {
            Ok(mut c) => match c.transmit(&h(SELECT_ISD)) {
                Ok(_) => return c,
                Err(e) => e,
            },
            Err(e) => e,
        };
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no card in {reader} after 15 s: {e}; gpse serve log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tx(t: &mut PcscTransport, apdu: &str) -> String {
    up(&t.transmit(&h(apdu)).unwrap_or_else(|e| panic!("{apdu}: {e}")))
}

/// Extended case 4E echo of `n` bytes.
fn echo_ext(t: &mut PcscTransport, n: usize) {
    let data: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
    let mut apdu = vec![0x80, 0x01, 0x00, 0x00, 0x00, (n >> 8) as u8, n as u8];
    apdu.extend_from_slice(&data);
    apdu.extend_from_slice(&[0x00, 0x00]);
    let rsp = t.transmit(&apdu).unwrap();
    assert_eq!(rsp.len(), n + 2, "echo {n}");
    assert_eq!(&rsp[..n], &data[..]);
    assert_eq!(&rsp[n..], &[0x90, 0x00]);
}

fn counter(t: &mut PcscTransport) -> u32 {
    let r = t.transmit(&h("8003000000")).unwrap();
    assert_eq!(r.len(), 6, "{}", up(&r));
    assert_eq!(&r[4..], &[0x90, 0x00]);
    u32::from_be_bytes([r[0], r[1], r[2], r[3]])
}

/// Runs a tool with a time limit and returns (status, stdout, stderr).
fn tool(cmd: &str, args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new("timeout")
        .arg("60")
        .arg(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    (out.status, String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn e2e_pcsc() {
    if std::env::var("GPSE_E2E").as_deref() != Ok("1") {
        say("e2e_pcsc: SKIPPED (end-to-end PC/SC tests need pcscd + vpcd; run with GPSE_E2E=1 after scripts/install-deps, as .ci/run does)");
        return;
    }
    let pcscd = Pcscd::get();
    let tmp = tempfile::tempdir().unwrap();

    // Two readers, two images; -v logs every APDU.
    let state = tmp.path().join("cards");
    let mut serve = Serve::start(&state, &["--readers", "2", "-v"]);
    let mut c0 = wait_card(R0, &serve);
    let mut c1 = wait_card(R1, &serve);

    say("e2e_pcsc: pcsc crate: ATR, SELECT ISD, GET DATA, test applet, extended APDUs");
    assert_eq!(up(&c0.atr().unwrap()), ATR);
    assert_eq!(tx(&mut c0, SELECT_ISD), ISD_FCI);
    let cplc = tx(&mut c0, "80CA9F7F00");
    assert!(cplc.starts_with("9F7F2A") && cplc.ends_with("9000") && cplc.len() == 2 * (3 + 42 + 2), "{cplc}");
    assert_eq!(tx(&mut c0, SELECT_TEST), "9000");
    assert_eq!(tx(&mut c0, "8001000003CAFE42"), "CAFE429000");
    echo_ext(&mut c0, 300);
    echo_ext(&mut c0, 4000);
    let r = c0.transmit(&h("80020FA000")).unwrap();
    assert_eq!(r.len(), 4002);
    assert!(r[..4000].iter().enumerate().all(|(i, b)| *b == i as u8));
    assert_eq!(&r[4000..], &[0x90, 0x00]);
    // The largest message vpcd frames is 65535 bytes: a command of that size, a response of
    // 65533 data bytes + SW; one byte more cannot be framed and the card answers 6700.
    echo_ext(&mut c0, 65526);
    let max = c0.transmit(&h("8002FFFD000000")).unwrap();
    assert_eq!(max.len(), 65535);
    assert_eq!(&max[65533..], &[0x90, 0x00]);
    assert_eq!(tx(&mut c0, "8002FFFE000000"), "6700");
    assert_eq!(tx(&mut c0, "8001000003CAFE42"), "CAFE429000", "the card is still there");

    say("e2e_pcsc: two readers, separate images");
    assert_eq!(tx(&mut c1, SELECT_TEST), "9000");
    for _ in 0..3 {
        counter(&mut c0);
    }
    assert_eq!(counter(&mut c1), 1);
    assert_eq!(counter(&mut c0), 4);
    assert_eq!(counter(&mut c1), 2);
    // Volatile state is per card too.
    assert_eq!(tx(&mut c0, "8006000000"), "000000019000");
    assert_eq!(tx(&mut c0, "8006000000"), "000000029000");
    assert_eq!(tx(&mut c1, "8006000000"), "000000019000");
    // pcscd's GET ATR presence polls (every 400 ms) leave volatile state alone.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(tx(&mut c0, "8006000000"), "000000039000");
    // A warm reset by the client drops volatile state and the selection.
    assert_eq!(up(&c1.reset().unwrap()), ATR);
    assert_eq!(tx(&mut c1, SELECT_TEST), "9000");
    assert_eq!(tx(&mut c1, "8006000000"), "000000019000");
    drop(c1);

    say("e2e_pcsc: a command too long for vpcd drops the card; gpse serve reconnects");
    let mut huge = vec![0x80, 0x01, 0x00, 0x00, 0x00, 0xFF, 0xFF];
    huge.resize(7 + 0xFFFF, 0x11);
    huge.extend_from_slice(&[0x00, 0x00]);
    assert!(c0.transmit(&huge).is_err());
    drop(c0);
    let mut c0 = wait_card(R0, &serve);
    assert_eq!(tx(&mut c0, SELECT_TEST), "9000");
    assert_eq!(counter(&mut c0), 5, "persistent state kept");
    assert_eq!(tx(&mut c0, "8006000000"), "000000019000", "volatile state lost with the power");
    assert!(serve.log().contains("[0] disconnected (vpcd closed the connection)"), "{}", serve.log());

    say("e2e_pcsc: gpse send --reader");
    let bin = env!("CARGO_BIN_EXE_gpse");
    let (st, out, err) = tool(bin, &["send", "--reader", R1, "-q", SELECT_ISD, "80CA9F7F00"]);
    assert!(st.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0], ISD_FCI);
    assert_eq!(lines[1], cplc);
    // Host code over PC/SC: an SCP03 session (C-MAC, C-DEC, R-MAC, R-ENC) with the ISD.
    let k = "404142434445464748494A4B4C4D4E4F";
    let (st, out, err) = tool(bin, &["send", "--reader", R1, "--scp03", k, "--level", "33", SELECT_ISD, "80CA9F7F00"]);
    assert!(st.success(), "{err}");
    assert!(out.contains("# SCP03 session on channel 0"), "{out}");
    assert!(out.contains(&format!("< {cplc}")), "{out}");
    let (st, _, err) = tool(bin, &["send", "--reader", "No Such Reader", SELECT_ISD]);
    assert!(!st.success());
    assert!(err.contains("no reader 'No Such Reader'; readers are 0: Virtual PCD 00 00"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    say("e2e_pcsc: scriptor");
    let script = tmp.path().join("script.txt");
    std::fs::write(
        &script,
        "# gpse e2e\n00 A4 04 00 08 A0 00 00 01 51 00 00 00\n00A404000AF0475053455445535401\n\
         80 01 00 00 05 01 02 03 04 05\n80 7F 00 00\n80 02 00 30 00\nreset\n",
    )
    .unwrap();
    let (st, out, err) = tool("scriptor", &["-r", R0, "-p", "T=1", script.to_str().unwrap()]);
    assert!(st.success(), "scriptor: {err}");
    let flat = squash(&out);
    let pattern: String = (0..0x30).map(|i| format!("{i:02X} ")).collect();
    for want in [
        "Using T=1 protocol",
        "> 00 A4 04 00 08 A0 00 00 01 51 00 00 00 < 6F 10 84 08 A0 00 00 01 51 00 00 00 A5 04 9F 65 01 FF 90 00 : Normal processing.",
        "> 00 A4 04 00 0A F0 47 50 53 45 54 45 53 54 01 < 90 00 : Normal processing.",
        "> 80 01 00 00 05 01 02 03 04 05 < 01 02 03 04 05 90 00 : Normal processing.",
        "> 80 7F 00 00 < 6D 00 : Instruction code not supported or invalid.",
        &format!("> 80 02 00 30 00 < {pattern}90 00 : Normal processing."),
        "> RESET < OK: 3B 8C 80 01 47 50 2D 53 45 2D 45 4D 55 4C 21 21 1D",
    ] {
        assert!(flat.contains(want), "scriptor output lacks '{want}':\n{out}");
    }

    say("e2e_pcsc: opensc-tool");
    let (st, out, err) = tool("opensc-tool", &["-r", R0, "--atr"]);
    assert!(st.success(), "{err}");
    assert_eq!(out.trim(), "3b:8c:80:01:47:50:2d:53:45:2d:45:4d:55:4c:21:21:1d");
    let (st, out, err) = tool("opensc-tool", &["-r", R0, "--send-apdu", SELECT_ISD, "--send-apdu", "80CA9F7F00"]);
    assert!(st.success(), "{err}");
    let received = opensc_received(&out);
    assert_eq!(received.len(), 2, "{out}");
    assert_eq!(received[0], ISD_FCI);
    assert_eq!(received[1], cplc);

    say("e2e_pcsc: pyscard");
    let py = tmp.path().join("t.py");
    std::fs::write(&py, PYSCARD).unwrap();
    let big = format!("80010000000FA0{}0000", "5A".repeat(4000));
    let (st, out, err) =
        tool("/usr/bin/python3", &[py.to_str().unwrap(), R0, SELECT_ISD, SELECT_TEST, "80020FA000", &big]);
    assert!(st.success(), "pyscard: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], ISD_FCI);
    assert_eq!(lines[1], "9000");
    assert_eq!(lines[2], up(&r));
    assert_eq!(lines[3], format!("{}9000", "5A".repeat(4000)));

    say("e2e_pcsc: a second serve on the same state is refused");
    let (st, _, err) = tool(bin, &["serve", "--state", state.to_str().unwrap()]);
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(err.contains("already served by another `gpse serve` (pid "), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    say("e2e_pcsc: restart of gpse serve while a client holds the card");
    // The tools above reset the card: this handle must reconnect first.
    assert!(matches!(c0.transmit(&h(SELECT_TEST)), Err(TransportError::ResetByOther)));
    c0.reconnect().unwrap();
    assert_eq!(tx(&mut c0, SELECT_TEST), "9000");
    let before = counter(&mut c0);
    assert_eq!(serve.term().code(), Some(0), "SIGTERM: exit 0; log:\n{}", serve.log());
    let log = serve.log();
    assert!(log.contains(&format!("[0] > {SELECT_ISD}\n[0] < {ISD_FCI}\n")), "-v log:\n{log}");
    assert!(log.contains("gpse serve: stopped"), "{log}");
    assert!(c0.transmit(&h("8003000000")).is_err(), "the card is gone");
    std::thread::sleep(Duration::from_millis(1000));
    let e = c0.transmit(&h("8003000000")).unwrap_err();
    assert!(matches!(e, TransportError::Removed), "{e}");
    let serve = Serve::start(&state, &["--readers", "2"]);
    let t = Instant::now();
    while let Err(e) = c0.reconnect() {
        assert!(t.elapsed() < Duration::from_secs(15), "reconnect: {e}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The card lost power: the basic channel has the ISD selected again.
    assert_eq!(tx(&mut c0, "8003000000"), "6D00");
    assert_eq!(tx(&mut c0, SELECT_TEST), "9000");
    assert_eq!(counter(&mut c0), before + 1, "the persistent counter survives the restart");
    let mut c1 = wait_card(R1, &serve);
    assert_eq!(tx(&mut c1, SELECT_TEST), "9000");
    assert_eq!(counter(&mut c1), 3);
    drop(c1);

    if pcscd.restart() {
        say("e2e_pcsc: pcscd restart: gpse serve reconnects");
        let mut c = wait_card(R0, &serve);
        assert_eq!(tx(&mut c, SELECT_TEST), "9000");
        assert_eq!(counter(&mut c), before + 2);
        let log = serve.log();
        assert!(log.matches("[0] connected to vpcd").count() >= 2, "{log}");
        assert!(log.contains("[0] disconnected (vpcd closed the connection)"), "{log}");
    }
    drop(c0);
    drop(serve);

    say("e2e_pcsc: SIGKILL during persistent writes");
    sigkill_counter(&tmp.path().join("kill1"));
    sigkill_blob(&tmp.path().join("kill2"));
    say("e2e_pcsc: done");
}

/// The response bytes of each "Received" block of `opensc-tool --send-apdu` (the hex columns of
/// its dump), followed by the SW.
fn opensc_received(out: &str) -> Vec<String> {
    let mut res: Vec<String> = Vec::new();
    let mut sw = String::new();
    let mut cur: Option<String> = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("Received (SW1=0x") {
            if let Some(c) = cur.take() {
                res.push(c + &sw);
            }
            // "90, SW2=0x00):"
            sw = format!("{}{}", &rest[..2], &rest[10..12]).to_uppercase();
            cur = Some(String::new());
        } else if line.starts_with("Sending:") {
            if let Some(c) = cur.take() {
                res.push(c + &sw);
            }
        } else if let Some(c) = cur.as_mut() {
            let hexpart: String = line.chars().take(48).collect();
            for tok in hexpart.split_whitespace() {
                c.push_str(tok);
            }
        }
    }
    if let Some(c) = cur.take() {
        res.push(c + &sw);
    }
    res
}

const PYSCARD: &str = r#"import sys
from smartcard.scard import *
reader = sys.argv[1]
hr, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
assert hr == SCARD_S_SUCCESS, SCardGetErrorMessage(hr)
hr, card, proto = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1)
assert hr == SCARD_S_SUCCESS, SCardGetErrorMessage(hr)
for line in sys.argv[2:]:
    hr, rsp = SCardTransmit(card, SCARD_PCI_T1, list(bytes.fromhex(line)))
    assert hr == SCARD_S_SUCCESS, SCardGetErrorMessage(hr)
    print(bytes(rsp).hex().upper())
SCardDisconnect(card, SCARD_LEAVE_CARD)
SCardReleaseContext(ctx)
"#;

/// Streams persistent writes, SIGKILLs `gpse serve` once `after` of them were acknowledged, and
/// returns the last acknowledged value `ack` gives. The kill comes from another thread, so it
/// lands at an arbitrary point of an APDU (often inside the image commit).
fn stream_then_kill(
    serve: &Serve,
    c: &mut PcscTransport,
    mut step: impl FnMut(&mut PcscTransport, u32) -> bool,
) -> u32 {
    let acked = Arc::new(AtomicU32::new(0));
    let pid = serve.pid();
    let a = acked.clone();
    let killer = std::thread::spawn(move || {
        while a.load(Ordering::SeqCst) < 20 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(3));
        Serve::signal(pid, "KILL");
    });
    let mut i = 1u32;
    while step(c, i) {
        acked.store(i, Ordering::SeqCst);
        i += 1;
        assert!(i < 100_000, "gpse serve was never killed");
    }
    killer.join().unwrap();
    acked.load(Ordering::SeqCst)
}

fn sigkill_counter(state: &Path) {
    let mut serve = Serve::start(state, &[]);
    let mut c = wait_card(R0, &serve);
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    let last = stream_then_kill(&serve, &mut c, |c, i| match c.transmit(&h("8003000000")) {
        Ok(r) => {
            assert_eq!(r, [&i.to_be_bytes()[..], &[0x90, 0x00]].concat());
            true
        }
        Err(_) => false,
    });
    assert!(!serve.wait(Duration::from_secs(10)).success());
    drop(c);
    let serve = Serve::start(state, &[]);
    let mut c = wait_card(R0, &serve);
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    let stored = counter(&mut c) - 1;
    assert!(stored == last || stored == last + 1, "stored counter {stored}, last acknowledged {last}");
    say(&format!("e2e_pcsc:   counter: last acknowledged {last}, image has {stored}"));
}

fn blob(i: u32) -> Vec<u8> {
    let mut b = vec![i as u8; 10 * 1024];
    b[..4].copy_from_slice(&i.to_be_bytes());
    b
}

fn sigkill_blob(state: &Path) {
    let mut serve = Serve::start(state, &[]);
    let mut c = wait_card(R0, &serve);
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    let last = stream_then_kill(&serve, &mut c, |c, i| {
        let b = blob(i);
        let mut apdu = vec![0x80, 0x04, 0x00, 0x00, 0x00, (b.len() >> 8) as u8, b.len() as u8];
        apdu.extend_from_slice(&b);
        match c.transmit(&apdu) {
            Ok(r) => {
                assert_eq!(r, [0x90, 0x00]);
                true
            }
            Err(_) => false,
        }
    });
    assert!(!serve.wait(Duration::from_secs(10)).success());
    drop(c);
    let serve = Serve::start(state, &[]);
    let mut c = wait_card(R0, &serve);
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    let r = c.transmit(&h("80050000000000")).unwrap();
    assert_eq!(r.len(), 10 * 1024 + 2);
    let idx = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
    assert!(idx == last || idx == last + 1, "stored blob {idx}, last acknowledged {last}");
    assert_eq!(&r[..r.len() - 2], &blob(idx)[..], "blob {idx} intact");
    say(&format!("e2e_pcsc:   blob: last acknowledged {last}, image has {idx}"));
}
