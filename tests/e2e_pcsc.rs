//! End to end through real PC/SC: `gpse serve` behind pcscd + vsmartcard's vpcd, driven by the
//! `pcsc` crate, `gpse send --reader`, scriptor, opensc-tool and pyscard.
//!
//! Needs pcscd and vpcd (scripts/install-deps). Marked `#[ignore]`, so a plain `cargo test`
//! reports it as ignored, never as passed; scripts/test runs it with `--ignored` (unless
//! `GPSE_E2E=0`), and then failing to start pcscd fails the test. A pcscd already running with vpcd listening (started by the
//! test script) is used as is; otherwise the test starts its own with scripts/pcscd-start and
//! stops it by PID at the end.
//!
//! Only one pcscd can run per machine, so everything is one test function that runs its cases
//! in sequence. Every process it starts is killed by a Drop guard, also on failure.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod common;

use common::e2e::*;
use gpse::transport::pcsc::PcscTransport;
use gpse::transport::{Transport, TransportError};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
#[ignore = "needs pcscd + vpcd + OpenSC: scripts/test runs it with --ignored (GPSE_E2E=0 skips)"]
fn e2e_pcsc() {
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
    // 4000 bytes need extended Le (a short Le 00 gets 256 and 61xx: ISO 7816-4 §5.3.4).
    let r = c0.transmit(&h("80020FA0000000")).unwrap();
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
    let fci: Vec<String> = h(ISD_FCI).iter().map(|b| format!("{b:02X}")).collect();
    let select_isd = format!("> 00 A4 04 00 08 A0 00 00 01 51 00 00 00 < {} : Normal processing.", fci.join(" "));
    for want in [
        "Using T=1 protocol",
        select_isd.as_str(),
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
        tool("/usr/bin/python3", &[py.to_str().unwrap(), R0, SELECT_ISD, SELECT_TEST, "80020FA0000000", &big]);
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
