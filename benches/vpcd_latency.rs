//! Round-trip latency through pcscd + vpcd: `gpse serve` (reader 0) against a trivial responder
//! (reader 1, a process of its own) that answers 9000 to everything through the same vpcd code
//! (framing, TCP_NODELAY, TCP_QUICKACK before every read), so the difference is what the emulated
//! card costs.
//!
//! `cargo bench --bench vpcd_latency`. Uses a running pcscd with vpcd, else starts one with
//! scripts/pcscd-start and stops it at the end (prints "skipped" when that is not possible).
//! Goal: gpse's median ≤ 1.10 × the floor's median.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::sw::Sw;
use gpse::transport::pcsc::PcscTransport;
use gpse::transport::vpcd::{self, Stop, VirtualCard};
use gpse::transport::Transport;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const R0: &str = "Virtual PCD 00 00";
const R1: &str = "Virtual PCD 00 01";
const SELECT_TEST: [u8; 15] =
    [0x00, 0xA4, 0x04, 0x00, 0x0A, 0xF0, 0x47, 0x50, 0x53, 0x45, 0x54, 0x45, 0x53, 0x54, 0x01];
const ECHO_EMPTY: [u8; 5] = [0x80, 0x01, 0x00, 0x00, 0x00];
const GET_CPLC: [u8; 5] = [0x80, 0xCA, 0x9F, 0x7F, 0x00];
const ROUNDS: usize = 4;
const PER_ROUND: usize = 500;
const WARMUP: usize = 200;

/// The floor: answers 9000 to every APDU.
struct Floor;

impl VirtualCard for Floor {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x8C, 0x80, 0x01, 0x47, 0x50, 0x2D, 0x53, 0x45, 0x2D, 0x45, 0x4D, 0x55, 0x4C, 0x21, 0x21, 0x1D]
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
    fn transmit(&mut self, _apdu: &[u8]) -> Vec<u8> {
        Sw::Ok.to_bytes().to_vec()
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn listening(port: u16) -> bool {
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).unwrap_or_default().lines().skip(1).any(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            c.len() > 3 && c[1].ends_with(&want) && c[3] == "0A"
        })
    })
}

/// Our own pcscd, stopped by PID on drop.
struct OwnPcscd(PathBuf);

impl Drop for OwnPcscd {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/pcscd-stop")).env("GPSE_PCSCD_PID", &self.0).output();
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_card(reader: &str, probe: &[u8]) -> PcscTransport {
    let t = Instant::now();
    loop {
        if let Ok(mut c) = PcscTransport::connect(reader) {
            if c.transmit(probe).is_ok() {
                return c;
            }
        }
        if t.elapsed() > Duration::from_secs(15) {
            eprintln!("vpcd_latency: no card in {reader} after 15 s");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn time_one(c: &mut PcscTransport, apdu: &[u8]) -> Duration {
    let t = Instant::now();
    let r = c.transmit(apdu).expect("transmit");
    let d = t.elapsed();
    assert_eq!(&r[r.len() - 2..], &[0x90, 0x00]);
    d
}

struct Stats {
    median: f64,
    p99: f64,
    max: f64,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Stats { median: us(v[v.len() / 2]), p99: us(v[(v.len() * 99) / 100]), max: us(*v.last().unwrap()) }
}

fn in_process(apdu: &[u8], select: bool) -> f64 {
    let image = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut card = Card::in_memory(image, Some(1)).unwrap();
    card.power_on();
    if select {
        card.transmit(&SELECT_TEST);
    }
    for _ in 0..1000 {
        card.transmit(apdu);
    }
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_millis(700) {
        for _ in 0..1000 {
            std::hint::black_box(card.transmit(std::hint::black_box(apdu)));
        }
        n += 1000;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    // The floor responder runs in its own process, as gpse serve does: `vpcd_latency --floor PORT`.
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--floor") {
        let port = args.get(i + 1).and_then(|p| p.parse().ok()).unwrap_or(vpcd::DEFAULT_PORT + 1);
        let stop = Stop::new();
        vpcd::serve(&vpcd::Config::local(port), &mut Floor, &stop, &mut |_| {});
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not: skip the PC/SC run there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("vpcd_latency: skipped (run with `cargo bench --bench vpcd_latency`)");
        return;
    }
    let tmp = std::env::temp_dir().join(format!("gpse-vpcd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let _pcscd = if Path::new("/run/pcscd/pcscd.comm").exists() && listening(35963) {
        println!("vpcd_latency: using the running pcscd");
        None
    } else {
        let pid = tmp.join("pcscd.pid");
        let out = Command::new(root().join("scripts/pcscd-start"))
            .env("GPSE_PCSCD_PID", &pid)
            .env("GPSE_PCSCD_LOG", tmp.join("pcscd.log"))
            .output();
        match out {
            Ok(o) if o.status.success() => Some(OwnPcscd(pid)),
            Ok(o) => {
                println!("vpcd_latency: skipped: pcscd could not be started: {}", String::from_utf8_lossy(&o.stderr));
                return;
            }
            Err(e) => {
                println!("vpcd_latency: skipped: scripts/pcscd-start: {e}");
                return;
            }
        }
    };

    // Reader 0: gpse serve (the binary cargo built for this bench, optimised).
    let log = std::fs::File::create(tmp.join("serve.log")).unwrap();
    let _serve = Killed(
        Command::new(env!("CARGO_BIN_EXE_gpse"))
            .args(["serve", "--state"])
            .arg(tmp.join("cards"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start gpse serve"),
    );
    // Reader 1: the floor, in a process of its own, through the same vpcd code.
    let _floor = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args(["--floor", &(vpcd::DEFAULT_PORT + 1).to_string()])
            .stdin(Stdio::null())
            .spawn()
            .expect("start the floor responder"),
    );

    let mut gpse = wait_card(R0, &SELECT_TEST);
    let mut floor = wait_card(R1, &ECHO_EMPTY);
    for _ in 0..WARMUP {
        time_one(&mut gpse, &ECHO_EMPTY);
        time_one(&mut floor, &ECHO_EMPTY);
    }
    // Alternate rounds so that load from elsewhere on the machine hits both alike.
    let (mut g, mut f) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for _ in 0..PER_ROUND {
            g.push(time_one(&mut gpse, &ECHO_EMPTY));
        }
        for _ in 0..PER_ROUND {
            f.push(time_one(&mut floor, &ECHO_EMPTY));
        }
    }
    // GET DATA CPLC on the ISD, for reference (a card-manager command, 45-byte answer).
    gpse.transmit(&[0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00]).unwrap();
    let cplc: Vec<Duration> = (0..ROUNDS * PER_ROUND).map(|_| time_one(&mut gpse, &GET_CPLC)).collect();

    let (gs, fs, cs) = (stats(g), stats(f), stats(cplc));
    let n = ROUNDS * PER_ROUND;
    println!("vpcd_latency: {n} round trips each after {WARMUP} warm-up, through pcscd + vpcd and the pcsc crate");
    println!("  gpse serve  80 01 00 00 00  median {:7.1} µs  p99 {:7.1} µs  max {:8.1} µs", gs.median, gs.p99, gs.max);
    println!("  floor       80 01 00 00 00  median {:7.1} µs  p99 {:7.1} µs  max {:8.1} µs", fs.median, fs.p99, fs.max);
    println!("  gpse serve  80 CA 9F 7F 00  median {:7.1} µs  p99 {:7.1} µs  max {:8.1} µs", cs.median, cs.p99, cs.max);
    let ratio = gs.median / fs.median;
    println!(
        "  ratio gpse/floor: median {ratio:.3} (goal <= 1.10: {}), p99 {:.3}",
        if ratio <= 1.10 { "met" } else { "NOT met" },
        gs.p99 / fs.p99
    );
    println!("  in-process: 80 01 00 00 00 {:.0} APDU/s", in_process(&ECHO_EMPTY, true));
    println!("  in-process: 80 CA 9F 7F 00 {:.0} APDU/s", in_process(&GET_CPLC, false));

    drop(gpse);
    drop(floor);
    drop(_floor);
    drop(_serve);
    drop(_pcscd); // before its PID file goes with `tmp`
    let _ = std::fs::remove_dir_all(&tmp);
}
