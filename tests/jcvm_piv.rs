//! OpenFIPS201 (PIV, `../shared/javacard/caps/openfips201.cap`, makinako/OpenFIPS201 @8f8d7097)
//! in process, issue #16: LOAD + INSTALL over SCP03, SELECT of the PIV AID, GET DATA before
//! personalisation; then pre-personalisation over the applet's own SCP03 session (its
//! `CVMPIN` holds `GPSystem.getCVM(CVM_GLOBAL_PIN)` and asks it `isVerified()`), VERIFY,
//! 9B authentication, 9A key generation and a signature OpenSSL verifies. `tests/e2e_piv.rs`
//! runs it through pcscd with OpenSC and yubico-piv-tool.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod common;

use common::capcard::{aid, load_install, new_card, select, shared_cap, tx};
use common::piv::{personalisation, ADMIN_KEY, PIV};
use gpse::apdu::Command;
use gpse::card::Card;
use gpse::scp03::SecurityLevel;
use gpse::sw::Sw;

/// The applet's Application Property Template (its `Config.DEFAULT_APT`, SP 800-73-4 Part 1
/// §3.1.1): AID, coexistent tag allocation authority, label "OpenFIPS201", the SP 800-73-4 URL,
/// and the algorithm template AC (00, 03, 08, 0A, 0C, 06, 07).
fn apt() -> String {
    let url = hex::encode_upper(b"http://nvlpubs.nist.gov/nistpubs/SpecialPublications/NIST.SP.800-73-4.pdf");
    let label = hex::encode_upper(b"OpenFIPS201");
    format!(
        "618189 4F0BA000000308000010000100 79074F05A000000308 500B{label} 5F5049{url} \
         AC18 800100 800103 800108 80010A 80010C 800106 800107 060100"
    )
    .replace(' ', "")
}

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn openfips201_installs_selects_and_answers_get_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = new_card(dir.path());
    load_install(&mut c, &shared_cap("openfips201.cap"), None, &[]);
    assert_eq!(select(&mut c, &aid(PIV)), format!("{}9000", apt()));
    // GET DATA of the CHUID (5FC102) before personalisation: no such object in the applet's
    // empty data store, SW_FILE_NOT_FOUND (its PIV.getData).
    assert_eq!(tx(&mut c, "00CB3FFF055C035FC10200"), "6A82");
    // P1 P2 other than 3F FF: 6A86 (its processPIV_GET_DATA).
    assert_eq!(tx(&mut c, "00CB3F00055C035FC10200"), "6A86");
}

/// Sends `data` under `header` (CLA INS P1 P2), chained in 255-byte parts (ISO 7816-4 §5.1.1.1,
/// CLA b5), and collects a response that comes in parts (`61xx`, GET RESPONSE).
fn chained(c: &mut Card, header: &str, data: &[u8]) -> (Vec<u8>, String) {
    let parts: Vec<&[u8]> = data.chunks(255).collect();
    let mut rsp = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let mut h = common::capcard::h(header);
        if i + 1 < parts.len() {
            h[0] |= 0x10;
        }
        let mut apdu = h;
        apdu.push(p.len() as u8);
        apdu.extend_from_slice(p);
        rsp = c.transmit(&apdu);
    }
    let mut out = Vec::new();
    loop {
        let (body, sw) = rsp.split_at(rsp.len() - 2);
        out.extend_from_slice(body);
        if sw[0] != 0x61 {
            return (out, hex::encode_upper(sw));
        }
        rsp = c.transmit(&[0x00, 0xC0, 0x00, 0x00, sw[1]]);
    }
}

/// Pre-personalisation (`common::piv::personalisation`) over the applet's own SCP03 session
/// at C-MAC + C-DECRYPTION, opened through its `SecureChannel.processSecurity`.
fn personalise(c: &mut Card) {
    let mut s = common::capcard::open_applet_scp(c, SecurityLevel::C_DEC_C_MAC);
    for apdu in personalisation() {
        let cmd = Command::parse(&common::capcard::h(&apdu)).unwrap();
        let rsp = common::capcard::send(c, &s.wrap(&cmd).unwrap());
        assert_eq!(rsp.sw, Sw::Ok, "{apdu}");
    }
}

/// 3DES-ECB of one block under the administration key (OpenSSL, an independent implementation).
fn tdes(block: &[u8]) -> Vec<u8> {
    let mut c = openssl::symm::Crypter::new(
        openssl::symm::Cipher::des_ede3(),
        openssl::symm::Mode::Encrypt,
        &common::capcard::h(ADMIN_KEY),
        None,
    )
    .unwrap();
    c.pad(false);
    let mut out = vec![0; block.len() + 8];
    let n = c.update(block, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn openfips201_personalised_over_scp03_generates_and_signs_with_9a() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = new_card(dir.path());
    load_install(&mut c, &shared_cap("openfips201.cap"), None, &[]);
    assert_eq!(select(&mut c, &aid(PIV)), format!("{}9000", apt()));
    // Without the applet's secure channel the administrative PUT DATA is refused (6982).
    assert_eq!(tx(&mut c, "00DB3F000E300C8A01018B01078C017F8D0100"), "6982");
    personalise(&mut c);
    // A new SELECT ends the session (its deselect calls resetSecurity).
    assert_eq!(select(&mut c, &aid(PIV)), format!("{}9000", apt()));
    // VERIFY with the PIN set above; its status then 9000; a wrong PIN 63C5 (6 tries).
    assert_eq!(tx(&mut c, "0020008008313233343536FFFF"), "9000");
    assert_eq!(tx(&mut c, "00200080"), "9000");
    assert_eq!(tx(&mut c, "0020008008313233343537FFFF"), "63C5");
    assert_eq!(tx(&mut c, "0020008008313233343536FFFF"), "9000");
    // 9B external authentication (SP 800-73-4 Part 2 §3.2.4 GENERAL AUTHENTICATE, A.1.1): the
    // card's challenge (fixed by the build's FEATURE_PIV_TEST_VECTORS), answered enciphered.
    let (challenge, sw) = chained(&mut c, "0087039B", &common::capcard::h("7C028100"));
    assert_eq!(sw, "9000");
    assert_eq!(&challenge[..4], &common::capcard::h("7C0A8108")[..]);
    let answer = tdes(&challenge[4..12]);
    let (_, sw) = chained(&mut c, "0087039B", &[&common::capcard::h("7C0A8208")[..], &answer].concat());
    assert_eq!(sw, "9000");
    // GENERATE ASYMMETRIC KEY PAIR for 9A, RSA-2048 (07): 7F49 { 81 modulus, 82 exponent }.
    let (pk, sw) = chained(&mut c, "0047009A", &common::capcard::h("AC03800107"));
    assert_eq!(sw, "9000");
    assert_eq!(&pk[..5], &common::capcard::h("7F49820109")[..], "{}", hex::encode_upper(&pk));
    assert_eq!(&pk[5..9], &common::capcard::h("81820100")[..]);
    let n = &pk[9..265];
    assert_eq!(&pk[265..], &common::capcard::h("8203010001")[..]);
    // Sign with 9A (PIN verified above): GENERAL AUTHENTICATE 07 9A { 82 empty, 81 the
    // EMSA-PKCS1-v1_5 block of SHA-256("gpse") }, RSA NOPAD on the card.
    let digest = openssl::sha::sha256(b"gpse");
    let mut em = vec![0x00, 0x01];
    em.resize(256 - 19 - 32 - 1, 0xFF);
    em.push(0x00);
    em.extend(common::capcard::h("3031300D060960864801650304020105000420"));
    em.extend(digest);
    assert_eq!(em.len(), 256);
    let ga = [&common::capcard::h("7C820106820081820100")[..], &em].concat();
    let (sig, sw) = chained(&mut c, "0087079A", &ga);
    assert_eq!(sw, "9000");
    assert_eq!(&sig[..8], &common::capcard::h("7C82010482820100")[..]);
    let rsa = openssl::rsa::Rsa::from_public_components(
        openssl::bn::BigNum::from_slice(n).unwrap(),
        openssl::bn::BigNum::from_slice(&[1, 0, 1]).unwrap(),
    )
    .unwrap();
    let key = openssl::pkey::PKey::from_rsa(rsa).unwrap();
    let mut v = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    v.update(b"gpse").unwrap();
    assert!(v.verify(&sig[8..]).unwrap(), "the 9A signature verifies with the generated public key");
}
