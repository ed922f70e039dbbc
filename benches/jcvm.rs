//! The Java Card VM on its own (issue #14): a bytecode loop, a trivial APDU to a CAP applet,
//! and the wallet sample's credit/debit/balance mix.
//!
//! `cargo bench --bench jcvm` prints elements/s: bytecodes/s for the loop, APDUs/s for the
//! others. Needs `../shared/javacard/caps/` (skips with a message otherwise).
//!
//! Criterion measures wall time. Because the machine is shared with other builds, each case
//! also prints its rate per CPU-second, from the bench thread's CPU time over a run of about
//! two seconds (`/proc/thread-self/schedstat`, Linux): that measures the VM rather than the
//! scheduler.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gpse::apdu::Command;
use gpse::jcvm::{Jcvm, NoEnv};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Nanoseconds this thread has run on a CPU, if the kernel says.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

/// Runs `f` for about two seconds of wall time and prints `elements` per call per CPU-second.
fn per_cpu_second(name: &str, elements: u64, mut f: impl FnMut()) {
    let Some(c0) = cpu_ns() else { return };
    let w0 = Instant::now();
    let mut calls = 0u64;
    while w0.elapsed() < Duration::from_secs(2) {
        for _ in 0..64 {
            f();
        }
        calls += 64;
    }
    let cpu = cpu_ns().unwrap_or(c0).saturating_sub(c0).max(1);
    let rate = (calls * elements) as f64 / (cpu as f64 / 1e9);
    println!(
        "{name}: {:.3} M/s per CPU-second ({calls} calls, CPU {} ms, wall {} ms)",
        rate / 1e6,
        cpu / 1_000_000,
        w0.elapsed().as_millis()
    );
}

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

    let (mut hello, aid_hello) = installed("oracle212-HelloWorld.cap", &[]).unwrap();
    let aid = aid_hello.clone();
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

    per_cpu_second("bytecode_loop (bytecodes)", LOOP_ITERATIONS * LOOP_BYTECODES, || {
        black_box(vm.call_virtual(&mut NoEnv, &javatest, 10, &[5]).unwrap_err());
    });
    per_cpu_second("trivial_apdu_helloworld (APDUs)", 1, || {
        black_box(hello.process(&mut NoEnv, &aid_hello, 0, &echo).unwrap());
    });
    per_cpu_second("wallet_credit_debit_balance (APDUs)", 3, || {
        black_box(wallet.process(&mut NoEnv, &aid, 0, &credit).unwrap());
        black_box(wallet.process(&mut NoEnv, &aid, 0, &debit).unwrap());
        black_box(wallet.process(&mut NoEnv, &aid, 0, &balance).unwrap());
    });
    // Issue #17: the same with coverage on (the instrumented loop, counting every bytecode).
    hello.set_coverage(true);
    vm.set_coverage(true);
    per_cpu_second("coverage on: bytecode_loop (bytecodes)", LOOP_ITERATIONS * LOOP_BYTECODES, || {
        black_box(vm.call_virtual(&mut NoEnv, &javatest, 10, &[5]).unwrap_err());
    });
    per_cpu_second("coverage on: trivial_apdu_helloworld (APDUs)", 1, || {
        black_box(hello.process(&mut NoEnv, &aid_hello, 0, &echo).unwrap());
    });
    on_card(c);
}

/// The same through the card runtime, as a host meets it: `Card::transmit` of wire bytes
/// (parse, dispatch, Ne rules, the per-APDU commit check) to a CAP applet installed by GP LOAD
/// and INSTALL over SCP03, beside the native test applet for the ratio.
fn on_card(c: &mut Criterion) {
    use gpse::card::Card;
    use gpse::crypto::CardRng;
    use gpse::host::gp::GpClient;
    use gpse::platform::profile::{Overrides, Profile};
    use gpse::scp03::{SecurityLevel, StaticKeys};
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    let mut card = Card::in_memory(img, Some(1)).unwrap();
    card.power_on();
    let k = [0x40u8, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F];
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    for (name, params) in [("oracle212-HelloWorld.cap", vec![]), ("noakes-wallet.cap", vec![1, 2, 3, 4])] {
        let mut gp = GpClient::open(&mut card, None, &keys, 0, SecurityLevel::ALL, &mut CardRng::new(Some(9))).unwrap();
        let info = gp.load(&cap(name).unwrap(), None).unwrap();
        let a = info.applets[0].clone();
        gp.install(&info.package_aid, &a, &a, &[0], &params, true).unwrap();
    }
    let mut g = c.benchmark_group("card");
    g.throughput(Throughput::Elements(1));
    g.sample_size(50);
    let select = |card: &mut Card, aid: &str| {
        let r = card.transmit(&hex::decode(format!("00A40400{:02X}{aid}", aid.len() / 2)).unwrap());
        assert!(r.ends_with(&[0x90, 0x00]), "{aid}: {}", hex::encode_upper(r));
    };
    select(&mut card, "F0475053455445535401");
    let native = hex::decode("8001000001AA00").unwrap();
    g.bench_function("trivial_apdu_native_testapp", |b| b.iter(|| black_box(card.transmit(black_box(&native)))));
    per_cpu_second("card: trivial_apdu_native_testapp (APDUs)", 1, || {
        black_box(card.transmit(&native));
    });
    select(&mut card, "A00000006203010C0101");
    let echo = hex::decode("80100000").unwrap();
    g.bench_function("trivial_apdu_cap_helloworld", |b| b.iter(|| black_box(card.transmit(black_box(&echo)))));
    per_cpu_second("card: trivial_apdu_cap_helloworld (APDUs)", 1, || {
        black_box(card.transmit(&echo));
    });
    select(&mut card, "D1560001320A64656D9F01");
    let verify = hex::decode("802000000401020304").unwrap();
    assert!(card.transmit(&verify).ends_with(&[0x90, 0x00]));
    let credit = hex::decode("803000000105").unwrap();
    let debit = hex::decode("804000000105").unwrap();
    let balance = hex::decode("8050000002").unwrap();
    g.throughput(Throughput::Elements(3));
    g.bench_function("wallet_credit_debit_balance_in_memory_store", |b| {
        b.iter(|| {
            black_box(card.transmit(&credit));
            black_box(card.transmit(&debit));
            black_box(card.transmit(&balance))
        })
    });
    per_cpu_second("card: wallet_credit_debit_balance_in_memory_store (APDUs)", 3, || {
        black_box(card.transmit(&credit));
        black_box(card.transmit(&debit));
        black_box(card.transmit(&balance));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
