//! The JPKI applet on a whole card: management over the SP-TSM's SCP03 session on the applet's
//! own channel, the user path through the runtime, power cuts during key generation, certificate
//! store and PIN change, and the factory-reset wipe checked on the image file itself.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::{Command, Response};
use gpse::card::{Card, CardEvent, CardImage};
use gpse::crypto::CardRng;
use gpse::host::ca::{public_key_from_template, TestCa};
use gpse::host::jpki::{JpkiClient, PinStatus};
use gpse::platform::profile::{Overrides, Profile};
use gpse::proto::jpki::PairId;
use gpse::scp03::host::{HostSession, OpenOptions};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::store::Durability;
use gpse::transport::scp::SessionIo;
use rsa::traits::PrivateKeyParts;

mod common;

use common::cards::{power_cut_everywhere, private_keys_in};

const SELECT_JPKI_CH1: &str = "01A4040C0AD392F000260100000001";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn image() -> CardImage {
    Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap()
}

fn keys() -> StaticKeys {
    let k = h("404142434445464748494A4B4C4D4E4F");
    StaticKeys::new(&k, &k, &k).unwrap()
}

/// Opens channel 1, selects the JPKI AP on it and opens the SP-TSM's session there.
fn tsm_session(card: &mut Card, level: SecurityLevel) -> HostSession {
    card.power_on();
    assert_eq!(card.transmit(&h("0070000001")), h("019000"));
    assert_eq!(card.transmit(&h(SELECT_JPKI_CH1)), h("9000"));
    let opts = OpenOptions { kvn: 0, level, host_challenge: Some([7; 8]), channel: 1, s16: false };
    HostSession::open(card, &keys(), &opts, &mut CardRng::new(Some(5))).unwrap()
}

fn tsm(card: &mut Card, s: &mut HostSession, cmd: Command) -> Response {
    let mut cmd = cmd;
    cmd.cla = 0x81;
    s.transmit(card, &cmd).unwrap()
}

fn generate(card: &mut Card, s: &mut HostSession, pair: u8) -> rsa::RsaPublicKey {
    let r = tsm(card, s, Command::new(0x80, 0x47, 0x00, pair).with_ne(65536));
    assert_eq!(r.sw, gpse::Sw::Ok);
    public_key_from_template(&r.data).unwrap()
}

fn store_cert(card: &mut Card, s: &mut HostSession, pair: u8, der: &[u8]) -> Response {
    // Two blocks, each short enough for a wrapped short APDU.
    let mut last = gpse::Response::status(gpse::Sw::Ok);
    let chunks: Vec<&[u8]> = der.chunks(200).collect();
    for (i, c) in chunks.iter().enumerate() {
        let p1 = if i + 1 == chunks.len() { 0x80 } else { 0x00 };
        last = tsm(card, s, Command::new(0x80, 0xD0, p1, pair).with_data(c.to_vec()));
        if last.sw != gpse::Sw::Ok {
            return last;
        }
    }
    last
}

fn ca() -> TestCa {
    TestCa::new(&mut CardRng::new(Some(77)), "gpse JPKI test CA").unwrap()
}

#[test]
fn personalise_over_scp03_then_use_as_the_app() {
    let mut ca = ca();
    let mut card = Card::in_memory(image(), Some(3)).unwrap();
    // Plain management on the JPKI channel is refused.
    card.power_on();
    assert_eq!(card.transmit(&h("0070000001")), h("019000"));
    assert_eq!(card.transmit(&h(SELECT_JPKI_CH1)), h("9000"));
    assert_eq!(card.transmit(&h("81470001")), h("6982"));
    // With only C-MAC, key generation works but setting a PIN (which needs C-DEC) does not.
    let mut s = tsm_session(&mut card, SecurityLevel::C_MAC);
    let pk = generate(&mut card, &mut s, 1);
    let cert = ca.issue(&pk, "auth").unwrap();
    assert_eq!(store_cert(&mut card, &mut s, 1, &cert).sw, gpse::Sw::Ok);
    let r = tsm(&mut card, &mut s, Command::new(0x80, 0xD2, 0x00, 0x01).with_data(b"4711".to_vec()));
    assert_eq!(r.sw, gpse::Sw::SecurityNotSatisfied);
    // A fresh session at C-DEC + C-MAC + R-MAC + R-ENC sets the temporary PIN.
    let mut s = tsm_session(&mut card, SecurityLevel::ALL);
    let r = tsm(&mut card, &mut s, Command::new(0x80, 0xD2, 0x00, 0x01).with_data(b"4711".to_vec()));
    assert_eq!(r.sw, gpse::Sw::Ok);
    let st = tsm(&mut card, &mut s, Command::new(0x80, 0xCA, 0x00, 0x01).with_ne(256));
    assert_eq!(st.data, h("DF01050303030100"));
    // The app (basic channel, no secure channel): activate, then sign.
    let mut app = JpkiClient::open(&mut card).unwrap();
    assert_eq!(app.pin_status(PairId::Auth).unwrap(), PinStatus::TriesLeft(3));
    assert!(app.sign(PairId::Auth, b"4711", &[1; 51]).is_err(), "a temporary PIN never signs");
    app.change_pin(PairId::Auth, b"4711", b"2468").unwrap();
    let digest = gpse::host::jpki::sha256_digest_info(&[0x5A; 32]);
    let sig = app.sign(PairId::Auth, b"2468", &digest).unwrap();
    pk.verify(rsa::Pkcs1v15Sign::new_unprefixed(), &digest, &sig).unwrap();
    let der = app.read_certificate(PairId::Auth, false).unwrap();
    assert_eq!(der, cert);
}

#[test]
fn power_cuts_during_keygen_cert_store_and_pin_change() {
    // The seeded card makes the same key every run, so one certificate fits every run.
    let pk = {
        let mut card = Card::in_memory(image(), Some(3)).unwrap();
        let mut s = tsm_session(&mut card, SecurityLevel::ALL);
        generate(&mut card, &mut s, 2)
    };
    let cert = ca().issue(&pk, "sign").unwrap();

    power_cut_everywhere("key generation", &|c| tsm_session(c, SecurityLevel::ALL), &|c, s| {
        tsm(c, s, Command::new(0x80, 0x47, 0x00, 0x02).with_ne(65536))
    });
    let cert2 = cert.clone();
    power_cut_everywhere(
        "certificate store",
        &|c| {
            let mut s = tsm_session(c, SecurityLevel::ALL);
            assert_eq!(generate(c, &mut s, 2), pk);
            // All but the last block.
            let n = cert2.len() - 100;
            assert_eq!(
                tsm(c, &mut s, Command::new(0x80, 0xD0, 0x00, 0x02).with_data(cert2[..n].to_vec())).sw,
                gpse::Sw::Ok
            );
            s
        },
        &|c, s| tsm(c, s, Command::new(0x80, 0xD0, 0x80, 0x02).with_data(cert[cert.len() - 100..].to_vec())),
    );
    let cert3 = cert.clone();
    power_cut_everywhere(
        "PIN change",
        &|c| {
            let mut s = tsm_session(c, SecurityLevel::ALL);
            generate(c, &mut s, 2);
            assert_eq!(store_cert(c, &mut s, 2, &cert3).sw, gpse::Sw::Ok);
            assert_eq!(
                tsm(c, &mut s, Command::new(0x80, 0xD2, 0x00, 0x02).with_data(b"TEMP01".to_vec())).sw,
                gpse::Sw::Ok
            );
            let mut app = JpkiClient::open(c).unwrap();
            app.verify(PairId::Sign, b"TEMP01").unwrap();
            s
        },
        &|c, _| Response::parse(&c.transmit(&[&h("0024018008")[..], b"MYPASS99"].concat())).unwrap(),
    );
}

#[test]
fn factory_reset_leaves_no_private_key_byte_in_the_image_file() {
    let mut ca = ca();
    let d = tempfile::tempdir().unwrap();
    let mut card = Card::create(d.path(), image(), Durability::Fsync, Some(3), false).unwrap();
    let mut s = tsm_session(&mut card, SecurityLevel::ALL);
    for pair in [1u8, 2] {
        let pk = generate(&mut card, &mut s, pair);
        let cert = ca.issue(&pk, "x").unwrap();
        assert_eq!(store_cert(&mut card, &mut s, pair, &cert).sw, gpse::Sw::Ok);
    }
    let jpki_aid = gpse::Aid::from_static(gpse::applets::jpki::JPKI_AID);
    let state = card.image().instance(&jpki_aid).unwrap().state.clone();
    let keys = private_keys_in(&state);
    assert_eq!(keys.len(), 2, "both private keys are in the image before the reset");
    let file = d.path().join("card.gpse");
    let secrets: Vec<Vec<u8>> = keys
        .iter()
        .flat_map(|k| {
            let mut v: Vec<Vec<u8>> = k.primes().iter().map(|p| p.to_bytes_be()).collect();
            v.push(k.d().to_bytes_be());
            v
        })
        .collect();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(32).any(|w| needle.windows(32).any(|n| n == w));
    let before = std::fs::read(&file).unwrap();
    assert!(secrets.iter().all(|sec| contains(&before, sec)));
    card.deliver_event(CardEvent::FactoryReset).unwrap();
    drop(card);
    let after = std::fs::read(&file).unwrap();
    for sec in &secrets {
        assert!(!contains(&after, sec), "a 32-byte run of an old private key survived the wipe");
    }
    // The applet answers as freshly installed.
    let mut card = Card::open(d.path(), Durability::Fsync, None).unwrap();
    card.power_on();
    let mut app = JpkiClient::open(&mut card).unwrap();
    assert_eq!(app.pin_status(PairId::Auth).unwrap(), PinStatus::NotUsable);
    assert_eq!(app.pin_status(PairId::Sign).unwrap(), PinStatus::NotUsable);
    let fresh = Card::in_memory(image(), Some(3)).unwrap();
    assert_eq!(card.image().instance(&jpki_aid).unwrap().state, fresh.image().instance(&jpki_aid).unwrap().state);
}

/// Issue #18 point 7 through the runtime, with pyjpki's bytes (`src/pyjpki/card.py`: SELECT AP,
/// SELECT 001B, VERIFY, SELECT AP again, SELECT 001A, sign). The second SELECT keeps the
/// verified PIN; selecting another application (the ISD) or a reset clears it.
#[test]
fn pyjpki_reselect_keeps_the_verified_pin() {
    let mut ca = ca();
    let mut card = Card::in_memory(image(), Some(3)).unwrap();
    let mut s = tsm_session(&mut card, SecurityLevel::ALL);
    let pk = generate(&mut card, &mut s, 2);
    let cert = ca.issue(&pk, "sign").unwrap();
    assert_eq!(store_cert(&mut card, &mut s, 2, &cert).sw, gpse::Sw::Ok);
    let r = tsm(&mut card, &mut s, Command::new(0x80, 0xD2, 0x00, 0x02).with_data(b"TEMP22".to_vec()));
    assert_eq!(r.sw, gpse::Sw::Ok);
    let mut app = JpkiClient::open(&mut card).unwrap();
    app.change_pin(PairId::Sign, b"TEMP22", b"SIGNPASS1").unwrap();
    card.power_on();
    let mut t = |a: &str| hex::encode_upper(card.transmit(&h(a)));
    let digest = hex::encode_upper(gpse::host::jpki::sha256_digest_info(&[0x42; 32]));
    let sign = format!("802A008033{digest}00");
    assert_eq!(t("00A4040C0AD392F000260100000001"), "9000");
    assert_eq!(t("00A4020C02001B"), "9000");
    assert_eq!(t(&format!("0020008009{}", hex::encode_upper(b"SIGNPASS1"))), "9000");
    assert_eq!(t("00A4040C0AD392F000260100000001"), "9000");
    assert_eq!(t("00A4020C02001A"), "9000");
    let r = t(&sign);
    assert!(r.ends_with("9000") && r.len() == 516, "{r}");
    pk.verify(rsa::Pkcs1v15Sign::new_unprefixed(), &h(&digest), &h(&r[..512])).unwrap();
    // The sign certificate reads after the re-SELECT too (jpki-image-signer: verify, sign, read 0001).
    assert_eq!(t("00A4040C0AD392F000260100000001"), "9000");
    assert_eq!(t("00A4020C020001"), "9000");
    assert!(t("00B0000004").starts_with("3082"));
    // Another application in between clears it.
    let fci = t("00A4040008A000000151000000");
    assert!(fci.starts_with("6F") && fci.ends_with("9000"), "{fci}");
    assert_eq!(t("00A4040C0AD392F000260100000001"), "9000");
    assert_eq!(t("00A4020C02001A"), "9000");
    assert_eq!(t(&sign), "6982");
    // So does a reset.
    assert_eq!(t("00A4020C02001B"), "9000");
    assert_eq!(t(&format!("0020008009{}", hex::encode_upper(b"SIGNPASS1"))), "9000");

    card.power_on();
    let mut t = |a: &str| hex::encode_upper(card.transmit(&h(a)));
    assert_eq!(t("00A4040C0AD392F000260100000001"), "9000");
    assert_eq!(t("00A4020C02001A"), "9000");
    assert_eq!(t(&sign), "6982");
}
