//! The JCRE's semantics for CAP applets on a card (issue #15): transactions and the commit
//! buffer (JCRE §7), tearing at every persistent write, the firewall and Shareable interfaces
//! (JCRE §6), library packages and DELETE, memory limits and object deletion, multiselection.
//! The applets are the project's own (`tests/applets/{txn,lib,fwserver,fwclient}`) and the
//! SDK's JavaPurse sample from `../shared`.

// Test code: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::store::{Durability, Tearing};
use std::path::Path;

mod common;

use common::apdutool::apdutool_commands;
use common::capcard::{
    aid, download, expected, gp, load_install, oracle_sdk_card_with, project_cap, select, shared_cap, tx,
};

const TXN: &str = "A00000047667707365010601";
const LIB: &str = "A000000476677073650107";
const SERVER_PKG: &str = "A000000476677073650108";
const SERVER: &str = "A00000047667707365010801";
const CLIENT_PKG: &str = "A000000476677073650109";
const CLIENT: &str = "A00000047667707365010901";

/// A card of the default profile, or of the default profile with a `[jcvm]` section.
fn card_with(dir: &Path, jcvm: Option<&str>, durability: Durability) -> Card {
    let mut text = std::fs::read_to_string(common::capcard::repo().join("profiles/default.toml")).unwrap();
    if let Some(j) = jcvm {
        text.push_str("\n[jcvm]\n");
        text.push_str(j);
    }
    let p = Profile::parse(&text, "test.toml").unwrap();
    let img = p.build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    let mut c = Card::create(dir, img, durability, Some(1), false).unwrap();
    c.power_on();
    c
}

/// The txn applet's state read (INS 70): a b c, arr, arr2, st, tr[0].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct St {
    a: u16,
    b: u16,
    c: u16,
    arr: [u8; 4],
    arr2: [u8; 4],
    st: u16,
    tr: u8,
}

impl St {
    fn hex(&self) -> String {
        format!(
            "{:04X}{:04X}{:04X}{}{}{:04X}{:02X}9000",
            self.a,
            self.b,
            self.c,
            hex::encode_upper(self.arr),
            hex::encode_upper(self.arr2),
            self.st,
            self.tr
        )
    }
}

const ZERO: St = St { a: 0, b: 0, c: 0, arr: [0; 4], arr2: [0; 4], st: 0, tr: 0 };

fn txn_card(dir: &Path, durability: Durability) -> Card {
    let mut c = card_with(dir, None, durability);
    load_install(&mut c, &project_cap("txn"), None, &[]);
    assert_eq!(select(&mut c, &aid(TXN)), "9000");
    c
}

#[test]
fn transactions_commit_abort_nest_and_the_commit_buffer() {
    let d = tempfile::tempdir().unwrap();
    let mut c = txn_card(d.path(), Durability::NoSync);
    let mut s = ZERO;
    assert_eq!(tx(&mut c, "8070000000"), s.hex());
    // Commit: a, arr[0] and the static st together.
    assert_eq!(tx(&mut c, "80710500"), "9000");
    s.a = 5;
    s.arr[0] = 5;
    s.st = 5;
    assert_eq!(tx(&mut c, "8070000000"), s.hex());
    // Abort: fields and an atomic arrayCopy go back.
    assert_eq!(tx(&mut c, "80720900"), "9000");
    assert_eq!(tx(&mut c, "8070000000"), s.hex());
    // Nesting: TransactionException.IN_PROGRESS (1).
    assert_eq!(tx(&mut c, "8073000000"), "019000");
    // An uncaught exception inside a transaction: its SW, and the JCRE aborts (JCRE §7.6.2).
    assert_eq!(tx(&mut c, "80740700"), "6A80");
    assert_eq!(tx(&mut c, "8070000000"), s.hex());
    // Outside a transaction each write stands.
    assert_eq!(tx(&mut c, "80751122"), "9000");
    s.a = 0x11;
    s.b = 0x22;
    assert_eq!(tx(&mut c, "8070000000"), s.hex());
    // Commit capacity: 4096 (the default), unused 4096; after one 2-byte write in a
    // transaction, 4096 - (2 + 4 bytes of entry overhead) = 4090.
    assert_eq!(tx(&mut c, "8076010000"), "100010000FFA9000");
    // BUFFER_FULL after 682 short writes: 682 * 6 = 4092 <= 4096 < 683 * 6.
    assert_eq!(tx(&mut c, "8077000000"), "02AA9000");
    // arrayCopy is undone by the abort, arrayCopyNonAtomic is not (JC API Util).
    assert_eq!(tx(&mut c, "8078300000"), "05000000303132339000");
    s.arr2 = [0x30, 0x31, 0x32, 0x33];
    // Transient arrays are never part of a transaction.
    assert_eq!(tx(&mut c, "8079440000"), "449000");
    s.tr = 0x44;
    assert_eq!(tx(&mut c, "8070000000"), s.hex());
    // A global array cannot be stored in a field (JCRE §6.2.2): SecurityException.
    assert_eq!(tx(&mut c, "807D000000"), "019000");
    // The persistent state survives a reopen; the CLEAR_ON_RESET array does not.
    drop(c);
    let mut c = Card::open(d.path(), Durability::NoSync, None).unwrap();
    c.power_on();
    assert_eq!(select(&mut c, &aid(TXN)), "9000");
    s.tr = 0;
    assert_eq!(tx(&mut c, "8070000000"), s.hex());
}

/// Sends `cmd` to a fresh txn card (after `setup`) with a power cut before write step `cut`
/// (`None`: only counted), then reopens the card and reads the state. Returns the state and,
/// uncut, the number of write steps (the VM's atomic writes and the store's file steps).
fn txn_torn(setup: &[&str], cmd: &str, cut: Option<u64>) -> (String, u64) {
    let d = tempfile::tempdir().unwrap();
    let mut c = txn_card(d.path(), Durability::Fsync);
    for s in setup {
        assert_eq!(tx(&mut c, s), "9000");
    }
    c.store_mut().set_tearing(Some(match cut {
        Some(n) => Tearing::cut_after(n),
        None => Tearing::count_only(),
    }));
    let r = tx(&mut c, cmd);
    assert!(cut.is_some() || r == "9000", "{cmd}: {r}");
    let steps = c.store_mut().tearing().unwrap().steps();
    drop(c);
    let mut c = Card::open(d.path(), Durability::Fsync, None).unwrap();
    c.power_on();
    assert_eq!(select(&mut c, &aid(TXN)), "9000");
    (tx(&mut c, "8070000000"), steps)
}

/// A power cut at every write index of an APDU reopens into a state the JCRE allows: inside a
/// transaction all or nothing, outside it a prefix of the atomic writes (JCRE §7.4-7.6); every
/// allowed state is reached by some cut.
#[test]
fn tearing_at_every_write_index_of_txn() {
    let setup = ["80750102"];
    let old = St { a: 1, b: 2, ..ZERO };
    let cases: Vec<(&str, Vec<St>)> = vec![
        // a = 11 then b = 22, no transaction: old, a only, both.
        ("80751122", vec![old, St { a: 0x11, ..old }, St { a: 0x11, b: 0x22, ..old }]),
        // A transaction of a, b, arr[1], then c outside: nothing, the transaction, everything.
        (
            "807E3300",
            vec![
                old,
                St { a: 0x33, b: 0x33, arr: [0, 0x33, 0, 0], ..old },
                St { a: 0x33, b: 0x33, c: 0x33, arr: [0, 0x33, 0, 0], ..old },
            ],
        ),
        // One transaction of a field, an array element and a static: all or nothing.
        ("80714400", vec![old, St { a: 0x44, arr: [0x44, 0, 0, 0], st: 0x44, ..old }]),
        // An aborted transaction: nothing, whatever the cut.
        ("80725500", vec![old]),
    ];
    let mut total = 0;
    for (cmd, allowed) in cases {
        let (after, steps) = txn_torn(&setup, cmd, None);
        assert_eq!(&after, &allowed.last().unwrap().hex(), "{cmd} uncut");
        let allowed: Vec<String> = allowed.iter().map(St::hex).collect();
        let mut seen = vec![false; allowed.len()];
        for n in 0..steps {
            let (got, _) = txn_torn(&setup, cmd, Some(n));
            let k = allowed.iter().position(|a| *a == got);
            assert!(k.is_some(), "{cmd}: cut at write {n} of {steps} left {got}, allowed {allowed:?}");
            seen[k.unwrap()] = true;
        }
        assert!(seen.iter().all(|s| *s), "{cmd}: some allowed state was never reached: {seen:?}");
        println!("tearing {cmd}: {steps} cut points, 100% reopened into an allowed state");
        total += steps;
    }
    println!("tearing sweep (txn): {total} cut points, all allowed");
}

/// The demo1 commands up to the completed credit of $250.00 and the first debit's Initialize
/// Transaction (TN 2), on an oracle-sdk card with the SDK samples downloaded.
fn purse_ready(dir: &Path) -> (Card, Vec<gpse::apdu::Command>) {
    let mut c = oracle_sdk_card_with(dir, Durability::Fsync);
    let cmds = apdutool_commands(&expected("oracle212-demo/demo1.scr"));
    assert_eq!(c.transmit(&cmds[0].to_bytes()), vec![0x90, 0x00]);
    for cap in ["oracle212-SampleLibrary.cap", "oracle212-JavaLoyalty.cap", "oracle212-JavaPurse.cap"] {
        download(&mut c, &shared_cap(cap));
    }
    (c, cmds)
}

fn purse_torn(cut: Option<u64>) -> (String, u64) {
    let d = tempfile::tempdir().unwrap();
    let (mut c, cmds) = purse_ready(d.path());
    // Create JavaPurse and JavaLoyalty, initialise the purse, then credit $250.00 and start a
    // debit of $25.00 (demo1 lines 2-3, then its JavaPurse commands up to the debit's 80 22).
    let debit_complete = cmds.iter().enumerate().filter(|(_, b)| b.ins == 0x22).map(|(i, _)| i).nth(1).unwrap();
    for b in cmds[1..debit_complete].iter().filter(|b| !(b.ins == 0xB8 && b.data.get(9) == Some(&0x06))) {
        c.transmit(&b.to_bytes());
    }
    c.store_mut().set_tearing(Some(match cut {
        Some(n) => Tearing::cut_after(n),
        None => Tearing::count_only(),
    }));
    let r = c.transmit(&cmds[debit_complete].to_bytes());
    // demo1: "57 e4 00 00 00 00 00 00 00 00 90 00 = Purse Balance $225.00".
    assert!(cut.is_some() || r == hex::decode("57E400000000000000009000").unwrap(), "{r:02X?}");
    let steps = c.store_mut().tearing().unwrap().steps();
    drop(c);
    // Observe: select, VERIFY, Initialize Transaction (debit $22.95 at CAD 33557799): its
    // answer holds the balance and the next transaction number.
    let mut c = Card::open(d.path(), Durability::Fsync, None).unwrap();
    c.power_on();
    assert_eq!(tx(&mut c, "00A404000AA00000006203010C020100").len(), 38);
    assert_eq!(tx(&mut c, "002000820401020304"), "9000");
    (tx(&mut c, "802002000A08F73355779900000000"), steps)
}

/// JavaPurse's Complete Transaction of a debit torn at every write index: the purse reopens
/// with the balance and transaction number before the debit or after it, never between.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn tearing_at_every_write_index_of_the_javapurse_debit() {
    let (after, steps) = purse_torn(None);
    // demo1's trace: balance 57E4 ($225.00) after the debit, the next TN 3.
    assert_eq!(after, "050505050C1F6257E4000300000000000000009000");
    let before = purse_torn(Some(0)).0;
    // Before: balance 61A8 ($250.00); the torn debit's TN (2) was used by its Initialize.
    assert!(before.starts_with("050505050C1F6261A8"), "{before}");
    let mut seen = (false, false);
    for n in 0..steps {
        let got = purse_torn(Some(n)).0;
        assert!(got == before || got == after, "cut at write {n} of {steps}: {got}");
        seen.0 |= got == before;
        seen.1 |= got == after;
    }
    assert!(seen.0 && seen.1);
    println!("tearing sweep (JavaPurse debit): {steps} cut points, 100% reopened into an allowed state");
}

fn firewall_card(dir: &Path) -> Card {
    let mut c = card_with(dir, None, Durability::NoSync);
    gp(&mut c).load(&project_cap("lib"), None).unwrap();
    load_install(&mut c, &project_cap("fwserver"), None, &[]);
    load_install(&mut c, &project_cap("fwclient"), None, &[]);
    c
}

/// JCRE §6: a Shareable interface object reached through getAppletShareableInterfaceObject
/// is callable from the client's context (the call switches to the server's), the APDU buffer
/// is usable from both, getPreviousContextAID names the client; another context's array is
/// not usable (SecurityException, 6F00 when uncaught).
#[test]
fn firewall_and_shareable_interfaces() {
    let d = tempfile::tempdir().unwrap();
    let mut c = firewall_card(d.path());
    assert_eq!(select(&mut c, &aid(CLIENT)), "9000");
    assert_eq!(tx(&mut c, "8050010000"), "00019000");
    assert_eq!(tx(&mut c, "8050010000"), "00029000");
    // The server gives nothing for another parameter: SW_RECORD_NOT_FOUND from the client.
    assert_eq!(tx(&mut c, "8050020000"), "6A83");
    // The server wrote the previous context's AID (the client instance) into the client's
    // APDU buffer.
    assert_eq!(tx(&mut c, "8051000000"), format!("{CLIENT}9000"));
    // The server's own array, handed out by leak(): SecurityException, caught or not.
    assert_eq!(tx(&mut c, "8052000000"), "019000");
    assert_eq!(tx(&mut c, "8052010000"), "6F00");
    assert_eq!(tx(&mut c, "8053000000"), "019000");
    // Library code runs in the caller's context, on its APDU buffer.
    assert_eq!(tx(&mut c, "8054000000"), "000A9000");
    // The server sees the client's two adds; its own array is its own.
    assert_eq!(select(&mut c, &aid(SERVER)), "9000");
    assert_eq!(tx(&mut c, "8080000000"), "00029000");
    assert_eq!(tx(&mut c, "8081000000"), "000A9000");
    // Across a reopen the counter (an object of the server's context) stays.
    drop(c);
    let mut c = Card::open(d.path(), Durability::NoSync, None).unwrap();
    c.power_on();
    assert_eq!(select(&mut c, &aid(SERVER)), "9000");
    assert_eq!(tx(&mut c, "8080000000"), "00029000");
}

/// A library that others import cannot be deleted (GPCS §11.2.2.1: `6985`); once its
/// dependants are gone it can.
#[test]
fn a_library_in_use_cannot_be_deleted() {
    let d = tempfile::tempdir().unwrap();
    let mut c = firewall_card(d.path());
    let mut g = gp(&mut c);
    let e = g.delete(&aid(LIB), false).unwrap_err();
    assert!(e.to_string().contains("6985"), "{e}");
    // A package with an instance goes only with its related objects (GPCS §11.2.2.1).
    let e = g.delete(&aid(SERVER_PKG), false).unwrap_err();
    assert!(e.to_string().contains("6985"), "{e}");
    g.delete(&aid(CLIENT_PKG), true).unwrap();
    assert!(g.delete(&aid(LIB), false).unwrap_err().to_string().contains("6985"), "the server still imports it");
    g.delete(&aid(SERVER_PKG), true).unwrap();
    g.delete(&aid(LIB), false).unwrap();
    drop(g);
    assert!(c.image().load_file(&aid(LIB)).is_none());
    // And it loads again.
    gp(&mut c).load(&project_cap("lib"), None).unwrap();
}

/// Memory limits (a `[jcvm]` profile section): allocation in a loop stops with NO_RESOURCE at
/// the limit, the card stays usable and loadable, object deletion gives the memory back.
#[test]
fn memory_limits_no_resource_and_object_deletion() {
    let d = tempfile::tempdir().unwrap();
    let mut c = card_with(
        d.path(),
        Some("persistent = 30000\ntransient_reset = 2048\ntransient_deselect = 1024\n"),
        Durability::NoSync,
    );
    load_install(&mut c, &project_cap("txn"), None, &[]);
    load_install(&mut c, &project_cap("framework"), None, &[]);
    assert_eq!(select(&mut c, &aid(TXN)), "9000");
    let avail = |c: &mut Card, kind: u8| {
        let r = tx(c, &format!("807C{kind:02X}0000"));
        assert!(r.ends_with("9000"), "{r}");
        u16::from_str_radix(&r[..4], 16).unwrap() as usize
    };
    let free = avail(&mut c, 0);
    assert!(free > 4096 && free < 30000, "{free}");
    // byte[2032] objects (p1 = 0x7F: 127 * 16 bytes, plus an 8-byte header each).
    let r = tx(&mut c, "807A7F0000");
    let n = u16::from_str_radix(&r[..4], 16).unwrap() as usize;
    assert_eq!(n, free / 2040, "{r}");
    assert_eq!(avail(&mut c, 0), free - n * 2040);
    // Transient memory: the framework applet's CLEAR_ON_DESELECT byte[2] is there; arrays of
    // 256 bytes fit three times more into the 1022 bytes left.
    let tfree = avail(&mut c, 2);
    assert_eq!(tfree, 1024 - 2);
    assert_eq!(tx(&mut c, "807F100000"), "00039000");
    assert_eq!(avail(&mut c, 2), 1022 - 3 * 256);
    // Another applet keeps working, and the image reopens.
    assert_eq!(select(&mut c, &aid("A00000047667707365010501")), "9000");
    drop(c);
    let mut c = Card::open(d.path(), Durability::NoSync, None).unwrap();
    c.power_on();
    assert_eq!(select(&mut c, &aid(TXN)), "9000");
    // A transient array's header is persistent (8 bytes each; its contents are in RAM).
    assert_eq!(avail(&mut c, 0), free - n * 2040 - 3 * 8);
    // Drop the references and request object deletion: the memory comes back at the APDU
    // boundary.
    assert_eq!(tx(&mut c, "807B000000"), "9000");
    assert_eq!(avail(&mut c, 0), free);
    assert_eq!(avail(&mut c, 2), 1022);
    // A new allocation loop gets the same count again.
    assert_eq!(tx(&mut c, "807A7F0000"), format!("{n:04X}9000"));
}

/// `getAvailableMemory` answers from the profile's sizes; a profile without `[jcvm]` has the
/// default (1 MiB persistent: the answer is capped at 32767).
#[test]
fn available_memory_follows_the_profile() {
    let d = tempfile::tempdir().unwrap();
    let mut c = txn_card(d.path(), Durability::NoSync);
    assert_eq!(tx(&mut c, "807C000000"), "7FFF9000");
    let r = tx(&mut c, "807C010000");
    // 8 KiB of CLEAR_ON_RESET minus the APDU buffer (261), the install buffer (256) and txn's
    // own 2-byte array.
    assert_eq!(r, format!("{:04X}9000", 8192 - 261 - 256 - 2));
    assert_eq!(tx(&mut c, "807C030000"), "6F00", "an unknown memory type is SystemException.ILLEGAL_VALUE");
}

/// Not MultiSelectable: the txn applet selected on channel 0 cannot be selected on channel 1
/// as well (JCRE §4.2); after it is deselected on 0 it can.
#[test]
fn an_applet_that_is_not_multiselectable_is_selected_once() {
    let d = tempfile::tempdir().unwrap();
    let mut c = txn_card(d.path(), Durability::NoSync);
    assert_eq!(tx(&mut c, "0070000001"), "019000");
    let sel = format!("01A404000C{TXN}00");
    assert_eq!(tx(&mut c, &sel), "6985");
    // Select something else on channel 0: txn is deselected there.
    assert!(tx(&mut c, "00A4040008A00000015100000000").ends_with("9000"));
    assert_eq!(tx(&mut c, &sel), "9000");
    assert_eq!(tx(&mut c, "8170000000").len(), 38);
}

/// `gpse card info` shows the VM's memory per package and instance, in the figures the txn
/// applet's allocations add up to: its applet object (10 cells: 3 shorts, 7 references → 20
/// bytes + an 8-byte header) and, from its constructor, byte[4] ×2 (12 each), short[1024] (2056),
/// the CLEAR_ON_RESET byte[2] (its 8-byte header persistent, 2 bytes of RAM), Object[32] (72) and
/// Object[16] (40): 2228 bytes; then `7A 01` fills the pool with 32 byte[16] (24 each, 768 more).
#[test]
fn card_info_shows_memory_per_package_and_instance() {
    let d = tempfile::tempdir().unwrap();
    {
        let mut c = txn_card(d.path(), Durability::NoSync);
        assert_eq!(tx(&mut c, "807A010000"), "00209000");
    }
    let out = assert_cmd::Command::cargo_bin("gpse")
        .unwrap()
        .args(["card", "info", "--state", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let want = format!("    instance {TXN}: persistent {}, CLEAR_ON_RESET 2, CLEAR_ON_DESELECT 0", 2228 + 768);
    assert!(text.lines().any(|l| l == want), "{text}");
    // The package adds its 2-byte static field.
    let want = format!(
        "  package  A000000476677073650106: persistent {} (static fields 2), CLEAR_ON_RESET 2, CLEAR_ON_DESELECT 0",
        2228 + 768 + 2
    );
    assert!(text.lines().any(|l| l == want), "{text}");
    assert!(text.contains("JCVM memory: persistent "), "{text}");
}

/// A MultiSelectable applet (JCRE §4.2): selected on channel 0 it gets `select()`; selected
/// again on channel 1 `MultiSelectable.select(true)`, with the same CLEAR_ON_DESELECT contents
/// and its own assigned channel; closing channel 1 calls `deselect(true)` and clears nothing;
/// the last deselection calls `deselect()` and clears the array.
#[test]
fn a_multiselectable_applet_on_two_channels() {
    const MULTI: &str = "A00000047667707365010B01";
    let d = tempfile::tempdir().unwrap();
    let mut c = card_with(d.path(), None, Durability::NoSync);
    load_install(&mut c, &project_cap("multi"), None, &[]);
    assert_eq!(select(&mut c, &aid(MULTI)), "9000");
    // channel 0, Applet.select(), nothing deselected yet, cod 0.
    assert_eq!(tx(&mut c, "8040000000"), "000100009000");
    assert_eq!(tx(&mut c, "80410500"), "9000");
    assert_eq!(tx(&mut c, "0070000001"), "019000");
    assert_eq!(tx(&mut c, &format!("01A404000C{MULTI}00")), "9000");
    assert_eq!(tx(&mut c, "8140000000"), "010300059000");
    // Closing channel 1: deselect(true), the array stays.
    assert_eq!(tx(&mut c, "00708001"), "9000");
    assert_eq!(tx(&mut c, "8040000000"), "000303059000");
    // Another application on channel 0: the last deselection, deselect(), the array cleared.
    assert!(tx(&mut c, "00A4040008A00000015100000000").ends_with("9000"));
    assert_eq!(select(&mut c, &aid(MULTI)), "9000");
    assert_eq!(tx(&mut c, "8040000000"), "000101009000");
}
