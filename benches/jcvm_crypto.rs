//! Crypto through a CAP applet (issue #16): the project's `kat` applet (`tests/applets/kat`)
//! in a bare VM, each case one APDU as a host sends it (`Jcvm::process`: the APDU object, the
//! interpreter, the natives of javacard.security / javacardx.crypto):
//!
//! - RSA-2048 PKCS#1 v1.5 SHA-256 sign (`Signature.sign` with a CRT key made by `genKeyPair`);
//! - ECDSA P-256 SHA-256 sign (RFC 6979 nonces);
//! - AES-128-CBC `Cipher.doFinal` of 1 KB (one extended APDU: the applet is `ExtendedLength`);
//! - RSA-2048 key generation (`KeyPair.genKeyPair`, CRT), median and spread.
//!
//! Engines are made once (`getInstance` at the first INIT) and initialised once; each timed
//! APDU is FINAL only (sign / doFinal return the engine to its `init` state, JC API).
//! `cargo bench --bench jcvm_crypto` prints criterion's figures and a `stats` line per case
//! (`GPSE_KEYGENS=N` sets the key generation count, default 20). Compare the RSA sign with
//! `openssl speed -seconds 3 rsa2048` on the same machine. Under `cargo test` each case runs
//! once as a smoke test.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use criterion::{black_box, Criterion, Throughput};
use gpse::apdu::Command;
use gpse::jcvm::{Env, Jcvm};
use gpse::sw::Sw;
use rand_core::{RngCore, SeedableRng};
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod common;
use common::stats;

/// The card RNG, seeded (as `--seed` gives the hosted VM).
struct SeededEnv(rand_chacha::ChaCha20Rng);

impl Env for SeededEnv {
    fn random(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }
}

struct Kat {
    vm: Jcvm,
    aid: Vec<u8>,
    env: SeededEnv,
}

impl Kat {
    fn new() -> Kat {
        let cap =
            std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/applets/kat/build/kat.cap")).unwrap();
        let mut vm = Jcvm::new();
        let mut env = SeededEnv(rand_chacha::ChaCha20Rng::seed_from_u64(1));
        let info = vm.load_package(&cap).unwrap();
        let aid = info.applets[0].clone();
        vm.install(&mut env, &info.aid, &aid, &aid, &[], &[0]).unwrap();
        let sel = Command::new(0, 0xA4, 4, 0).with_data(aid.clone());
        assert_eq!(vm.select(&mut env, &aid, 0, &sel).unwrap().sw, Sw::Ok);
        Kat { vm, aid, env }
    }

    fn command(ins: u8, p1: u8, p2: u8, data: &[u8]) -> Command {
        let mut c = Command::new(0x80, ins, p1, p2);
        if !data.is_empty() {
            c = c.with_data(data.to_vec());
        }
        c.ne = Some(if data.len() > 255 { 65536 } else { 256 });
        c
    }

    fn send(&mut self, c: &Command) -> Vec<u8> {
        let r = self.vm.process(&mut self.env, &self.aid, 0, c).unwrap();
        assert_eq!(r.sw, Sw::Ok, "{:02X}: {:04X}", c.ins, r.sw.to_u16());
        r.data
    }

    fn cmd(&mut self, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
        self.send(&Kat::command(ins, p1, p2, data))
    }

    /// KEY: component `comp` of the key (type, bits) from the stage.
    fn set(&mut self, ty: u8, bits: u16, comp: u8, v: &[u8]) {
        self.cmd(0x01, 0, 0, v);
        self.cmd(0x02, ty, comp, &bits.to_be_bytes());
    }

    /// INIT `class` (2 Signature, 3 Cipher) `alg` in `mode` with the key (type, bits).
    fn init(&mut self, class: u8, alg: u8, mode: u8, ty: u8, bits: u16, iv: &[u8]) {
        let mut d = vec![mode, ty];
        d.extend(bits.to_be_bytes());
        d.extend_from_slice(iv);
        self.cmd(0x10, class, alg, &d);
    }
}

/// NIST P-256 (SEC 2 §2.4.2): p, a, b, G, n.
const P256: [&str; 5] = [
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
    "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
];

/// Nanoseconds this thread has run on a CPU, if the kernel says (Linux schedstat).
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

/// `n` timings of `f` and their summary line (`common::stats`, wall time), then the mean CPU
/// time per call of this thread: the machine is shared, and the CPU time measures the VM
/// rather than the scheduler (as `benches/jcvm.rs` does).
fn sample(name: &str, n: usize, mut f: impl FnMut()) {
    let c0 = cpu_ns();
    let v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    let cpu = c0.and_then(|c0| Some(cpu_ns()?.saturating_sub(c0)));
    stats(name, v);
    // The kernel advances the count at context switches and ticks: over less than 100 ms of
    // CPU the mean says nothing (a smoke run under `cargo test`).
    if let Some(cpu) = cpu.filter(|c| *c >= 100_000_000) {
        println!("  CPU time per call: {:.3?}", Duration::from_nanos(cpu / n as u64));
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    // Not a positional argument: criterion takes those as a name filter.
    let keygens: usize =
        std::env::var("GPSE_KEYGENS").ok().and_then(|v| v.parse().ok()).unwrap_or(if bench { 20 } else { 1 });
    let reps = if bench { 500 } else { 1 };
    let mut c = Criterion::default().configure_from_args();
    let mut k = Kat::new();

    // RSA-2048 key generation: GENKEY (KeyPair ALG_RSA_CRT, 2048; e = 65537).
    let genkey = Kat::command(0x20, 2, 0, &2048u16.to_be_bytes());
    sample("jcvm kat: RSA-2048 CRT genKeyPair (APDU)", keygens, || {
        assert_eq!(k.send(&genkey).len(), 256);
    });

    // RSA-2048 PKCS#1 v1.5 SHA-256 sign with the key just made (type 6 RSA_CRT_PRIVATE).
    k.init(2, 40, 1, 6, 2048, &[]);
    let sign = Kat::command(0x12, 0, 0, &[0xAB; 32]);
    sample("jcvm kat: RSA-2048 SHA256 PKCS#1 sign (APDU)", reps, || {
        assert_eq!(k.send(&sign).len(), 256);
    });

    // ECDSA P-256 SHA-256 sign: a key pair with the parameters set by the applet.
    for (i, v) in P256.iter().enumerate() {
        k.set(11, 256, 10 + i as u8, &hex::decode(v).unwrap());
    }
    k.set(11, 256, 15, &[0, 1]);
    assert_eq!(k.cmd(0x20, 5, 0, &256u16.to_be_bytes()).len(), 65);
    k.init(2, 33, 1, 12, 256, &[]);
    let ecdsa = Kat::command(0x12, 0, 0, &[0xCD; 32]);
    sample("jcvm kat: ECDSA P-256 SHA256 sign (APDU)", reps * 4, || {
        assert!(k.send(&ecdsa).len() >= 70);
    });

    // AES-128-CBC NOPAD doFinal of 1 KB in one extended APDU.
    k.set(15, 128, 0, &[0x2B; 16]);
    k.init(3, 13, 2, 15, 128, &[0x0F; 16]);
    let aes = Kat::command(0x12, 0, 0, &[0x5A; 1024]);
    sample("jcvm kat: AES-128-CBC doFinal 1 KB (APDU)", reps * 100, || {
        assert_eq!(k.send(&aes).len(), 1024);
    });

    // The same through criterion (the sign and doFinal engines keep their init).
    let mut g = c.benchmark_group("jcvm_crypto");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("rsa2048_crt_genkeypair", |b| b.iter(|| black_box(k.send(&genkey))));
    k.init(2, 40, 1, 6, 2048, &[]);
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("rsa2048_sha256_pkcs1_sign", |b| b.iter(|| black_box(k.send(&sign))));
    k.init(2, 33, 1, 12, 256, &[]);
    g.bench_function("ecdsa_p256_sha256_sign", |b| b.iter(|| black_box(k.send(&ecdsa))));
    k.init(3, 13, 2, 15, 128, &[0x0F; 16]);
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("aes128_cbc_dofinal_1k", |b| b.iter(|| black_box(k.send(&aes))));
    g.finish();
    c.final_summary();
}
