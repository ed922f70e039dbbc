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

/// Differential (issue #14): GlobalPlatform's own ARA-M test build (`gp-ara.cap`, run by the
/// JCVM: its package AID is the native ARA-M's, so it gets a VM of its own, under its applet
/// AID) and gpse's native ARA-M given the same rules by STORE DATA answer GET DATA All (`FF40`)
/// byte for byte, and GET DATA Specific (`FF50`) alike for the queries Android sends. The
/// deviations, pinned here with the spec's verdict:
/// - Specific with an empty Hash-REF-DO (`C1 00`, which Android never sends: it sends the app's
///   certificate hash) for the rule stored under exactly that REF-DO: gpse answers that rule's
///   AR-DO (GP SE Access Control v1.1, GET DATA [Specific]: the AR-DO of the rule the
///   REF-DO selects); the test build answers NEVER from its canned table.
/// - An unknown GET DATA tag: gpse `6A86` (its `applet-spec/ara-m.md` decision), the test build
///   `6B00`; both say "wrong P1-P2" (ISO 7816-4 §5.6), the ACE treats either as no rules.
/// - The refresh tag (`DF20`): 8 bytes in both; the value is each implementation's (G§C.1: new
///   each time the rules change; the test build's is fixed).
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn gp_ara_and_the_native_ara_m_answer_alike() {
    use gpse::apdu::{Class, Command};
    use gpse::card::Card;
    use gpse::crypto::CardRng;
    use gpse::jcvm::{Jcvm, NoEnv};
    use gpse::scp03::host::{HostSession, OpenOptions};
    use gpse::scp03::{SecurityLevel, StaticKeys};
    use gpse::transport::scp::SessionIo;
    // The CAP in a VM of its own.
    let mut vm = Jcvm::new();
    let info = vm.load_package(&shared_cap("gp-ara.cap")).unwrap();
    let class = info.applets[0].clone();
    vm.install(&mut NoEnv, &info.aid, &class, &class, &[], &[0]).unwrap();
    let sel = Command::new(0, 0xA4, 4, 0).with_data(class.clone());
    assert_eq!(vm.select(&mut NoEnv, &class, 0, &sel).unwrap().sw, gpse::Sw::Ok);
    let mut cap_tx = |apdu: &str| {
        let c = Command::parse(&hex::decode(apdu).unwrap()).unwrap();
        hex::encode_upper(vm.process(&mut NoEnv, &class, 0, &c).unwrap().to_bytes())
    };
    let all = cap_tx("80CAFF4000");
    // FF40 81 L, then the REF-AR-DOs (E2 L ...), L < 256.
    let body = hex::decode(&all[..all.len() - 4]).unwrap();
    assert_eq!(&body[..3], &[0xFF, 0x40, 0x81]);
    let mut rules = Vec::new();
    let mut i = 4;
    while i < body.len() {
        assert_eq!(body[i], 0xE2);
        let (len, hdr) = if body[i + 1] == 0x81 { (body[i + 2] as usize, 3) } else { (body[i + 1] as usize, 2) };
        rules.push(body[i..i + hdr + len].to_vec());
        i += hdr + len;
    }
    assert!(rules.len() >= 3, "{} rules", rules.len());
    // The native ARA-M on a card: its rules deleted, then the CAP's stored last-first (it lists
    // the newest first), over the ISD's SCP03 session on the ARA-M's channel.
    let d = tempfile::tempdir().unwrap();
    let mut card = new_card(d.path());
    assert_eq!(tx(&mut card, "0070000001"), "019000");
    assert_eq!(tx(&mut card, "01A4040009A00000015141434C00"), "9000");
    let k = hex::decode(common::capcard::K).unwrap();
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    let opts =
        OpenOptions { kvn: 0, level: SecurityLevel::C_DEC_C_MAC, host_challenge: Some([9; 8]), channel: 1, s16: false };
    let mut s = HostSession::open(&mut card, &keys, &opts, &mut CardRng::new(Some(1))).unwrap();
    let mut store = |card: &mut Card, data: Vec<u8>| {
        let mut cmd = Command::new(0x80, 0xE2, 0x90, 0x00).with_data(data);
        cmd.cla = Class::encode(1, true, false).unwrap();
        assert_eq!(s.transmit(card, &cmd).unwrap().sw, gpse::Sw::Ok);
    };
    store(&mut card, vec![0xF1, 0x00]);
    for r in rules.iter().rev() {
        let mut data = vec![0xF0];
        if r.len() > 127 {
            data.push(0x81);
        }
        data.push(u8::try_from(r.len()).unwrap());
        data.extend_from_slice(r);
        store(&mut card, data);
    }
    // A new SELECT ends the session (GPCS §10.2.3); GET DATA needs none.
    assert_eq!(tx(&mut card, "01A4040009A00000015141434C00"), "9000");
    let mut native = |apdu: &str| tx(&mut card, &format!("81{}", &apdu[2..]));
    assert_eq!(native("80CAFF4000"), all, "GET DATA All");
    // Specific: the REF-DO (E1) of each rule.
    for r in &rules {
        let hdr = if r[1] == 0x81 { 3 } else { 2 };
        let e1 = &r[hdr..hdr + 2 + r[hdr + 1] as usize];
        let q = format!("80CAFF50{:02X}{}00", e1.len(), hex::encode_upper(e1));
        let (a, b) = (native(&q), cap_tx(&q));
        if e1.ends_with(&[0xC1, 0x00]) && e1.len() > 6 {
            // The deviation above: the stored rule against NEVER.
            let hdr2 = hdr + e1.len();
            let ar = &r[hdr2..];
            assert_eq!(a, format!("FF50{:02X}{}9000", ar.len(), hex::encode_upper(ar)), "{q}");
            assert_eq!(b, "FF5008E306D00100D101009000", "{q}");
        } else {
            assert_eq!(a, b, "GET DATA Specific {}", hex::encode_upper(e1));
        }
    }
    // An unknown tag.
    assert_eq!((native("80CA00FE00"), cap_tx("80CA00FE00")), ("6A86".to_string(), "6B00".to_string()));
    // The refresh tag: 8 bytes in both; the values are each implementation's.
    let (a, b) = (native("80CADF2000"), cap_tx("80CADF2000"));
    assert!(a.starts_with("DF2008") && b.starts_with("DF2008") && a.len() == b.len(), "{a} {b}");
}
