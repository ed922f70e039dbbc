//! javacard.security and javacardx.crypto from CAP applets (issue #16): the noakes crypto
//! applets from `../shared/javacard/caps/` and the project's own `crypto` test applet, each
//! answer checked against an independent implementation (Python `cryptography` / hashlib
//! values computed once and written here with the command that made them, or the RustCrypto
//! `rsa` crate on the host side).

// Test code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::{Command, Response};
use gpse::jcvm::{Env, Jcvm};
use gpse::sw::Sw;
use rand_core::{RngCore, SeedableRng};
use std::path::PathBuf;

/// A card RNG with a fixed seed (as `--seed` gives the hosted VM).
struct SeededEnv(rand_chacha::ChaCha20Rng);

impl SeededEnv {
    fn new(seed: u64) -> SeededEnv {
        SeededEnv(rand_chacha::ChaCha20Rng::seed_from_u64(seed))
    }
}

impl Env for SeededEnv {
    fn random(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }
}

#[allow(dead_code)]
fn shared() -> PathBuf {
    match option_env!("GPSE_SHARED_DIR") {
        Some(p) => PathBuf::from(p),
        None => panic!("needs ../shared/javacard (set GPSE_SHARED): not found at build time"),
    }
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

struct Card {
    vm: Jcvm,
    aid: Vec<u8>,
    env: SeededEnv,
}

impl Card {
    /// Loads a CAP (`project:NAME` for tests/applets), installs its first applet, selects it.
    fn new(name: &str) -> Card {
        let bytes = if let Some(n) = name.strip_prefix("project:") {
            std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/applets/{n}/build/{n}.cap")))
                .unwrap()
        } else {
            std::fs::read(shared().join("javacard/caps").join(name)).unwrap()
        };
        let mut vm = Jcvm::new();
        let mut env = SeededEnv::new(7);
        let info = vm.load_package(&bytes).unwrap_or_else(|e| panic!("{name}: load: {e}"));
        let class = info.applets[0].clone();
        vm.install(&mut env, &info.aid, &class, &class, &[], &[0]).unwrap_or_else(|e| panic!("{name}: install: {e:?}"));
        let mut c = Card { vm, aid: class, env };
        let mut sel = Command::new(0, 0xA4, 4, 0).with_data(c.aid.clone());
        sel.ne = Some(256);
        let r = c.vm.select(&mut c.env, &c.aid.clone(), 0, &sel).unwrap();
        assert_eq!(r.sw, Sw::Ok, "{name} SELECT");
        c
    }

    fn send(&mut self, c: &Command) -> Response {
        let aid = self.aid.clone();
        match self.vm.process(&mut self.env, &aid, 0, c) {
            Ok(r) => r,
            Err(sw) => Response::status(sw),
        }
    }

    /// Sends `CLA INS P1 P2 [Lc data] Le` and returns response data + SW in hex.
    fn tx(&mut self, ins: u8, p1: u8, p2: u8, data: &[u8]) -> String {
        self.tx_ne(ins, p1, p2, data, 256)
    }

    fn tx_ne(&mut self, ins: u8, p1: u8, p2: u8, data: &[u8], ne: usize) -> String {
        let mut c = Command::new(0x80, ins, p1, p2);
        if !data.is_empty() {
            c = c.with_data(data.to_vec());
        }
        c.ne = Some(ne);
        hex::encode_upper(self.send(&c).to_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// noakes applets (adamnoakes/javacard-simulator, see ../shared/javacard/README.md).

/// `noakes-SHADigest`: INS 31 returns SHA-1 of the data (`expected/noakes/sha1-digest.js`);
/// both expected values equal Python's `hashlib.sha1(...).hexdigest()`.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn noakes_sha_digest() {
    let mut c = Card::new("noakes-SHADigest.cap");
    // The applet wants Le = 20 exactly (`if (le != 20) throwIt(SW_WRONG_LENGTH)`).
    assert_eq!(c.tx(0x31, 0, 0, b"abc"), "6700");
    // hashlib.sha1(b"abc").hexdigest() (also FIPS 180-2 appendix A.1).
    assert_eq!(c.tx_ne(0x31, 0, 0, b"abc", 20), "A9993E364706816ABA3E25717850C26C9CD0D89D9000");
    // hashlib.sha1(b"An Open Platform for the Simulation of Java Card Applets").hexdigest()
    assert_eq!(
        c.tx_ne(0x31, 0, 0, b"An Open Platform for the Simulation of Java Card Applets", 20),
        "14390F15410BBE76B937CB79F760353D857EDB4B9000"
    );
    // Four blocks: hashlib.sha1(bytes(range(200))).hexdigest()
    let data: Vec<u8> = (0..200u8).collect();
    assert_eq!(c.tx_ne(0x31, 0, 0, &data, 20), "54D11E99127D159799DBCE10F51A75E6977804789000");
}

/// The 512-bit CRT key both noakes RSA scripts send (`rsaapplet.script`, INS 22 P1 0-4).
const P: &str = "e637a10ecfe89aa2b6de3b9f4dfa5d92b92791dbdd0daa1cb7266467a57d87bf";
const Q: &str = "e068b273b7e5285f70da56b9d8130624f37c13b3348d0e6e47ac328d71a06ce1";
const DP: &str = "87e5429f59bf36b8e235a10052a97ddf04890522c20434ecaa7871407581fa45";
const DQ: &str = "a564c4d180e1c685c1394ade2220b3509c9c0030fe3450447b52b0d78abd8041";
const PQ: &str = "54a99e3944c048a9973ff85c21eaa7cc37dc03ced4a04ab4d910f8cf8a9a7a8d";

fn send_crt(c: &mut Card) {
    for (i, v) in [P, Q, DP, DQ, PQ].iter().enumerate() {
        assert_eq!(c.tx(0x22, i as u8, 0, &h(v)), "9000", "component {i}");
    }
}

/// What both applets answer: they decrypt in place in the APDU buffer and send the 64 bytes
/// from OFFSET_CDATA (`sendBytesLong(buf, OFFSET_CDATA, Lc)`, RSADecrypt.java), so the
/// plaintext is followed by the rest of the ciphertext.
fn in_place(msg: &[u8], ct: &[u8]) -> String {
    let mut v = msg.to_vec();
    v.extend_from_slice(&ct[msg.len()..]);
    format!("{}9000", hex::encode_upper(v))
}

fn public_key() -> rsa::RsaPublicKey {
    let n = rsa::BigUint::from_bytes_be(&h(P)) * rsa::BigUint::from_bytes_be(&h(Q));
    rsa::RsaPublicKey::new(n, rsa::BigUint::from(65537u32)).unwrap()
}

/// `noakes-rsaapplet`: `Cipher.ALG_RSA_PKCS1_OAEP` decryption with the CRT key set by INS 22.
/// The script's ciphertext decrypts (Python `cryptography`, `OAEP(MGF1(SHA1), SHA1, None)`
/// with the same key) to `b"Hello World!"`.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn noakes_rsaapplet_oaep() {
    let mut c = Card::new("noakes-rsaapplet.cap");
    let ct = h("15f200ca94e6446f29caa83425c3cfda4b8ce693310e073018f0728a90fb7797c54c17a4bb3ded1a3907acc058222d1799830f882d9f0811cec78389cbfe6ae3");
    // Before the key is complete: CryptoException.UNINITIALIZED_KEY, uncaught → 6F00.
    assert_eq!(c.tx(0x30, 0, 0, &ct), "6F00");
    send_crt(&mut c);
    assert_eq!(c.tx(0x30, 0, 0, &ct), in_place(b"Hello World!", &ct));
    // What the host encrypts with the public key (rsa crate, OAEP-SHA1, random seed).
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    for msg in [&b"x"[..], b"", &[0xA5; 22]] {
        let ct = public_key().encrypt(&mut rng, rsa::Oaep::new::<sha1::Sha1>(), msg).unwrap();
        assert_eq!(c.tx(0x30, 0, 0, &ct), in_place(msg, &ct));
    }
}

/// `noakes-rsa-decrypt-pkcs1`: `Cipher.ALG_RSA_PKCS1` decryption; the script's ciphertext is
/// `b"hello world"` (Python `cryptography`, `PKCS1v15()`, same key).
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn noakes_rsa_decrypt_pkcs1() {
    let mut c = Card::new("noakes-rsa-decrypt-pkcs1.cap");
    send_crt(&mut c);
    let ct = h("752531b14a42160af94db200ba59e9dba477d280596849f4b1225ab890d56d12b37c4f7d84e026d8dec16453eff27f66b764af6479e1efe34d4d2a1ba39e4f21");
    assert_eq!(c.tx(0x30, 0, 0, &ct), in_place(b"hello world", &ct));
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
    for msg in [&b"\x00\x01"[..], &[0x5A; 53]] {
        let ct = public_key().encrypt(&mut rng, rsa::Pkcs1v15Encrypt, msg).unwrap();
        assert_eq!(c.tx(0x30, 0, 0, &ct), in_place(msg, &ct));
    }
    // A ciphertext that is not PKCS#1 type 2 after decryption: CryptoException → 6F00.
    assert_eq!(c.tx(0x30, 0, 0, &[0x01; 64]), "6F00");
}
