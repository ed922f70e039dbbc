//! The Java Card VM on its own (issue #14): a bytecode loop, a trivial APDU to a CAP applet,
//! and the wallet sample's credit/debit/balance mix.
//!
//! `cargo bench --bench jcvm` prints elements/s: bytecodes/s for the loop, APDUs/s for the
//! others. Needs `../shared/javacard/caps/` (skips with a message otherwise).

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gpse::apdu::Command;
use gpse::jcvm::{Jcvm, NoEnv};
use std::path::PathBuf;

fn cap(name: &str) -> Option<Vec<u8>> {
    let mut roots = Vec::new();
    if let Ok(s) = std::env::var("GPSE_SHARED") {
        roots.push(PathBuf::from(s));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    roots.push(PathBuf::from("/work/shared"));
    roots.into_iter().find_map(|r| std::fs::read(r.join("javacard/caps").join(name)).ok())
}

fn installed(name: &str, params: &[u8]) -> Option<(Jcvm, Vec<u8>)> {
    let mut vm = Jcvm::new();
    let info = vm.load_package(&cap(name)?).ok()?;
    let class = info.applets[0].clone();
    vm.install(&mut NoEnv, &info.aid, &class, &class, params, &[]).ok()?;
    let sel = Command::new(0, 0xA4, 4, 0).with_data(class.clone());
    let _ = vm.select(&mut NoEnv, &class, 0, &sel);
    Some((vm, class))
}

/// Iterations of caprunner's `testSomeIf` loop per call (the step budget counts one taken
/// branch per iteration; the loop never ends for an odd argument, so the budget stops it).
const LOOP_ITERATIONS: u64 = 1_000_000;
/// Bytecodes per iteration of that loop (javatest.jca, `testSomeIf` L3-L4: sload_2 sload_1
/// if_scmpge, sload_2 sconst_5 sadd sstore_1 sload_2 sconst_1 sadd s2b sstore_2 goto).
const LOOP_BYTECODES: u64 = 13;

fn bench(c: &mut Criterion) {
    let Some((mut vm, javatest)) = installed("caprunner-javatest.cap", &[]) else {
        eprintln!("SKIPPED: needs ../shared/javacard/caps");
        return;
    };
    let mut g = c.benchmark_group("jcvm");
    g.throughput(Throughput::Elements(LOOP_ITERATIONS * LOOP_BYTECODES));
    g.sample_size(20);
    vm.set_step_budget(LOOP_ITERATIONS);
    g.bench_function("bytecode_loop", |b| {
        b.iter(|| black_box(vm.call_virtual(&mut NoEnv, &javatest, 10, &[5]).unwrap_err()))
    });

    let (mut hello, aid) = installed("oracle212-HelloWorld.cap", &[]).unwrap();
    let echo = Command::new(0x80, 0x10, 0, 0);
    g.throughput(Throughput::Elements(1));
    g.sample_size(50);
    g.bench_function("trivial_apdu_helloworld", |b| {
        b.iter(|| black_box(hello.process(&mut NoEnv, &aid, 0, black_box(&echo)).unwrap()))
    });

    let (mut wallet, aid) = installed("noakes-wallet.cap", &[1, 2, 3, 4]).unwrap();
    let verify = Command::new(0x80, 0x20, 0, 0).with_data(vec![1, 2, 3, 4]);
    assert_eq!(wallet.process(&mut NoEnv, &aid, 0, &verify).unwrap().sw.to_u16(), 0x9000);
    let credit = Command::new(0x80, 0x30, 0, 0).with_data(vec![5]);
    let debit = Command::new(0x80, 0x40, 0, 0).with_data(vec![5]);
    let balance = Command::new(0x80, 0x50, 0, 0).with_ne(2);
    g.throughput(Throughput::Elements(3));
    g.bench_function("wallet_credit_debit_balance", |b| {
        b.iter(|| {
            black_box(wallet.process(&mut NoEnv, &aid, 0, &credit).unwrap());
            black_box(wallet.process(&mut NoEnv, &aid, 0, &debit).unwrap());
            black_box(wallet.process(&mut NoEnv, &aid, 0, &balance).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
