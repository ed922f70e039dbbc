//! JPKI crypto on the card: RSA-2048 key generation (median and spread) and the PKCS#1 v1.5
//! signature of COMPUTE DIGITAL SIGNATURE, through the applet as the card runs it.
//!
//! `cargo bench --bench jpki` prints the figures; `-- N` sets the key generation count (default 30).
//! Under `cargo test` (no `--bench` argument) it runs one of each as a smoke test.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::Command;
use gpse::applets::jpki;
use gpse::card::{Aid, Ctx};
use gpse::crypto::CardRng;
use gpse::scp03::SecurityStatus;
use std::time::Instant;

mod common;
use common::stats;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(if bench { 30 } else { 1 });
    let aid = Aid::from_static(jpki::JPKI_AID);
    let mut rng = CardRng::new(None);
    let run = |applet: &mut Box<dyn gpse::card::Applet>, rng: &mut CardRng, level: Option<u8>, apdu: &[u8]| {
        let cmd = Command::parse(apdu).unwrap();
        let mut ctx = Ctx::standalone(0, &aid, rng, SecurityStatus::from_bits_retain(level.unwrap_or(0)));
        applet.process(&mut ctx, &cmd)
    };
    let mut keygen = Vec::new();
    for _ in 0..n {
        let mut applet = (jpki::MODULE.install)(&[], &mut rng).unwrap();
        let t = Instant::now();
        run(&mut applet, &mut rng, Some(0x83), &[0x80, 0x47, 0x00, 0x01]).unwrap();
        keygen.push(t.elapsed());
    }
    stats("RSA-2048 key generation (GENERATE KEY PAIR)", keygen);

    // A personalised auth pair for signing: key, certificate, PIN, change, verify, select key.
    let mut applet = (jpki::MODULE.install)(&[], &mut rng).unwrap();
    let t = run(&mut applet, &mut rng, Some(0x83), &[0x80, 0x47, 0x00, 0x01]).unwrap();
    let pk = gpse::host::ca::public_key_from_template(&t.data).unwrap();
    let mut ca = gpse::host::ca::TestCa::new(&mut rng, "bench CA").unwrap();
    let cert = ca.issue(&pk, "bench").unwrap();
    let mut store = vec![0x80, 0xD0, 0x80, 0x01, 0x00, (cert.len() >> 8) as u8, cert.len() as u8];
    store.extend(&cert);
    run(&mut applet, &mut rng, Some(0x83), &store).unwrap();
    run(&mut applet, &mut rng, Some(0x83), b"\x80\xD2\x00\x01\x041234").unwrap();
    run(&mut applet, &mut rng, None, &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18]).unwrap();
    run(&mut applet, &mut rng, None, b"\x00\x20\x00\x80\x041234").unwrap();
    run(&mut applet, &mut rng, None, b"\x00\x24\x01\x80\x045678").unwrap();
    run(&mut applet, &mut rng, None, &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17]).unwrap();
    let mut sign = vec![0x80, 0x2A, 0x00, 0x80, 0x33];
    sign.extend(hex::decode("3031300D060960864801650304020105000420").unwrap());
    sign.extend([0xAB; 32]);
    sign.push(0x00);
    let mut sigs = Vec::new();
    for _ in 0..(n * 20).max(1) {
        let t = Instant::now();
        let r = run(&mut applet, &mut rng, None, &sign).unwrap();
        sigs.push(t.elapsed());
        assert_eq!(r.data.len(), 256);
    }
    stats("PKCS#1 v1.5 signature (COMPUTE DIGITAL SIGNATURE)", sigs);
}
