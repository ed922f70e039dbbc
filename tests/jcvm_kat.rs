//! Known-answer vectors through the Java Card VM (issue #16): every vector of the subset in
//! `vectors/kat/` (NIST CAVP files and RFC vectors from pyca's `cryptography_vectors` 48.0.0,
//! and files made by Python `cryptography` 48.0.0 with `vectors/kat/gen_pyca.py`; origins in
//! `vectors/kat/README.md`) is sent to the project's `kat` applet (`tests/applets/kat`, command
//! table at the top of its source) and its answer compared byte for byte.
//!
//! Messages longer than one short APDU go in several UPDATE commands; keys and signatures
//! longer than one APDU through the applet's stage buffer. Each test counts the vectors it ran
//! and checks the count against the file, so a parser that skips records fails.

// Test code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::Command;
use gpse::jcvm::{Env, Jcvm};
use gpse::sw::Sw;
use rand_core::{RngCore, SeedableRng};
use std::collections::HashMap;
use std::path::PathBuf;

/// A card RNG with a fixed seed (as `--seed` gives the hosted VM).
struct SeededEnv(rand_chacha::ChaCha20Rng);

impl Env for SeededEnv {
    fn random(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.trim()).unwrap_or_else(|e| panic!("hex {s:?}: {e}"))
}

fn up(b: &[u8]) -> String {
    hex::encode_upper(b)
}

// JC API constants (javacard.security.KeyBuilder / Signature / MessageDigest, javacardx.crypto.Cipher).
const TYPE_DES: u8 = 3;
const TYPE_RSA_PUBLIC: u8 = 4;
const TYPE_RSA_PRIVATE: u8 = 5;
const TYPE_RSA_CRT_PRIVATE: u8 = 6;
const TYPE_EC_FP_PUBLIC: u8 = 11;
const TYPE_EC_FP_PRIVATE: u8 = 12;
const TYPE_AES: u8 = 15;
const TYPE_HMAC: u8 = 21;
const MODE_SIGN: u8 = 1;
const MODE_VERIFY: u8 = 2;
const MODE_DECRYPT: u8 = 1;
const MODE_ENCRYPT: u8 = 2;
const MD: u8 = 1;
const SIG: u8 = 2;
const CIPHER: u8 = 3;

/// The `kat` applet installed and selected in a fresh VM.
struct Kat {
    vm: Jcvm,
    aid: Vec<u8>,
    env: SeededEnv,
    /// Ne of the commands: 256 (short) unless an answer may be longer (a 3072-bit signature:
    /// then 65536, an extended Le; the applet is `ExtendedLength`).
    ne: usize,
}

impl Kat {
    fn new() -> Kat {
        let cap =
            std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/applets/kat/build/kat.cap")).unwrap();
        let mut vm = Jcvm::new();
        let mut env = SeededEnv(rand_chacha::ChaCha20Rng::seed_from_u64(16));
        let info = vm.load_package(&cap).unwrap();
        assert_eq!(info.aid, h("A00000047667707365010D"));
        let class = info.applets[0].clone();
        assert_eq!(class, h("A00000047667707365010D01"));
        vm.install(&mut env, &info.aid, &class, &class, &[], &[0]).unwrap();
        let mut sel = Command::new(0, 0xA4, 4, 0).with_data(class.clone());
        sel.ne = Some(256);
        assert_eq!(vm.select(&mut env, &class, 0, &sel).unwrap().sw, Sw::Ok);
        Kat { vm, aid: class, env, ne: 256 }
    }

    /// One command: its response data, or its SW when that is not 9000.
    fn cmd(&mut self, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Result<Vec<u8>, u16> {
        let mut c = Command::new(0x80, ins, p1, p2);
        if !data.is_empty() {
            c = c.with_data(data.to_vec());
        }
        c.ne = Some(if data.len() > 255 { 65536 } else { self.ne });
        let r = match self.vm.process(&mut self.env, &self.aid, 0, &c) {
            Ok(r) => r,
            Err(sw) => return Err(sw.to_u16()),
        };
        if r.sw == Sw::Ok {
            Ok(r.data)
        } else {
            Err(r.sw.to_u16())
        }
    }

    /// STAGE: the stage buffer holds exactly `v` (in APDUs of at most 255 bytes).
    fn stage(&mut self, v: &[u8]) {
        let mut first = true;
        for c in v.chunks(255) {
            self.cmd(0x01, if first { 0 } else { 1 }, 0, c).unwrap();
            first = false;
        }
        if v.is_empty() {
            self.cmd(0x01, 0, 0, &[]).unwrap();
        }
        assert_eq!(self.cmd(0x01, 1, 0, &[]).unwrap(), (v.len() as u16).to_be_bytes());
    }

    /// KEY: component `comp` of the key (type, bits) set to `v`.
    fn set(&mut self, ty: u8, bits: usize, comp: u8, v: &[u8]) -> Result<(), u16> {
        self.stage(v);
        self.cmd(0x02, ty, comp, &(bits as u16).to_be_bytes()).map(|_| ())
    }

    fn init(&mut self, class: u8, alg: u8, mode: u8, ty: u8, bits: usize, iv: &[u8]) -> Result<(), u16> {
        let mut d = vec![mode, ty];
        d.extend((bits as u16).to_be_bytes());
        d.extend_from_slice(iv);
        self.cmd(0x10, class, alg, if class == MD { &[] } else { &d }).map(|_| ())
    }

    /// UPDATE with `chunk`-byte pieces, FINAL with the rest (at least one byte less than a
    /// chunk, possibly none); the concatenated outputs.
    fn run(&mut self, data: &[u8], chunk: usize) -> Result<Vec<u8>, u16> {
        let mut out = Vec::new();
        let mut rest = data;
        while rest.len() > chunk {
            out.extend(self.cmd(0x11, 0, 0, &rest[..chunk])?);
            rest = &rest[chunk..];
        }
        out.extend(self.cmd(0x12, 0, 0, rest)?);
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// The vector files.

fn vectors(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/kat").join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One vector of a CAVP-style file: its section (`[...]`) and its fields, with the fields of
/// the section's earlier blocks (the `n`, `e`, `d` of an RSA group, a Monte seed) carried in.
struct Rec {
    section: String,
    f: HashMap<String, String>,
}

impl Rec {
    fn get(&self, k: &str) -> &str {
        self.f.get(k).unwrap_or_else(|| panic!("[{}] no field {k}: {:?}", self.section, self.f))
    }

    fn bytes(&self, k: &str) -> Vec<u8> {
        h(self.get(k))
    }
}

/// `KEY = value` blocks separated by blank lines, `#` comments, `[section]` lines; a block
/// holding `trigger` is one vector.
fn records(text: &str, trigger: &str) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut in_block = false;
    let mut has_trigger = false;
    let flush = |fields: &HashMap<String, String>, section: &str, has: &mut bool, out: &mut Vec<Rec>| {
        if *has {
            out.push(Rec { section: section.to_string(), f: fields.clone() });
        }
        *has = false;
    };
    for line in text.lines().chain(std::iter::once("")) {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if in_block {
                flush(&fields, &section, &mut has_trigger, &mut out);
            }
            in_block = false;
            continue;
        }
        if line.starts_with('[') {
            flush(&fields, &section, &mut has_trigger, &mut out);
            section = line.trim_matches(|c| c == '[' || c == ']').to_string();
            fields.clear();
            in_block = false;
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { panic!("not KEY = value: {line:?}") };
        let k = k.trim().to_string();
        has_trigger |= k == trigger;
        fields.insert(k, v.trim().to_string());
        in_block = true;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// MessageDigest.

fn md_alg(name: &str) -> u8 {
    match name {
        "SHA1" | "SHA-1" | "20" => 1,
        "SHA224" | "SHA-224" | "28" => 7,
        "SHA256" | "SHA-256" | "32" => 4,
        "SHA384" | "SHA-384" | "48" => 5,
        "SHA512" | "SHA-512" | "64" => 6,
        _ => panic!("hash {name}"),
    }
}

/// SHAVS ShortMsg (every byte length 0..=64 or 0..=128), in one FINAL and as UPDATE + FINAL.
#[test]
fn kat_sha_short_messages() {
    let mut k = Kat::new();
    let mut n = 0;
    for (file, count) in [
        ("SHA1ShortMsg.rsp", 65),
        ("SHA224ShortMsg.rsp", 65),
        ("SHA256ShortMsg.rsp", 65),
        ("SHA384ShortMsg.rsp", 129),
        ("SHA512ShortMsg.rsp", 129),
    ] {
        let recs = records(&vectors(&format!("sha/{file}")), "MD");
        assert_eq!(recs.len(), count, "{file}");
        for r in &recs {
            let alg = md_alg(r.section.trim_start_matches("L = "));
            let bits: usize = r.get("Len").parse().unwrap();
            let msg = &r.bytes("Msg")[..bits / 8];
            let want = r.get("MD").to_uppercase();
            k.init(MD, alg, 0, 0, 0, &[]).unwrap();
            assert_eq!(up(&k.run(msg, 255).unwrap()), want, "{file} Len {bits}");
            // doFinal resets the engine: the same again, in two pieces.
            let half = msg.len().div_ceil(2).max(1);
            assert_eq!(up(&k.run(msg, half).unwrap()), want, "{file} Len {bits} in pieces");
            n += 1;
        }
    }
    assert_eq!(n, 453);
}

/// Python `cryptography` digests of 255, 256 and 1000-byte messages (several UPDATEs).
#[test]
fn kat_sha_long_messages_pyca() {
    let mut k = Kat::new();
    let recs = records(&vectors("sha/pyca-sha-long.txt"), "MD");
    assert_eq!(recs.len(), 15);
    for r in &recs {
        let msg = r.bytes("Msg");
        assert_eq!(msg.len(), r.get("Len").parse::<usize>().unwrap());
        k.init(MD, md_alg(r.get("Alg")), 0, 0, 0, &[]).unwrap();
        for chunk in [64, 200, 255] {
            assert_eq!(up(&k.run(&msg, chunk).unwrap()), r.get("MD").to_uppercase(), "{} {}", r.get("Alg"), msg.len());
        }
    }
}

/// SHAVS Monte Carlo (SHAVS §6.4): 100 checkpoints of 1000 chained digests, each a FINAL of
/// MD[i-3] || MD[i-2] || MD[i-1].
#[test]
fn kat_sha_monte() {
    let mut k = Kat::new();
    for file in ["SHA1Monte.rsp", "SHA256Monte.rsp"] {
        let recs = records(&vectors(&format!("sha/{file}")), "MD");
        assert_eq!(recs.len(), 100, "{file}");
        let alg = md_alg(recs[0].section.trim_start_matches("L = "));
        k.init(MD, alg, 0, 0, 0, &[]).unwrap();
        let mut seed = recs[0].bytes("Seed");
        for (j, r) in recs.iter().enumerate() {
            assert_eq!(r.get("COUNT"), j.to_string());
            let (mut a, mut b, mut c) = (seed.clone(), seed.clone(), seed.clone());
            for _ in 3..1003 {
                let m = [a, b.clone(), c.clone()].concat();
                let d = k.cmd(0x12, 0, 0, &m).unwrap();
                (a, b, c) = (b, c, d);
            }
            seed = c;
            assert_eq!(up(&seed), r.get("MD").to_uppercase(), "{file} COUNT {j}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HMAC and CMAC (Signature).

fn hmac_alg(name: &str) -> u8 {
    match name {
        "SHA1" => 24,
        "SHA256" => 25,
        "SHA384" => 26,
        "SHA512" => 27,
        _ => panic!("HMAC {name}"),
    }
}

/// A MAC through `Signature` with the key (ty, bytes): sign, then verify of the same and of a
/// changed MAC. `want` may be a truncated MAC (the RFC 4231 truncation cases): compared as a
/// prefix, verify skipped.
fn mac_vector(k: &mut Kat, alg: u8, ty: u8, key: &[u8], msg: &[u8], want: &[u8], what: &str) {
    k.set(ty, key.len() * 8, 0, key).unwrap_or_else(|sw| panic!("{what}: setKey {sw:04X}"));
    k.init(SIG, alg, MODE_SIGN, ty, key.len() * 8, &[]).unwrap();
    let got = k.run(msg, 100).unwrap();
    assert_eq!(up(&got[..want.len()]), up(want), "{what}");
    if want.len() == got.len() {
        k.init(SIG, alg, MODE_VERIFY, ty, key.len() * 8, &[]).unwrap();
        k.stage(want);
        assert_eq!(k.run(msg, 100).unwrap(), [1], "{what}: verify");
        let mut bad = want.to_vec();
        bad[0] ^= 0x80;
        k.stage(&bad);
        assert_eq!(k.run(msg, 100).unwrap(), [0], "{what}: verify of a changed MAC");
    }
}

/// RFC 2202 §3 (HMAC-SHA-1) and RFC 4231 §4 (HMAC-SHA-256/384/512) as pyca keeps them, and
/// Python `cryptography` HMACs of keys of 1-128 bytes and messages up to 600 bytes.
///
/// A JC HMAC key holds at most 128 bytes (`KeyBuilder.LENGTH_HMAC_SHA_512_BLOCK_128`); for the
/// RFC keys over that (131 and 80 bytes over a 64-byte block are both "larger than block
/// size") the key given to the card is H(K), which RFC 2104 §2 defines HMAC to use instead.
#[test]
fn kat_hmac() {
    use sha2::Digest;
    let mut k = Kat::new();
    let mut n = 0;
    for (file, name, count) in [
        ("rfc-2202-sha1.txt", "SHA1", 7),
        ("rfc-4231-sha256.txt", "SHA256", 6),
        ("rfc-4231-sha384.txt", "SHA384", 6),
        ("rfc-4231-sha512.txt", "SHA512", 6),
    ] {
        let recs = records(&vectors(&format!("hmac/{file}")), "MD");
        assert_eq!(recs.len(), count, "{file}");
        for r in &recs {
            let mut key = r.bytes("Key");
            if key.len() > 128 {
                key = match name {
                    "SHA1" => sha1::Sha1::digest(&key).to_vec(),
                    "SHA256" => sha2::Sha256::digest(&key).to_vec(),
                    "SHA384" => sha2::Sha384::digest(&key).to_vec(),
                    _ => sha2::Sha512::digest(&key).to_vec(),
                };
            }
            let msg = r.bytes("Msg");
            mac_vector(&mut k, hmac_alg(name), TYPE_HMAC, &key, &msg, &r.bytes("MD"), &format!("{file} {}", msg.len()));
            n += 1;
        }
    }
    let recs = records(&vectors("hmac/pyca-hmac.txt"), "Mac");
    assert_eq!(recs.len(), 88);
    for r in &recs {
        let (key, msg) = (r.bytes("Key"), r.bytes("Msg"));
        let what = format!("pyca HMAC-{} key {} msg {}", r.get("Alg"), key.len(), msg.len());
        mac_vector(&mut k, hmac_alg(r.get("Alg")), TYPE_HMAC, &key, &msg, &r.bytes("Mac"), &what);
        n += 1;
    }
    assert_eq!(n, 25 + 88);
}

/// AES-CMAC (`Signature.ALG_AES_CMAC_128`): SP 800-38B appendix D examples and Python
/// `cryptography` CMACs of 0-1000 byte messages under 128/192/256-bit keys.
#[test]
fn kat_aes_cmac() {
    let mut k = Kat::new();
    let mut n = 0;
    for file in ["nist-800-38b-aes128.txt", "nist-800-38b-aes192.txt", "nist-800-38b-aes256.txt"] {
        let recs = records(&vectors(&format!("cmac/{file}")), "OUTPUT");
        assert_eq!(recs.len(), 4, "{file}");
        for r in &recs {
            let msg = if r.get("MESSAGE").is_empty() { vec![] } else { r.bytes("MESSAGE") };
            mac_vector(
                &mut k,
                49,
                TYPE_AES,
                &r.bytes("KEY"),
                &msg,
                &r.bytes("OUTPUT"),
                &format!("{file} {}", msg.len()),
            );
            n += 1;
        }
    }
    let recs = records(&vectors("cmac/pyca-cmac-aes.txt"), "Mac");
    assert_eq!(recs.len(), 33);
    for r in &recs {
        let (key, msg) = (r.bytes("Key"), r.bytes("Msg"));
        mac_vector(
            &mut k,
            49,
            TYPE_AES,
            &key,
            &msg,
            &r.bytes("Mac"),
            &format!("pyca CMAC key {} msg {}", key.len(), msg.len()),
        );
        n += 1;
    }
    assert_eq!(n, 12 + 33);
}

// ---------------------------------------------------------------------------------------------
// Cipher: AES and DES/3DES.

/// A block-cipher vector: key, IV (empty for ECB), plaintext, ciphertext.
struct Block {
    key: Vec<u8>,
    iv: Vec<u8>,
    pt: Vec<u8>,
    ct: Vec<u8>,
}

/// One block-cipher vector both ways (the files' ENCRYPT and DECRYPT sections alike: pt → ct
/// and ct → pt).
fn cipher_vector(k: &mut Kat, alg: u8, ty: u8, v: &Block, what: &str) {
    let bits = v.key.len() * 8;
    k.set(ty, bits, 0, &v.key).unwrap_or_else(|sw| panic!("{what}: setKey {sw:04X}"));
    k.init(CIPHER, alg, MODE_ENCRYPT, ty, bits, &v.iv).unwrap_or_else(|sw| panic!("{what}: init {sw:04X}"));
    assert_eq!(up(&k.run(&v.pt, 64).unwrap_or_else(|sw| panic!("{what}: {sw:04X}"))), up(&v.ct), "{what}: encrypt");
    k.init(CIPHER, alg, MODE_DECRYPT, ty, bits, &v.iv).unwrap();
    assert_eq!(up(&k.run(&v.ct, 48).unwrap_or_else(|sw| panic!("{what}: {sw:04X}"))), up(&v.pt), "{what}: decrypt");
}

/// The CBC-MAC of a CBC vector's plaintext (ISO/IEC 9797-1 MAC algorithm 1 without padding:
/// the last block of the CBC encryption, SP 800-38A §6.2), `Signature` `mac_alg` initialised
/// with the vector's IV: the last block of the file's ciphertext.
fn cbc_mac_vector(k: &mut Kat, mac_alg: u8, ty: u8, v: &Block, what: &str) {
    let bits = v.key.len() * 8;
    let last = &v.ct[v.ct.len() - v.iv.len()..];
    k.init(SIG, mac_alg, MODE_SIGN, ty, bits, &v.iv).unwrap_or_else(|sw| panic!("{what}: MAC init {sw:04X}"));
    assert_eq!(up(&k.run(&v.pt, 64).unwrap()), up(last), "{what}: CBC-MAC");
}

/// AESAVS KAT (GFSbox, KeySbox) and MMT files for ECB and CBC, 128/192/256-bit keys; the CBC
/// files also as `ALG_AES_MAC_128_NOPAD` (CBC-MAC: the ciphertext's last block).
#[test]
fn kat_aes_ecb_cbc() {
    let mut k = Kat::new();
    let mut n = 0;
    for mode in ["ECB", "CBC"] {
        for (test, count) in [("GFSbox", [14, 12, 10]), ("KeySbox", [42, 48, 32]), ("MMT", [20, 20, 20])] {
            for (i, bits) in [128, 192, 256].into_iter().enumerate() {
                let file = format!("{mode}{test}{bits}.rsp");
                let recs = records(&vectors(&format!("aes/{file}")), "COUNT");
                assert_eq!(recs.len(), count[i], "{file}");
                for r in &recs {
                    let key = r.bytes("KEY");
                    assert_eq!(key.len() * 8, bits);
                    let (alg, iv) = if mode == "ECB" { (14, vec![]) } else { (13, r.bytes("IV")) };
                    let what = format!("{file} [{}] COUNT {}", r.section, r.get("COUNT"));
                    let v = Block { key, iv, pt: r.bytes("PLAINTEXT"), ct: r.bytes("CIPHERTEXT") };
                    cipher_vector(&mut k, alg, TYPE_AES, &v, &what);
                    if mode == "CBC" {
                        // Signature.ALG_AES_MAC_128_NOPAD.
                        cbc_mac_vector(&mut k, 18, TYPE_AES, &v, &what);
                    }
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 2 * (36 + 122 + 60));
}

/// Python `cryptography` AES-ECB/CBC of messages padded as the JC paddings say: PKCS5
/// (`ALG_AES_*_PKCS5`), ISO/IEC 9797-1 methods 1 and 2 (`_ISO9797_M1`, `_M2`).
#[test]
fn kat_aes_padded_pyca() {
    let mut k = Kat::new();
    let recs = records(&vectors("aes/pyca-aes-padded.txt"), "Ciphertext");
    assert_eq!(recs.len(), 108);
    for r in &recs {
        let alg = match (r.get("Mode"), r.get("Pad")) {
            ("CBC", "M1") => 22,
            ("CBC", "M2") => 23,
            ("CBC", "PKCS5") => 24,
            ("ECB", "M1") => 25,
            ("ECB", "M2") => 26,
            ("ECB", "PKCS5") => 27,
            m => panic!("{m:?}"),
        };
        let iv = if r.get("Mode") == "CBC" { r.bytes("IV") } else { vec![] };
        let pt = if r.get("Plaintext").is_empty() { vec![] } else { r.bytes("Plaintext") };
        let ct = r.bytes("Ciphertext");
        let key = r.bytes("Key");
        let what = format!("AES-{} {} {} msg {}", key.len() * 8, r.get("Mode"), r.get("Pad"), pt.len());
        let bits = key.len() * 8;
        k.set(TYPE_AES, bits, 0, &key).unwrap();
        k.init(CIPHER, alg, MODE_ENCRYPT, TYPE_AES, bits, &iv).unwrap();
        assert_eq!(up(&k.run(&pt, 64).unwrap_or_else(|sw| panic!("{what}: {sw:04X}"))), up(&ct), "{what}: encrypt");
        k.init(CIPHER, alg, MODE_DECRYPT, TYPE_AES, bits, &iv).unwrap();
        let back = k.run(&ct, 48).unwrap_or_else(|sw| panic!("{what}: {sw:04X}"));
        if r.get("Pad") == "M1" {
            // Method 1 padding (zeros) cannot be told from data: the card returns it.
            assert_eq!(up(&back[..pt.len()]), up(&pt), "{what}: decrypt");
            assert!(back[pt.len()..].iter().all(|b| *b == 0), "{what}: decrypt keeps the zeros");
        } else {
            assert_eq!(up(&back), up(&pt), "{what}: decrypt");
        }
    }
}

/// TDES: TMOVS MMT files with two keys (KEY3 = KEY1: a 128-bit JC DES key) and three keys
/// (192 bits), ECB and CBC; the single-key KAT files (substitution table, permutation
/// operation) as a 64-bit DES key and as the same key three times; the CBC files also as
/// `ALG_DES_MAC8_NOPAD` (CBC-MAC: the ciphertext's last block).
#[test]
fn kat_tdes() {
    let mut k = Kat::new();
    let mut n = 0;
    for (file, count) in [
        ("TECBMMT2.rsp", 20),
        ("TECBMMT3.rsp", 20),
        ("TCBCMMT2.rsp", 20),
        ("TCBCMMT3.rsp", 20),
        ("TECBsubtab.rsp", 38),
        ("TECBpermop.rsp", 64),
    ] {
        let recs = records(&vectors(&format!("tdes/{file}")), "COUNT");
        assert_eq!(recs.len(), count, "{file}");
        let (alg, cbc) = if file.starts_with("TCBC") { (1, true) } else { (5, false) };
        for r in &recs {
            let keys: Vec<Vec<u8>> = if r.f.contains_key("KEYs") {
                let s = r.bytes("KEYs");
                vec![s.clone(), [s.clone(), s.clone(), s].concat()]
            } else {
                let (k1, k2, k3) = (r.bytes("KEY1"), r.bytes("KEY2"), r.bytes("KEY3"));
                if k1 == k3 {
                    vec![[k1, k2].concat()]
                } else {
                    vec![[k1, k2, k3].concat()]
                }
            };
            let iv = if cbc { r.bytes("IV") } else { vec![] };
            for key in keys {
                let what = format!("{file} [{}] COUNT {} key {} bits", r.section, r.get("COUNT"), key.len() * 8);
                let v = Block { key, iv: iv.clone(), pt: r.bytes("PLAINTEXT"), ct: r.bytes("CIPHERTEXT") };
                cipher_vector(&mut k, alg, TYPE_DES, &v, &what);
                if cbc {
                    // Signature.ALG_DES_MAC8_NOPAD (CBC-MAC over the whole DES/3DES key).
                    cbc_mac_vector(&mut k, 2, TYPE_DES, &v, &what);
                }
                n += 1;
            }
        }
    }
    assert_eq!(n, 80 + 2 * (38 + 64));
}

/// DES / 3DES MACs (`Signature.ALG_DES_MAC4/MAC8_*`) against Python `cryptography`
/// (`tdes/pyca-des-mac.txt`): CBC-MAC with zero IV over the whole 64/128/192-bit key with
/// NOPAD, ISO/IEC 9797-1 padding methods 1 and 2 and PKCS5, and ISO/IEC 9797-1 MAC algorithm 3
/// (retail MAC) with methods 1 and 2; each MAC8 signed and verified, the MAC4 form is its first 4
/// bytes.
#[test]
fn kat_des_macs_pyca() {
    let mut k = Kat::new();
    let recs = records(&vectors("tdes/pyca-des-mac.txt"), "Mac");
    assert_eq!(recs.len(), 103);
    for r in &recs {
        let (mac8, mac4) = match r.get("Alg") {
            "MAC8_NOPAD" => (2, 1),
            "MAC8_M1" => (4, 3),
            "MAC8_M2" => (6, 5),
            "MAC8_PKCS5" => (8, 7),
            "MAC8_M1_ALG3" => (48, 47),
            "MAC8_M2_ALG3" => (20, 19),
            a => panic!("{a}"),
        };
        let (key, msg, mac) = (r.bytes("Key"), r.bytes("Msg"), r.bytes("Mac"));
        let what = format!("pyca {} key {} msg {}", r.get("Alg"), key.len(), msg.len());
        mac_vector(&mut k, mac8, TYPE_DES, &key, &msg, &mac, &what);
        mac_vector(&mut k, mac4, TYPE_DES, &key, &msg, &mac[..4], &format!("{what} MAC4"));
    }
}

// ---------------------------------------------------------------------------------------------
// RSA PKCS#1 v1.5 signatures.

fn rsa_sig_alg(name: &str) -> u8 {
    match name {
        "SHA1" => 10,
        "SHA224" => 39,
        "SHA256" => 40,
        "SHA384" => 41,
        "SHA512" => 42,
        _ => panic!("RSA {name}"),
    }
}

fn biguint(v: &[u8]) -> rsa::BigUint {
    rsa::BigUint::from_bytes_be(v)
}

/// The DigestInfo prefix of a hash (RFC 8017 §9.2 note 1).
fn digest_info(name: &str) -> &'static str {
    match name {
        "SHA1" => "3021300906052b0e03021a05000414",
        "SHA224" => "302d300d06096086480165030402040500041c",
        "SHA256" => "3031300d060960864801650304020105000420",
        "SHA384" => "3041300d060960864801650304020205000430",
        _ => "3051300d060960864801650304020305000440",
    }
}

fn hash(name: &str, m: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match name {
        "SHA1" => sha1::Sha1::digest(m).to_vec(),
        "SHA224" => sha2::Sha224::digest(m).to_vec(),
        "SHA256" => sha2::Sha256::digest(m).to_vec(),
        "SHA384" => sha2::Sha384::digest(m).to_vec(),
        _ => sha2::Sha512::digest(m).to_vec(),
    }
}

/// NIST SigGen15 (RSASSA-PKCS1-v1_5 is deterministic; the example file that gives d): the
/// card's signature equals the file's with the key as n, d (`TYPE_RSA_PRIVATE`) and as CRT
/// components (`TYPE_RSA_CRT_PRIVATE`, p and q recovered from n, e, d by the `rsa` crate,
/// SP 800-56B appendix C); the card verifies it with n, e and refuses it for another message.
/// The same signature through `Cipher`: `ALG_RSA_PKCS1` with the private key (block type 1,
/// what OpenPGP and PIV applets sign with) of the DigestInfo, and `ALG_RSA_NOPAD` of the whole
/// encoded message EM = 00 01 FF.. 00 DigestInfo (RFC 8017 §9.2), and NOPAD with the public key
/// taking S back to EM.
#[test]
fn kat_rsa_pkcs1_siggen() {
    use rsa::traits::PrivateKeyParts;
    let mut k = Kat::new();
    let recs = records(&vectors("rsa/SigGen15_186-2-subset.txt"), "S");
    assert_eq!(recs.len(), 60);
    let mut last_n = Vec::new();
    for r in &recs {
        let bits: usize = r.section.trim_start_matches("mod = ").parse().unwrap();
        let (n, e, d) = (r.bytes("n"), r.bytes("e"), r.bytes("d"));
        assert_eq!(n.len() * 8, bits);
        if n != last_n {
            k.set(TYPE_RSA_PRIVATE, bits, 1, &n).unwrap();
            k.set(TYPE_RSA_PRIVATE, bits, 3, &d).unwrap();
            k.set(TYPE_RSA_PUBLIC, bits, 1, &n).unwrap();
            k.set(TYPE_RSA_PUBLIC, bits, 2, &e).unwrap();
            let key = rsa::RsaPrivateKey::from_components(biguint(&n), biguint(&e), biguint(&d), vec![]).unwrap();
            let p = key.primes()[0].to_bytes_be();
            let q = key.primes()[1].to_bytes_be();
            let dp = key.dp().unwrap().to_bytes_be();
            let dq = key.dq().unwrap().to_bytes_be();
            // PQ = q^-1 mod p (JC API RSAPrivateCrtKey.setPQ).
            let pq = rsa::BigUint::from_bytes_be(&q).modpow(&(biguint(&p) - 2u32), &biguint(&p)).to_bytes_be();
            for (comp, v) in [(4, &p), (5, &q), (6, &dp), (7, &dq), (8, &pq)] {
                k.set(TYPE_RSA_CRT_PRIVATE, bits, comp, v).unwrap();
            }
            last_n = n.clone();
        }
        k.ne = if bits > 2048 { 65536 } else { 256 };
        let alg = rsa_sig_alg(r.get("SHAAlg"));
        let (msg, want) = (r.bytes("Msg"), r.get("S").to_uppercase());
        for ty in [TYPE_RSA_PRIVATE, TYPE_RSA_CRT_PRIVATE] {
            k.init(SIG, alg, MODE_SIGN, ty, bits, &[]).unwrap();
            assert_eq!(
                up(&k.run(&msg, 100).unwrap_or_else(|sw| panic!("{bits} {} type {ty}: {sw:04X}", r.get("SHAAlg")))),
                want,
                "{bits} {} type {ty}",
                r.get("SHAAlg")
            );
        }
        k.init(SIG, alg, MODE_VERIFY, TYPE_RSA_PUBLIC, bits, &[]).unwrap();
        k.stage(&h(&want));
        assert_eq!(k.run(&msg, 100).unwrap(), [1]);
        let mut other = msg.clone();
        other[0] ^= 1;
        assert_eq!(k.run(&other, 100).unwrap(), [0]);
        let t = [h(digest_info(r.get("SHAAlg"))), hash(r.get("SHAAlg"), &msg)].concat();
        let what = format!("{bits} {} through Cipher", r.get("SHAAlg"));
        for ty in [TYPE_RSA_PRIVATE, TYPE_RSA_CRT_PRIVATE] {
            k.init(CIPHER, 10, MODE_ENCRYPT, ty, bits, &[]).unwrap();
            assert_eq!(up(&k.run(&t, 4096).unwrap()), want, "{what}: ALG_RSA_PKCS1, type {ty}");
        }
        let mut em = vec![0x00, 0x01];
        em.resize(bits / 8 - t.len() - 1, 0xFF);
        em.push(0x00);
        em.extend_from_slice(&t);
        k.init(CIPHER, 12, MODE_DECRYPT, TYPE_RSA_CRT_PRIVATE, bits, &[]).unwrap();
        assert_eq!(up(&k.run(&em, 4096).unwrap()), want, "{what}: ALG_RSA_NOPAD");
        k.init(CIPHER, 12, MODE_ENCRYPT, TYPE_RSA_PUBLIC, bits, &[]).unwrap();
        assert_eq!(up(&k.run(&h(&want), 4096).unwrap()), up(&em), "{what}: ALG_RSA_NOPAD public");
    }
}

/// FIPS 186-3 SigVer15 (2048 bits, SHA-1 and SHA-256): `Result = P` verifies (01), every
/// `Result = F` (changed message, key, signature; malformed encoded messages) is refused (00).
#[test]
fn kat_rsa_pkcs1_sigver() {
    let mut k = Kat::new();
    let recs = records(&vectors("rsa/SigVer15_186-3-subset.rsp"), "Result");
    assert_eq!(recs.len(), 36);
    let mut pass = 0;
    for r in &recs {
        let n = r.bytes("n");
        let bits = n.len() * 8;
        k.set(TYPE_RSA_PUBLIC, bits, 1, &n).unwrap();
        // e is written with leading zeros to the modulus length (a value the JC setter takes).
        k.set(TYPE_RSA_PUBLIC, bits, 2, &r.bytes("e")).unwrap();
        k.init(SIG, rsa_sig_alg(r.get("SHAAlg")), MODE_VERIFY, TYPE_RSA_PUBLIC, bits, &[]).unwrap();
        k.stage(&r.bytes("S"));
        let ok = r.get("Result").starts_with('P');
        pass += usize::from(ok);
        assert_eq!(k.run(&r.bytes("Msg"), 100).unwrap(), [u8::from(ok)], "{} {}", r.get("SHAAlg"), r.get("Result"));
    }
    assert_eq!(pass, 6);
}

/// One key of RSA's PKCS#1 example files (`oaep-vect.txt`, `pss-vect.txt`,
/// `pkcs1v15crypt-vectors.txt`) and its examples: each `# Label:` line names the hex lines under
/// it.
struct Pkcs1Example {
    key: HashMap<String, Vec<u8>>,
    vectors: Vec<HashMap<String, Vec<u8>>>,
}

fn pkcs1_examples(text: &str) -> Vec<Pkcs1Example> {
    let mut out: Vec<Pkcs1Example> = Vec::new();
    let mut label = String::new();
    let mut private = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(c) = line.strip_prefix("# ") {
            if c.starts_with("Example ") {
                out.push(Pkcs1Example { key: HashMap::new(), vectors: Vec::new() });
                private = false;
            } else if c == "Private key" {
                private = true;
            } else if let Some(l) = c.trim().strip_suffix(':') {
                // A vector starts at its message (the v1.5 file's first example has no
                // "Example 1.1" title).
                if l == "Message" || l == "Message to be signed" {
                    if let Some(e) = out.last_mut() {
                        e.vectors.push(HashMap::new());
                    }
                }
                // The private key's "Exponent" is d; the public key's is e.
                label = if private && l == "Exponent" { "d".to_string() } else { l.to_string() };
                // A label seen again (the modulus under both keys) starts over.
                if let Some(e) = out.last_mut() {
                    match e.vectors.last_mut() {
                        Some(v) => v.insert(label.clone(), Vec::new()),
                        None => e.key.insert(label.clone(), Vec::new()),
                    };
                }
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') || line.starts_with('=') {
            continue;
        }
        let Ok(bytes) = hex::decode(line.replace(' ', "")) else { continue };
        let Some(e) = out.last_mut() else { continue };
        let map = match e.vectors.last_mut() {
            Some(v) => v,
            None => &mut e.key,
        };
        map.entry(label.clone()).or_default().extend(bytes);
    }
    out
}

/// The CRT and the n/d private key, and the public key, of an example on the card.
fn set_pkcs1_key(k: &mut Kat, key: &HashMap<String, Vec<u8>>) -> usize {
    let n = &key["Modulus"];
    let bits = n.len() * 8;
    assert!([1024, 1536, 2048].contains(&bits), "{bits}-bit modulus");
    for (comp, label) in
        [(4, "Prime 1"), (5, "Prime 2"), (6, "Prime exponent 1"), (7, "Prime exponent 2"), (8, "Coefficient")]
    {
        k.set(TYPE_RSA_CRT_PRIVATE, bits, comp, &key[label]).unwrap();
    }
    k.set(TYPE_RSA_PRIVATE, bits, 1, n).unwrap();
    k.set(TYPE_RSA_PRIVATE, bits, 3, &key["d"]).unwrap();
    k.set(TYPE_RSA_PUBLIC, bits, 1, n).unwrap();
    k.set(TYPE_RSA_PUBLIC, bits, 2, &key["Exponent"]).unwrap();
    bits
}

/// RSAES-OAEP (SHA-1, MGF1-SHA-1, empty label: `Cipher.ALG_RSA_PKCS1_OAEP`): the examples of
/// RSA's PKCS#1 v2.1 `oaep-vect.txt` for the 1024, 1536 and 2048-bit keys. The card decrypts
/// each ciphertext to its message with the CRT key and with the n/d key; what the card encrypts
/// with the public key (its own random seed) it decrypts back.
#[test]
fn kat_rsa_oaep_decrypt() {
    assert_eq!(rsa_decrypt_examples(15, "rsa/oaep-vect-subset.txt", 3), 18);
}

/// RSAES-PKCS1-v1_5 (`Cipher.ALG_RSA_PKCS1`): the examples of `pkcs1v15crypt-vectors.txt` for a
/// 1024 and a 2048-bit key (20 each). The card decrypts each ciphertext to its message with the
/// CRT and the n/d key; its own encryption (random padding) decrypts back, and an encryption is
/// never the same twice.
#[test]
fn kat_rsa_pkcs1_v15_decrypt() {
    assert_eq!(rsa_decrypt_examples(10, "rsa/pkcs1v15crypt-vectors-subset.txt", 2), 40);
}

/// The RSA decryption examples of a PKCS#1 examples file through `Cipher` algorithm `alg` (10
/// PKCS1, 15 OAEP): each ciphertext decrypts to its message with the CRT and with the n/d key;
/// the card's own encryption with the public key (random padding, so never the file's
/// ciphertext) decrypts back. Returns the number of examples run.
fn rsa_decrypt_examples(alg: u8, file: &str, keys: usize) -> usize {
    let mut k = Kat::new();
    let ex = pkcs1_examples(&vectors(file));
    assert_eq!(ex.len(), keys);
    let mut n = 0;
    for e in &ex {
        let bits = set_pkcs1_key(&mut k, &e.key);
        for v in &e.vectors {
            let (msg, ct) = (&v["Message"], &v["Encryption"]);
            for ty in [TYPE_RSA_CRT_PRIVATE, TYPE_RSA_PRIVATE] {
                k.init(CIPHER, alg, MODE_DECRYPT, ty, bits, &[]).unwrap();
                assert_eq!(up(&k.run(ct, 4096).unwrap()), up(msg), "{bits} bits type {ty}");
            }
            k.init(CIPHER, alg, MODE_ENCRYPT, TYPE_RSA_PUBLIC, bits, &[]).unwrap();
            let mine = k.run(msg, 4096).unwrap();
            assert_eq!(mine.len(), bits / 8);
            assert_ne!(&mine, ct);
            k.init(CIPHER, alg, MODE_DECRYPT, TYPE_RSA_CRT_PRIVATE, bits, &[]).unwrap();
            assert_eq!(up(&k.run(&mine, 4096).unwrap()), up(msg), "{bits} bits: the card's own encryption");
            n += 1;
        }
    }
    n
}

/// RSASSA-PSS (SHA-1, MGF1-SHA-1, 20-byte salt: `Signature.ALG_RSA_SHA_PKCS1_PSS`): the
/// signatures of RSA's PKCS#1 v2.1 `pss-vect.txt` for the 1024, 1536 and 2048-bit keys verify
/// on the card (01), and not for a changed message or signature (00); the card's own signature
/// (its random salt) verifies too.
#[test]
fn kat_rsa_pss_verify() {
    let mut k = Kat::new();
    let ex = pkcs1_examples(&vectors("rsa/pss-vect-subset.txt"));
    assert_eq!(ex.len(), 3);
    let mut n = 0;
    for e in &ex {
        let bits = set_pkcs1_key(&mut k, &e.key);
        for v in &e.vectors {
            let (msg, sig) = (&v["Message to be signed"], &v["Signature"]);
            assert_eq!(v["Salt"].len(), 20);
            k.init(SIG, 21, MODE_VERIFY, TYPE_RSA_PUBLIC, bits, &[]).unwrap();
            k.stage(sig);
            assert_eq!(k.run(msg, 100).unwrap(), [1], "{bits} bits");
            let mut other = msg.clone();
            other[0] ^= 1;
            assert_eq!(k.run(&other, 100).unwrap(), [0], "{bits} bits: another message");
            let mut bad = sig.clone();
            bad[bits / 16] ^= 1;
            k.stage(&bad);
            assert_eq!(k.run(msg, 100).unwrap(), [0], "{bits} bits: a changed signature");
            k.init(SIG, 21, MODE_SIGN, TYPE_RSA_CRT_PRIVATE, bits, &[]).unwrap();
            let mine = k.run(msg, 100).unwrap();
            k.init(SIG, 21, MODE_VERIFY, TYPE_RSA_PUBLIC, bits, &[]).unwrap();
            k.stage(&mine);
            assert_eq!(k.run(msg, 100).unwrap(), [1], "{bits} bits: the card's own signature");
            n += 1;
        }
    }
    assert_eq!(n, 18);
}

/// Every test of one Wycheproof test group through `Signature` algorithm `alg` verify with the
/// public key already set (`ty`, `bits`): `valid` verifies (01), `invalid` is refused (00).
/// Returns how many of each.
fn wycheproof_verify(k: &mut Kat, g: &serde_json::Value, alg: u8, ty: u8, bits: usize) -> (usize, usize) {
    let (mut valid, mut invalid) = (0, 0);
    for t in g["tests"].as_array().unwrap() {
        let what = format!("tcId {} {}", t["tcId"], t["comment"]);
        let ok = match t["result"].as_str().unwrap() {
            "valid" => true,
            "invalid" => false,
            r => panic!("{what}: result {r}"),
        };
        k.init(SIG, alg, MODE_VERIFY, ty, bits, &[]).unwrap();
        k.stage(&h(t["sig"].as_str().unwrap()));
        let got = k.run(&h(t["msg"].as_str().unwrap()), 100).unwrap_or_else(|sw| panic!("{what}: {sw:04X}"));
        assert_eq!(got, [u8::from(ok)], "{what}");
        if ok {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    (valid, invalid)
}

/// Wycheproof `rsa_pss_2048_sha256_mgf1_32_test.json` (`vectors/kat/wycheproof/`): RSASSA-PSS with
/// SHA-256, MGF1-SHA-256 and a 32-byte salt, JC's `ALG_RSA_SHA_256_PKCS1_PSS` (salt of the hash's
/// length). `valid` verifies (01), `invalid` is refused (00).
#[test]
fn kat_rsa_pss_sha256_wycheproof() {
    let j: serde_json::Value =
        serde_json::from_str(&vectors("wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json")).unwrap();
    let mut k = Kat::new();
    let (mut valid, mut invalid) = (0, 0);
    for g in j["testGroups"].as_array().unwrap() {
        assert_eq!(
            (g["sha"].as_str(), g["mgfSha"].as_str(), g["sLen"].as_u64()),
            (Some("SHA-256"), Some("SHA-256"), Some(32))
        );
        // The modulus is written as an ASN.1 INTEGER's content (a leading 00): the same number.
        let n = h(g["publicKey"]["modulus"].as_str().unwrap());
        let n = &n[n.iter().position(|b| *b != 0).unwrap()..];
        assert_eq!(n.len(), 256);
        k.set(TYPE_RSA_PUBLIC, 2048, 1, n).unwrap();
        k.set(TYPE_RSA_PUBLIC, 2048, 2, &h(g["publicKey"]["publicExponent"].as_str().unwrap())).unwrap();
        let (v, i) = wycheproof_verify(&mut k, g, 44, TYPE_RSA_PUBLIC, 2048);
        (valid, invalid) = (valid + v, invalid + i);
    }
    assert_eq!((valid, invalid), (63, 45));
}

// ---------------------------------------------------------------------------------------------
// ECDSA P-256.

/// NIST P-256 domain parameters (SEC 2 §2.4.2; FIPS 186-4 D.1.2.3): p, a, b, G, n.
const P256: [&str; 5] = [
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
    "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
];

/// The P-256 parameters on both EC keys of 256 bits (comp 10-15 set both).
fn set_p256(k: &mut Kat) {
    for (i, v) in P256.iter().enumerate() {
        k.set(TYPE_EC_FP_PUBLIC, 256, 10 + i as u8, &h(v)).unwrap();
    }
    k.set(TYPE_EC_FP_PUBLIC, 256, 15, &[0, 1]).unwrap();
}

fn ecdsa_alg(name: &str) -> u8 {
    match name {
        "SHA-1" | "SHA1" => 17,
        "SHA-224" | "SHA224" => 37,
        "SHA-256" | "SHA256" => 33,
        "SHA-384" | "SHA384" => 34,
        "SHA-512" | "SHA512" => 38,
        _ => panic!("ECDSA {name}"),
    }
}

/// A DER INTEGER of an unsigned big-endian value (X.690 §8.3: minimal, a 00 before a high bit).
fn der_int(v: &[u8]) -> Vec<u8> {
    let i = v.iter().position(|b| *b != 0).unwrap_or(v.len() - 1);
    let mut body = v[i..].to_vec();
    if body[0] & 0x80 != 0 {
        body.insert(0, 0);
    }
    let mut out = vec![0x02, body.len() as u8];
    out.extend(body);
    out
}

/// ECDSA-Sig-Value (RFC 3279 §2.2.3), the form JC `Signature.ALG_ECDSA_*` takes.
fn der_sig(r: &[u8], s: &[u8]) -> Vec<u8> {
    let body = [der_int(r), der_int(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// FIPS 186-3 ECDSA SigVer, the five P-256 sections: `Result = P` verifies (01); a `Result = F`
/// vector is refused, by verify (00) or, for a changed Q that is no longer on the curve, by
/// `ECPublicKey.setW` / `init` with `CryptoException.ILLEGAL_VALUE` (6F01).
#[test]
fn kat_ecdsa_p256_sigver() {
    let mut k = Kat::new();
    set_p256(&mut k);
    let recs = records(&vectors("ecdsa/SigVer-P256.rsp"), "Result");
    assert_eq!(recs.len(), 75);
    let (mut pass, mut refused_key) = (0, 0);
    for r in &recs {
        let hash = r.section.trim_start_matches("P-256,");
        let ok = r.get("Result").starts_with('P');
        let w = [vec![4], r.bytes("Qx"), r.bytes("Qy")].concat();
        let what = format!("{hash} {}", r.get("Result"));
        let keyed = k
            .set(TYPE_EC_FP_PUBLIC, 256, 16, &w)
            .and_then(|()| k.init(SIG, ecdsa_alg(hash), MODE_VERIFY, TYPE_EC_FP_PUBLIC, 256, &[]));
        match keyed {
            Ok(()) => {
                k.stage(&der_sig(&r.bytes("R"), &r.bytes("S")));
                assert_eq!(k.run(&r.bytes("Msg"), 100).unwrap(), [u8::from(ok)], "{what}");
                pass += usize::from(ok);
            }
            Err(sw) => {
                assert!(!ok && sw == 0x6F01, "{what}: key refused with {sw:04X}");
                refused_key += 1;
            }
        }
    }
    assert_eq!(pass, 15);
    eprintln!("ECDSA P-256 SigVer: {pass} P verified, {} F refused ({refused_key} at setW/init)", recs.len() - pass);
}

/// Wycheproof `ecdsa_secp256r1_sha256_test.json` (`vectors/kat/wycheproof/`): every test of
/// every key through `Signature.ALG_ECDSA_SHA_256` verify. `valid` verifies (01), `invalid`
/// (BER and other malformed DER, changed r or s, r or s out of range, arithmetic edge cases) is
/// refused (00); Wycheproof marks none of this file `acceptable`.
#[test]
fn kat_ecdsa_p256_wycheproof() {
    let j: serde_json::Value = serde_json::from_str(&vectors("wycheproof/ecdsa_secp256r1_sha256_test.json")).unwrap();
    let mut k = Kat::new();
    set_p256(&mut k);
    let (mut valid, mut invalid) = (0, 0);
    for g in j["testGroups"].as_array().unwrap() {
        assert_eq!(g["sha"], "SHA-256");
        let w = h(g["publicKey"]["uncompressed"].as_str().unwrap());
        k.set(TYPE_EC_FP_PUBLIC, 256, 16, &w).unwrap();
        let (v, i) = wycheproof_verify(&mut k, g, 33, TYPE_EC_FP_PUBLIC, 256);
        (valid, invalid) = (valid + v, invalid + i);
    }
    assert_eq!((valid, invalid), (170, 301));
    assert_eq!(j["numberOfTests"], 471);
}

/// Standard base64 (RFC 4648 §4) of a PEM body.
fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("base64 {c}"),
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The card's EC keys of `bits` on their curve: P-256 from the parameters the applet sets
/// (SEC 2 §2.4.2), P-384 from the VM's defaults by size (`KeyPair(ALG_EC_FP, 384).genKeyPair`
/// puts them on the pair's keys, which become the keys of (type, 384)).
fn ec_keys(k: &mut Kat, bits: usize) {
    if bits == 256 {
        set_p256(k);
    } else {
        assert_eq!(k.cmd(0x20, 5, 0, &(bits as u16).to_be_bytes()).unwrap().len(), 2 * bits / 8 + 1);
    }
}

/// RFC 6979 appendix A.2.5 (P-256) and A.2.6 (P-384) as OpenSSL's evp test file gives them:
/// deterministic ECDSA of "sample" and "test" with SHA-1/224/256/384/512. The card's
/// signatures (RFC 6979 nonces) are the file's DER bytes exactly; its verify answers the file's
/// result for each DigestVerify.
fn rfc6979(file: &str, bits: usize, x_hex: &str) {
    let text = vectors(file);
    let pem = |label: &str| -> Vec<u8> {
        let start = text.find(&format!("-----BEGIN {label}-----")).unwrap() + label.len() + 16;
        let end = text[start..].find("-----END").unwrap() + start;
        base64(&text[start..end])
    };
    let n = bits / 8;
    // PKCS#8 PrivateKeyInfo with an RFC 5915 ECPrivateKey: the OCTET STRING 04 n || x.
    let p8 = pem("PRIVATE KEY");
    let at = p8.windows(2).position(|w| w == [0x04, n as u8]).unwrap() + 2;
    let x = p8[at..at + n].to_vec();
    // SubjectPublicKeyInfo: the BIT STRING's last 2n + 1 bytes are the uncompressed point.
    let spki = pem("PUBLIC KEY");
    let w = spki[spki.len() - (2 * n + 1)..].to_vec();
    assert_eq!(up(&x), x_hex, "RFC 6979 x");
    let mut k = Kat::new();
    ec_keys(&mut k, bits);
    k.set(TYPE_EC_FP_PRIVATE, bits, 17, &x).unwrap();
    k.set(TYPE_EC_FP_PUBLIC, bits, 16, &w).unwrap();
    let (mut signs, mut verifies) = (0, 0);
    for block in text.split("\n\n") {
        let f: HashMap<&str, &str> = block.lines().filter_map(|l| l.split_once(" = ")).collect();
        let Some(input) = f.get("Input") else { continue };
        let msg = input.trim_matches('"').as_bytes();
        let der = h(f["Output"]);
        if let Some(hash) = f.get("DigestSign") {
            assert_eq!(f["NonceType"], "deterministic");
            k.init(SIG, ecdsa_alg(hash), MODE_SIGN, TYPE_EC_FP_PRIVATE, bits, &[]).unwrap();
            assert_eq!(up(&k.run(msg, 100).unwrap()), up(&der), "{file} {hash} {input}");
            signs += 1;
        } else if let Some(hash) = f.get("DigestVerify") {
            let ok = f.get("Result") != Some(&"VERIFY_ERROR");
            k.init(SIG, ecdsa_alg(hash), MODE_VERIFY, TYPE_EC_FP_PUBLIC, bits, &[]).unwrap();
            k.stage(&der);
            assert_eq!(k.run(msg, 100).unwrap(), [u8::from(ok)], "{file} {hash} {input} verify");
            verifies += 1;
        }
    }
    assert_eq!((signs, verifies), (10, 20));
}

#[test]
fn kat_ecdsa_p256_rfc6979() {
    rfc6979("ecdsa/rfc6979-P256.txt", 256, "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
}

#[test]
fn kat_ecdsa_p384_rfc6979() {
    rfc6979(
        "ecdsa/rfc6979-P384.txt",
        384,
        "6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D896D5724E4C70A825F872C9EA60D2EDF5",
    );
}

/// ECDH (`KeyAgreement.ALG_EC_SVDP_DH_PLAIN`: the x coordinate, SP 800-56A's Z): NIST's KAS ECC
/// validity file (dhStaticUnified, ZZ only), P-256 and P-384 sections, the card in the
/// responder's (IUT's) place with dsIUT against QsCAVS. `Result = P`: the card's secret is Z.
/// `F` for a CAVS public key that fails validation (reasons 1, 2): the card refuses the point
/// (`CryptoException.ILLEGAL_VALUE`, 6F01). `F` for a changed IUT private key or Z (7, 8): the
/// card's secret is not the file's Z. `F` for the IUT's own public key failing validation (5,
/// 6): a JC key agreement takes no own public key, so there is nothing to refuse; the file's Z
/// is then not dsIUT × QsCAVS, and the card's secret is compared with RustCrypto's
/// (`p256`/`p384` `diffie_hellman`) instead.
/// x of d × Q on P-256 or P-384 by RustCrypto (SEC 1 §3.3.1), in hex.
fn host_ecdh(bits: usize, d: &[u8], q: &[u8]) -> String {
    if bits == 256 {
        let d = p256::SecretKey::from_slice(d).unwrap();
        let q = p256::PublicKey::from_sec1_bytes(q).unwrap();
        up(p256::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine()).raw_secret_bytes())
    } else {
        let d = p384::SecretKey::from_slice(d).unwrap();
        let q = p384::PublicKey::from_sec1_bytes(q).unwrap();
        up(p384::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine()).raw_secret_bytes())
    }
}

#[test]
fn kat_ecdh_kas_validity() {
    let recs = records(&vectors("ecdh/KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_resp-P256-P384.fax"), "Result");
    assert_eq!(recs.len(), 60);
    let mut k = Kat::new();
    let mut seen = HashMap::new();
    for r in &recs {
        let bits = if r.section.starts_with("EC") { 256 } else { 384 };
        if seen.insert(bits, ()).is_none() {
            ec_keys(&mut k, bits);
        }
        let ds = r.bytes("dsIUT");
        assert_eq!(ds.len() * 8, bits);
        k.set(TYPE_EC_FP_PRIVATE, bits, 17, &ds).unwrap();
        k.init(4, 3, 0, TYPE_EC_FP_PRIVATE, bits, &[]).unwrap();
        let q = [vec![4], r.bytes("QsCAVSx"), r.bytes("QsCAVSy")].concat();
        let z = up(&r.bytes("Z"));
        let res = r.get("Result");
        let what = format!("[{}] COUNT {} {res}", r.section, r.get("COUNT"));
        let got = k.run(&q, 255);
        match res.split_whitespace().next().unwrap_or("") {
            "P" => assert_eq!(up(&got.unwrap()), z, "{what}"),
            "F" => {
                let reason = res.split('(').nth(1).and_then(|x| x.split_whitespace().next()).unwrap();
                match reason {
                    "1" | "2" => assert_eq!(got, Err(0x6F01), "{what}"),
                    "5" | "6" => assert_eq!(up(&got.unwrap()), host_ecdh(bits, &ds, &q), "{what}"),
                    _ => assert_ne!(up(&got.unwrap()), z, "{what}"),
                }
            }
            _ => panic!("{what}"),
        }
    }
}

/// The applet's own answers: engine algorithm and signature length, SW 6F0x for a
/// CryptoException, and a key made by GENKEY used by the host.
#[test]
fn kat_applet_basics() {
    use rsa::traits::PublicKeyParts;
    let mut k = Kat::new();
    // Signature.getInstance(50) (no such constant in 3.0.5): NO_SUCH_ALGORITHM → 6F03.
    assert_eq!(k.init(SIG, 50, MODE_SIGN, TYPE_AES, 128, &[]), Err(0x6F03));
    // An AES key never set: UNINITIALIZED_KEY at init → 6F02.
    assert_eq!(k.init(CIPHER, 14, MODE_ENCRYPT, TYPE_AES, 192, &[]), Err(0x6F02));
    // A 15-byte ECB NOPAD doFinal: ILLEGAL_USE → 6F05.
    k.set(TYPE_AES, 128, 0, &[0x11; 16]).unwrap();
    k.init(CIPHER, 14, MODE_ENCRYPT, TYPE_AES, 128, &[]).unwrap();
    assert_eq!(k.cmd(0x12, 0, 0, &[0; 15]), Err(0x6F05));
    assert_eq!(k.cmd(0x21, 0, 0, &[]).unwrap(), [14]);
    // RSA-2048 CRT key pair made on the card; a PKCS#1 SHA-256 signature the host verifies.
    let modulus = k.cmd(0x20, 2, 0, &2048u16.to_be_bytes()).unwrap();
    assert_eq!(modulus.len(), 256);
    let pk = rsa::RsaPublicKey::new(biguint(&modulus), 65537u32.into()).unwrap();
    assert_eq!(pk.size(), 256);
    k.init(SIG, 40, MODE_SIGN, TYPE_RSA_CRT_PRIVATE, 2048, &[]).unwrap();
    assert_eq!(k.cmd(0x21, 0, 0, &[]).unwrap(), [40, 1, 0]);
    let sig = k.run(b"kat", 100).unwrap();
    use sha2::Digest;
    pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &sha2::Sha256::digest(b"kat"), &sig).unwrap();
    // 1 KB in one extended APDU: AES-128-CBC doFinal (the benchmark's command), against the
    // RustCrypto `cbc` crate.
    let key = [0x2Bu8; 16];
    let iv = [0x0Fu8; 16];
    k.set(TYPE_AES, 128, 0, &key).unwrap();
    k.init(CIPHER, 13, MODE_ENCRYPT, TYPE_AES, 128, &iv).unwrap();
    let pt: Vec<u8> = (0..1024u32).map(|i| (i * 7) as u8).collect();
    let ct = k.cmd(0x12, 0, 0, &pt).unwrap();
    // CBC by hand over RustCrypto `aes` blocks (SP 800-38A §6.2).
    let mut want = Vec::new();
    let mut prev = iv;
    {
        use aes::cipher::{BlockEncrypt, KeyInit};
        let c = aes::Aes128::new(&key.into());
        for block in pt.chunks(16) {
            let mut b = aes::Block::default();
            for i in 0..16 {
                b[i] = block[i] ^ prev[i];
            }
            c.encrypt_block(&mut b);
            prev.copy_from_slice(&b);
            want.extend_from_slice(&b);
        }
    }
    assert_eq!(ct, want);
    // doFinal returns to the IV of init: the same again.
    assert_eq!(k.cmd(0x12, 0, 0, &pt).unwrap(), ct);
}
