//! Persistent writes of CAP applets through the card (issue #15): an APDU whose applet commits a
//! two-field transaction (the project's `txn` applet, INS 58), and the SDK JavaPurse sample's
//! debit (Initialize Transaction + Complete Transaction, the second updating the balance and the
//! transaction log in one transaction), on a card image on disk, with the default durability
//! (new file + fsync, rename, directory fsync) and without fsync (rename only).
//!
//! `cargo bench --bench jcre` prints APDUs/s and µs per APDU for each, beside an APDU that writes
//! nothing. A fixed number of APDUs each (wall time: the fsync cost is the disk's, not the
//! CPU's). JavaPurse needs `../shared/javacard/caps/` (skipped with a message otherwise).

// Bench code: a failing unwrap is a failing run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::host::gp::GpClient;
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::store::Durability;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of `../shared/javacard` (`GPSE_SHARED`, next to the repository, or `/work/shared`).
fn shared_file(rel: &str) -> Option<Vec<u8>> {
    let mut roots = Vec::new();
    if let Ok(s) = std::env::var("GPSE_SHARED") {
        roots.push(PathBuf::from(s));
    }
    roots.push(repo().join("../shared"));
    roots.push(PathBuf::from("/work/shared"));
    roots.into_iter().find_map(|r| std::fs::read(r.join("javacard").join(rel)).ok())
}

fn card(dir: &Path, profile: &str, durability: Durability) -> Card {
    let text = std::fs::read_to_string(repo().join("profiles").join(profile)).unwrap();
    let img = Profile::parse(&text, profile).unwrap().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    let mut c = Card::create(dir, img, durability, Some(1), false).unwrap();
    c.power_on();
    c
}

fn gp(card: &mut Card) -> GpClient<'_, Card> {
    let k = [0x40u8, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F];
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    GpClient::open(card, None, &keys, 0, SecurityLevel::ALL, &mut CardRng::new(Some(9))).unwrap()
}

fn ok(card: &mut Card, apdu: &[u8]) -> Vec<u8> {
    let r = card.transmit(apdu);
    assert!(r.ends_with(&[0x90, 0x00]), "{} → {}", hex::encode_upper(apdu), hex::encode_upper(&r));
    r
}

/// Nanoseconds this thread has run on a CPU, if the kernel says (Linux).
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

/// Sends `per` APDUs `n` times through `f` and prints the rate in wall time (what a host sees:
/// the disk's fsync included) and the CPU time per APDU (the VM and the image's encoding).
fn measure(name: &str, n: u32, per: u32, mut f: impl FnMut(u32)) {
    let c0 = cpu_ns();
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    let s = t.elapsed().as_secs_f64();
    let cpu = c0.and_then(|c0| Some(cpu_ns()?.saturating_sub(c0)));
    let apdus = f64::from(n * per);
    println!(
        "{name}: {:.0} APDUs/s ({:.1} µs per APDU wall, {} µs CPU; {} APDUs in {:.2} s)",
        apdus / s,
        s * 1e6 / apdus,
        cpu.map_or_else(|| "?".into(), |c| format!("{:.1}", c as f64 / 1e3 / apdus)),
        n * per,
        s
    );
}

fn txn(durability: Durability, label: &str, n: u32) {
    let d = tempfile::tempdir().unwrap();
    let mut c = card(d.path(), "default.toml", durability);
    let cap = std::fs::read(repo().join("tests/applets/txn/build/txn.cap")).unwrap();
    {
        let mut g = gp(&mut c);
        let info = g.load(&cap, None).unwrap();
        let a = info.applets[0].clone();
        g.install(&info.package_aid, &a, &a, &[0], &[], true).unwrap();
    }
    ok(&mut c, &hex::decode("00A404000CA0000004766770736501060100").unwrap());
    let read = hex::decode("8070000000").unwrap();
    measure(&format!("{label}: txn state read (no persistent write)"), n, 1, |_| {
        ok(&mut c, &read);
    });
    let mut cmd = hex::decode("8058000000").unwrap();
    measure(&format!("{label}: txn two-field transaction (INS 58)"), n, 1, |i| {
        cmd[2] = (i & 0x7F) as u8;
        ok(&mut c, &cmd);
    });
}

fn purse(durability: Durability, label: &str, n: u32) {
    let caps: Option<Vec<Vec<u8>>> =
        ["oracle212-SampleLibrary.cap", "oracle212-JavaLoyalty.cap", "oracle212-JavaPurse.cap"]
            .iter()
            .map(|c| shared_file(&format!("caps/{c}")))
            .collect();
    let Some(caps) = caps else {
        println!("{label}: JavaPurse skipped: needs ../shared/javacard/caps");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let mut c = card(d.path(), "oracle-sdk.toml", durability);
    {
        let mut g = gp(&mut c);
        for cap in &caps {
            g.load(cap, None).unwrap();
        }
        for (pkg, inst) in
            [("A00000006203010C05", "A00000006203010C0501"), ("A00000006203010C02", "A00000006203010C0201")]
        {
            let (p, i) = (pkg.parse().unwrap(), inst.parse().unwrap());
            g.install(&p, &i, &i, &[0], &[], true).unwrap();
        }
    }
    // demo1's own commands after its installer lines, through the completed credit of $250.00
    // (its 26th command); then the debit of $25.00 (Initialize, Complete) as in demo1, and a
    // credit of the same amount to keep the balance.
    let script = shared_file("caps/expected/oracle212-demo/demo1.scr").unwrap();
    let text: String = script.iter().map(|&b| b as char).collect();
    let cmds: Vec<Vec<u8>> =
        gpse::script::parse_text(Path::new("demo1.scr"), &text, Some(gpse::script::Format::Apdutool))
            .unwrap()
            .into_iter()
            .filter_map(|s| match s.action {
                gpse::script::Action::Apdu { chunks, .. } => match chunks.as_slice() {
                    [gpse::script::Chunk::Bytes(b)] => Some(b.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
    for a in &cmds[4..26] {
        c.transmit(a);
    }
    let (init_debit, complete) = (cmds[26].clone(), cmds[27].clone());
    assert_eq!((init_debit[1], init_debit[2], complete[1]), (0x20, 0x02, 0x22));
    let mut init_credit = init_debit.clone();
    init_credit[2] = 0x01;
    measure(
        &format!("{label}: JavaPurse debit + credit of $25.00 (Initialize + Complete Transaction each)"),
        n,
        4,
        |_| {
            ok(&mut c, &init_debit);
            ok(&mut c, &complete);
            ok(&mut c, &init_credit);
            ok(&mut c, &complete);
        },
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once, short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (fsync_n, nosync_n) = if quick { (20, 50) } else { (2000, 20000) };
    txn(Durability::Fsync, "fsync (default)", fsync_n);
    txn(Durability::NoSync, "no fsync", nosync_n);
    purse(Durability::Fsync, "fsync (default)", fsync_n / 4);
    purse(Durability::NoSync, "no fsync", nosync_n / 4);
}
