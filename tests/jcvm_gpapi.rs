//! The GlobalPlatform Card API for CAP applets (issue #16): a CAP applet built against
//! `org.globalplatform` (`tests/applets/gpapi`) opens its security domain's secure channel
//! through `SecureChannel.processSecurity`, with the host side driven by gpse's own host SCP03
//! (`scp03::host`), and unwraps and wraps at levels 01, 03 and 33; `GPSystem`'s states.

// Test code: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::Command;
use gpse::card::Card;
use gpse::scp03::host::HostSession;
use gpse::scp03::SecurityLevel;
use gpse::sw::Sw;

mod common;

use common::capcard::{aid, h, load_install, new_card, open_applet_scp as open, project_cap, select, send, tx, K};

const APPLET: &str = "A00000047667707365010C01";

fn card(dir: &std::path::Path) -> Card {
    let mut c = new_card(dir);
    load_install(&mut c, &project_cap("gpapi"), None, &[]);
    assert_eq!(select(&mut c, &aid(APPLET)), "9000");
    c
}

/// `CLA INS 10` with `data` wrapped by the host, the response unwrapped: the plain data and
/// the applet's `getSecurityLevel()` after it unwrapped the command.
fn echo(c: &mut Card, s: &mut HostSession, data: &[u8]) -> (Vec<u8>, Sw) {
    let cmd = Command::new(0x80, 0x10, 0x00, 0x00).with_data(data.to_vec()).with_ne(256);
    let wrapped = s.wrap(&cmd).unwrap();
    let rsp = send(c, &wrapped);
    let plain = s.unwrap(&rsp).unwrap();
    (plain.data, plain.sw)
}

#[test]
fn process_security_opens_the_sd_channel_and_unwrap_wrap_at_01_03_33() {
    // Current Security Level (GPCS T10-1): AUTHENTICATED 80 | C-MAC 01 | C-DEC 02 | R-MAC 10 |
    // R-ENC 20.
    for (level, csl) in [(SecurityLevel::C_MAC, 0x81), (SecurityLevel::C_DEC_C_MAC, 0x83), (SecurityLevel::ALL, 0xB3)] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = card(dir.path());
        let mut s = open(&mut c, level);
        for data in [&b"\x01\x02\x03\x04\x05"[..], &[0xA5; 40][..]] {
            let (plain, sw) = echo(&mut c, &mut s, data);
            assert_eq!(sw, Sw::Ok);
            assert_eq!(plain, [data, &[csl]].concat(), "level {level:?}");
        }
        // A command with a wrong C-MAC: the SD's unwrap refuses it (6982, AmdD §5.6) and the
        // session ends, so the level is 00 after it.
        let mut bad = s.wrap(&Command::new(0x80, 0x10, 0, 0).with_data(vec![1, 2, 3])).unwrap();
        let last = bad.data.len() - 1;
        bad.data[last] ^= 1;
        assert_eq!(send(&mut c, &bad).sw, Sw::SecurityNotSatisfied);
        assert_eq!(tx(&mut c, "8010000003AABBCC00"), "AABBCC009000");
    }
}

#[test]
fn without_a_session_unwrap_passes_plain_commands_and_refuses_secure_messaging() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = card(dir.path());
    // Plain CLA: unwrap gives it back, level 00, wrap adds nothing.
    assert_eq!(tx(&mut c, "80100000020102"), "0102009000");
    // CLA 84 (secure messaging) with no session: 6982 (GP Card API `unwrap`).
    assert_eq!(tx(&mut c, "841000000A01020304050607080910"), "6982");
    // processSecurity with another INS never reaches it (the applet calls it for 50/82 only);
    // EXTERNAL AUTHENTICATE without INITIALIZE UPDATE: the SD's answer (6985 ... no session).
    let ea = tx(&mut c, "8482010010000000000000000000000000000000");
    assert_ne!(&ea[ea.len() - 4..], "9000");
}

#[test]
fn reset_security_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = card(dir.path());
    let mut s = open(&mut c, SecurityLevel::C_MAC);
    assert_eq!(echo(&mut c, &mut s, &[7]).0, [7, 0x81]);
    let rsp = send(&mut c, &s.wrap(&Command::new(0x80, 0x23, 0, 0).with_ne(256)).unwrap());
    assert_eq!(rsp.to_bytes(), h("009000"));
    // The session is gone: a C-MAC'd command is refused.
    let again = s.wrap(&Command::new(0x80, 0x10, 0, 0).with_data(vec![1])).unwrap();
    assert_eq!(send(&mut c, &again).sw, Sw::SecurityNotSatisfied);
}

#[test]
fn gpsystem_card_and_content_states() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = card(dir.path());
    // SECURED (0F, GPCS T11-4) and SELECTABLE (07, GPCS T11-5).
    assert_eq!(tx(&mut c, "8020000002"), "0F079000");
    // An application-specific state (b1 b2 = 11, GP Card API `setCardContentState`).
    assert_eq!(tx(&mut c, "80210F0002"), "010F9000");
    assert_eq!(tx(&mut c, "8020000002"), "0F0F9000");
    // LOCKED (b8) or back to INSTALLED (03): refused, state unchanged.
    assert_eq!(tx(&mut c, "8021830002"), "000F9000");
    assert_eq!(tx(&mut c, "8021030002"), "000F9000");
    assert_eq!(tx(&mut c, "8021050002"), "000F9000");
    // No Card Lock privilege: lockCard is false and the card stays SECURED.
    assert_eq!(tx(&mut c, "8022000001"), "009000");
    assert_eq!(tx(&mut c, "8020000002"), "0F0F9000");
    // The state persists in the registry (GET STATUS sees it after a power cycle).
    c.power_off();
    c.power_on();
    assert_eq!(select(&mut c, &aid(APPLET)), "9000");
    assert_eq!(tx(&mut c, "8020000002"), "0F0F9000");
}

#[test]
fn decrypt_and_encrypt_data_use_the_static_dek() {
    // AES-128-CBC, zero ICV, under the default key set's DEK (`K`): the known answer from
    // OpenSSL (an independent implementation), and the round trip through the applet both ways.
    let plain = [0x5Au8; 32];
    let mut enc = openssl::symm::Crypter::new(
        openssl::symm::Cipher::aes_128_cbc(),
        openssl::symm::Mode::Encrypt,
        &h(K),
        Some(&[0; 16]),
    )
    .unwrap();
    enc.pad(false);
    let mut ct = vec![0u8; 48];
    let n = enc.update(&plain, &mut ct).unwrap();
    ct.truncate(n);
    assert_eq!(ct.len(), 32);
    let dir = tempfile::tempdir().unwrap();
    let mut c = card(dir.path());
    // No session: ISOException 6985.
    assert_eq!(tx(&mut c, &format!("8030000020{}", hex::encode_upper(&ct))), "6985");
    let mut s = open(&mut c, SecurityLevel::C_DEC_C_MAC);
    let run = |c: &mut Card, s: &mut HostSession, ins: u8, data: &[u8]| {
        let cmd = Command::new(0x80, ins, 0, 0).with_data(data.to_vec()).with_ne(256);
        let rsp = send(c, &s.wrap(&cmd).unwrap());
        s.unwrap(&rsp).unwrap()
    };
    assert_eq!(run(&mut c, &mut s, 0x30, &ct).data, plain);
    assert_eq!(run(&mut c, &mut s, 0x31, &plain).data, ct);
    // Not a multiple of the block: 6700.
    assert_eq!(run(&mut c, &mut s, 0x30, &ct[..20]).sw, Sw::WrongLength);
}

/// The global PIN through `GPSystem.getCVM(CVM_GLOBAL_PIN)` (GP Card API `CVM`): one PIN for
/// the card, changed only by an application with the CVM Management privilege, compared by
/// any; its try counter and BLOCKED state survive a reopen of the card image, its VALIDATED
/// state ends with the card session.
#[test]
fn the_global_pin_is_one_for_the_card_managed_with_the_privilege() {
    const MANAGER: &str = "A00000047667707365010C02";
    let dir = tempfile::tempdir().unwrap();
    let mut c = new_card(dir.path());
    let (pkg, _) = load_install(&mut c, &project_cap("gpapi"), None, &[]);
    common::capcard::gp(&mut c).install(&pkg, &aid(APPLET), &aid(MANAGER), &[0x02], &[], true).unwrap();
    let user = aid(APPLET);
    let manager = aid(MANAGER);
    // Answer: the method's result ‖ isActive isSubmitted isVerified isBlocked getTriesRemaining.
    let on = |c: &mut Card, who: &gpse::Aid, apdu: &str| {
        assert_eq!(select(c, who), "9000");
        tx(c, apdu)
    };
    // getCVM of another identifier: null (the applet answers 6A88).
    assert_eq!(on(&mut c, &user, "8040120000"), "6A88");
    // NOT_READY: no value, no try limit.
    assert_eq!(on(&mut c, &user, "8040110000"), "0000000000009000");
    assert_eq!(on(&mut c, &user, "80401105050131323334"), "0000000000009000", "update needs CVM Management");
    assert_eq!(on(&mut c, &user, "804011090103"), "0000000000009000");
    assert_eq!(on(&mut c, &manager, "80401105050131323334"), "0100000000009000", "value set, no limit yet");
    assert_eq!(on(&mut c, &manager, "804011090103"), "0101000000039000", "ACTIVE, 3 tries");
    // Any application compares: ASCII "1234", then the same digits in BCD.
    assert_eq!(on(&mut c, &user, "8040110A050131323334"), "0001010100039000");
    assert_eq!(on(&mut c, &user, "8040110A03021234"), "0001010100039000");
    assert_eq!(on(&mut c, &manager, "8040110200"), "0101010100039000", "VALIDATED for every application");
    // A wrong value: CVM_FAILURE, INVALID_SUBMISSION, one try fewer.
    assert_eq!(on(&mut c, &user, "8040110A050139393939"), "FF01010000029000");
    // HEX never compares with the stored ASCII value: failure, another try.
    assert_eq!(on(&mut c, &user, "8040110A050331323334"), "FF01010000019000");
    // A new card session: not submitted; the counter persists, also across a reopen.
    drop(c);
    let mut c = Card::open(dir.path(), gpse::store::Durability::NoSync, Some(2)).unwrap();
    c.power_on();
    assert_eq!(on(&mut c, &user, "8040110000"), "0101000000019000");
    assert_eq!(on(&mut c, &user, "8040110A050139393939"), "FF01000001009000", "BLOCKED at 0");
    assert_eq!(on(&mut c, &user, "8040110A050131323334"), "FF01000001009000", "BLOCKED: no comparison");
    assert_eq!(on(&mut c, &user, "8040110600"), "0001000001009000", "resetState cannot leave BLOCKED");
    assert_eq!(on(&mut c, &user, "8040110800"), "0001000001009000", "unblocking needs CVM Management");
    assert_eq!(on(&mut c, &manager, "8040110800"), "0101000000039000");
    assert_eq!(on(&mut c, &user, "8040110A050131323334"), "0001010100039000");
    assert_eq!(on(&mut c, &user, "8040110600"), "0101000000039000", "resetState: ACTIVE again");
    assert_eq!(on(&mut c, &manager, "8040110700"), "0101000001039000", "blockState");
}

/// `GPSystem.getRegistryEntry` and `GPRegistryEntry`: an application sees its own entry; another
/// one's needs Global Registry; locking another application needs Global Lock (GP Card API v1.7,
/// GPCS §5.3).
#[test]
fn registry_entries_their_privileges_states_and_locks() {
    const USER: &str = "A00000047667707365010C01";
    const CVM: &str = "A00000047667707365010C02";
    const REGISTRAR: &str = "A00000047667707365010C03";
    const ISD: &str = "A000000151000000";
    let dir = tempfile::tempdir().unwrap();
    let mut c = new_card(dir.path());
    let (pkg, _) = load_install(&mut c, &project_cap("gpapi"), None, &[]);
    let mut g = common::capcard::gp(&mut c);
    g.install(&pkg, &aid(USER), &aid(CVM), &[0x02], &[], true).unwrap();
    // Global Registry (byte 2 `04`) and Global Lock (`08`), GPCS T11-8.
    g.install(&pkg, &aid(USER), &aid(REGISTRAR), &[0x00, 0x0C, 0x00], &[], true).unwrap();
    drop(g);
    let on = |c: &mut Card, who: &str, apdu: &str| {
        assert_eq!(select(c, &aid(who)), "9000");
        tx(c, apdu)
    };
    let lv = |a: &str| format!("{:02X}{a}", a.len() / 2);
    let other = |p2: &str, a: &str, arg: &str| {
        let data = format!("{}{arg}", lv(a));
        format!("804101{p2}{:02X}{data}", data.len() / 2)
    };
    // Its own entry: AID, privileges, state, associated with the ISD (a security domain),
    // not with itself (not one).
    assert_eq!(on(&mut c, USER, "8041000000"), format!("{USER}9000"));
    assert_eq!(on(&mut c, USER, "8041000100"), "0000009000");
    assert_eq!(on(&mut c, CVM, "8041000100"), "0200009000");
    assert_eq!(on(&mut c, USER, "8041000200"), "079000");
    assert_eq!(on(&mut c, USER, &format!("80410003{:02X}{}", ISD.len() / 2 + 1, lv(ISD))), "019000");
    assert_eq!(on(&mut c, USER, &format!("80410003{:02X}{}", USER.len() / 2 + 1, lv(USER))), "009000");
    // isPrivileged by number: 6 is CVM Management; 13 Global Registry; 18 is no privilege.
    assert_eq!(on(&mut c, USER, "804100040106"), "009000");
    assert_eq!(on(&mut c, CVM, "804100040106"), "019000");
    assert_eq!(on(&mut c, REGISTRAR, "80410004010D"), "019000");
    assert_eq!(on(&mut c, REGISTRAR, "804100040112"), "009000");
    // Another application's entry: null without Global Registry.
    assert_eq!(on(&mut c, USER, &other("00", CVM, "")), "6A88");
    assert_eq!(on(&mut c, REGISTRAR, &other("00", CVM, "")), format!("{CVM}9000"));
    assert_eq!(on(&mut c, REGISTRAR, &other("01", CVM, "")), "0200009000");
    // The ISD's entry: the card's life cycle state (SECURED).
    assert_eq!(on(&mut c, REGISTRAR, &other("02", ISD, "")), "0F9000");
    // An application-specific state set by the application itself; INSTALLED → SELECTABLE and
    // another application's state are refused.
    assert_eq!(on(&mut c, USER, "80410005010F"), "019000");
    assert_eq!(on(&mut c, USER, "8041000200"), "0F9000");
    assert_eq!(on(&mut c, REGISTRAR, &other("05", USER, "1F")), "009000");
    // Locking another application needs Global Lock; a locked one is not selectable; unlocking
    // restores its state.
    assert_eq!(on(&mut c, REGISTRAR, &other("05", USER, "80")), "019000");
    assert_ne!(select(&mut c, &aid(USER)), "9000");
    assert_eq!(on(&mut c, REGISTRAR, &other("02", USER, "")), "8F9000");
    assert_eq!(on(&mut c, REGISTRAR, &other("05", USER, "00")), "019000");
    assert_eq!(on(&mut c, USER, "8041000200"), "0F9000");
    // No Global Services here: registerService answers ISOException 6A81.
    assert_eq!(on(&mut c, USER, "8041000600"), "6A81");
}
