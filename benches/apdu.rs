//! In-process APDU throughput on the default card: trivial commands without persistent writes,
//! SELECT + trivial command, and one persistent write per APDU (fsync and no-sync policies).
//!
//! `cargo bench --bench apdu` prints elements/s (= APDUs/s) per case.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gpse::card::{Card, CardImage};
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::store::Durability;

const SELECT_TEST: [u8; 15] =
    [0x00, 0xA4, 0x04, 0x00, 0x0A, 0xF0, 0x47, 0x50, 0x53, 0x45, 0x54, 0x45, 0x53, 0x54, 0x01];
const ECHO: [u8; 9] = [0x80, 0x01, 0x00, 0x00, 0x03, 0xCA, 0xFE, 0x42, 0x00];
const COUNTER: [u8; 5] = [0x80, 0x03, 0x00, 0x00, 0x00];

fn image() -> CardImage {
    Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("in_process");
    g.throughput(Throughput::Elements(1));

    let mut card = Card::in_memory(image(), Some(1)).unwrap();
    card.power_on();
    assert_eq!(card.transmit(&SELECT_TEST), [0x90, 0x00]);
    g.bench_function("trivial_no_write", |b| b.iter(|| black_box(card.transmit(black_box(&ECHO)))));

    g.bench_function("select_then_trivial", |b| {
        b.iter(|| {
            black_box(card.transmit(black_box(&SELECT_TEST)));
            black_box(card.transmit(black_box(&ECHO)))
        })
    });

    for (name, durability) in
        [("persistent_write_fsync", Durability::Fsync), ("persistent_write_nosync", Durability::NoSync)]
    {
        let d = tempfile::tempdir().unwrap();
        let mut card = Card::create(d.path(), image(), durability, Some(1), false).unwrap();
        card.power_on();
        assert_eq!(card.transmit(&SELECT_TEST), [0x90, 0x00]);
        g.bench_function(name, |b| b.iter(|| black_box(card.transmit(black_box(&COUNTER)))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
