#![no_main]
//! SCP03 on the success path: a real host session at level 33 (C-DEC, C-MAC, R-ENC, R-MAC)
//! with the default card wraps commands made from the input, so the card's unwrap, the
//! command it reaches and the host's unwrap of the protected answer all run past the MAC
//! check. The card always answers, and every answer to a validly wrapped command unwraps.
use gpse::apdu::{Command, Response};
use gpse::card::{Card, CardImage};
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::host::{HostSession, OpenOptions};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::transport::scp::SessionIo;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn image() -> &'static [u8] {
    static I: OnceLock<Vec<u8>> = OnceLock::new();
    I.get_or_init(|| {
        Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(0))).unwrap().to_bytes()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut card = Card::in_memory(CardImage::from_bytes(image()).unwrap(), Some(0)).unwrap();
    card.power_on();
    let k = [0x40u8, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F];
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    let opts =
        OpenOptions { kvn: 0, level: SecurityLevel::from_p1(0x33).unwrap(), host_challenge: Some([7; 8]), channel: 0, s16: false };
    let mut host = HostSession::open(&mut card, &keys, &opts, &mut CardRng::new(Some(1))).unwrap();
    // Input: INS P1 P2 N DATA[N] … ; CLA 80 (GP commands to the ISD), Le 256 when N is odd.
    let mut rest = data;
    while rest.len() >= 4 {
        let (ins, p1, p2, n) = (rest[0], rest[1], rest[2], rest[3] as usize);
        let body = &rest[4..];
        let n = n.min(body.len()).min(200);
        let mut cmd = Command::new(0x80, ins, p1, p2).with_data(body[..n].to_vec());
        if n % 2 == 1 {
            cmd = cmd.with_ne(256);
        }
        rest = &body[n..];
        let Ok(wire) = host.wrap(&cmd) else { return };
        let r = card.transmit(&wire.to_bytes());
        assert!(r.len() >= 2);
        let rsp = Response::parse(&r).unwrap();
        // A session the card ended (SELECT, a security error) answers plain: stop there.
        if host.unwrap(&rsp).is_err() {
            return;
        }
    }
});
