//! The JPKI applet against `applet-spec/jpki.md`: user path (card-compatible bytes, J§n of
//! `shared/reference/jpki.md`), management path, PIN lifecycle, erase and factory reset.
//!
//! The applet is driven directly with a hand-made context so the management path can be given a
//! secure-channel level; runtime-level behaviour (SELECT by AID, foreign AIDs) goes through `Card`.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::Command;
use gpse::applets::jpki::{self, certificate_public_key};
use gpse::card::{Aid, Applet, Card, CardEvent, Ctx};
use gpse::crypto::CardRng;
use gpse::host::ca::{public_key_from_template, TestCa};
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::SecurityStatus;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPublicKey};

/// Secure channel levels (GPCS T10-1): authenticated + C-MAC, and + C-DEC.
const MAC: Option<u8> = Some(0x81);
const ENC: Option<u8> = Some(0x83);

struct H {
    applet: Box<dyn Applet>,
    rng: CardRng,
    aid: Aid,
}

impl H {
    fn new() -> H {
        let mut rng = CardRng::new(Some(42));
        let applet = (jpki::MODULE.install)(&[], &mut rng).unwrap();
        let mut h = H { applet, rng, aid: Aid::from_static(jpki::JPKI_AID) };
        h.select(0);
        h
    }

    fn ctx_run<T>(&mut self, ch: u8, level: Option<u8>, f: impl FnOnce(&mut dyn Applet, &mut Ctx<'_>) -> T) -> T {
        let mut ctx = Ctx::standalone(ch, &self.aid, &mut self.rng, level_of(level));
        f(self.applet.as_mut(), &mut ctx)
    }

    fn select(&mut self, ch: u8) {
        let cmd = Command::parse(&hex::decode("00A4040C0AD392F000260100000001").unwrap()).unwrap();
        self.ctx_run(ch, None, |a, c| a.select(c, &cmd)).unwrap();
    }

    /// SELECT of the AP while it is already selected on `ch` (the runtime calls `reselect`).
    fn reselect(&mut self, ch: u8) {
        let cmd = Command::parse(&hex::decode("00A4040C0AD392F000260100000001").unwrap()).unwrap();
        self.ctx_run(ch, None, |a, c| a.reselect(c, &cmd)).unwrap();
    }

    /// Another application selected on `ch`, then the AP again.
    fn select_elsewhere_and_back(&mut self, ch: u8) {
        self.ctx_run(ch, None, |a, c| a.deselect(c));
        self.select(ch);
    }

    fn tx_on(&mut self, ch: u8, level: Option<u8>, apdu: &str) -> String {
        let cmd = Command::parse(&hex::decode(apdu.replace(' ', "")).unwrap()).unwrap();
        let r = self.ctx_run(ch, level, |a, c| a.process(c, &cmd)).unwrap_or_else(gpse::Response::status);
        hex::encode_upper(r.to_bytes())
    }

    fn tx(&mut self, apdu: &str) -> String {
        self.tx_on(0, None, apdu)
    }

    fn tsm(&mut self, apdu: &str) -> String {
        self.tx_on(0, ENC, apdu)
    }

    /// Generates a pair's key, has the CA certify it and stores the certificate in two blocks.
    fn personalise(&mut self, ca: &mut TestCa, pair: u8) -> RsaPublicKey {
        let r = self.tsm(&format!("804700{pair:02X}"));
        assert!(r.ends_with("9000"), "{r}");
        let t = hex::decode(&r[..r.len() - 4]).unwrap();
        let pk = public_key_from_template(&t).unwrap();
        let cert = ca.issue(&pk, if pair == 1 { "auth" } else { "sign" }).unwrap();
        let (a, b) = cert.split_at(200);
        assert_eq!(self.tsm(&store_cert(0x00, pair, a)), "9000");
        assert_eq!(self.tsm(&store_cert(0x80, pair, b)), "9000");
        assert_eq!(self.tsm(&store_cert(0x81, pair, ca.certificate())), "9000");
        pk
    }
}

fn store_cert(p1: u8, pair: u8, data: &[u8]) -> String {
    let mut a = vec![0x80, 0xD0, p1, pair];
    if data.len() > 255 {
        a.extend([0, (data.len() >> 8) as u8, data.len() as u8]);
    } else {
        a.push(data.len() as u8);
    }
    a.extend(data);
    hex::encode_upper(a)
}

fn apdu(header: &str, data: &[u8]) -> String {
    format!("{header}{:02X}{}", data.len(), hex::encode_upper(data))
}

fn status(h: &mut H, pair: u8) -> String {
    h.tsm(&format!("80CA00{pair:02X}"))
}

fn ca() -> TestCa {
    TestCa::new(&mut CardRng::new(Some(7)), "gpse JPKI test CA").unwrap()
}

const SHA256_DI: &str = "3031300D060960864801650304020105000420";

#[test]
fn token_ef_is_the_gpse_token() {
    let mut h = H::new();
    assert_eq!(h.tx("00A4020C020006"), "9000");
    // J§1: the first 32 bytes, space-padded label.
    let label = format!("{}{}9000", hex::encode_upper(b"JPKIAPGPSETOKEN"), "20".repeat(17));
    assert_eq!(h.tx("00B0000020"), label);
    let all = h.tx("00B0000000");
    assert_eq!(all.len(), (160 + 2) * 2);
    assert_eq!(h.tx("00B000A000"), "6B00");
    assert_eq!(&h.tx("00B0009F00"), &all[(159 * 2)..]);
    // By SFI without a prior SELECT (jsapdu form, J§3), extended Le.
    let mut h2 = H::new();
    assert_eq!(h2.tx("00B08600000000"), all);
}

#[test]
fn select_ef_rules() {
    let mut h = H::new();
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx("00A4020C020099"), "6A82");
    // Certificate and key EFs do not exist before personalisation.
    assert_eq!(h.tx("00A4020C02000A"), "6A82");
    assert_eq!(h.tx("00A4020C020017"), "6A82");
    assert_eq!(h.tx("00A4000C023F00"), "6A82");
    assert_eq!(h.tx("00A40000"), "6A86");
    assert_eq!(h.tx("00A4020C0100"), "6700");
    // A foreign AID forwarded by the runtime.
    assert_eq!(h.tx("00A4040006D2760001240100"), "6A82");
    assert_eq!(h.tx("80B0000004"), "6E00");
    assert_eq!(h.tx("00EE0000"), "6D00");
}

#[test]
fn unpersonalised_pins_are_not_usable() {
    let mut h = H::new();
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx("00200080"), "6984");
    assert_eq!(h.tx("002000800431323334"), "6984");
    assert_eq!(h.tx("0020008000"), "6700");
    // No current EF for VERIFY / sign / read.
    let mut h = H::new();
    assert_eq!(h.tx("00200080"), "6986");
    assert_eq!(h.tx("00B0000004"), "6986");
    assert_eq!(h.tx(&apdu("802A0080", &[1; 32])), "6986");
}

#[test]
fn management_needs_the_secure_channel() {
    let mut h = H::new();
    for (level, cmd) in [(None, "80470001"), (None, "80CA0001"), (MAC, &apdu("80D20001", b"1234")), (None, "80EE0002")]
    {
        assert_eq!(h.tx_on(0, level, cmd), "6982", "{cmd} at {level:?}");
    }
    assert_eq!(status(&mut h, 1), "DF010500000300009000");
    assert_eq!(h.tsm("80470003"), "6A86");
    assert_eq!(h.tsm("80470101"), "6A86");
}

#[test]
fn full_lifecycle_of_the_auth_pair() {
    let mut ca = ca();
    let mut h = H::new();
    let pk = h.personalise(&mut ca, 1);
    assert_eq!(pk.n().bits(), 2048);
    assert_eq!(pk.e().to_bytes_be(), vec![1, 0, 1]);
    // Awaiting the PIN: the key cannot be regenerated, the PIN is not usable.
    assert_eq!(h.tsm("80470001"), "6985");
    assert_eq!(status(&mut h, 1), "DF010502000300009000");
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx("00200080"), "6984");
    // Temporary PIN (design b), malformed ones refused.
    assert_eq!(h.tsm(&apdu("80D20001", b"12345")), "6A80");
    assert_eq!(h.tsm(&apdu("80D20001", b"12a4")), "6A80");
    assert_eq!(h.tsm(&apdu("80D20001", b"8231")), "9000");
    assert_eq!(status(&mut h, 1), "DF010503030301009000");
    assert_eq!(h.tx("00200080"), "63C3");
    // Verify the temporary PIN: signing is still refused until it is changed.
    assert_eq!(h.tx(&apdu("00200080", b"8231")), "9000");
    assert_eq!(h.tx("00A4020C020017"), "9000");
    let digest = format!("{SHA256_DI}{}", "AB".repeat(32));
    let sign = format!("802A008033{digest}00");
    assert_eq!(h.tx(&sign), "6982");
    // Change to the user's PIN.
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx(&apdu("00240180", b"123")), "6A80");
    assert_eq!(h.tx(&apdu("00240180", b"2580")), "9000");
    assert_eq!(status(&mut h, 1), "DF010504030300009000");
    // The empty VERIFY still answers 63C3 after a successful VERIFY (J§4, OpenSC PR #959).
    assert_eq!(h.tx("00200080"), "63C3");
    assert_eq!(h.tx("00A4020C020017"), "9000");
    let r = h.tx(&sign);
    assert_eq!(r.len(), (256 + 2) * 2);
    assert!(r.ends_with("9000"));
    let sig = hex::decode(&r[..512]).unwrap();
    // The card pads the data as given (J§5): verify with an unprefixed PKCS#1 v1.5 check.
    pk.verify(Pkcs1v15Sign::new_unprefixed(), &hex::decode(&digest).unwrap(), &sig).unwrap();
    // The certificate the CA issued carries the same key.
    assert_eq!(h.tx("00A4020C02000A"), "9000");
    let head = h.tx("00B0000004");
    assert!(head.starts_with("3082") && head.ends_with("9000"), "{head}");
    let len = usize::from_str_radix(&head[4..8], 16).unwrap() + 4;
    let mut der = Vec::new();
    let mut off = 0;
    while off < len {
        let r = h.tx(&format!("00B0{off:04X}00"));
        assert!(r.ends_with("9000"));
        der.extend(hex::decode(&r[..r.len() - 4]).unwrap());
        off += 256;
    }
    assert_eq!(der.len(), len);
    assert_eq!(certificate_public_key(&der).unwrap(), pk);
    assert_eq!(h.tx(&format!("00B0{len:04X}00")), "6B00");
    // Data length limits and P1.
    assert_eq!(h.tx("00A4020C020017"), "9000");
    assert_eq!(h.tx(&format!("802A0080F6{}00", "00".repeat(246))), "6700");
    assert_eq!(h.tx(&format!("802A0680{}00", &sign[8..sign.len() - 2])), "6A86");
    // Current EF not a key.
    assert_eq!(h.tx("00A4020C020006"), "9000");
    assert_eq!(h.tx(&sign), "6981");
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx("00B0000004"), "6981");
}

#[test]
fn certificate_must_match_the_pair_key() {
    let mut ca = ca();
    let mut h = H::new();
    let r = h.tsm("80470002");
    assert!(r.ends_with("9000"));
    // A certificate for another key (the CA's own) is refused and nothing changes.
    assert_eq!(h.tsm(&store_cert(0x80, 2, ca.certificate())), "6A80");
    assert_eq!(status(&mut h, 2), "DF020501000500009000");
    // Not DER at all.
    assert_eq!(h.tsm(&store_cert(0x80, 2, b"not a certificate")), "6A80");
    // A CA certificate before any key is refused.
    assert_eq!(h.tsm(&store_cert(0x81, 1, ca.certificate())), "6985");
    // Reading the certificate EF while none is stored.
    assert_eq!(h.tx("00A4020C020001"), "6A82");
    let _ = &mut ca;
}

#[test]
fn wrong_pins_block_and_the_service_unblocks() {
    let mut ca = ca();
    let mut h = H::new();
    h.personalise(&mut ca, 2);
    // Signature PIN: 6-16 of A-Z0-9 (J§4); lowercase is refused when set.
    assert_eq!(h.tsm(&apdu("80D20002", b"abc123")), "6A80");
    assert_eq!(h.tsm(&apdu("80D20002", b"ABCDEFGHIJKLMNOPQ")), "6A80");
    assert_eq!(h.tsm(&apdu("80D20002", b"TEMP01")), "9000");
    assert_eq!(h.tx("00A4020C02001B"), "9000");
    assert_eq!(h.tx(&apdu("00200080", b"TEMP01")), "9000");
    assert_eq!(h.tx(&apdu("00240180", b"MYSIGN2026")), "9000");
    // Lower case at VERIFY is just a wrong PIN (the card compares bytes).
    assert_eq!(h.tx(&apdu("00200080", b"mysign2026")), "63C4");
    assert_eq!(h.tx(&apdu("00200080", b"WRONG1")), "63C3");
    assert_eq!(h.tx(&apdu("00200080", b"MYSIGN2026")), "9000");
    assert_eq!(h.tx("00200080"), "63C5");
    for left in (0..5).rev() {
        assert_eq!(h.tx(&apdu("00200080", b"WRONG1")), format!("63C{left}"));
    }
    // Blocked: the right PIN gets 6984 and changes nothing; the empty VERIFY answers 63C0.
    assert_eq!(h.tx(&apdu("00200080", b"MYSIGN2026")), "6984");
    assert_eq!(h.tx("00200080"), "63C0");
    assert_eq!(status(&mut h, 2), "DF020504000500019000");
    // The sign certificate is unreadable without the PIN.
    assert_eq!(h.tx("00A4020C020001"), "9000");
    assert_eq!(h.tx("00B0000004"), "6982");
    // Unblock by the SP-TSM keeps the PIN.
    assert_eq!(h.tsm("80D40002"), "9000");
    assert_eq!(h.tx("00A4020C02001B"), "9000");
    assert_eq!(h.tx(&apdu("00200080", b"MYSIGN2026")), "9000");
    assert_eq!(h.tx("00A4020C020001"), "9000");
    assert!(h.tx("00B0000004").starts_with("3082"));
}

#[test]
fn design_a_temporary_pin_is_blocked_until_released() {
    let mut ca = ca();
    let mut h = H::new();
    h.personalise(&mut ca, 1);
    assert_eq!(h.tsm(&apdu("80D20101", b"4711")), "9000");
    assert_eq!(status(&mut h, 1), "DF010503000301019000");
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx("00200080"), "63C0");
    assert_eq!(h.tx(&apdu("00200080", b"4711")), "6984");
    assert_eq!(h.tsm("80D40001"), "9000");
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx(&apdu("00200080", b"4711")), "9000");
    assert_eq!(h.tx(&apdu("00240180", b"1357")), "9000");
    // Design b's SET PIN is refused once a PIN exists; the reset is the way.
    assert_eq!(h.tsm(&apdu("80D20001", b"1111")), "6985");
    assert_eq!(h.tsm(&apdu("80D20201", b"2222")), "9000");
    assert_eq!(status(&mut h, 1), "DF010503030301009000");
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx(&apdu("00200080", b"1357")), "63C2");
    assert_eq!(h.tx(&apdu("00200080", b"2222")), "9000");
}

#[test]
fn security_status_is_per_channel_and_cleared_by_select_and_reset() {
    let mut ca = ca();
    let mut h = H::new();
    h.personalise(&mut ca, 1);
    assert_eq!(h.tsm(&apdu("80D20001", b"0000")), "9000");
    h.select(1);
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx(&apdu("00200080", b"0000")), "9000");
    assert_eq!(h.tx("00A4020C02000A"), "9000");
    assert!(h.tx("00B0000004").starts_with("3082"));
    // Channel 1 has not verified: the GP-SE's auth certificate needs the PIN (J§8).
    assert_eq!(h.tx_on(1, None, "01A4020C02000A"), "9000");
    assert_eq!(h.tx_on(1, None, "01B0000004"), "6982");
    // The CA certificate is free.
    assert_eq!(h.tx_on(1, None, "01A4020C02000B"), "9000");
    assert!(h.tx_on(1, None, "01B0000004").starts_with("3082"));
    // Re-SELECT of the AP keeps channel 0's status but not its current EF (issue #18 point 7:
    // JICSAP 5.1.3 rule 2 per myna-card; pyjpki re-selects between VERIFY and SIGN).
    h.reselect(0);
    assert_eq!(h.tx("00B0000004"), "6986");
    assert_eq!(h.tx("00A4020C02000A"), "9000");
    assert!(h.tx("00B0000004").starts_with("3082"));
    // Selecting another application clears it.
    h.select_elsewhere_and_back(0);
    assert_eq!(h.tx("00A4020C02000A"), "9000");
    assert_eq!(h.tx("00B0000004"), "6982");
    // So does a power cycle.
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx(&apdu("00200080", b"0000")), "9000");
    h.applet.power_reset();
    assert_eq!(h.tx("00A4020C02000A"), "9000");
    assert_eq!(h.tx("00B0000004"), "6982");
}

#[test]
fn erasing_one_pair_leaves_the_other_usable() {
    let mut ca = ca();
    let mut h = H::new();
    let auth = h.personalise(&mut ca, 1);
    h.personalise(&mut ca, 2);
    assert_eq!(h.tsm(&apdu("80D20001", b"1111")), "9000");
    assert_eq!(h.tsm(&apdu("80D20002", b"TEMP22")), "9000");
    assert_eq!(h.tsm("80EE0002"), "9000");
    assert_eq!(status(&mut h, 2), "DF020500000500009000");
    assert_eq!(h.tx("00A4020C020001"), "6A82");
    assert_eq!(h.tx("00A4020C02001A"), "6A82");
    assert_eq!(h.tx("00A4020C02001B"), "9000");
    assert_eq!(h.tx("00200080"), "6984");
    // Auth still works end to end.
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx(&apdu("00200080", b"1111")), "9000");
    assert_eq!(h.tx(&apdu("00240180", b"9999")), "9000");
    assert_eq!(h.tx("00A4020C020017"), "9000");
    let r = h.tx(&(apdu("802A0080", b"raw data to sign") + "00"));
    let sig = hex::decode(&r[..512]).unwrap();
    auth.verify(Pkcs1v15Sign::new_unprefixed(), b"raw data to sign", &sig).unwrap();
    // The erased pair can be set up again.
    assert!(h.tsm("80470002").ends_with("9000"));
}

#[test]
fn factory_reset_wipes_every_key_byte() {
    let mut ca = ca();
    let mut h = H::new();
    h.personalise(&mut ca, 1);
    h.personalise(&mut ca, 2);
    let before = h.applet.save();
    h.applet.take_dirty();
    // The private keys are in the saved state now (as PKCS#1 DER): find their prime bytes.
    let state_with_keys = before.clone();
    h.applet.on_event(CardEvent::FactoryReset);
    assert!(h.applet.take_dirty(), "the wipe must be committed");
    let after = h.applet.save();
    assert!(after.len() < 64, "state after wipe: {} bytes", after.len());
    // What remains is exactly a fresh install's state: no byte of key material can be left.
    let fresh = (jpki::MODULE.install)(&[], &mut CardRng::new(Some(1))).unwrap().save();
    assert_eq!(after, fresh, "the applet answers as freshly installed");
    assert!(state_with_keys.len() > 2000);
    assert_eq!(h.tx("00A4020C020017"), "6A82");
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx("00200080"), "6984");
}

#[test]
fn runtime_selection_of_the_jpki_ap() {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut card = Card::in_memory(img, Some(1)).unwrap();
    card.power_on();
    let mut t = |a: &str| hex::encode_upper(card.transmit(&hex::decode(a).unwrap()));
    // The SELECT every JPKI client sends (J§1): 9000, no data.
    assert_eq!(t("00A4040C0AD392F000260100000001"), "9000");
    // OpenSC's probes of other drivers while JPKI is selected: 6A82, selection kept (J§10 #2).
    assert_eq!(t("00A4040006D2760001240100"), "6A82");
    assert_eq!(t("00CADF3005"), "6D00");
    assert_eq!(t("00A4020C020006"), "9000");
    assert!(t("00B0000020").starts_with(&hex::encode_upper(b"JPKIAPGPSETOKEN")));
    // pkcs15-tool's PIN queries on an unpersonalised applet.
    assert_eq!(t("00A4020C020018"), "9000");
    assert_eq!(t("00200080"), "6984");
}

#[test]
fn remaining_rows_of_the_spec() {
    let mut ca = ca();
    let mut h = H::new();
    let pk = h.personalise(&mut ca, 1);
    h.personalise(&mut ca, 2);
    assert_eq!(h.tsm(&apdu("80D20001", b"1111")), "9000");
    assert_eq!(h.tsm(&apdu("80D20002", b"TEMP22")), "9000");
    // VERIFY by SFI (P2 = 80|SFI), without a prior SELECT EF (J§4 jsapdu/myna-card form).
    h.select(0);
    assert_eq!(h.tx("00200098"), "63C3");
    assert_eq!(h.tx("0020009B"), "63C5");
    assert_eq!(h.tx(&apdu("00200098", b"1111")), "9000");
    assert_eq!(h.tx(&apdu("00240180", b"2222")), "9000");
    // Key by SFI in COMPUTE DIGITAL SIGNATURE (P2 = 97), without SELECT EF (J§5 optional).
    let r = h.tx(&format!("802A009720{}00", "11".repeat(32)));
    assert!(r.ends_with("9000") && r.len() == 516, "{r}");
    pk.verify(Pkcs1v15Sign::new_unprefixed(), &[0x11; 32], &hex::decode(&r[..512]).unwrap()).unwrap();
    // Unknown SFI; READ BINARY with data or without Le; CHANGE with P1 00; P1 b8 with SFI 0.
    assert_eq!(h.tx("00B0990000"), "6A82");
    assert_eq!(h.tx("00B00000020102"), "6700");
    assert_eq!(h.tx("00B00000"), "6700");
    assert_eq!(h.tx(&apdu("00240080", b"3333")), "6A86");
    assert_eq!(h.tx("00B0800000"), "6A86");
    // Management state errors: unblock / reset of an erased pair, a too large certificate.
    assert_eq!(h.tsm("80EE0001"), "9000");
    assert_eq!(h.tsm("80D40001"), "6985");
    assert_eq!(h.tsm(&apdu("80D20201", b"1234")), "6985");
    assert!(h.tsm("80470001").ends_with("9000"));
    let big = store_cert(0x00, 1, &[0x30; 4000]);
    assert_eq!(h.tsm(&big), "9000");
    assert_eq!(h.tsm(&big), "9000");
    assert_eq!(h.tsm(&store_cert(0x80, 1, &[0x30; 200])), "6A84");
    // The certificate upload state was dropped: a proper certificate still goes in after it.
    assert_eq!(status(&mut h, 1), "DF010501000300009000");
}

/// The APDU trace of `pkcs15-tool --list-certificates` (J§7) on a personalised applet: the answers
/// OpenSC's JPKI driver needs, byte for byte where the reference fixes them.
#[test]
fn opensc_list_certificates_trace() {
    let mut ca = ca();
    let mut h = H::new();
    h.personalise(&mut ca, 1);
    h.personalise(&mut ca, 2);
    assert_eq!(h.tsm(&apdu("80D20001", b"1111")), "9000");
    assert_eq!(h.tsm(&apdu("80D20002", b"TEMP22")), "9000");
    h.select(0);
    h.select(0);
    // Steps 4-5: the PIN counters, without a PIN verified (63C3 / 63C5).
    assert_eq!(h.tx("00A4020C020018"), "9000");
    assert_eq!(h.tx("00200080"), "63C3");
    assert_eq!(h.tx("00A4020C02001B"), "9000");
    assert_eq!(h.tx("00200080"), "63C5");
    // Step 6: each certificate EF, a 4-byte header read then 256-byte chunks.
    for (fid, free) in [("000B", true), ("0002", true), ("000A", false), ("0001", false)] {
        assert_eq!(h.tx(&format!("00A4020C02{fid}")), "9000");
        let head = h.tx("00B0000004");
        if !free {
            // Step 7: the sign certificate (and on the GP-SE the auth one) without a PIN: 6982.
            assert_eq!(head, "6982", "{fid}");
            continue;
        }
        assert!(head.starts_with("3082") && head.ends_with("9000"), "{fid}: {head}");
        let total = usize::from_str_radix(&head[4..8], 16).unwrap() + 4;
        let mut off = 0;
        while off < total {
            let le = (total - off).min(256);
            let r = h.tx(&format!("00B0{off:04X}{:02X}", le % 256));
            assert_eq!(r.len(), (le + 2) * 2, "{fid} at {off}");
            off += le;
        }
    }
}

/// The Current Security Level the tests write as an optional GPCS T10-1 byte.
fn level_of(l: Option<u8>) -> SecurityStatus {
    SecurityStatus::from_bits_retain(l.unwrap_or(0))
}

/// Issue #18 point 8: COMPUTE DIGITAL SIGNATURE P1 00-05, myna-card's `SignatureScheme`
/// (`src/ap/jpki.rs`: "Any value outside this set answers 6A86"; input lengths from its
/// `check_input`). Each signature verifies the way myna-card's `SignatureScheme::verify` checks it.
#[test]
fn compute_signature_schemes_p1_00_to_05() {
    use rsa::Pss;
    use sha2::{Digest, Sha256};
    let mut ca = ca();
    let mut h = H::new();
    let pk = h.personalise(&mut ca, 2);
    assert_eq!(h.tsm(&apdu("80D20002", b"TEMP22")), "9000");
    assert_eq!(h.tx(&apdu("0020009B", b"TEMP22")), "9000");
    assert_eq!(h.tx("00A4020C02001B"), "9000");
    assert_eq!(h.tx(&apdu("00240180", b"SIGNPASS1")), "9000");
    let msg = b"issue 18: the message myna-card hands to the card".to_vec();
    let hash = Sha256::digest(&msg).to_vec();
    let sign = |h: &mut H, p1: u8, data: &[u8]| -> Vec<u8> {
        let r = h.tx(&format!("802A{p1:02X}9A{:02X}{}00", data.len(), hex::encode_upper(data)));
        assert!(r.ends_with("9000") && r.len() == 516, "P1 {p1:02X}: {r}");
        hex::decode(&r[..512]).unwrap()
    };
    // 00 verbatim: PKCS#1 v1.5 over the DigestInfo as given.
    let di = [hex::decode(SHA256_DI).unwrap(), hash.clone()].concat();
    pk.verify(Pkcs1v15Sign::new_unprefixed(), &di, &sign(&mut h, 0x00, &di)).unwrap();
    // 01 card SHA-256, bare hash padded.
    pk.verify(Pkcs1v15Sign::new_unprefixed(), &hash, &sign(&mut h, 0x01, &msg)).unwrap();
    // 02 a 32-byte hash, the card adds the DigestInfo; 03 the card hashes and adds it. Both are
    // the ordinary sha256WithRSAEncryption signature, so deterministic and equal.
    let s02 = sign(&mut h, 0x02, &hash);
    let s03 = sign(&mut h, 0x03, &msg);
    pk.verify(Pkcs1v15Sign::new::<Sha256>(), &hash, &s02).unwrap();
    assert_eq!(s02, s03);
    // 04 PSS over a 32-byte hash, 05 card SHA-256 + PSS: random salt, so two signatures differ.
    let s04 = sign(&mut h, 0x04, &hash);
    pk.verify(Pss::new::<Sha256>(), &hash, &s04).unwrap();
    assert_ne!(s04, sign(&mut h, 0x04, &hash));
    pk.verify(Pss::new::<Sha256>(), &hash, &sign(&mut h, 0x05, &msg)).unwrap();
    // Lengths: 02 and 04 take exactly 32 bytes, 00 at most 245: 6700.
    assert_eq!(h.tx(&format!("802A029A1F{}00", "00".repeat(31))), "6700");
    assert_eq!(h.tx(&format!("802A049A21{}00", "00".repeat(33))), "6700");
    assert_eq!(h.tx(&format!("802A009AF6{}00", "00".repeat(246))), "6700");
    // The card hashes for 01/03/05, so up to 255 bytes go.
    assert!(h.tx(&format!("802A039AFF{}00", "00".repeat(255))).ends_with("9000"));
    // Any other P1: 6A86.
    for p1 in [0x06u8, 0x10, 0x80, 0xFF] {
        assert_eq!(h.tx(&format!("802A{p1:02X}9A20{}00", "00".repeat(32))), "6A86", "P1 {p1:02X}");
    }
}

/// Issue #18 point 9: GET CHALLENGE `00 84 00 00 Le` inside the AP (myna-card
/// `Card::get_challenge`: every Le 1-256 honoured exactly, the extended form refused with 6985,
/// P1-P2 must be 00; OpenSC `pkcs11-tool --test` C_GenerateRandom).
#[test]
fn get_challenge_inside_the_ap() {
    let mut h = H::new();
    for le in [1usize, 8, 16, 255] {
        let r = h.tx(&format!("00840000{le:02X}"));
        assert_eq!(r.len(), (le + 2) * 2, "Le {le}");
        assert!(r.ends_with("9000"));
    }
    let a = h.tx("0084000000");
    assert_eq!(a.len(), (256 + 2) * 2);
    assert!(a.ends_with("9000"));
    // Fresh bytes each time.
    assert_ne!(a, h.tx("0084000000"));
    assert_eq!(h.tx("00840000000100"), "6985");
    assert_eq!(h.tx("0084010008"), "6A86");
    assert_eq!(h.tx("0084000108"), "6A86");
    assert_eq!(h.tx("00840000"), "6700");
    assert_eq!(h.tx("8084000008"), "6E00");
}

/// Issue #18 point 10: EF 0008, certificate availability, 3 bytes, free (myna-card
/// `CertificateAvailability`: `8F 8F 00` with both certificates; `00` for a missing one).
#[test]
fn ef_0008_certificate_availability() {
    let mut ca = ca();
    let mut h = H::new();
    assert_eq!(h.tx("00A4020C020008"), "9000");
    assert_eq!(h.tx("00B0000000"), "0000009000");
    h.personalise(&mut ca, 1);
    assert_eq!(h.tx("00B0000000"), "008F009000");
    h.personalise(&mut ca, 2);
    assert_eq!(h.tx("00B0000000"), "8F8F009000");
    // myna-card's physical read: 256 asked, 3 given; past the end 6B00; by SFI 08.
    assert_eq!(h.tx("00B0000300"), "6B00");
    assert_eq!(h.tx("00B0880003"), "8F8F009000");
    assert_eq!(h.tsm("80EE0002"), "9000");
    assert_eq!(h.tx("00B0880000"), "008F009000");
}
