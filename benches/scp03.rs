//! SCP03 round trips in-process at level 33 (C-DEC, C-MAC, R-ENC, R-MAC), AES-128:
//! host wrap → card unwrap / process / wrap → host unwrap, with the card's whole per-APDU path
//! (parse, dispatch, commit check) in between.
//!
//! * `echo64_testapp`: the test applet's echo `80 01 00 00 40 <64 bytes> 00`, the applet using
//!   the ISD's secure channel (`Applet::uses_secure_channel`); 64 bytes each way.
//! * `get_data_isd`: GET DATA `80 CA 00 CF` with 64 bytes of data to the ISD (10-byte answer).

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gpse::apdu::Command;
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::host::{HostSession, OpenOptions};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::transport::scp::SessionIo;
use std::hint::black_box;

fn setup(select: &[u8]) -> (Card, HostSession) {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut card = Card::in_memory(img, Some(1)).unwrap();
    card.power_on();
    let r = card.transmit(select);
    assert_eq!(&r[r.len() - 2..], &[0x90, 0x00]);
    let k = hex::decode("404142434445464748494A4B4C4D4E4F").unwrap();
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    let s =
        HostSession::open(&mut card, &keys, &OpenOptions::new(SecurityLevel::ALL), &mut CardRng::new(Some(2))).unwrap();
    (card, s)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("scp03_level33");
    g.throughput(Throughput::Elements(1));
    let payload: Vec<u8> = (0..64).collect();

    let (mut card, mut s) = setup(&hex::decode("00A404000AF047505345544553540100").unwrap());
    let echo = Command::new(0x80, 0x01, 0x00, 0x00).with_data(payload.clone()).with_ne(256);
    g.bench_function("echo64_testapp", |b| {
        b.iter(|| {
            let r = s.transmit(&mut card, black_box(&echo)).unwrap();
            assert_eq!(r.data.len(), 64);
            r
        })
    });

    let (mut card, mut s) = setup(&hex::decode("00A4040008A000000151000000").unwrap());
    let gd = Command::new(0x80, 0xCA, 0x00, 0xCF).with_data(payload).with_ne(256);
    g.bench_function("get_data_isd", |b| {
        b.iter(|| {
            let r = s.transmit(&mut card, black_box(&gd)).unwrap();
            assert_eq!(r.data.len(), 12);
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
