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

// ---------------------------------------------------------------------------------------------
// The project's `crypto` applet (tests/applets/crypto: the command table is at the top of its
// source). Expected values: NIST SP 800-38A / FIPS 180 / RFC 4231 / RFC 2202 / RFC 4493
// vectors where they exist, else Python `cryptography` 48 and `hashlib` (the snippet beside
// each).

fn crypto() -> Card {
    Card::new("project:crypto")
}

/// The 150-byte message 00 01 .. 95 (`bytes(range(150))`).
fn msg150() -> Vec<u8> {
    (0..150u8).collect()
}

#[test]
fn project_crypto_digests() {
    let mut c = crypto();
    // hashlib.new(name, bytes(range(150))).hexdigest()
    let want = [
        (1, "6A2BC12E4605F27FCE8C2E90A387E7DEE901E48F"),
        (4, "F22B2E614E92D6453612B707385038300293D2CC292B148BC5335754B5EA30FD"),
        (5, "C14E7F70D28E17D3546EB40EE96D239CA5EF7EBBBD0DE64B964C145A5F2980D408A6AC248D651E4583E25093042EA286"),
        (6, "2209CF6BA43F61D7E579651EBBA0890686A9CDC1E045255494DB0BC732C9512ACBF72158D5738FF63B500AADCCBA000D25A521D41AB4EE6D92D38E8077B79C07"),
        (7, "0120C472F5F6B32E935415BA86423567C90BDA7DB5526444400BB1C3"),
    ];
    for (alg, d) in want {
        assert_eq!(c.tx(0x10, alg, 0, &msg150()), format!("{d}9000"), "alg {alg}");
        // InitializedMessageDigest: the same digest, then getLength and getAlgorithm.
        assert_eq!(c.tx(0x11, alg, 0, &msg150()), format!("{d}{:02X}{alg:02X}9000", d.len() / 2), "alg {alg}");
    }
    // MD5 (2), RIPEMD-160 (3), SHA3 (8..11): NO_SUCH_ALGORITHM, uncaught → 6F00.
    for alg in [2, 3, 8, 11] {
        assert_eq!(c.tx(0x10, alg, 0, b"abc"), "6F00", "alg {alg}");
    }
}

#[test]
fn project_crypto_random_is_the_card_rng() {
    let mut c = crypto();
    let a = c.tx(0x12, 2, 32, &[]);
    let b = c.tx(0x12, 1, 32, &[]);
    assert_eq!(a.len(), 64 + 4);
    assert_ne!(a, b);
    assert_ne!(&a[..64], &"0".repeat(64));
    assert_eq!(c.tx(0x12, 3, 0, &[]), "9000");
    // The same seed gives the same bytes (`--seed` reproduces a run).
    let mut d = crypto();
    assert_eq!(d.tx(0x12, 2, 32, &[]), a);
    assert_eq!(c.tx(0x12, 99, 8, &[]), "6F00", "RandomData.getInstance(99): NO_SUCH_ALGORITHM");
}

fn set_key(c: &mut Card, ty: u8, key: &str) {
    assert_eq!(c.tx(0x20, ty, 0, &h(key)), "9000", "buildKey({ty}) + setKey");
}

fn cipher(c: &mut Card, alg: u8, mode: u8, iv: &str, input: &[u8]) -> String {
    let mut d = vec![(iv.len() / 2) as u8];
    d.extend(h(iv));
    d.extend_from_slice(input);
    c.tx(0x22, alg, mode, &d)
}

/// NIST SP 800-38A F.1.1 (ECB-AES128), F.2.1 (CBC-AES128), F.1.5 (ECB-AES256).
#[test]
fn project_crypto_aes() {
    let mut c = crypto();
    let pt = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
    set_key(&mut c, 15, "2b7e151628aed2a6abf7158809cf4f3c");
    let ecb = "3AD77BB40D7A3660A89ECAF32466EF97F5D3D58503B9699DE785895A96FDBAAF";
    assert_eq!(cipher(&mut c, 14, 2, "", &pt), format!("{ecb}9000"));
    assert_eq!(cipher(&mut c, 14, 1, "", &h(ecb)), format!("{}9000", hex::encode_upper(&pt)));
    let iv = "000102030405060708090a0b0c0d0e0f";
    let cbc = "7649ABAC8119B246CEE98E9B12E9197D5086CB9B507219EE95DB113A917678B2";
    assert_eq!(cipher(&mut c, 13, 2, iv, &pt), format!("{cbc}9000"));
    assert_eq!(cipher(&mut c, 13, 1, iv, &h(cbc)), format!("{}9000", hex::encode_upper(&pt)));
    // Cipher(AES(k), CBC(iv)) of PKCS7(128)-padded pt[:20]
    let p5 = "7649ABAC8119B246CEE98E9B12E9197D2E013F890472D82217B17F45F6E7F539";
    assert_eq!(cipher(&mut c, 24, 2, iv, &pt[..20]), format!("{p5}9000"));
    assert_eq!(cipher(&mut c, 24, 1, iv, &h(p5)), format!("{}9000", hex::encode_upper(&pt[..20])));
    // Cipher(AES(k), ECB()) of pt[:20] + 80 + 11 zeros (ISO/IEC 9797-1 method 2)
    let m2 = "3AD77BB40D7A3660A89ECAF32466EF977EAB1AB9F787683A09E80E6246FD38CB";
    assert_eq!(cipher(&mut c, 26, 2, "", &pt[..20]), format!("{m2}9000"));
    assert_eq!(cipher(&mut c, 26, 1, "", &h(m2)), format!("{}9000", hex::encode_upper(&pt[..20])));
    // Cipher.getInstance(CIPHER_AES_CBC, PAD_NOPAD) is the same algorithm (checked by the
    // answer of getInstance(13) above); a bad PKCS#5 pad on decryption: ILLEGAL_USE → 6F00.
    assert_eq!(cipher(&mut c, 24, 1, iv, &h(cbc)), "6F00");
    // AES-256 (F.1.5).
    set_key(&mut c, 15, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    assert_eq!(cipher(&mut c, 14, 2, "", &pt[..16]), "F3EED1BDB5D2A03C064B5A7E3DB181F89000");
    // Key info: getSize 256, getType TYPE_AES 15, initialised; after clearKey not.
    assert_eq!(c.tx(0x21, 0, 0, &[]), "01000F01009000");
}

/// DES (FIPS 46 textbook vector) and two-key 3DES: Python `cryptography` TripleDES.
#[test]
fn project_crypto_des() {
    let mut c = crypto();
    set_key(&mut c, 3, "133457799bbcdff1");
    assert_eq!(cipher(&mut c, 5, 2, "", &h("0123456789abcdef")), "85E813540F0AB4059000");
    let pt = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c");
    set_key(&mut c, 3, "0123456789abcdef23456789abcdef01");
    // Cipher(TripleDES(k + k[:8]), CBC(bytes(8))) of pt[:24]
    let cbc = "06EDE3D82884090A3B7BBD1FC1AD476F999E82F23BF0C275";
    assert_eq!(cipher(&mut c, 1, 2, "", &pt), format!("{cbc}9000"));
    assert_eq!(cipher(&mut c, 1, 1, "0000000000000000", &h(cbc)), format!("{}9000", hex::encode_upper(&pt)));
    // MAC8 ISO9797 M1/M2 (CBC-MAC, zero IV) of pt[:13]: the last CBC block of the padded data.
    let sign = |c: &mut Card, alg: u8, m: &[u8]| {
        let mut d = vec![0u8];
        d.extend_from_slice(m);
        c.tx(0x24, alg, 0, &d)
    };
    assert_eq!(sign(&mut c, 6, &pt[..13]), "25918134299A23A09000");
    assert_eq!(sign(&mut c, 4, &pt[..13]), "FEC975E56D73F2EA9000");
    assert_eq!(sign(&mut c, 5, &pt[..13]), "259181349000", "MAC4 is the first 4 bytes");
    // ISO/IEC 9797-1 MAC algorithm 3 (retail MAC; ykneo-openpgp's constructor asks for it):
    // Python `cryptography` single-DES blocks (TripleDES(k1 * 3) ECB), CBC under k1, then
    // e_k1(d_k2(H)) on the last block.
    assert_eq!(sign(&mut c, 20, &pt[..13]), "AB076216A5995D109000");
    assert_eq!(sign(&mut c, 20, &pt), "4375A238787925C69000", "M2 adds a whole block");
    assert_eq!(sign(&mut c, 48, &pt[..13]), "087F561621879CA59000");
    assert_eq!(sign(&mut c, 19, &pt[..13]), "AB0762169000");
    assert_eq!(verify(&mut c, 20, "AB076216A5995D10", &pt[..13]), "019000");
    assert_eq!(verify(&mut c, 20, "AB076216A5995D11", &pt[..13]), "009000");
}

fn mac(c: &mut Card, alg: u8, m: &[u8]) -> String {
    let mut d = vec![0u8];
    d.extend_from_slice(m);
    c.tx(0x24, alg, 0, &d)
}

fn verify(c: &mut Card, alg: u8, sig: &str, m: &[u8]) -> String {
    let mut d = vec![(sig.len() / 2) as u8];
    d.extend(h(sig));
    d.extend_from_slice(m);
    c.tx(0x25, alg, 0, &d)
}

/// HMAC: RFC 2202 §3 / RFC 4231 §4.3 test case 2; AES-CMAC: RFC 4493 §4 and Python
/// `cryptography` CMAC.
#[test]
fn project_crypto_macs() {
    let mut c = crypto();
    set_key(&mut c, 21, &hex::encode(b"Jefe"));
    let m = b"what do ya want for nothing?";
    let want = [
        (24, "EFFCDF6AE5EB2FA2D27416D5F184DF9C259A7C79"),
        (25, "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"),
        (26, "AF45D2E376484031617F78D2B58A6B1B9C7EF464F5A01B47E42EC3736322445E8E2240CA5E69E2C78B3239ECFAB21649"),
        (27, "164B7A7BFCF819E2E395FBE73B56E0A387BD64222E831FD610270CD7EA2505549758BF75C05A994A6D034F65F8F0E6FDCAEAB1A34D4A6B4B636E070A38BCE737"),
    ];
    for (alg, t) in want {
        assert_eq!(mac(&mut c, alg, m), format!("{t}9000"), "alg {alg}");
        assert_eq!(verify(&mut c, alg, t, m), "019000");
        assert_eq!(verify(&mut c, alg, t, b"what do ya want for nothing!"), "009000");
    }
    set_key(&mut c, 15, "2b7e151628aed2a6abf7158809cf4f3c");
    // RFC 4493 §4 examples 1, 2, 4.
    assert_eq!(mac(&mut c, 49, &[]), "BB1D6929E95937287FA37D129B7567469000");
    let m64 = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
    assert_eq!(mac(&mut c, 49, &m64[..16]), "070A16B46B4D4144F79BDD9DD04A287C9000");
    assert_eq!(mac(&mut c, 49, &m64), "51F0BEBF7E3B9D92FC49741779363CFE9000");
    // cmac.CMAC(AES(k)) over m64[:20]
    assert_eq!(mac(&mut c, 49, &m64[..20]), "7D85449EA6EA19C823A7BF78837DFADE9000");
    // cmac.CMAC(AES(bytes(range(32)))) over bytes(range(150))
    set_key(&mut c, 15, &hex::encode((0..32u8).collect::<Vec<_>>()));
    assert_eq!(mac(&mut c, 49, &msg150()), "A7C0CC056A4E07CC750E82197EC20D2A9000");
}

/// `Checksum` CRC16 / CRC32 as the JC API specifies them (CRC16: 0x1021, not reflected, FCS
/// xor FFFF; CRC32: 0x04C11DB7 reflected, xor FFFFFFFF; initial register 0 unless `init`).
/// Expected values: the NXP JCOP card's CRC16 of C46A3D01F5494013F9DFF3C5392C64 (0B93, jCardSim
/// CRC16Test) and Python's `binascii`: `crc_hqx(m, init) ^ 0xFFFF` for CRC16 and
/// `crc32(m, reg ^ 0xFFFFFFFF)` for CRC32 (zlib's argument is the complemented register).
#[test]
fn project_crypto_checksum() {
    let mut c = crypto();
    let crc = |c: &mut Card, alg: u8, init: &str, m: &[u8]| {
        let mut d = vec![(init.len() / 2) as u8];
        d.extend(h(init));
        d.extend_from_slice(m);
        c.tx(0x60, alg, 0, &d)
    };
    let jcop = h("C46A3D01F5494013F9DFF3C5392C64");
    // doFinal over the whole message (update + doFinal), then doFinal(msg) after the reset to
    // 0, then getAlgorithm.
    assert_eq!(crc(&mut c, 1, "", &jcop), "0B930B93019000");
    assert_eq!(crc(&mut c, 1, "", &msg150()), "74E374E3019000");
    // init(FFFF): the CCITT behaviour the JC API names; the second doFinal is back at 0.
    assert_eq!(crc(&mut c, 1, "FFFF", &msg150()), "B87C74E3019000");
    assert_eq!(crc(&mut c, 1, "1234", &msg150()), "CBAD74E3019000");
    assert_eq!(crc(&mut c, 2, "", &jcop), "C6A5A2E4C6A5A2E4029000");
    assert_eq!(crc(&mut c, 2, "", &msg150()), "C74511FDC74511FD029000");
    // init(FFFFFFFF): PKZIP's CRC-32 (binascii.crc32(m)).
    assert_eq!(crc(&mut c, 2, "FFFFFFFF", &msg150()), "10709EDDC74511FD029000");
    assert_eq!(crc(&mut c, 2, "12345678", &msg150()), "75A84102C74511FD029000");
    // The empty message: the register 0 complemented.
    assert_eq!(crc(&mut c, 2, "", &[]), "FFFFFFFFFFFFFFFF029000");
}

/// INS 62 (encrypt: ciphertext || tag) / 63 (decrypt: plaintext || verifyTag) of the applet.
#[allow(clippy::too_many_arguments)]
fn aead(c: &mut Card, enc: bool, alg: u8, form: u8, nonce: &str, aad: &str, tlen: u8, tag: &str, msg: &str) -> String {
    let mut d = vec![(nonce.len() / 2) as u8];
    d.extend(h(nonce));
    d.push((aad.len() / 2) as u8);
    d.extend(h(aad));
    d.push(tlen);
    d.extend(h(tag));
    d.extend(h(msg));
    c.tx(if enc { 0x62 } else { 0x63 }, alg, form, &d)
}

const GCM: u8 = 0xF3; // AEADCipher.ALG_AES_GCM = -13
const CCM: u8 = 0xF4; // AEADCipher.ALG_AES_CCM = -12

/// AES-GCM: McGrew & Viega's GCM test cases 2, 4, 5 and 16 (the NIST GCM submission, also
/// checked with Python `cryptography` 48 `AESGCM(k).encrypt(iv, p, a)`), truncated tags, the
/// tag checked after a decryption, and the 5-argument init and 3-argument getInstance forms.
#[test]
fn project_crypto_aes_gcm() {
    let mut c = crypto();
    set_key(&mut c, 15, "00000000000000000000000000000000");
    // Test case 2: K = 0, P = 0^128, IV = 0^96.
    let tc2 = "0388DACE60B6A392F328C2B971B2FE78AB6E47D42CEC13BDF53A67B21257BDDF";
    assert_eq!(
        aead(&mut c, true, GCM, 0, "000000000000000000000000", "", 16, "", &"00".repeat(16)),
        format!("{tc2}9000")
    );
    assert_eq!(
        aead(&mut c, true, GCM, 1, "000000000000000000000000", "", 16, "", &"00".repeat(16)),
        format!("{tc2}9000")
    );
    assert_eq!(
        aead(&mut c, true, GCM, 0x80, "000000000000000000000000", "", 16, "", &"00".repeat(16)),
        format!("{tc2}9000")
    );
    // Test case 4: 60-byte P, 20-byte A.
    set_key(&mut c, 15, "feffe9928665731c6d6a8f9467308308");
    let iv = "cafebabefacedbaddecaf888";
    let a = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    let p = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    let ct = "42831EC2217774244B7221B784D0D49CE3AA212F2C02A4E035C17E2329ACA12E21D514B25466931C7D8F6A5AAC84AA051BA30B396A0AAC973D58E091";
    let tag = "5BC94FBC3221A5DB94FAE95AE7121A47";
    assert_eq!(aead(&mut c, true, GCM, 0, iv, a, 16, "", p), format!("{ct}{tag}9000"));
    // A 12-byte and an 8-byte tag: the first bytes (SP 800-38D MSB_t).
    assert_eq!(aead(&mut c, true, GCM, 0, iv, a, 12, "", p), format!("{ct}{}9000", &tag[..24]));
    assert_eq!(aead(&mut c, true, GCM, 0, iv, a, 8, "", p), format!("{ct}{}9000", &tag[..16]));
    // Decryption: the plaintext, then verifyTag true; a wrong tag, AAD or ciphertext: false.
    let pu = p.to_uppercase();
    assert_eq!(aead(&mut c, false, GCM, 0, iv, a, 16, tag, ct), format!("{pu}019000"));
    assert_eq!(aead(&mut c, false, GCM, 0, iv, a, 8, &tag[..16], ct), format!("{pu}019000"));
    let bad_tag = format!("{}48", &tag[..30]);
    assert_eq!(aead(&mut c, false, GCM, 0, iv, a, 16, &bad_tag, ct), format!("{pu}009000"));
    assert_eq!(aead(&mut c, false, GCM, 0, iv, &a[..38], 16, tag, ct), format!("{pu}009000"));
    // AAD only (Python: AESGCM(k).encrypt(iv, b"", a)).
    assert_eq!(aead(&mut c, true, GCM, 0, iv, a, 16, "", ""), "346434FD51D5CD0C5887EC63E39B907A9000");
    // Test case 16 (AES-256) and its AES-192 sibling (test case 10 uses a 60-byte IV; this
    // one is Python's value for the 96-bit IV).
    set_key(&mut c, 15, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    assert_eq!(
        aead(&mut c, true, GCM, 0, iv, a, 16, "", p),
        "522DC1F099567D07F47F37A32A84427D643A8CDCBFE5C0C97598A2BD2555D1AA8CB08E48590DBB3DA7B08B1056828838C5F61E6393BA7A0ABCC9F66276FC6ECE0F4E1768CDDF8853BB2D551B9000"
    );
    set_key(&mut c, 15, "feffe9928665731c6d6a8f9467308308feffe9928665731c");
    assert_eq!(
        aead(&mut c, true, GCM, 0, iv, a, 16, "", p),
        "3980CA0B3C00E841EB06FAC4872A2757859E1CEAA6EFD984628593B40CA1E19C7D773D00C144C525AC619D18C84A3F4718E2448B2FE324D9CCDA27102519498E80F1478F37BA55BD6D27618C9000"
    );
    // Test case 5 (a 64-bit IV: J0 by GHASH) and its decryption; an empty nonce and a 5-byte
    // tag: CryptoException.ILLEGAL_VALUE.
    set_key(&mut c, 15, "feffe9928665731c6d6a8f9467308308");
    let ct5 = "61353B4C2806934A777FF51FA22A4755699B2A714FCDC6F83766E5F97B6C742373806900E49F24B22B097544D4896B424989B5E1EBAC0F07C23F4598";
    let tag5 = "3612D2E79E3B0785561BE14AACA2FCCB";
    assert_eq!(aead(&mut c, true, GCM, 0, "cafebabefacedbad", a, 16, "", p), format!("{ct5}{tag5}9000"));
    assert_eq!(aead(&mut c, false, GCM, 0, "cafebabefacedbad", a, 16, tag5, ct5), format!("{pu}019000"));
    assert_eq!(aead(&mut c, true, GCM, 0, "", "", 16, "", "00"), "6F00");
    assert_eq!(aead(&mut c, true, GCM, 0, iv, "", 5, "", "00"), "6F00");
}

/// AES-CCM: RFC 3610 packet vectors #1, #2, #4 and #7, and Python `cryptography` 48
/// `AESCCM(k, tag_length).encrypt(nonce, m, aad)` for a 7-byte nonce, AES-256, no AAD.
#[test]
fn project_crypto_aes_ccm() {
    let mut c = crypto();
    set_key(&mut c, 15, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf");
    let pkt: String = (0..0x20u8).map(|b| format!("{b:02x}")).collect();
    // (nonce, AAD bytes, packet length, M, the RFC's output after the AAD)
    let vectors = [
        ("00000003020100A0A1A2A3A4A5", 8, 31, 8, "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0"),
        ("00000004030201A0A1A2A3A4A5", 8, 32, 8, "72C91A36E135F8CF291CA894085C87E3CC15C439C9E43A3BA091D56E10400916"),
        ("00000006050403A0A1A2A3A4A5", 12, 31, 8, "A28C6865939A9A79FAAA5C4C2A9D4A91CDAC8C96C861B9C9E61EF1"),
        ("00000009080706A0A1A2A3A4A5", 8, 31, 10, "0135D1B2C95F41D5D1D4FEC185D166B8094E999DFED96C048C56602C97ACBB7490"),
    ];
    for (nonce, al, n, m, want) in vectors {
        let aad = &pkt[..2 * al];
        let msg = &pkt[2 * al..2 * n];
        assert_eq!(aead(&mut c, true, CCM, 0, nonce, aad, m, "", msg), format!("{want}9000"), "{nonce}");
        let (ct, tag) = want.split_at(want.len() - 2 * m as usize);
        let pt = msg.to_uppercase();
        assert_eq!(aead(&mut c, false, CCM, 0, nonce, aad, m, tag, ct), format!("{pt}019000"), "{nonce}");
        let mut bad = h(tag);
        bad[0] ^= 0x80;
        assert_eq!(aead(&mut c, false, CCM, 0, nonce, aad, m, &hex::encode(bad), ct), format!("{pt}009000"));
        // CIPHER_AES_CCM with PAD_NULL is the same algorithm.
        assert_eq!(aead(&mut c, true, CCM, 0x80, nonce, aad, m, "", msg), format!("{want}9000"));
    }
    // The 5-argument init: a 16-byte tag, lengths from the data.
    assert_eq!(
        aead(&mut c, true, CCM, 1, "00000003020100A0A1A2A3A4A5", &pkt[..16], 16, "", &pkt[16..62]),
        aead(&mut c, true, CCM, 0, "00000003020100A0A1A2A3A4A5", &pkt[..16], 16, "", &pkt[16..62])
    );
    set_key(&mut c, 15, &hex::encode((0..32u8).collect::<Vec<_>>()));
    let m100: String = (0..100u8).map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        aead(&mut c, true, CCM, 0, "10111213141516", "", 16, "", &m100),
        "043607F515E463EDF9FFC6CCFBAF3DCDC3F09C716F9D6CF8BC32C19D3FA575D75713B9045451D3F0C2470B0754AAEEA5FCE584F03A2B38E4B59091E5B7EAC7C99B1BF66D92A0D99E9183B6AEDA7215D42237DD3321032985ABB6F65FD863F1D9480E1D213B1BE4719A0FF614FE7D41F556960C809000"
    );
    // Nonces of 6 and 14 bytes, a 3-byte tag: ILLEGAL_VALUE.
    assert_eq!(aead(&mut c, true, CCM, 0, "101112131415", "", 16, "", "00"), "6F00");
    assert_eq!(aead(&mut c, true, CCM, 0, &"10".repeat(14), "", 16, "", "00"), "6F00");
    assert_eq!(aead(&mut c, true, CCM, 0, "10111213141516", "", 3, "", "00"), "6F00");
}

/// The CryptoException reasons of the JC API (cases in the applet's table).
#[test]
fn project_crypto_exceptions() {
    let mut c = crypto();
    // (case, reason)
    let want = [
        (0u8, 3),
        (1, 4),
        (2, 2),
        (3, 1),
        (4, 5),
        (5, 3),
        (6, 3),
        (7, 1),
        (8, 5),
        (9, 1),
        (10, 3),
        (11, 1),
        (12, 5),
        (13, 5),
    ];
    for (case, r) in want {
        assert_eq!(c.tx(0x40, case, 0, &[0x11; 64]), format!("{r:04X}9000"), "case {case}");
    }
}

/// A `TYPE_AES_TRANSIENT_DESELECT` key is cleared when the applet is deselected.
#[test]
fn project_crypto_transient_key() {
    let mut c = crypto();
    assert_eq!(c.tx(0x42, 0, 0, &[]), "009000");
    assert_eq!(c.tx(0x41, 0, 0, &[0x42; 16]), "019000");
    assert_eq!(c.tx(0x42, 0, 0, &[]), "019000");
    let aid = c.aid.clone();
    c.vm.deselect(&mut c.env, &aid, 0);
    let mut sel = Command::new(0, 0xA4, 4, 0).with_data(aid.clone());
    sel.ne = Some(256);
    c.vm.select(&mut c.env, &aid, 0, &sel).unwrap();
    assert_eq!(c.tx(0x42, 0, 0, &[]), "009000");
}

/// RSA key pairs made on the card, used by the host through the `rsa` crate: PKCS#1 v1.5
/// signatures verified on the host, what the host encrypts decrypted on the card.
#[test]
fn project_crypto_rsa() {
    use rsa::traits::PublicKeyParts;
    use sha2::Digest;
    let mut c = crypto();
    for (alg, bits256, e) in [(2u8, 4u8, vec![]), (1, 4, vec![]), (2, 2, vec![3u8])] {
        let r = h(&c.tx(0x30, alg, bits256, &e));
        assert_eq!(&r[r.len() - 2..], &[0x90, 0]);
        let n_len = bits256 as usize * 32;
        let el = if e.is_empty() { 3 } else { 1 };
        assert_eq!(r[0], el, "exponent length");
        assert_eq!(r.len(), 1 + n_len + 2);
        let n = rsa::BigUint::from_bytes_be(&r[1..1 + n_len]);
        let pk = rsa::RsaPublicKey::new(n, rsa::BigUint::from(if e.is_empty() { 65537u32 } else { 3 })).unwrap();
        assert_eq!(pk.size(), n_len);
        let info = c.tx(0x31, 0, 0, &[]);
        let size = format!("{:04X}01", n_len * 8);
        if alg == 2 {
            assert_eq!(info, format!("{size}{:04X}9000", n_len / 2), "CRT: getP has half the modulus");
        } else {
            assert_eq!(info, format!("{size}9000"));
        }
        let m = b"gpse signs this";
        let sha = |md: u8| -> (Vec<u8>, rsa::Pkcs1v15Sign) {
            match md {
                10 => (sha1::Sha1::digest(m).to_vec(), rsa::Pkcs1v15Sign::new::<sha1::Sha1>()),
                39 => (sha2::Sha224::digest(m).to_vec(), rsa::Pkcs1v15Sign::new::<sha2::Sha224>()),
                40 => (sha2::Sha256::digest(m).to_vec(), rsa::Pkcs1v15Sign::new::<sha2::Sha256>()),
                41 => (sha2::Sha384::digest(m).to_vec(), rsa::Pkcs1v15Sign::new::<sha2::Sha384>()),
                _ => (sha2::Sha512::digest(m).to_vec(), rsa::Pkcs1v15Sign::new::<sha2::Sha512>()),
            }
        };
        let algs: &[u8] = if n_len >= 128 { &[10, 39, 40, 41, 42] } else { &[10, 40] };
        for &sa in algs {
            let r = h(&c.tx(0x34, sa, 0, m));
            let sig = &r[..r.len() - 2];
            assert_eq!(sig.len(), n_len);
            let (hash, scheme) = sha(sa);
            pk.verify(scheme, &hash, sig).unwrap_or_else(|e| panic!("alg {sa}: {e}"));
            // verify on the card, and a tampered one.
            let mut d = sig.to_vec();
            d.extend_from_slice(m);
            assert_eq!(c.tx(0x35, sa, 0, &d), "019000");
            d[n_len] ^= 1;
            assert_eq!(c.tx(0x35, sa, 0, &d), "009000");
            // signPreComputedHash gives the same (deterministic) PKCS#1 v1.5 signature.
            assert_eq!(h(&c.tx(0x36, sa, 0, &hash)), r);
        }
        // RSA PSS (salt = hash length, MGF1 of the same hash): verified by the rsa crate.
        let pss: &[u8] = if n_len >= 128 { &[21, 43, 44, 45] } else { &[21] };
        for &sa in pss {
            let r = h(&c.tx(0x34, sa, 0, m));
            let sig = &r[..r.len() - 2];
            assert_eq!(sig.len(), n_len);
            let res = match sa {
                21 => pk.verify(rsa::Pss::new::<sha1::Sha1>(), &sha1::Sha1::digest(m), sig),
                43 => pk.verify(rsa::Pss::new::<sha2::Sha224>(), &sha2::Sha224::digest(m), sig),
                44 => pk.verify(rsa::Pss::new::<sha2::Sha256>(), &sha2::Sha256::digest(m), sig),
                _ => pk.verify(rsa::Pss::new::<sha2::Sha384>(), &sha2::Sha384::digest(m), sig),
            };
            res.unwrap_or_else(|e| panic!("PSS alg {sa}: {e}"));
            let mut d = sig.to_vec();
            d.extend_from_slice(m);
            assert_eq!(c.tx(0x35, sa, 0, &d), "019000", "PSS alg {sa}");
            d[n_len] ^= 1;
            assert_eq!(c.tx(0x35, sa, 0, &d), "009000");
        }
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(u64::from(alg));
        let ct = pk.encrypt(&mut rng, rsa::Pkcs1v15Encrypt, b"secret").unwrap();
        assert_eq!(c.tx(0x38, 10, 1, &ct), format!("{}9000", hex::encode_upper(b"secret")));
        let ct = pk.encrypt(&mut rng, rsa::Oaep::new::<sha1::Sha1>(), b"oaep").unwrap();
        assert_eq!(c.tx(0x38, 15, 1, &ct), format!("{}9000", hex::encode_upper(b"oaep")));
        // NOPAD: the card's public-key encryption decrypted by the card.
        let mut raw = vec![0u8; n_len];
        raw[n_len - 1] = 0x42;
        let enc = h(&c.tx(0x38, 12, 2, &raw));
        let dec = c.tx(0x38, 12, 1, &enc[..n_len]);
        assert_eq!(dec, format!("{}9000", hex::encode_upper(&raw)));
    }
}

// ---------------------------------------------------------------------------------------------
// JCAlgTest 1.8.2 (crocs-muni/JCAlgTest, `../shared/javacard/caps/algtest-1.8.2-jc305.cap`):
// its support probe `B0 75 P1 00 03 [alg][param hi][param lo]` (AlgSupportTest.
// TestSupportedModeSingle) answers `[P1][00 supported | CryptoException reason][FF]...`.

/// One probe: the status byte (00 supported, else the reason) or the SW when not 9000.
fn algtest_probe(c: &mut Card, class: u8, alg: u8, param: u16) -> Result<u8, String> {
    let mut cmd = Command::new(0xB0, 0x75, class, 0).with_data(vec![alg, (param >> 8) as u8, param as u8]);
    cmd.ne = Some(256);
    let r = c.send(&cmd);
    if r.sw != Sw::Ok {
        return Err(format!("{:04X}", r.sw.to_u16()));
    }
    assert_eq!(r.data[0], class);
    assert_eq!(r.data[2], 0xFF);
    Ok(r.data[1])
}

/// What the probe reports, algorithm by algorithm, is what `applet-spec/jcvm.md` claims: the
/// implemented constants answer 00, the others NO_SUCH_ALGORITHM (03); nothing faults.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn algtest_support_probe() {
    let mut c = Card::new("algtest-1.8.2-jc305.cap");
    // (P1 class, constant, param, supported)
    let mut table: Vec<(u8, u8, u16, bool)> = Vec::new();
    // Cipher (0x11): ALG_* 1..=29 and AES GCM/CCM (-13, -12).
    let ciphers = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 13, 14, 15, 22, 23, 24, 25, 26, 27, 0xF3, 0xF4];
    for a in (1..=29).chain([0xF3, 0xF4]) {
        table.push((0x11, a, 0, ciphers.contains(&a)));
    }
    // Signature (0x12): ALG_* 1..=49.
    let sigs = [
        1, 2, 3, 4, 5, 6, 7, 8, 10, 17, 18, 19, 20, 21, 24, 25, 26, 27, 33, 34, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46,
        47, 48, 49,
    ];
    for a in 1..=49 {
        table.push((0x12, a, 0, sigs.contains(&a)));
    }
    // MessageDigest (0x15): 1 SHA, 2 MD5, 3 RIPEMD160, 4-7 SHA-2, 8-11 SHA3.
    for a in 1..=11 {
        table.push((0x15, a, 0, [1, 4, 5, 6, 7].contains(&a)));
    }
    // RandomData (0x16).
    for a in 1..=6 {
        table.push((0x16, a, 0, true));
    }
    // KeyAgreement (0x13): ECDH 1-4 and 6 (not 5, PACE GM); Checksum (0x17): CRC16, CRC32.
    for a in 1..=6 {
        table.push((0x13, a, 0, a != 5));
    }
    table.push((0x17, 1, 0, true));
    table.push((0x17, 2, 0, true));
    // KeyBuilder (0x20): (TYPE, length).
    for (t, l, ok) in [
        (3, 64, true),
        (3, 128, true),
        (3, 192, true),
        (15, 128, true),
        (15, 192, true),
        (15, 256, true),
        (13, 128, true),
        (14, 256, true),
        (21, 512, true),
        (4, 1024, true),
        (5, 2048, true),
        (6, 2048, true),
        (6, 4096, true),
        (24, 1024, true),
        (11, 256, true),
        (12, 384, true),
        (31, 256, true),
        (11, 521, true),
        (12, 521, true),
        (11, 192, false),
        (16, 128, false),
        (42, 256, false),
    ] {
        table.push((0x20, t, l, ok));
    }
    // KeyPair (0x19): ALG_RSA / RSA_CRT 512 and 1024, ALG_EC_FP 256/384/521; DSA not.
    for (a, l, ok) in [
        (1, 512, true),
        (2, 512, true),
        (2, 1024, true),
        (5, 256, true),
        (5, 384, true),
        (5, 521, true),
        (3, 1024, false),
    ] {
        table.push((0x19, a, l, ok));
    }
    let mut report = String::new();
    for (class, alg, param, ok) in table {
        let got = algtest_probe(&mut c, class, alg, param).unwrap_or_else(|sw| panic!("{class:02X} {alg}: SW {sw}"));
        report.push_str(&format!("{class:02X} {alg:3} {param:4} → {got:02X}\n"));
        assert_eq!(got, if ok { 0 } else { 3 }, "class {class:02X} alg {alg} param {param}");
    }
    eprintln!("{report}");
}

/// EC over P-256 (parameters set by the applet, SEC 2 §2.4.2) and P-384 (the defaults by key
/// size): ECDSA signatures verified by the host (RustCrypto `p256`/`p384`, DER), the host's
/// signatures verified by the card, ECDH secrets equal on both sides.
#[test]
fn project_crypto_ec() {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use sha2::Digest;
    let mut c = crypto();
    let p256_params = concat!(
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
        "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
        "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
    );
    let m = b"gpse signs this with ECDSA";
    // P-256, parameters from the applet.
    let r = h(&c.tx(0x50, 0, 32, &h(p256_params)));
    assert_eq!((r.len(), &r[r.len() - 2..]), (65 + 2, &[0x90u8, 0][..]));
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&r[..65]).unwrap();
    assert_eq!(c.tx(0x54, 0, 0, &[]), "2020204120".to_string() + "00019000");
    for (alg, hash) in [
        (17u8, sha1::Sha1::digest(m).to_vec()),
        (33, sha2::Sha256::digest(m).to_vec()),
        (37, sha2::Sha224::digest(m).to_vec()),
        (34, sha2::Sha384::digest(m).to_vec()),
        (38, sha2::Sha512::digest(m).to_vec()),
    ] {
        let r = h(&c.tx(0x51, alg, 0, m));
        let der = &r[..r.len() - 2];
        let sig = p256::ecdsa::Signature::from_der(der).unwrap_or_else(|e| panic!("alg {alg}: {e}"));
        vk.verify_prehash(&hash, &sig).unwrap_or_else(|e| panic!("alg {alg}: {e}"));
        let mut d = vec![der.len() as u8];
        d.extend_from_slice(der);
        d.extend_from_slice(m);
        assert_eq!(c.tx(0x52, alg, 0, &d), "019000", "alg {alg}");
        let last = d.len() - 1;
        d[last] ^= 1;
        assert_eq!(c.tx(0x52, alg, 0, &d), "009000", "alg {alg}: another message");
    }
    // ECDH with a host key: plain (x), SHA-1 of x, and the whole point; the card's key pair
    // made again with the default (P-256) parameters.
    let host = p256::SecretKey::from_slice(&[0x42; 32]).unwrap();
    let hw = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&host.public_key(), false);
    let w = h(&c.tx(0x50, 0, 32, &[]));
    let card_pub = p256::PublicKey::from_sec1_bytes(&w[..65]).unwrap();
    let shared = p256::ecdh::diffie_hellman(host.to_nonzero_scalar(), card_pub.as_affine());
    let x = shared.raw_secret_bytes().to_vec();
    assert_eq!(c.tx(0x53, 3, 0, hw.as_bytes()), format!("{}9000", hex::encode_upper(&x)));
    assert_eq!(c.tx(0x53, 1, 0, hw.as_bytes()), format!("{}9000", hex::encode_upper(sha1::Sha1::digest(&x))));
    let xy = h(&c.tx(0x53, 6, 0, hw.as_bytes()));
    assert_eq!((xy.len(), xy[0], &xy[1..33]), (65 + 2, 4, &x[..]));
    // A point not on the curve: CryptoException.ILLEGAL_VALUE → 6F00.
    let mut bad = hw.as_bytes().to_vec();
    bad[64] ^= 1;
    assert_eq!(c.tx(0x53, 3, 0, &bad), "6F00");

    // P-384 with the default parameters (no setFieldFP...).
    let r = h(&c.tx(0x50, 0, 48, &[]));
    let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&r[..97]).unwrap();
    let r = h(&c.tx(0x51, 34, 0, m));
    let sig = p384::ecdsa::Signature::from_der(&r[..r.len() - 2]).unwrap();
    vk.verify_prehash(&sha2::Sha384::digest(m), &sig).unwrap();
    assert_eq!(c.tx(0x54, 0, 0, &[]), "3030306130".to_string() + "00019000");
    // ECDSA-SHA1 on P-384: the 20-byte hash is the integer e (FIPS 186-4 §6.4), which the host
    // crate takes zero-extended to 48 bytes (it refuses a prehash under half the field).
    let r = h(&c.tx(0x51, 17, 0, m));
    let sig = p384::ecdsa::Signature::from_der(&r[..r.len() - 2]).unwrap();
    let mut e = vec![0u8; 28];
    e.extend_from_slice(&sha1::Sha1::digest(m));
    vk.verify_prehash(&e, &sig).unwrap();
}

/// secp256k1 (parameters set by the applet, SEC 2 §2.4.1) and P-521 (the defaults by key size:
/// its parameters do not fit a short APDU): the card's ECDSA signatures verified by the host
/// (RustCrypto `k256`/`p521`, DER), verified again by the card (for secp256k1 also the high-s
/// twin of one, which plain ECDSA accepts and `k256` alone would not), ECDH secrets equal on
/// both sides.
#[test]
fn project_crypto_ec_secp256k1_p521() {
    use k256::ecdsa::signature::hazmat::PrehashVerifier;
    use sha2::Digest;
    let mut c = crypto();
    let k1_params = concat!(
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000007",
        "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
    );
    let m = b"gpse signs this on secp256k1";
    let r = h(&c.tx(0x50, 0, 32, &h(k1_params)));
    assert_eq!((r.len(), &r[r.len() - 2..]), (65 + 2, &[0x90u8, 0][..]));
    let vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(&r[..65]).unwrap();
    assert_eq!(c.tx(0x54, 0, 0, &[]), "2020204120".to_string() + "00019000");
    for (alg, hash) in [
        (17u8, sha1::Sha1::digest(m).to_vec()),
        (33, sha2::Sha256::digest(m).to_vec()),
        (38, sha2::Sha512::digest(m).to_vec()),
    ] {
        let r = h(&c.tx(0x51, alg, 0, m));
        let sig = k256::ecdsa::Signature::from_der(&r[..r.len() - 2]).unwrap_or_else(|e| panic!("alg {alg}: {e}"));
        // k256 wants a 32-byte prehash for SHA-1: the hash as the integer e (FIPS 186-4 §6.4),
        // zero-extended.
        let mut e = vec![0u8; 32usize.saturating_sub(hash.len())];
        e.extend_from_slice(&hash);
        vk.verify_prehash(&e, &sig).unwrap_or_else(|err| panic!("alg {alg}: {err}"));
    }
    // The card verifies its own SHA-256 signature, the high-s twin of it (r, n - s), and
    // refuses another message.
    let r33 = h(&c.tx(0x51, 33, 0, m));
    let sig = k256::ecdsa::Signature::from_der(&r33[..r33.len() - 2]).unwrap();
    let high = k256::ecdsa::Signature::from_scalars(sig.r(), -*sig.s()).unwrap();
    assert!(high.normalize_s().is_some() && sig.normalize_s().is_none(), "k256 signs with the low s");
    for (der, msg, want) in [
        (sig.to_der().as_bytes().to_vec(), &m[..], "019000"),
        (high.to_der().as_bytes().to_vec(), &m[..], "019000"),
        (high.to_der().as_bytes().to_vec(), &b"gpse signs this on secp256k2"[..], "009000"),
    ] {
        let mut d = vec![der.len() as u8];
        d.extend_from_slice(&der);
        d.extend_from_slice(msg);
        assert_eq!(c.tx(0x52, 33, 0, &d), want);
    }
    // ECDH with the host key: x, SHA-1 of x, the point.
    let card_pub = k256::PublicKey::from_sec1_bytes(&r[..65]).unwrap();
    let hsk = k256::SecretKey::from_slice(&[0x42; 32]).unwrap();
    let hw = k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&hsk.public_key(), false);
    let x = k256::ecdh::diffie_hellman(hsk.to_nonzero_scalar(), card_pub.as_affine()).raw_secret_bytes().to_vec();
    assert_eq!(c.tx(0x53, 3, 0, hw.as_bytes()), format!("{}9000", hex::encode_upper(&x)));
    assert_eq!(c.tx(0x53, 1, 0, hw.as_bytes()), format!("{}9000", hex::encode_upper(sha1::Sha1::digest(&x))));

    // P-521 by size (no parameters): W is 133 bytes.
    let r = h(&c.tx(0x50, 0, 66, &[]));
    assert_eq!((r.len(), r[0]), (133 + 2, 4));
    let vk = p521::ecdsa::VerifyingKey::from_sec1_bytes(&r[..133]).unwrap();
    assert_eq!(c.tx(0x54, 0, 0, &[]), "4242428542".to_string() + "00019000");
    for (alg, hash) in [
        (17u8, sha1::Sha1::digest(m).to_vec()),
        (33, sha2::Sha256::digest(m).to_vec()),
        (34, sha2::Sha384::digest(m).to_vec()),
        (38, sha2::Sha512::digest(m).to_vec()),
    ] {
        let r = h(&c.tx(0x51, alg, 0, m));
        let der = &r[..r.len() - 2];
        let sig = p521::ecdsa::Signature::from_der(der).unwrap_or_else(|e| panic!("alg {alg}: {e}"));
        let mut e = vec![0u8; 66 - hash.len()];
        e.extend_from_slice(&hash);
        vk.verify_prehash(&e, &sig).unwrap_or_else(|err| panic!("P-521 alg {alg}: {err}"));
        let mut d = vec![der.len() as u8];
        d.extend_from_slice(der);
        d.extend_from_slice(m);
        assert_eq!(c.tx(0x52, alg, 0, &d), "019000", "P-521 alg {alg}");
        let last = d.len() - 1;
        d[last] ^= 1;
        assert_eq!(c.tx(0x52, alg, 0, &d), "009000", "P-521 alg {alg}: another message");
    }
    let card_pub = p521::PublicKey::from_sec1_bytes(&r[..133]).unwrap();
    let mut hs = [0x42u8; 66];
    hs[0] = 0;
    let hsk = p521::SecretKey::from_slice(&hs).unwrap();
    let hw = p521::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&hsk.public_key(), false);
    let x = p521::ecdh::diffie_hellman(hsk.to_nonzero_scalar(), card_pub.as_affine()).raw_secret_bytes().to_vec();
    assert_eq!(x.len(), 66);
    assert_eq!(c.tx(0x53, 3, 0, hw.as_bytes()), format!("{}9000", hex::encode_upper(&x)));
}

/// RSA-2048 signatures from a CAP applet (the `crypto` applet's CRT key pair, SHA-256 PKCS#1
/// v1.5), timed: `cargo test --release --test jcvm_crypto rsa2048_sign_timing -- --ignored
/// --nocapture` prints the median of 200 signs (APDU in, signature out, through the
/// interpreter), of 15 key generations and of 200 ECDSA P-256 signs. Not a pass/fail test:
/// the machine's load decides the figures.
#[test]
#[ignore = "a timing, run by hand"]
fn rsa2048_sign_timing() {
    let mut c = crypto();
    // The key pair is made (15 times: the median); sending 1 + 256 bytes back does not fit a
    // short response (6F00).
    let mut gen = Vec::new();
    for _ in 0..15 {
        let t = std::time::Instant::now();
        c.tx(0x30, 2, 8, &[]);
        gen.push(t.elapsed());
    }
    gen.sort();
    eprintln!(
        "RSA-2048 CRT key generation through the crypto applet: median {:?}, min {:?}, max {:?}",
        gen[7], gen[0], gen[14]
    );
    assert_eq!(c.tx(0x31, 0, 0, &[]), "08000100809000", "2048 bits, initialised, getP 128 bytes");
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = std::time::Instant::now();
        let r = c.tx(0x34, 40, 0, b"gpse signs this");
        times.push(t.elapsed());
        assert_eq!(r.len(), 2 * 256 + 4);
    }
    times.sort();
    eprintln!(
        "RSA-2048 CRT sign through the crypto applet: median {:?}, min {:?}, max {:?}",
        times[100], times[0], times[199]
    );
    // The APDU and interpreter around them: RandomData of 0 bytes.
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = std::time::Instant::now();
        c.tx(0x12, 2, 0, &[]);
        times.push(t.elapsed());
    }
    times.sort();
    eprintln!("a trivial crypto applet APDU (RandomData, 0 bytes): median {:?}", times[100]);
    // ECDSA P-256 (SHA-256) signs, 200 of them.
    c.tx(0x50, 0, 32, &[]);
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = std::time::Instant::now();
        let r = c.tx(0x51, 33, 0, b"gpse signs this");
        times.push(t.elapsed());
        assert!(r.ends_with("9000"));
    }
    times.sort();
    eprintln!(
        "ECDSA P-256 sign through the crypto applet: median {:?}, min {:?}, max {:?}",
        times[100], times[0], times[199]
    );
}

/// RFC 6979 deterministic ECDSA on all four curves, with every hash (the nonce is computed
/// with the message's hash, as RFC 6979 says; the curve crates' own signers would key it with
/// the curve's hash): the private keys of RFC 6979 §A.2.5-A.2.7 (secp256k1: A.2.5's) set by
/// `setS`, "sample" and "test" signed, the DER equal byte for byte to Python `cryptography` 48's
/// `ECDSA(h, deterministic_signing=True)` (OpenSSL 4.0; P-256/"sample" is also A.2.5's printed
/// r and s). secp256k1's s is the low one (`k256`), Python's normalised to n - s where high.
#[test]
fn project_crypto_ecdsa_rfc6979() {
    let mut c = crypto();
    let p256 = concat!(
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
        "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
        "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
    );
    let k1 = concat!(
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000007",
        "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
    );
    // (field bytes, parameters or none, x, Signature.ALG_ECDSA_*, DER of "sample", DER of "test")
    let cases = [
        (32u8, p256, "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721", 33u8,
         "3046022100EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716022100F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
         "3045022100F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D383670220019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083"),
        (48, "", "6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D896D5724E4C70A825F872C9EA60D2EDF5", 34,
         "306602310094EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C81A648152E44ACF96E36DD1E80FABE4602310099EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94FA329C145786E679E7B82C71A38628AC8",
         "30660231008203B63D3C853E8D77227FB377BCF7B7B772E97892A80F36AB775D509D7A5FEB0542A7F0812998DA8F1DD3CA3CF023DB023100DDD0760448D42D8A43AF45AF836FCE4DE8BE06B485E9B61B827C2F13173923E06A739F040649A667BF3B828246BAA5A5"),
        (66, "", "00FAD06DAA62BA3B25D2FB40133DA757205DE67F5BB0018FEE8C86E1B68C7E75CAA896EB32F1F47C70855836A6D16FCC1466F6D8FBEC67DB89EC0C08B0E996B83538", 38,
         "308187024200C328FAFCBD79DD77850370C46325D987CB525569FB63C5D3BC53950E6D4C5F174E25A1EE9017B5D450606ADD152B534931D7D4E8455CC91F9B15BF05EC36E377FA0241617CCE7CF5064806C467F678D3B4080D6F1CC50AF26CA209417308281B68AF282623EAA63E5B5C0723D8B8C37FF0777B1A20F8CCB1DCCC43997F1EE0E44DA4A67A",
         "3081880242013E99020ABF5CEE7525D16B69B229652AB6BDF2AFFCAEF38773B4B7D08725F10CDB93482FDCC54EDCEE91ECA4166B2A7C6265EF0CE2BD7051B7CEF945BABD47EE6D024201FBD0013C674AA79CB39849527916CE301C66EA7CE8B80682786AD60F98F7E78A19CA69EFF5C57400E3B3A0AD66CE0978214D13BAF4E9AC60752F7B155E2DE4DCE3"),
        (32, k1, "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721", 33,
         "30440220432310E32CB80EB6503A26CE83CC165C783B870845FB8AAD6D970889FCD7A6C80220530128B6B81C548874A6305D93ED071CA6E05074D85863D4056CE89B02BFAB69",
         "3045022100F2ADCEA7139057BE6409855EE96D008E0E5B5F532333EC17448E26A36F47BCB20220570C9D342779B40F513C0D75CBF93E3F3DE7B01F6593F17BFC2EE87151414D64"),
    ];
    for (f, params, x, alg, sample, test) in cases {
        let w = h(&c.tx(0x50, 0, f, &h(params)));
        assert_eq!(&w[w.len() - 2..], &[0x90, 0], "keygen {f}");
        assert_eq!(c.tx(0x55, 0, 0, &h(x)), "9000");
        assert_eq!(c.tx(0x51, alg, 0, b"sample"), format!("{sample}9000"), "{f} sample");
        assert_eq!(c.tx(0x51, alg, 0, b"test"), format!("{test}9000"), "{f} test");
    }
    // The nonce is RFC 6979's itself (HMAC with the message's hash), so the other hashes match
    // too ("sample"; RFC 6979 §A.2.5-A.2.7 print these r and s; Python as above, secp256k1's s
    // normalised).
    let other = [
        (0usize, 17u8, "3044022061340C88C3AAEBEB4F6D667F672CA9759A6CCAA9FA8811313039EE4A35471D3202206D7F147DAC089441BB2E2FE8F7A3FA264B9C475098FDCF6E00D7C996E1B8B7EB"),
        (0, 37, "3045022053B2FFF5D1752B2C689DF257C04C40A587FABABB3F6FC2702F1343AF7CA9AA3F022100B9AFB64FDC03DC1A131C7D2386D11E349F070AA432A4ACC918BEA988BF75C74C"),
        (0, 38, "30450221008496A60B5E9B47C825488827E0495B0E3FA109EC4568FD3F8D1097678EB97F0002202362AB1ADBE2B8ADF9CB9EDAB740EA6049C028114F2460F96554F61FAE3302FE"),
        (1, 17, "3066023100EC748D839243D6FBEF4FC5C4859A7DFFD7F3ABDDF72014540C16D73309834FA37B9BA002899F6FDA3A4A9386790D4EB2023100A3BCFA947BEEF4732BF247AC17F71676CB31A847B9FF0CBC9C9ED4C1A5B3FACF26F49CA031D4857570CCB5CA4424A443"),
        (1, 37, "3065023042356E76B55A6D9B4631C865445DBE54E056D3B3431766D0509244793C3F9366450F76EE3DE43F5A125333A6BE0601220231009DA0C81787064021E78DF658F2FBB0B042BF304665DB721F077A4298B095E4834C082C03D83028EFBF93A3C23940CA8D"),
        (1, 38, "3065023100ED0959D5880AB2D869AE7F6C2915C6D60F96507F9CB3E047C0046861DA4A799CFE30F35CC900056D7C99CD78824337090230512C8CCEEE3890A84058CE1E22DBC2198F42323CE8ACA9135329F03C068E5112DC7CC3EF3446DEFCEB01A45C2667FDD5"),
        (3, 17, "30440220432D36AD7C15F289D193D233332B4192EC52182354661263962826D8D53BC7E8022014F7DBA8C74360B6BE65B11A71414FB9132C9284E77AD1CBB7E63243C1668DF6"),
        (3, 37, "3045022100EFE22812AEE54594AD645AC904F792A7B78DE889CDB203D45B0AD38E91877EA00220199E89268DF8F306C300009962509D078C5FC649FF7DBD26995A9968FE745208"),
        (3, 38, "3043022012AF6086A07A3347920DDB0C997918077FA90EC44AD7939E051D9C76F010B0EF021F559F7289748A2C6EBE6501F2BEF64E5CE94FF89C90B0DB22F5E3E01F88CC04"),
    ];
    for (i, alg, der) in other {
        let (f, params, x, ..) = cases[i];
        c.tx(0x50, 0, f, &h(params));
        assert_eq!(c.tx(0x55, 0, 0, &h(x)), "9000");
        assert_eq!(c.tx(0x51, alg, 0, b"sample"), format!("{der}9000"), "{f} alg {alg}");
    }
    c.tx(0x50, 0, 66, &[]);
    c.tx(0x55, 0, 0, &h(cases[2].2));
    for (alg, der) in [
        (17u8, "3081870241343B6EC45728975EA5CBA6659BBB6062A5FF89EEA58BE3C80B619F322C87910FE092F7D45BB0F8EEE01ED3F20BABEC079D202AE677B243AB40B5431D497C55D75D024200E7B0E675A9B24413D448B8CC119D2BF7B2D2DF032741C096634D6D65D0DBE3D5694625FB9E8104D3B842C1B0E2D0B98BEA19341E8676AEF66AE4EBA3D5475D5D16"),
        (33, "308187024201511BB4D675114FE266FC4372B87682BAECC01D3CC62CF2303C92B3526012659D16876E25C7C1E57648F23B73564D67F61C6F14D527D54972810421E7D87589E1A702414A171143A83163D6DF460AAF61522695F207A58B95C0644D87E52AA1A347916E4F7A72930B1BC06DBE22CE3F58264AFD23704CBB63B29B931F7DE6C9D949A7ECFC"),
    ] {
        assert_eq!(c.tx(0x51, alg, 0, b"sample"), format!("{der}9000"), "P-521 alg {alg}");
    }
}

/// ECDH known answers on P-256, P-521 and secp256k1: the card's private key set by `setS` (the
/// RFC 6979 keys above), the peer's point that of the private key 0x1234567890abcdef; x and
/// SHA-1(x) from Python `cryptography` 48 (`derive_private_key(x, curve).exchange(ECDH(),
/// peer)`, hashlib).
#[test]
fn project_crypto_ecdh_known_answers() {
    let mut c = crypto();
    let k1 = concat!(
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000007",
        "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
    );
    // (field bytes, parameters, card x, peer W, shared x, SHA-1 of x)
    let cases = [
        (32u8, "", "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
         "049FAD84AEAE08BBEF7F010014D82CEF6A09DE2B0CF871B5CE0C4F1D13A59A593407CB45769F1070E2C2470FE5B1BFE63133C0B0CDC64EA4BF3791A8EC2A07FD4F",
         "20A7D258A87AB30D8F7A82031AF7464CD68B2EDF63B01C7D416A3353771BDA44", "6A91E25E52332D2314FB2873C850C418634196D5"),
        (66, "", "00FAD06DAA62BA3B25D2FB40133DA757205DE67F5BB0018FEE8C86E1B68C7E75CAA896EB32F1F47C70855836A6D16FCC1466F6D8FBEC67DB89EC0C08B0E996B83538",
         "04019A86C2BB5827715E09F9AD1D42AFB5F6829BF04E2581382DE77A559C7738B2AA1F6D1F834369301908B9BEFBB67A87203657B41D9011C6E3E0D813C8D0C926FA670165E3CC7147513CBAF0203B6FFC02892876C0FD2D54EA399C0ABA923C226D915E6E68123E4FFC432FFD7DB1CA2AD64F0CF7680BB7E5C2E548803F98019E0ED5D1E0",
         "0035282BDFEEA01034D8299872485179C797A82AC22A0F72181A3B9CE9CD55180D0F17528A4823C79BF02864B0811FF1008C8A5B3A39FAFBBE2008EE4B42A820B70C", "97C19C5C32A3FCB1BAEDF41BCAC69278BA7E3FE3"),
        (32, k1, "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
         "04F973A0B87062C389D125D8199E803B832B6AC6BF7867A4F6CD87506060FC4C584B4A0A3F26C988C54C236B224C48BB605B265949E65C098ECD87A581CA10E25D",
         "D4E6929F5C72A633728B06D4C377748E524D8007C71A685E807E7EF4692312DE", "E02656E6C46ADF53245D9D53194771ED81109C21"),
    ];
    for (f, params, x, peer, shared, sha) in cases {
        c.tx(0x50, 0, f, &h(params));
        assert_eq!(c.tx(0x55, 0, 0, &h(x)), "9000");
        assert_eq!(c.tx(0x53, 3, 0, &h(peer)), format!("{shared}9000"), "{f} plain");
        assert_eq!(c.tx(0x53, 1, 0, &h(peer)), format!("{sha}9000"), "{f} SHA-1");
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Key material and the card image: a persistent key is in the image (and works after a
/// restore), gone from it after `clearKey` and after DELETE; a transient key never reaches it.
#[test]
fn project_crypto_keys_and_the_card_image() {
    let mut c = crypto();
    let key: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    set_key(&mut c, 15, &hex::encode(&key));
    let img = c.vm.save();
    assert!(contains(&img, &key), "a persistent AES key is in the image");
    // Restored, the key still encrypts as before.
    let before = cipher(&mut c, 14, 2, "", &[0x33; 16]);
    let mut back = Card { vm: Jcvm::restore(&img).unwrap(), aid: c.aid.clone(), env: SeededEnv::new(9) };
    let mut sel = Command::new(0, 0xA4, 4, 0).with_data(back.aid.clone());
    sel.ne = Some(256);
    back.vm.select(&mut back.env, &back.aid.clone(), 0, &sel).unwrap();
    assert_eq!(cipher(&mut back, 14, 2, "", &[0x33; 16]), before);
    // clearKey zeroises: not in the image any more.
    assert_eq!(c.tx(0x21, 0, 0, &[]), "01000F01009000");
    assert!(!contains(&c.vm.save(), &key));
    // A CLEAR_ON_DESELECT key is never written to the image.
    let tkey: Vec<u8> = (0..16u8).map(|i| i.wrapping_mul(91) ^ 0x3C).collect();
    assert_eq!(c.tx(0x41, 0, 0, &tkey), "019000");
    assert!(!contains(&c.vm.save(), &tkey));
    // DELETE: instance and package go, with the keys.
    set_key(&mut c, 15, &hex::encode(&key));
    assert!(contains(&c.vm.save(), &key));
    let aid = c.aid.clone();
    c.vm.deselect(&mut c.env, &aid, 0);
    c.vm.delete_instance(&aid).unwrap();
    let pkg = c.vm.packages().iter().find(|p| p.aid == h("A00000047667707365010A")).map(|p| p.aid.clone()).unwrap();
    c.vm.delete_package(&pkg).unwrap();
    assert!(!contains(&c.vm.save(), &key));
}
