//! CAP applets on the card: GP LOAD over SCP03 hands the CAP to the JCVM, INSTALL runs the
//! applet's `install`, SELECT and commands reach its bytecode through the same hosting
//! interface as the native applets; the VM's state survives a reopen; DELETE frees it. Real
//! CAPs from `../shared/javacard/caps` and the project's own test applets (`tests/applets`).

// Test code: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::card::Card;
use gpse::store::Durability;

mod common;

use common::apdutool::{apdutool_commands, apdutool_line};
use common::capcard::{
    aid, download, expected, gp, load_install, new_card, oracle_sdk_card, project_cap, select, shared_cap, tx,
};

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn hello_world_through_gp_load_install_select() {
    let d = tempfile::tempdir().unwrap();
    let mut card = new_card(d.path());
    let (pkg, inst) = load_install(&mut card, &shared_cap("oracle212-HelloWorld.cap"), None, &[]);
    // The registry lists the package with its applet class, and the instance.
    let lf = card.image().load_file(&pkg).unwrap();
    assert_eq!(lf.modules, vec![inst.clone()]);
    assert!(card.image().instance(&inst).is_some());
    // HelloWorld echoes every APDU it gets, the SELECT included (the JCRE hands SELECT to
    // `process` after `select`, JCRE §4.3).
    let sel = format!("00A404000A{}", hex::encode_upper(inst.as_bytes()));
    assert_eq!(select(&mut card, &inst), format!("{sel}9000"));
    assert_eq!(tx(&mut card, "8010000003AABBCC00"), "8010000003AABBCC9000");
    drop(card);
    // The VM's state (package, instance) is in the card image.
    let mut card = Card::open(d.path(), Durability::NoSync, None).unwrap();
    assert_eq!(select(&mut card, &inst), format!("{sel}9000"));
    assert_eq!(tx(&mut card, "8010000001EE00"), "8010000001EE9000");
}

#[test]
fn framework_applet_pin_and_counter_persist_and_delete_frees_it() {
    let d = tempfile::tempdir().unwrap();
    let mut card = new_card(d.path());
    let cap = project_cap("framework");
    // Application parameters 4-8 bytes are the PIN (tests/applets/framework source).
    let (pkg, inst) = load_install(&mut card, &cap, None, b"2468");
    assert_eq!(select(&mut card, &inst), "9000");
    // VERIFY with the wrong PIN, then the right one (OwnerPIN, 3 tries).
    assert_eq!(tx(&mut card, "0020000004313233"), "6700");
    let wrong = tx(&mut card, "002000000431323334");
    assert!(wrong.starts_with("63C2") || wrong.starts_with("69"), "{wrong}");
    assert_eq!(tx(&mut card, "002000000432343638"), "9000");
    drop(card);

    // DELETE of the package with its instance: registry and VM both forget it.
    let mut card = Card::open(d.path(), Durability::NoSync, None).unwrap();
    card.power_on();
    {
        let mut g = gp(&mut card);
        g.delete(&pkg, true).unwrap();
    }
    card.power_on();
    assert!(card.image().load_file(&pkg).is_none());
    assert_eq!(select(&mut card, &inst), "6A82");
    // And it can be loaded again.
    let (_, inst) = load_install(&mut card, &cap, None, b"1111");
    assert_eq!(select(&mut card, &inst), "9000");
    assert_eq!(tx(&mut card, "002000000431313131"), "9000");
}

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn a_cap_the_vm_cannot_run_is_refused_at_load_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let mut card = new_card(d.path());
    let before = card.image().load_files.clone();
    let zip = shared_cap("oracle212-HelloWorld.cap");
    let mut lfdb = gpse::jcvm::cap::Cap::parse(&zip).unwrap().load_file_data_block();
    // The Import component (tag 4, u2 size, u1 count, then AID lengths and AIDs): the first
    // imported package's AID gets another RID, so nothing on the card provides it.
    let mut i = 0;
    while lfdb[i] != 4 {
        let size = u16::from_be_bytes([lfdb[i + 1], lfdb[i + 2]]) as usize;
        i += 3 + size;
    }
    // tag, size(2), count(1), minor, major, AID length, AID...
    lfdb[i + 7] ^= 0x55;
    let mut g = gp(&mut card);
    let e = g.load(&lfdb, None).unwrap_err().to_string();
    // GPCS §11.6.2: a load file that references what the card does not have: 6A88.
    assert!(e.contains("6A88"), "{e}");
    drop(g);
    assert_eq!(card.image().load_files, before, "a refused LOAD registers nothing");
    // Nor does the VM keep half a package: the right CAP loads and runs.
    card.power_on();
    let (_, inst) = load_install(&mut card, &zip, None, &[]);
    assert!(select(&mut card, &inst).ends_with("9000"));
}

/// The SDK's whole demo1 trace byte for byte on a card of the `oracle-sdk` profile: the four
/// sample packages (SampleLibrary, a library; JavaLoyalty; JavaPurse, which imports the library
/// and calls JavaLoyalty through a Shareable interface; wallet) downloaded through the SDK
/// installer (80 B0-BA) in dependency order, then every command of the script: CREATE APPLET
/// (80 B8), JavaPurse's transactions, the loyalty calls across the firewall, the wallet.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn oracle_demo1_whole_trace_through_the_sdk_installer() {
    let d = tempfile::tempdir().unwrap();
    let mut card = oracle_sdk_card(d.path());
    let script = expected("oracle212-demo/demo1.scr");
    let out = expected("oracle212-demo/demo1.scr.expected.out");
    let cmds = apdutool_commands(&script);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(cmds.len(), lines.len());
    assert_eq!(apdutool_line(&cmds[0], &card.transmit(&cmds[0].to_bytes())), lines[0]);
    for cap in
        ["oracle212-SampleLibrary.cap", "oracle212-JavaLoyalty.cap", "oracle212-JavaPurse.cap", "oracle212-wallet.cap"]
    {
        download(&mut card, &shared_cap(cap));
    }
    for (n, (b, want)) in cmds.iter().zip(&lines).enumerate().skip(1) {
        let rsp = card.transmit(&b.to_bytes());
        assert_eq!(apdutool_line(b, &rsp), *want, "line {}", n + 1);
    }
    // The packages and instances are in the registry, as GP's would be.
    for elf in ["A00000006203010C04", "A00000006203010C02", "A00000006203010C05", "A00000006203010C06"] {
        assert!(card.image().load_file(&aid(elf)).is_some(), "{elf}");
    }
    assert!(card.image().instance(&aid("A00000006203010C0201")).is_some());
}

/// demo1 with GP in place of the SDK installer: the four packages loaded with GP LOAD, the three
/// applets installed with GP INSTALL under the instance AIDs and with the parameters the
/// script's CREATE APPLET gives (the wallet's PIN 0102030405 as C9); then every other line of
/// the trace byte for byte. The `oracle-sdk` profile's Java Card 2.1 compatibility hands
/// `install` the C9 data alone, as the 2.1 installer did: the 2.1.2 samples read it raw
/// (`pin.update(bArray, bOffset, bLength)`, `register(bArray, bOffset, bLength)`).
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn oracle_demo1_with_gp_load_and_install() {
    let d = tempfile::tempdir().unwrap();
    let mut card = oracle_sdk_card(d.path());
    {
        let mut g = gp(&mut card);
        for cap in [
            "oracle212-SampleLibrary.cap",
            "oracle212-JavaLoyalty.cap",
            "oracle212-JavaPurse.cap",
            "oracle212-wallet.cap",
        ] {
            g.load(&shared_cap(cap), None).unwrap();
        }
        for (pkg, inst, params) in [
            ("A00000006203010C02", "A00000006203010C0201", &[][..]),
            ("A00000006203010C05", "A00000006203010C0501", &[][..]),
            ("A00000006203010C06", "A00000006203010C0601", &[1, 2, 3, 4, 5][..]),
        ] {
            g.install(&aid(pkg), &aid(inst), &aid(inst), &[0], params, true).unwrap();
        }
    }
    let cmds = apdutool_commands(&expected("oracle212-demo/demo1.scr"));
    let out = expected("oracle212-demo/demo1.scr.expected.out");
    let lines: Vec<&str> = out.lines().collect();
    // The installer lines (SELECT of the installer, three CREATE APPLET) are replaced.
    assert!(lines[..4].iter().all(|l| l.contains("INS: a4, P1: 04, P2: 00, Lc: 09") || l.contains("INS: b8")));
    for (i, (b, want)) in cmds.iter().zip(&lines).enumerate().skip(4) {
        assert_eq!(apdutool_line(b, &card.transmit(&b.to_bytes())), *want, "line {}", i + 1);
    }
}
